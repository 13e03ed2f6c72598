/*
 * cases: a community's write-up, from draft to closed. Editors write drafts
 * of their own street's communities; every save needs If-Match with the
 * ETag (the case's version) so two editors never overwrite each other;
 * every save is a revision. States move only through case_transition() in
 * the database, which holds the state machine: this file names no state
 * and no action of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "handlers.h"
#include "response.h"

#define ACTIONS_MAX 20

static const struct field_rule case_rules[] = {
    {"community_id", FIELD_INT, FIELD_REQUIRED, 1, INT64_MAX, NULL},
    {"title", FIELD_LINE, 0, 0, 200, NULL},
    {"problem", FIELD_TEXT, 0, 0, 5000, NULL},
    {"actions", FIELD_ANY, 0, 0, 0, NULL},
    {"testimonial", FIELD_ANY, 0, 0, 0, NULL},
};

/* the same without community_id: a case stays with its community */
static const struct field_rule case_update_rules[] = {
    {"title", FIELD_LINE, 0, 0, 200, NULL},
    {"problem", FIELD_TEXT, 0, 0, 5000, NULL},
    {"actions", FIELD_ANY, 0, 0, 0, NULL},
    {"testimonial", FIELD_ANY, 0, 0, 0, NULL},
};

static const struct field_rule action_rules[] = {
    {"headline", FIELD_LINE, FIELD_REQUIRED, 1, 200, NULL},
    {"body", FIELD_TEXT, FIELD_REQUIRED, 1, 5000, NULL},
};

static const struct field_rule testimonial_rules[] = {
    {"text", FIELD_TEXT, 0, 0, 2000, NULL},
    {"speaker", FIELD_LINE, 0, 0, 50, NULL},
    {"post", FIELD_LINE, 0, 0, 100, NULL},
};

static const struct field_rule transition_rules[] = {
    {"action", FIELD_LINE, FIELD_REQUIRED, 1, 32, NULL},
    {"note", FIELD_TEXT, FIELD_NULLABLE, 0, 2000, NULL},
    {"edition_id", FIELD_INT, FIELD_NULLABLE, 1, INT64_MAX, NULL},
    {"content", FIELD_ANY, 0, 0, 0, NULL}, /* the corrected text, for "correct" */
};

static int validate_case_parts(request_t *req, const json_t *body);
static void validate_nested(json_t **errors, const char *prefix, const json_t *value,
                            const struct field_rule *rules, size_t count);

/* What a correction may change: the text, and which photos stay, in which
 * order, with which captions (no new pictures). */
static const struct field_rule correction_rules[] = {
    {"title", FIELD_LINE, 0, 0, 200, NULL}, {"problem", FIELD_TEXT, 0, 0, 5000, NULL},
    {"actions", FIELD_ANY, 0, 0, 0, NULL},  {"testimonial", FIELD_ANY, 0, 0, 0, NULL},
    {"photos", FIELD_ANY, 0, 0, 0, NULL},
};

static const struct field_rule kept_photo_rules[] = {
    {"id", FIELD_INT, FIELD_REQUIRED, 1, INT64_MAX, NULL},
    {"caption", FIELD_LINE, 0, 0, 200, NULL},
};

#define PHOTOS_MAX 100

/* content.photos, when given: [{id, caption}], each id once. */
static void validate_kept_photos(json_t **errors, const json_t *photos)
{
    if (photos == NULL)
        return;
    if (!json_is_array(photos) || json_array_size(photos) > PHOTOS_MAX) {
        validate_add(errors, "content.photos", "must be a list of at most 100 {id, caption}");
        return;
    }
    size_t i, j;
    json_t *p;
    json_array_foreach(photos, i, p)
    {
        char prefix[48];
        snprintf(prefix, sizeof(prefix), "content.photos[%zu]", i);
        validate_nested(errors, prefix, p, kept_photo_rules, COUNT(kept_photo_rules));
        for (j = 0; j < i; j++)
            if (json_equal(json_object_get(p, "id"),
                           json_object_get(json_array_get(photos, j), "id")))
                validate_add(errors, prefix, "names a photo twice");
    }
}

/* A correction's content: the fields of a case's text it changes. Answers
 * 422 and returns -1 when it is not acceptable. */
static int validate_content(request_t *req, const json_t *content)
{
    json_t *errors = NULL;
    if (!json_is_object(content) || json_object_size(content) == 0) {
        validate_add(&errors, "content", "must be an object with the corrected fields");
    } else {
        json_t *found = validate_object(content, correction_rules, COUNT(correction_rules), true);
        size_t i;
        json_t *e;
        json_array_foreach(found, i, e)
        {
            const char *field = json_string_value(json_object_get(e, "field"));
            char name[96];
            snprintf(name, sizeof(name), "content.%s", field ? field : "");
            validate_add(&errors, name, json_string_value(json_object_get(e, "message")));
        }
        json_decref(found);
        validate_kept_photos(&errors, json_object_get(content, "photos"));
    }
    if (errors != NULL) {
        response_problem(req, PROBLEM_VALIDATION, "some fields are not acceptable",
                         json_pack("{s:o}", "errors", errors));
        return -1;
    }
    return validate_case_parts(req, content);
}

