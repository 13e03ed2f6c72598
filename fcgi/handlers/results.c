/*
 * results: what the district takes from a vote, for reviewers and admins:
 * an edition's results and the column's standings across editions, as
 * JSON and as CSV for spreadsheet programs (UTF-8 with a BOM so they read
 * Chinese right). The database makes both forms from the same rows (see
 * edition_results and column_standings in migrations/0007).
 */
#include "api.h"
#include "handlers.h"
#include "response.h"

/* Sends column doc (JSON) or csv of res, never kept by a shared cache. */
static void send_export(request_t *req, PGresult *res, bool csv, const char *filename)
{
    const char *column = csv ? "csv" : "doc";
    const char *body = db_value(res, 0, column);
    if (body == NULL) {
        response_problem(req, PROBLEM_NOT_FOUND, NULL, NULL);
        return;
    }
    if (api_commit(req) != 0)
        return;
    request_add_header(req, "Cache-Control: private, no-store");
    if (csv)
        request_add_header(req, "Content-Disposition: attachment; filename=\"%s\"", filename);
    response_send(req, 200, csv ? "text/csv; charset=utf-8" : "application/json", body,
                  db_length(res, 0, column), NULL);
}

static void send_edition_results(request_t *req, bool csv)
{
    const char *id = api_param_text(req, "id");
    const char *values[] = {id};
    PGresult *res = api_query(req, SQL_EDITIONS_RESULTS, values);
    if (res != NULL)
        send_export(req, res, csv, arena_printf(req->arena, "edition-%s-results.csv", id));
}

void results_edition(request_t *req)
{
    send_edition_results(req, false);
}

void results_edition_csv(request_t *req)
{
    send_edition_results(req, true);
}

void results_standings(request_t *req)
{
    PGresult *res = api_query_none(req, SQL_STANDINGS_GET);
    if (res != NULL)
        send_export(req, res, false, NULL);
}

void results_standings_csv(request_t *req)
{
    PGresult *res = api_query_none(req, SQL_STANDINGS_GET);
    if (res != NULL)
        send_export(req, res, true, "standings.csv");
}
