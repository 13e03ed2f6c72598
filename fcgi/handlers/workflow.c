/*
 * workflow: the case state machine as the database holds it (GET
 * /api/workflow), and how a refused move of a case or an edition is
 * answered. The states and actions live in case_actions (migration 0003);
 * this file names none of them, only the outcomes the workflow functions
 * return.
 */
#include <string.h>

#include "api.h"
#include "handlers.h"
#include "response.h"

void workflow_get(request_t *req)
{
    PGresult *res = api_query_none(req, SQL_WORKFLOW_GET);
    if (res != NULL)
        api_commit_and_send(req, 200, res);
}

/* The outcomes that are a 422: which field is wrong, and what to say when
 * the database gave no detail of its own. */
static const struct {
    const char *outcome, *field, *message;
} invalid_outcomes[] = {
    {"note_required", "note", "this action needs a note: say why"},
    {"bad_edition", "edition_id", "name an edition that exists and has not opened its vote"},
    {"deadline", "closes_at", "not possible now"},
    {"unknown", "action", "is not an action"},
    {"bad_content", "content", "a correction names the corrected fields in content"},
    {"unchanged", "content", "the correction changes nothing"},
    {"bad_replaces", "replaces", "names no photo of this case"},
};

void workflow_refuse(request_t *req, PGresult *res)
{
    const char *outcome = db_value(res, 0, "outcome");
    const char *state = db_value(res, 0, "state");
    json_error_t jerr;
    json_t *allowed = json_loads(db_value(res, 0, "allowed"), 0, &jerr);
    const char *detail = db_value(res, 0, "detail");
    json_t *ext = json_pack("{s:s,s:o}", "state", state ? state : "", "allowed",
                            allowed ? allowed : json_array());
    if (strcmp(outcome, "not_found") == 0) {
        json_decref(ext);
        response_problem(req, PROBLEM_NOT_FOUND, NULL, NULL);
    } else if (strcmp(outcome, "stale") == 0) {
        json_object_set_new(ext, "etag", json_string(db_value(res, 0, "version")));
        response_problem(req, PROBLEM_PRECONDITION_FAILED,
                         "it changed since you read it; read it again", ext);
    } else if (strcmp(outcome, "version_required") == 0) {
        json_decref(ext);
        response_problem(req, PROBLEM_PRECONDITION_REQUIRED,
                         "send If-Match with the ETag of the version you correct", NULL);
    } else if (strcmp(outcome, "forbidden") == 0) {
        response_problem(req, PROBLEM_TRANSITION_FORBIDDEN, "another role takes that action here",
                         ext);
    } else if (strcmp(outcome, "not_allowed") == 0) {
        response_problem(req, PROBLEM_TRANSITION_NOT_ALLOWED,
                         arena_printf(req->arena, "that action is not possible from %s", state),
                         ext);
    } else {
        /* the rest (incomplete, empty, ...) name no single field */
        const char *field = "";
        const char *message = "not possible now";
        for (size_t i = 0; i < COUNT(invalid_outcomes); i++)
            if (strcmp(outcome, invalid_outcomes[i].outcome) == 0) {
                field = invalid_outcomes[i].field;
                message = invalid_outcomes[i].message;
            }
        if (detail != NULL)
            message = detail;
        json_t *errors = NULL;
        validate_add(&errors, field, message);
        json_object_set_new(ext, "errors", errors);
        response_problem(req, PROBLEM_VALIDATION, message, ext);
    }
}
