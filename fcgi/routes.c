/*
 * routes: the table of every route the service answers. openapi.json at
 * the top of the repository describes the same set; tests fail when the two
 * disagree (see tests/integration/test_openapi.py).
 */
#include "handlers.h"

const struct route_def routes_table[] = {
    {"GET", "/healthz", health_live, ROUTE_BODY_NONE, "The worker is alive"},
    {"GET", "/readyz", health_ready, ROUTE_BODY_NONE, "The database is reachable and current"},
    {"GET", "/metrics", metrics_show, ROUTE_BODY_NONE, "Pool metrics (Prometheus text)"},
};

const size_t routes_count = sizeof(routes_table) / sizeof(routes_table[0]);
