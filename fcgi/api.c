/* api: shared handler plumbing. See api.h. */
#include "api.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "response.h"
#include "stored.h"

void api_answer_failure(request_t *req, PGresult *res)
{
    if (res == NULL) {
        response_problem(req, PROBLEM_DATABASE_UNAVAILABLE, NULL, NULL);
        return;
    }
    const char *state = db_sqlstate(res);
    /* the schema's names and messages go to the log line, never to the client */
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
    req->log_detail = constraint
                          ? arena_printf(req->arena, "%s (%s)", primary ? primary : "", constraint)
                          : primary;
    if (strcmp(state, "23505") == 0)
        response_problem(req, PROBLEM_CONFLICT, "a record with these values already exists", NULL);
    else if (strcmp(state, "23503") == 0)
        response_problem(req, PROBLEM_VALIDATION, "a referenced record does not exist", NULL);
    else if (strcmp(state, "23514") == 0 && constraint == NULL && primary != NULL)
        /* a rule a trigger of ours raised, in words written for people */
        response_problem(req, PROBLEM_VALIDATION, primary, NULL);
    else if (strcmp(state, "23001") == 0 && constraint == NULL && primary != NULL)
        /* a trigger of ours refusing a change that would strand dependent
         * rows (a community's cases), in words written for people */
        response_problem(req, PROBLEM_CONFLICT, primary, NULL);
    else if (strcmp(state, "23514") == 0 || strcmp(state, "23502") == 0 ||
             strncmp(state, "22", 2) == 0)
        response_problem(req, PROBLEM_VALIDATION, "a value is not acceptable", NULL);
    else if (strcmp(state, "42501") == 0)
        response_problem(req, PROBLEM_FORBIDDEN, NULL, NULL);
    else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
        response_problem(req, PROBLEM_CONFLICT, "a concurrent change won; try again", NULL);
    else if (strcmp(state, "57014") == 0)
        response_problem(req, PROBLEM_DATABASE_UNAVAILABLE, "the query took too long", NULL);
    else
        response_problem(req, PROBLEM_INTERNAL, NULL, NULL);
}

PGresult *api_run(request_t *req, int statement, size_t nparams, const char *const *values)
{
    PGresult *res = db_query(req->worker->db, req->arena, statement, nparams, values);
    if (res == NULL || !db_ok(res)) {
        api_answer_failure(req, res);
        return NULL;
    }
    return res;
}

PGresult *api_run_binary(request_t *req, int statement, size_t nparams, const char *const *values,
                         const int *lengths, const int *formats)
{
    PGresult *res =
        db_query_binary(req->worker->db, req->arena, statement, nparams, values, lengths, formats);
    if (res == NULL || !db_ok(res)) {
        api_answer_failure(req, res);
        return NULL;
    }
    return res;
}

int api_commit(request_t *req)
{
    if (db_commit(req->worker->db, req->arena) != 0) {
        /* a failed COMMIT is a deferred check or a serialization failure */
        response_problem(req, PROBLEM_CONFLICT, "the change could not be saved; try again", NULL);
        return -1;
    }
    return 0;
}

void api_commit_and_send(request_t *req, int status, PGresult *res)
{
    const char *text = db_value(res, 0, "doc");
    if (text == NULL) {
        response_problem(req, PROBLEM_NOT_FOUND, NULL, NULL);
        return;
    }
    if (api_commit(req) != 0)
        return;
    response_send(req, status, "application/json", text, db_length(res, 0, "doc"), NULL);
}

const char *api_param_text(request_t *req, const char *name)
{
    for (size_t i = 0; i < req->match.param_count; i++)
        if (strcmp(req->match.params[i].name, name) == 0)
            return arena_strndup(req->arena, req->match.params[i].text,
                                 req->match.params[i].text_len);
    return NULL;
}

