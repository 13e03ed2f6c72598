/* session: bearer tokens and the account behind them. See session.h. */
#include "session.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "db.h"
#include "response.h"
#include "route.h"

struct token_rules session_token_rules(const config_t *config)
{
    struct token_rules rules = {
        .issuer = config->jwt_issuer,
        .audience = config->jwt_audience,
        .leeway_s = (long)(config->jwt_leeway_ms / 1000),
        .ttl_s = (long)(config->access_ttl_ms / 1000),
    };
    return rules;
}

static void session_refuse(request_t *req, const char *error, const char *log_detail)
{
    if (error != NULL)
        request_add_header(req, "WWW-Authenticate: Bearer realm=\"portal\", error=\"%s\"", error);
    else
        request_add_header(req, "WWW-Authenticate: Bearer realm=\"portal\"");
    req->log_detail = log_detail;
    response_problem(req, PROBLEM_UNAUTHORIZED, NULL, NULL);
}

int session_check_token(request_t *req, struct token_claims *claims)
{
    const char *header = request_param(req, "HTTP_AUTHORIZATION");
    if (header == NULL || header[0] == '\0') {
        session_refuse(req, NULL, "no bearer token");
        return -1;
    }
    if (strncasecmp(header, "Bearer ", 7) != 0) {
        session_refuse(req, "invalid_request", "not a bearer token");
        return -1;
    }
    const char *text = header + 7;
    while (*text == ' ')
        text++;
    struct token_rules rules = session_token_rules(req->worker->config);
    enum token_error err =
        token_verify(req->worker->config->keyring, &rules, text, time(NULL), claims);
    if (err != TOKEN_OK) {
        session_refuse(req, "invalid_token",
                       arena_printf(req->arena, "token refused: %s", token_error_name(err)));
        return -1;
    }
    return 0;
}

static unsigned role_bit(const char *role)
{
    if (strcmp(role, "editor") == 0)
        return ROUTE_EDITOR;
    if (strcmp(role, "reviewer") == 0)
        return ROUTE_REVIEWER;
    if (strcmp(role, "admin") == 0)
        return ROUTE_ADMIN;
    return 0;
}

int session_check_role(request_t *req, const struct token_claims *claims, unsigned roles)
{
    if ((role_bit(claims->role) & roles) != 0)
        return 0;
    response_problem(req, PROBLEM_FORBIDDEN, "your role may not do this", NULL);
    return -1;
}

const char **session_values(request_t *req, const struct token_claims *claims)
{
    const char **values = arena_alloc(req->arena, 2 * sizeof(*values));
    if (values == NULL)
        return NULL;
    values[0] = arena_printf(req->arena, "%lld", (long long)claims->user_id);
    values[1] = arena_printf(req->arena, "%d", claims->version);
    return values[0] != NULL && values[1] != NULL ? values : NULL;
}

int session_load(request_t *req, PGresult *res, unsigned roles)
{
    if (res == NULL || !db_ok(res)) {
        response_problem(req, PROBLEM_DATABASE_UNAVAILABLE, NULL, NULL);
        return -1;
    }
    if (PQntuples(res) != 1) {
        session_refuse(req, "invalid_token", "account disabled, changed or gone");
        return -1;
    }
    req->user.user_id = db_int(res, 0, "user_id", 0);
    req->user.username = db_value(res, 0, "username");
    req->user.role = db_value(res, 0, "role");
    req->user.street_id = db_int(res, 0, "street_id", 0);
    if ((role_bit(req->user.role) & roles) == 0) {
        response_problem(req, PROBLEM_FORBIDDEN, "your role may not do this", NULL);
        return -1;
    }
    return 0;
}
