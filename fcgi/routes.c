/*
 * routes: the table of every route the service answers. openapi.json at
 * the top of the repository describes the same set; tests fail when the two
 * disagree (see tests/integration/test_openapi.py).
 */
#include "handlers.h"

const struct route_def routes_table[] = {
    {"GET", "/healthz", health_live, ROUTE_BODY_NONE, "The worker is alive", ROUTE_OPEN},
    {"GET", "/readyz", health_ready, ROUTE_BODY_NONE, "The database is reachable and current",
     ROUTE_OPEN},
    {"GET", "/metrics", metrics_show, ROUTE_BODY_NONE, "Pool metrics (Prometheus text)",
     ROUTE_OPEN},

    {"POST", "/api/auth/login", auth_login, ROUTE_BODY_JSON, "Sign in", ROUTE_DB},
    {"POST", "/api/auth/refresh", auth_refresh, ROUTE_BODY_NONE,
     "Trade the refresh cookie for a new access token", ROUTE_DB},
    {"POST", "/api/auth/logout", auth_logout, ROUTE_BODY_NONE, "Sign out", ROUTE_DB},
    {"GET", "/api/me", auth_me, ROUTE_BODY_NONE, "The signed-in account", ROUTE_STAFF},

    {"GET", "/api/streets", streets_list, ROUTE_BODY_NONE, "Streets", ROUTE_STAFF},
    {"POST", "/api/streets", streets_create, ROUTE_BODY_JSON, "Add a street", ROUTE_ADMIN},
    {"GET", "/api/streets/{id:int}", streets_get, ROUTE_BODY_NONE, "A street", ROUTE_STAFF},
    {"PATCH", "/api/streets/{id:int}", streets_update, ROUTE_BODY_JSON, "Rename a street",
     ROUTE_ADMIN},
    {"GET", "/api/communities", communities_list, ROUTE_BODY_NONE,
     "Communities (an editor's own street's)", ROUTE_STAFF},
    {"POST", "/api/communities", communities_create, ROUTE_BODY_JSON, "Add a community",
     ROUTE_ADMIN},
    {"GET", "/api/communities/{id:int}", communities_get, ROUTE_BODY_NONE, "A community",
     ROUTE_STAFF},
    {"PATCH", "/api/communities/{id:int}", communities_update, ROUTE_BODY_JSON,
     "Change a community and its committee", ROUTE_ADMIN},

    {"GET", "/api/users", users_list, ROUTE_BODY_NONE, "Staff accounts", ROUTE_ADMIN},
    {"POST", "/api/users", users_create, ROUTE_BODY_JSON, "Add a staff account", ROUTE_ADMIN},
    {"GET", "/api/users/{id:int}", users_get, ROUTE_BODY_NONE, "A staff account", ROUTE_ADMIN},
    {"PATCH", "/api/users/{id:int}", users_update, ROUTE_BODY_JSON,
     "Change, disable or re-enable a staff account", ROUTE_ADMIN},
    {"GET", "/api/audit", audit_list, ROUTE_BODY_NONE, "Who changed what, newest first",
     ROUTE_ADMIN},
};

const size_t routes_count = sizeof(routes_table) / sizeof(routes_table[0]);
