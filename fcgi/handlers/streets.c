/*
 * streets: the district's street offices, the tenants. Every staff member
 * reads them; only the district admin changes them, and every change lands
 * in the audit trail.
 */

#include "api.h"
#include "handlers.h"
#include "response.h"

static const struct field_rule street_rules[] = {
    {"name", FIELD_LINE, FIELD_REQUIRED, 1, 100, NULL},
};

void streets_list(request_t *req)
{
    PGresult *res = api_query_none(req, SQL_STREETS_LIST);
    if (res != NULL)
        api_commit_and_send(req, 200, res);
}

void streets_get(request_t *req)
{
    const char *values[] = {api_param_text(req, "id")};
    PGresult *res = api_query(req, SQL_STREETS_GET, values);
    if (res != NULL)
        api_commit_and_send(req, 200, res);
}

void streets_create(request_t *req)
{
    if (api_validate(req, street_rules, COUNT(street_rules), false) != 0)
        return;
    const char *values[] = {api_body_text(req)};
    PGresult *res = api_query(req, SQL_STREETS_CREATE, values);
    if (res != NULL)
        api_send_written(req, 201, res, SQL_STREETS_GET, "/api/streets");
}

void streets_update(request_t *req)
{
    if (api_validate(req, street_rules, COUNT(street_rules), true) != 0)
        return;
    const char *values[] = {api_param_text(req, "id"), api_body_text(req)};
    PGresult *res = api_query(req, SQL_STREETS_UPDATE, values);
    if (res != NULL)
        api_send_written(req, 200, res, SQL_STREETS_GET, NULL);
}
