/*
 * health: /healthz says the worker answers (no database); /readyz says the
 * database is reachable and its schema is at least the version this build
 * was made for, so a load balancer only routes to pools that can serve,
 * and where the public's reads go now (the standby check's verdict).
 */
#include <stdlib.h>

#include "db.h"
#include "handlers.h"
#include "schema_version.h"
#include "response.h"

void health_live(request_t *req)
{
    response_json(req, 200,
                  json_pack("{s:s,s:i,s:i}", "status", "alive", "pid", (int)req->worker->pid,
                            "worker", req->worker->slot));
}

void health_ready(request_t *req)
{
    PGresult *res = db_query(req->worker->db, req->arena, SQL_HEALTH_SCHEMA_VERSION, 0, NULL);
    if (res == NULL || !db_ok(res) || PQntuples(res) != 1) {
        response_problem(req, PROBLEM_DATABASE_UNAVAILABLE, "the database cannot be reached", NULL);
        return;
    }
    long have = (long)db_int(res, 0, "version", -1);
    long want = PORTAL_SCHEMA_VERSION;
    if (have < want) {
        response_problem(
            req, PROBLEM_SCHEMA_NOT_CURRENT, "run portalctl migrate",
            json_pack("{s:i,s:i}", "schema_version", (int)have, "expected_version", (int)want));
        return;
    }
    response_json(req, 200,
                  json_pack("{s:s,s:i,s:i,s:s}", "status", "ready", "schema_version", (int)have,
                            "expected_version", (int)want, "reads",
                            db_standby_serves_reads(req->worker->db) ? "standby" : "primary"));
}
