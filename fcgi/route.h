/*
 * route: maps a method and a path to a handler. Patterns are literal
 * segments and typed parameters, e.g. "/api/cases/{id:int}/events";
 * types are int (a positive 64-bit integer, canonical digits only) and
 * slug (1-64 of [a-z0-9-]). Patterns are checked once at start-up, so a
 * bad table stops portald before it forks. HEAD is served by GET routes.
 */
#ifndef PORTAL_ROUTE_H
#define PORTAL_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#define ROUTE_MAX_SEGMENTS 12
#define ROUTE_MAX_PARAMS 4
#define ROUTE_ALLOW_MAX 64

struct request;
typedef void (*route_handler_fn)(struct request *req);

enum route_body {
    ROUTE_BODY_NONE,  /* a body is ignored */
    ROUTE_BODY_JSON,  /* application/json, validated before the handler runs */
    ROUTE_BODY_IMAGE, /* a JPEG, PNG or WebP up to max-photo, checked by its bytes */
};

/* Who may call a route. A route with any role bit needs a valid access
 * token of an enabled account with one of those roles; every route with
 * ROUTE_DB (implied by a role bit) runs in one database transaction whose
 * settings say who is acting. */
enum route_access {
    ROUTE_OPEN = 0,         /* no database, no sign-in (health, metrics) */
    ROUTE_DB = 1u << 0,     /* anonymous, in a transaction as the public */
    ROUTE_EDITOR = 1u << 1, /* a street editor */
    ROUTE_REVIEWER = 1u << 2,
    ROUTE_ADMIN = 1u << 3,
    /* with ROUTE_DB: a bearer token is checked when sent (staff see more),
     * and the request is the public's when not */
    ROUTE_TOKEN_OPTIONAL = 1u << 4,
    /* with ROUTE_DB: the route only reads what anyone may read and needs
     * nobody's own writes, so its transaction is read-only and may run on
     * the read standby (see db_begin_read) */
    ROUTE_READ_REPLICA = 1u << 5,
    /* with ROUTE_PUBLIC_READ: the answer depends on nothing but the route's
     * parameters and what the public may read, so a ready-made copy of it
     * is kept and served while it is good (see stored.h) */
    ROUTE_STORED = 1u << 6,
    /* with ROUTE_DB, anonymous: the handler's transaction is one statement,
     * which it begins, runs and commits itself in one round trip
     * (db_write_alone); nothing is begun for it */
    ROUTE_ONE_TRIP = 1u << 7,
};
#define ROUTE_STAFF (ROUTE_EDITOR | ROUTE_REVIEWER | ROUTE_ADMIN)
#define ROUTE_DISTRICT (ROUTE_REVIEWER | ROUTE_ADMIN)
#define ROUTE_PUBLIC_READ (ROUTE_DB | ROUTE_READ_REPLICA)
#define ROUTE_PUBLIC_STORED (ROUTE_PUBLIC_READ | ROUTE_STORED)

struct route_def {
    const char *method;
    const char *pattern;
    route_handler_fn handler;
    enum route_body body;
    const char *summary; /* for the route listing and the OpenAPI check */
    unsigned access;     /* enum route_access bits */
};

enum route_param_type { ROUTE_PARAM_INT, ROUTE_PARAM_SLUG };

struct route_param {
    const char *name; /* points into the router */
    enum route_param_type type;
    int64_t int_value;
    const char *text; /* points into the path buffer given to route_match */
    size_t text_len;
};

typedef struct {
    const struct route_def *def;
    size_t param_count;
    struct route_param params[ROUTE_MAX_PARAMS];
    char allow[ROUTE_ALLOW_MAX]; /* for 405: "GET, HEAD, POST" */
} route_match_t;

enum route_result { ROUTE_FOUND, ROUTE_NOT_FOUND, ROUTE_METHOD_NOT_ALLOWED };

typedef struct router router_t;

/* Compiles a table; returns NULL with a reason in err. Free with router_free. */
router_t *router_create(const struct route_def *defs, size_t count, char *err, size_t errlen);
void router_free(router_t *router);

enum route_result router_match(const router_t *router, const char *method, const char *path,
                               route_match_t *out);

/* Returns the int parameter called name, or -1 when there is none. */
int64_t route_param_int(const route_match_t *match, const char *name);

#endif
