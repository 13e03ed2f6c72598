/*
 * communities: each belongs to one street, with its committee's facts.
 * Every staff member reads them (an editor only its own street's: the
 * handler narrows the query, and row-level security would hide the rest
 * anyway); only the district admin changes them, and every change lands in
 * the audit trail.
 */
#include <string.h>

#include "api.h"
#include "handlers.h"
#include "response.h"

static const struct field_rule community_rules[] = {
    {"street_id", FIELD_INT, FIELD_REQUIRED, 1, INT64_MAX, NULL},
    {"name", FIELD_LINE, FIELD_REQUIRED, 1, 100, NULL},
    {"committee_elected_on", FIELD_DATE, FIELD_NULLABLE, 0, 0, NULL},
    {"committee_size", FIELD_INT, FIELD_NULLABLE, 1, 99, NULL},
    {"secretary_name", FIELD_LINE, FIELD_NULLABLE, 1, 50, NULL},
    {"secretary_post", FIELD_LINE, FIELD_NULLABLE, 1, 100, NULL},
};

void communities_list(request_t *req)
{
    int bad = 0;
    const char *street = api_query_id(req, "street_id", &bad);
    if (bad)
        return;
    const char *scope = api_street_scope(req);
    if (scope != NULL && street != NULL && strcmp(scope, street) != 0) {
        response_send(req, 200, "application/json", "[]", 2, NULL); /* nothing of theirs there */
        return;
    }
    const char *values[] = {scope ? scope : street};
    PGresult *res = api_query(req, SQL_COMMUNITIES_LIST, values);
    if (res != NULL)
        api_commit_and_send(req, 200, res);
}

void communities_get(request_t *req)
{
    const char *values[] = {api_param_text(req, "id"), api_street_scope(req)};
    PGresult *res = api_query(req, SQL_COMMUNITIES_GET, values);
    if (res != NULL)
        api_commit_and_send(req, 200, res);
}

void communities_create(request_t *req)
{
    if (api_validate(req, community_rules, COUNT(community_rules), false) != 0)
        return;
    const char *values[] = {api_body_text(req)};
    PGresult *res = api_query(req, SQL_COMMUNITIES_CREATE, values);
    if (res != NULL)
        api_send_written(req, 201, res, SQL_COMMUNITIES_GET, "/api/communities");
}

void communities_update(request_t *req)
{
    if (api_validate(req, community_rules, COUNT(community_rules), true) != 0)
        return;
    const char *values[] = {api_param_text(req, "id"), api_body_text(req)};
    PGresult *res = api_query(req, SQL_COMMUNITIES_UPDATE, values);
    if (res != NULL)
        api_send_written(req, 200, res, SQL_COMMUNITIES_GET, NULL);
}