/* Checks value against rules as the object at prefix ("actions[2]"),
 * adding "prefix.field" errors to *errors. */
static void validate_nested(json_t **errors, const char *prefix, const json_t *value,
                            const struct field_rule *rules, size_t count)
{
    json_t *found = validate_object(value, rules, count, false);
    size_t i;
    json_t *e;
    json_array_foreach(found, i, e)
    {
        const char *field = json_string_value(json_object_get(e, "field"));
        char name[96];
        snprintf(name, sizeof(name), "%s%s%s", prefix, field && *field ? "." : "",
                 field ? field : "");
        validate_add(errors, name, json_string_value(json_object_get(e, "message")));
    }
    json_decref(found);
}

/* The parts of a case's text the flat rules cannot check in body (the
 * request's, or a correction's content): the actions list and the
 * testimonial object. Answers 422 and returns -1 on errors. */
static int validate_case_parts(request_t *req, const json_t *body)
{
    json_t *errors = NULL;
    json_t *actions = json_object_get(body, "actions");
    if (actions != NULL && !json_is_array(actions)) {
        validate_add(&errors, "actions", "must be a list of {headline, body}");
    } else if (actions != NULL && json_array_size(actions) > ACTIONS_MAX) {
        validate_add(&errors, "actions", "may hold at most 20 points");
    } else if (actions != NULL) {
        size_t i;
        json_t *a;
        json_array_foreach(actions, i, a)
        {
            char prefix[32];
            snprintf(prefix, sizeof(prefix), "actions[%zu]", i);
            validate_nested(&errors, prefix, a, action_rules, COUNT(action_rules));
        }
    }
    json_t *testimonial = json_object_get(body, "testimonial");
    if (testimonial != NULL)
        validate_nested(&errors, "testimonial", testimonial, testimonial_rules,
                        COUNT(testimonial_rules));
    if (errors == NULL)
        return 0;
    response_problem(req, PROBLEM_VALIDATION, "some fields are not acceptable",
                     json_pack("{s:o}", "errors", errors));
    return -1;
}

void cases_send_written(request_t *req, int status, const char *id, bool location)
{
    const char *values[] = {id, NULL};
    PGresult *doc = api_query(req, SQL_CASES_GET, values);
    if (doc == NULL)
        return;
    if (location)
        request_add_header(req, "Location: /api/cases/%s", id);
    api_commit_and_send_versioned(req, status, doc);
}

void cases_explain_refusal(request_t *req, const char *id, const char *expected)
{
    const char *values[] = {id, api_street_scope(req)};
    PGresult *res = api_query(req, SQL_CASES_STATE, values);
    if (res == NULL)
        return;
    const char *state = db_value(res, 0, "state");
    const char *version = db_value(res, 0, "version");
    if (state == NULL || version == NULL)
        response_problem(req, PROBLEM_NOT_FOUND, NULL, NULL);
    else if (strcmp(state, "draft") != 0)
        response_problem(req, PROBLEM_NOT_EDITABLE,
                         arena_printf(req->arena, "the case is in %s; only a draft changes", state),
                         json_pack("{s:s}", "state", state));
    else if (expected != NULL && strcmp(version, expected) != 0)
        response_problem(req, PROBLEM_PRECONDITION_FAILED,
                         "the case changed since you read it; read it again",
                         json_pack("{s:s}", "etag", version));
    else
        response_problem(req, PROBLEM_CONFLICT, "the case could not be changed", NULL);
}

void cases_create(request_t *req)
{
    if (api_validate(req, case_rules, COUNT(case_rules), false) != 0 ||
        validate_case_parts(req, req->body) != 0)
        return;
    const char *values[] = {api_body_text(req),
                            arena_printf(req->arena, "%lld", (long long)req->user.user_id)};
    PGresult *res = api_query(req, SQL_CASES_CREATE, values);
    if (res == NULL)
        return;
    const char *id = db_value(res, 0, "id");
    if (id == NULL) {
        response_problem(req, PROBLEM_INTERNAL, NULL, NULL);
        return;
    }
    cases_send_written(req, 201, id, true);
}

void cases_list(request_t *req)
{
    int bad = 0;
    const char *community = api_query_id(req, "community_id", &bad);
    const char *edition = bad ? NULL : api_query_id(req, "edition_id", &bad);
    const char *after = bad ? NULL : api_query_id(req, "after", &bad);
    int limit = bad ? -1 : api_limit(req, 50, 200);
    if (bad || limit < 0)
        return;
    const char *state = request_query_param(req, "state");
    if (state != NULL && (strlen(state) == 0 || strlen(state) > 20 ||
                          strspn(state, "abcdefghijklmnopqrstuvwxyz") != strlen(state))) {
        response_problem(req, PROBLEM_BAD_REQUEST, "state must be a state's name",
                         json_pack("{s:s}", "parameter", "state"));
        return;
    }
    const char *values[] = {state,
                            community,
                            edition,
                            after,
                            arena_printf(req->arena, "%d", limit),
                            api_street_scope(req)};
    PGresult *res = api_query(req, SQL_CASES_LIST, values);
    if (res != NULL)
        api_commit_and_send(req, 200, res);
}