static int parse_positive(const char *text, long long max, long long *out)
{
    if (text == NULL || text[0] < '1' || text[0] > '9' || strlen(text) > 18)
        return -1;
    char *end;
    long long v = strtoll(text, &end, 10);
    if (*end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

int api_limit(request_t *req, int fallback, int max)
{
    const char *text = request_query_param(req, "limit");
    if (text == NULL)
        return fallback;
    long long v;
    if (parse_positive(text, max, &v) != 0) {
        char *detail = arena_printf(req->arena, "limit must be a whole number from 1 to %d", max);
        response_problem(req, PROBLEM_BAD_REQUEST, detail,
                         json_pack("{s:s}", "parameter", "limit"));
        return -1;
    }
    return (int)v;
}

bool api_is_id(const char *text)
{
    long long v;
    return parse_positive(text, 999999999999999999LL, &v) == 0;
}

const char *api_query_id(request_t *req, const char *name, int *bad)
{
    const char *text = request_query_param(req, name);
    if (text == NULL)
        return NULL;
    if (!api_is_id(text)) {
        char *detail = arena_printf(req->arena, "%s must be a positive whole number", name);
        response_problem(req, PROBLEM_BAD_REQUEST, detail, json_pack("{s:s}", "parameter", name));
        *bad = 1;
        return NULL;
    }
    return text;
}

int api_validate(request_t *req, const struct field_rule *rules, size_t count, bool partial)
{
    json_t *errors = validate_object(req->body, rules, count, partial);
    if (errors == NULL)
        return 0;
    response_problem(req, PROBLEM_VALIDATION, NULL, json_pack("{s:o}", "errors", errors));
    return -1;
}

const char *api_body_text(request_t *req)
{
    char *text = json_dumps(req->body, JSON_COMPACT);
    if (text == NULL)
        return NULL;
    char *copy = arena_strdup(req->arena, text);
    free(text);
    return copy;
}

void api_send_written(request_t *req, int status, PGresult *written, int get_statement,
                      const char *location_prefix)
{
    const char *id = PQntuples(written) == 1 ? db_value(written, 0, "id") : NULL;
    if (id == NULL) {
        response_problem(req, PROBLEM_NOT_FOUND, NULL, NULL);
        return;
    }
    int nparams = db_statement_params(get_statement);
    const char **values = nparams > 0 ? arena_alloc(req->arena, sizeof(char *) * nparams) : NULL;
    if (nparams > 0 && values == NULL) {
        response_problem(req, PROBLEM_INTERNAL, NULL, NULL);
        return;
    }
    for (int i = 0; i < nparams; i++)
        values[i] = i == 0 ? id : NULL;
    PGresult *doc = api_run(req, get_statement, nparams > 0 ? (size_t)nparams : 0, values);
    if (doc == NULL)
        return;
    if (location_prefix != NULL)
        request_add_header(req, "Location: %s/%s", location_prefix, id);
    api_commit_and_send(req, status, doc);
}

const char *api_street_scope(request_t *req)
{
    if (req->user.role == NULL || strcmp(req->user.role, "editor") != 0)
        return NULL;
    return arena_printf(req->arena, "%lld", (long long)req->user.street_id);
}

const char *api_if_match(request_t *req, bool required, int *bad)
{
    const char *header = request_param(req, "HTTP_IF_MATCH");
    if (header == NULL || header[0] == '\0') {
        if (required) {
            response_problem(req, PROBLEM_PRECONDITION_REQUIRED,
                             "send If-Match with the ETag of the version you changed", NULL);
            *bad = 1;
        }
        return NULL;
    }
    const char *p = header;
    if (strncmp(p, "W/", 2) == 0)
        p += 2;
    size_t len = strlen(p);
    long long v;
    char *digits = len >= 3 && p[0] == '"' && p[len - 1] == '"'
                       ? arena_strndup(req->arena, p + 1, len - 2)
                       : NULL;
    if (digits == NULL || parse_positive(digits, INT32_MAX, &v) != 0) {
        response_problem(req, PROBLEM_PRECONDITION_FAILED,
                         "If-Match names no version of this resource", NULL);
        *bad = 1;
        return NULL;
    }
    return digits;
}

void api_commit_and_send_versioned(request_t *req, int status, PGresult *res)
{
    const char *version = db_value(res, 0, "version");
    if (db_value(res, 0, "doc") == NULL || version == NULL) {
        response_problem(req, PROBLEM_NOT_FOUND, NULL, NULL);
        return;
    }
    request_add_header(req, "ETag: \"%s\"", version);
    /* a client polling what it already has gets no body (GET only: a write
     * always answers with what it wrote) */
    const char *none_match = request_param(req, "HTTP_IF_NONE_MATCH");
    if (status == 200 && none_match != NULL &&
        (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0)) {
        const char *p = strncmp(none_match, "W/", 2) == 0 ? none_match + 2 : none_match;
        size_t n = strlen(version);
        if (p[0] == '"' && strncmp(p + 1, version, n) == 0 && p[n + 1] == '"' && p[n + 2] == '\0') {
            if (api_commit(req) == 0)
                response_send(req, 304, "application/json", "", 0, NULL);
            return;
        }
    }
    api_commit_and_send(req, status, res);
}

void api_send_public(request_t *req, int status, const char *content_type, const char *body,
                     size_t len, const char *etag)
{
    request_add_header(req, "ETag: \"%s\"", etag);
    request_add_header(req, "Cache-Control: public, max-age=%d", API_PUBLIC_MAX_AGE_S);
    const char *none_match = request_param(req, "HTTP_IF_NONE_MATCH");
    if (status == 200 && none_match != NULL) {
        const char *p = strncmp(none_match, "W/", 2) == 0 ? none_match + 2 : none_match;
        size_t n = strlen(etag);
        if (p[0] == '"' && strncmp(p + 1, etag, n) == 0 && p[n + 1] == '"') {
            response_send(req, 304, content_type, "", 0, NULL);
            return;
        }
    }
    response_send(req, status, content_type, body, len, NULL);
}

void api_commit_and_send_public(request_t *req, int status, const char *content_type,
                                const char *body, size_t len)
{
    /* what a stored route answers is kept with the generation its
     * snapshot saw, asked before COMMIT ends the snapshot */
    PGresult *state = status == 200 && stored_route(req) ? stored_state(req) : NULL;
    if (api_commit(req) != 0)
        return;
    unsigned char hash[12];
    char etag[sizeof(hash) * 2 + 1];
    crypto_generichash(hash, sizeof(hash), (const unsigned char *)body, len, NULL, 0);
    sodium_bin2hex(etag, sizeof(etag), hash, sizeof(hash));
    if (state != NULL)
        stored_keep(req, state, content_type, body, len, etag);
    api_send_public(req, status, content_type, body, len, etag);
}
