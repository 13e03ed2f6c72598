/*
 * portald: the district portal's FastCGI service. Parses and validates the
 * configuration and the route table, then hands over to the pool.
 */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "handlers.h"
#include "pool.h"
#include "route.h"

#ifndef PORTAL_VERSION
#define PORTAL_VERSION "dev"
#endif

/* Who may call a route, as the listing shows it. */
static json_t *route_roles(unsigned access)
{
    json_t *roles = json_array();
    if (access & ROUTE_EDITOR)
        json_array_append_new(roles, json_string("editor"));
    if (access & ROUTE_REVIEWER)
        json_array_append_new(roles, json_string("reviewer"));
    if (access & ROUTE_ADMIN)
        json_array_append_new(roles, json_string("admin"));
    return roles;
}

static int print_routes(void)
{
    json_t *list = json_array();
    for (size_t i = 0; i < routes_count; i++)
        json_array_append_new(
            list, json_pack("{s:s,s:s,s:s,s:b,s:o}", "method", routes_table[i].method, "pattern",
                            routes_table[i].pattern, "summary", routes_table[i].summary,
                            "json_body", routes_table[i].body == ROUTE_BODY_JSON, "roles",
                            route_roles(routes_table[i].access)));
    int rc = json_dumpf(list, stdout, JSON_INDENT(2));
    json_decref(list);
    putchar('\n');
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    config_t config;
    enum config_action action;
    char err[512];
    /* before the config: loading keys hashes them */
    if (sodium_init() < 0) {
        fprintf(stderr, "portald: libsodium cannot initialise\n");
        return 1;
    }
    if (config_load(&config, argc, argv, &action, err, sizeof(err)) != 0) {
        fprintf(stderr, "portald: %s\n", err);
        return 2;
    }
    router_t *router = router_create(routes_table, routes_count, err, sizeof(err));
    if (router == NULL) {
        fprintf(stderr, "portald: bad route table: %s\n", err);
        config_free(&config);
        return 2;
    }
    int rc = 0;
    switch (action) {
    case CONFIG_HELP:
        config_print_help(stdout);
        break;
    case CONFIG_VERSION:
        printf("portald %s\n", PORTAL_VERSION);
        break;
    case CONFIG_CHECK:
        config_print(&config, stdout);
        break;
    case CONFIG_PRINT_ROUTES:
        rc = print_routes();
        break;
    case CONFIG_RUN:
        if (config.keyring == NULL) {
            fprintf(stderr, "portald: jwt-keys is required: a directory of signing keys "
                            "(make one with: portalctl key generate --dir DIR)\n");
            rc = 2;
            break;
        }
        if (config.voter_key == NULL) {
            fprintf(stderr, "portald: voter-key is required: a file of secret bytes that signs "
                            "voter cookies (make one with: portalctl key voter --file FILE)\n");
            rc = 2;
            break;
        }
        rc = pool_run(&config, argc, argv, router);
        break;
    }
    config_free(&config);
    router_free(router);
    return rc;
}