void cases_get(request_t *req)
{
    const char *values[] = {api_param_text(req, "id"), api_street_scope(req)};
    PGresult *res = api_query(req, SQL_CASES_GET, values);
    if (res != NULL)
        api_commit_and_send_versioned(req, 200, res);
}

void cases_update(request_t *req)
{
    int bad = 0;
    const char *expected = api_if_match(req, true, &bad);
    if (bad || api_validate(req, case_update_rules, COUNT(case_update_rules), true) != 0 ||
        validate_case_parts(req, req->body) != 0)
        return;
    const char *id = api_param_text(req, "id");
    const char *values[] = {id, api_body_text(req), expected};
    PGresult *res = api_query(req, SQL_CASES_UPDATE, values);
    if (res == NULL)
        return;
    if (PQntuples(res) != 1) {
        cases_explain_refusal(req, id, expected);
        return;
    }
    cases_send_written(req, 200, id, false);
}

void cases_transition(request_t *req)
{
    int bad = 0;
    const char *expected = api_if_match(req, false, &bad);
    if (bad || api_validate(req, transition_rules, COUNT(transition_rules), false) != 0)
        return;
    json_t *content = json_object_get(req->body, "content");
    if (content != NULL && validate_content(req, content) != 0)
        return;
    const char *id = api_param_text(req, "id");
    json_t *edition = json_object_get(req->body, "edition_id");
    char *content_text = content ? json_dumps(content, JSON_COMPACT) : NULL;
    const char *values[] = {
        id,
        json_string_value(json_object_get(req->body, "action")),
        json_string_value(json_object_get(req->body, "note")),
        json_is_integer(edition)
            ? arena_printf(req->arena, "%lld", (long long)json_integer_value(edition))
            : NULL,
        expected,
        content_text ? arena_strdup(req->arena, content_text) : NULL,
    };
    free(content_text);
    PGresult *res = api_query(req, SQL_CASES_TRANSITION, values);
    if (res == NULL)
        return;
    const char *outcome = db_value(res, 0, "outcome");
    if (outcome == NULL || strcmp(outcome, "ok") != 0) {
        if (PQntuples(res) != 1)
            response_problem(req, PROBLEM_INTERNAL, NULL, NULL);
        else
            workflow_refuse(req, res);
        return;
    }
    /* the outcome, not the case: after a reject or an approve the case may
     * no longer be visible to the one who moved it */
    json_error_t jerr;
    json_t *allowed = json_loads(db_value(res, 0, "allowed"), 0, &jerr);
    json_t *body =
        json_pack("{s:I,s:s,s:I,s:o}", "id", (json_int_t)strtoll(id, NULL, 10), "state",
                  db_value(res, 0, "state"), "version", (json_int_t)db_int(res, 0, "version", 0),
                  "allowed", allowed ? allowed : json_array());
    if (api_commit(req) != 0) {
        json_decref(body);
        return;
    }
    request_add_header(req, "ETag: \"%s\"", db_value(res, 0, "version"));
    response_json(req, 200, body);
}

/* For the read-only lists keyed by case: one statement, (id, street). */
static void send_case_part(request_t *req, int statement)
{
    const char *values[] = {api_param_text(req, "id"), api_street_scope(req)};
    PGresult *res = api_query(req, statement, values);
    if (res != NULL)
        api_commit_and_send(req, 200, res);
}

void cases_events(request_t *req)
{
    send_case_part(req, SQL_CASES_EVENTS);
}

void cases_revisions(request_t *req)
{
    send_case_part(req, SQL_CASES_REVISIONS);
}

void cases_revision_get(request_t *req)
{
    const char *version = api_param_text(req, "version");
    if (strlen(version) > 9) {
        response_problem(req, PROBLEM_NOT_FOUND, NULL, NULL);
        return;
    }
    const char *values[] = {api_param_text(req, "id"), version, api_street_scope(req)};
    PGresult *res = api_query(req, SQL_CASES_REVISION_GET, values);
    if (res != NULL)
        api_commit_and_send(req, 200, res);
}

void cases_diff(request_t *req)
{
    int bad = 0;
    const char *from = api_query_id(req, "from", &bad);
    const char *to = bad ? NULL : api_query_id(req, "to", &bad);
    if (bad)
        return;
    if ((from && strlen(from) > 9) || (to && strlen(to) > 9)) {
        response_problem(req, PROBLEM_NOT_FOUND, "no such revision", NULL);
        return;
    }
    const char *values[] = {api_param_text(req, "id"), from, to, api_street_scope(req)};
    PGresult *res = api_query(req, SQL_CASES_DIFF, values);
    if (res != NULL)
        api_commit_and_send(req, 200, res);
}
