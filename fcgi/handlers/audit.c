/*
 * audit: the audit trail of every change to streets, communities, staff
 * accounts and editions, newest first, for the district admin.
 */
#include "api.h"
#include "handlers.h"

void audit_list(request_t *req)
{
    int bad = 0;
    const char *entity_id = api_query_id(req, "entity_id", &bad);
    const char *before = bad ? NULL : api_query_id(req, "before", &bad);
    int limit = bad ? -1 : api_limit(req, 50, 500);
    if (bad || limit < 0)
        return;
    const char *entity = request_query_param(req, "entity");
    const char *values[] = {entity, entity_id, before, arena_printf(req->arena, "%d", limit)};
    PGresult *res = api_query(req, SQL_AUDIT_LIST, values);
    if (res != NULL)
        api_commit_and_send(req, 200, res);
}
