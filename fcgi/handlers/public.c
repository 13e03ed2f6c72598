/*
 * public: what anyone may read as JSON, without signing in: the column's
 * editions, one edition with its cases, one case with its choices and
 * counts, and an edition's results. Each runs as the public (row security
 * shows only published, voting and closed cases, so a draft's id is a 404
 * like a missing one) and answers the same bytes to every reader, which is
 * what lets nginx keep them for a moment (see api_commit_and_send_public).
 */
#include "api.h"
#include "handlers.h"
#include "response.h"

/* Runs statement with the path parameter param (or none) and sends its
 * doc publicly; 404 when there is none. */
static void send_public_doc(request_t *req, int statement, const char *param)
{
    const char *values[] = {param ? api_param_text(req, param) : NULL};
    PGresult *res = param ? api_query(req, statement, values) : api_query_none(req, statement);
    if (res == NULL)
        return;
    const char *doc = db_value(res, 0, "doc");
    if (doc == NULL) {
        response_problem(req, PROBLEM_NOT_FOUND, NULL, NULL);
        return;
    }
    api_commit_and_send_public(req, 200, "application/json", doc, db_length(res, 0, "doc"));
}

void public_editions_list(request_t *req)
{
    send_public_doc(req, SQL_PUBLIC_EDITIONS_LIST, NULL);
}

void public_edition_get(request_t *req)
{
    send_public_doc(req, SQL_PUBLIC_EDITION_GET, "number");
}

void public_case_get(request_t *req)
{
    send_public_doc(req, SQL_PUBLIC_CASE_GET, "id");
}

void public_results(request_t *req)
{
    send_public_doc(req, SQL_PUBLIC_RESULTS, "number");
}
