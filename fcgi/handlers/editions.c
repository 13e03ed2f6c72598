/*
 * editions: numbered issues of the column. A reviewer makes one, approves
 * cases into it (a case transition), sets its deadline, then opens and
 * closes its vote; at the deadline the database closes it by itself (see
 * editions_close_due, run by idle workers). Deadlines are read as
 * Asia/Shanghai time unless they carry an offset, and shown with +08:00.
 */
#include <string.h>

#include "api.h"
#include "handlers.h"
#include "response.h"

static const struct field_rule edition_rules[] = {
    {"number", FIELD_INT, FIELD_REQUIRED, 1, 100000, NULL},
    {"title", FIELD_LINE, FIELD_REQUIRED, 1, 200, NULL},
    {"published_on", FIELD_DATE, FIELD_NULLABLE, 0, 0, NULL},
    {"closes_at", FIELD_LINE, FIELD_NULLABLE, 10, 40, NULL},
    {"choices", FIELD_ANY, 0, 0, 0, NULL},
};

static const struct field_rule edition_transition_rules[] = {
    {"action", FIELD_LINE, FIELD_REQUIRED, 1, 32, NULL},
    {"closes_at", FIELD_LINE, FIELD_NULLABLE, 10, 40, NULL},
};

#define CHOICES_MIN 2
#define CHOICES_MAX 6
#define CHOICE_CHARS_MAX 20

/* choices, when given: 2 to 6 different single-line strings of 1 to 20
 * characters without surrounding spaces (the database checks the same).
 * Answers 422 and returns -1 otherwise. */
static int validate_choices(request_t *req)
{
    json_t *choices = json_object_get(req->body, "choices");
    if (choices == NULL)
        return 0;
    const char *why = NULL;
    if (!json_is_array(choices) || json_array_size(choices) < CHOICES_MIN ||
        json_array_size(choices) > CHOICES_MAX)
        why = "must be a list of 2 to 6 choices";
    size_t i, j;
    json_t *c;
    json_array_foreach(choices, i, c)
    {
        const char *text = json_string_value(c);
        size_t len = text ? strlen(text) : 0;
        if (why != NULL)
            break;
        if (text == NULL || len == 0 || validate_chars(text) > CHOICE_CHARS_MAX ||
            strpbrk(text, "\r\n\t") != NULL || text[0] == ' ' || text[len - 1] == ' ')
            why = "each choice is 1 to 20 characters on one line, without surrounding spaces";
        else if (strchr("=+-@", text[0]) != NULL) /* a spreadsheet would run it */
            why = "a choice may not start with = + - or @";
        for (j = 0; j < i && why == NULL; j++)
            if (strcmp(text, json_string_value(json_array_get(choices, j))) == 0)
                why = "the choices must all be different";
    }
    if (why == NULL)
        return 0;
    json_t *errors = NULL;
    validate_add(&errors, "choices", why);
    response_problem(req, PROBLEM_VALIDATION, why, json_pack("{s:o}", "errors", errors));
    return -1;
}

static void send_edition(request_t *req, int status, const char *id, bool location)
{
    const char *values[] = {id};
    PGresult *doc = api_query(req, SQL_EDITIONS_GET, values);
    if (doc == NULL)
        return;
    if (location)
        request_add_header(req, "Location: /api/editions/%s", id);
    api_commit_and_send_versioned(req, status, doc);
}

void editions_list(request_t *req)
{
    PGresult *res = api_query_none(req, SQL_EDITIONS_LIST);
    if (res != NULL)
        api_commit_and_send(req, 200, res);
}

void editions_get(request_t *req)
{
    const char *values[] = {api_param_text(req, "id")};
    PGresult *res = api_query(req, SQL_EDITIONS_GET, values);
    if (res != NULL)
        api_commit_and_send_versioned(req, 200, res);
}

void editions_create(request_t *req)
{
    if (api_validate(req, edition_rules, COUNT(edition_rules), false) != 0 ||
        validate_choices(req) != 0)
        return;
    const char *values[] = {api_body_text(req)};
    PGresult *res = api_query(req, SQL_EDITIONS_CREATE, values);
    if (res == NULL)
        return;
    const char *id = db_value(res, 0, "id");
    if (id == NULL) {
        response_problem(req, PROBLEM_VALIDATION, "the district is not set up yet", NULL);
        return;
    }
    send_edition(req, 201, id, true);
}

void editions_update(request_t *req)
{
    int bad = 0;
    const char *expected = api_if_match(req, true, &bad);
    if (bad || api_validate(req, edition_rules, COUNT(edition_rules), true) != 0 ||
        validate_choices(req) != 0)
        return;
    const char *id = api_param_text(req, "id");
    const char *values[] = {id, api_body_text(req), expected};
    PGresult *res = api_query(req, SQL_EDITIONS_UPDATE, values);
    if (res == NULL)
        return;
    if (PQntuples(res) == 1) {
        send_edition(req, 200, id, false);
        return;
    }
    const char *state_values[] = {id};
    PGresult *state = api_query(req, SQL_EDITIONS_STATE, state_values);
    if (state == NULL)
        return;
    const char *version = db_value(state, 0, "version");
    if (version == NULL)
        response_problem(req, PROBLEM_NOT_FOUND, NULL, NULL);
    else
        response_problem(req, PROBLEM_PRECONDITION_FAILED,
                         "the edition changed since you read it; read it again",
                         json_pack("{s:s}", "etag", version));
}

void editions_transition(request_t *req)
{
    int bad = 0;
    const char *expected = api_if_match(req, false, &bad);
    if (bad ||
        api_validate(req, edition_transition_rules, COUNT(edition_transition_rules), false) != 0)
        return;
    const char *id = api_param_text(req, "id");
    const char *values[] = {
        id,
        json_string_value(json_object_get(req->body, "action")),
        json_string_value(json_object_get(req->body, "closes_at")),
        expected,
    };
    PGresult *res = api_query(req, SQL_EDITIONS_TRANSITION, values);
    if (res == NULL)
        return;
    const char *outcome = db_value(res, 0, "outcome");
    if (outcome == NULL) {
        response_problem(req, PROBLEM_INTERNAL, NULL, NULL);
        return;
    }
    if (strcmp(outcome, "ok") != 0) {
        workflow_refuse(req, res);
        return;
    }
    send_edition(req, 200, id, false);
}
