/*
 * photos: pictures of a case, stored in PostgreSQL with the case (so a
 * backup has them), once per content, and served under their SHA-256 with
 * a year's cache lifetime: a changed picture is a new URL. The bytes are
 * checked for what they are (image.c) before any of this runs. Adding,
 * captioning, moving and removing a photo change the case, so they need
 * If-Match like any other save, and only in a draft. Each street's photos
 * are capped (street-photo-quota): the bytes of the distinct pictures its
 * cases and their revisions hold, checked before anything is stored.
 */
#include <sodium.h>
#include <string.h>

#include "api.h"
#include "handlers.h"
#include "response.h"

static const struct field_rule caption_rules[] = {
    {"caption", FIELD_LINE, 0, 0, 200, NULL},
};

/* A reviewer's upload is a correction, recorded with its reason. The reason
 * rides in the query beside the caption, percent-encoded: 500 characters of
 * Chinese and a full caption stay well inside nginx's 8 KiB request line.
 * A missing or blank one is refused by case_photo_correct, after a case out
 * of the reviewer's sight has answered 404 as a missing one does. */
static const struct field_rule correction_upload_rules[] = {
    {"caption", FIELD_LINE, 0, 0, 200, NULL},
    {"reason", FIELD_TEXT, 0, 0, 500, NULL},
};

static const struct field_rule photo_update_rules[] = {
    {"caption", FIELD_LINE, 0, 0, 200, NULL},
    {"position", FIELD_INT, 0, 1, 100, NULL},
};

/* Locks the case at the version the client read and bumps it; on failure
 * answers why (404, 409 not a draft, 412 stale). Returns the case's street
 * (arena-owned) or NULL. */
static const char *touch_case(request_t *req, const char *id, const char *expected)
{
    const char *values[] = {id, expected};
    PGresult *res = api_query(req, SQL_CASES_TOUCH, values);
    if (res == NULL)
        return NULL;
    if (PQntuples(res) != 1) {
        cases_explain_refusal(req, id, expected);
        return NULL;
    }
    return arena_strdup(req->arena, db_value(res, 0, "street_id"));
}

/* Refuses (507 quota-exceeded, and -1) an upload that would take the
 * caller's street past street-photo-quota; bytes it already holds cost
 * nothing. The check holds the street's upload lock until the request's
 * transaction ends, so two uploads cannot both take the last room. */
static int check_quota(request_t *req, const char *sha)
{
    size_t quota = req->worker->config->street_photo_quota;
    if (quota == 0)
        return 0; /* no cap */
    const char *values[] = {sha, arena_printf(req->arena, "%zu", req->raw_len),
                            arena_printf(req->arena, "%zu", quota)};
    if (values[1] == NULL || values[2] == NULL) {
        response_problem(req, PROBLEM_INTERNAL, NULL, NULL);
        return -1;
    }
    PGresult *res = api_query(req, SQL_CASES_PHOTO_QUOTA, values);
    if (res == NULL)
        return -1;
    if (PQntuples(res) != 1) {
        response_problem(req, PROBLEM_INTERNAL, NULL, NULL);
        return -1;
    }
    if (db_bool(res, 0, "fits"))
        return 0;
    long long used = db_int(res, 0, "used", 0);
    const char *detail = arena_printf(req->arena,
                                      "the street's cases and their revisions hold %lld bytes of "
                                      "photos; this one (%zu bytes) would pass its quota of %zu",
                                      used, req->raw_len, quota);
    response_problem(req, PROBLEM_QUOTA_EXCEEDED, detail,
                     json_pack("{s:I,s:I,s:I}", "used_bytes", (json_int_t)used, "photo_bytes",
                               (json_int_t)req->raw_len, "quota_bytes", (json_int_t)quota));
    return -1;
}

/* Answers 422 naming the query parameter replaces. */
static void refuse_replaces(request_t *req, const char *message)
{
    json_t *errors = NULL;
    validate_add(&errors, "replaces", message);
    response_problem(req, PROBLEM_VALIDATION, message, json_pack("{s:o}", "errors", errors));
}

/* The photo a correction's upload replaces (?replaces=) into *out, NULL
 * when the query names none; -1 after a 422 when it names one in a way that
 * is not exactly one row id (empty, undecodable, repeated), which must not
 * fall back to adding the picture beside the old one. */
static int replaced_photo(request_t *req, const char **out)
{
    *out = NULL;
    size_t named = request_query_count(req, "replaces");
    if (named == 0)
        return 0;
    const char *value = request_query_param(req, "replaces");
    if (named != 1 || value == NULL || !api_is_id(value)) {
        refuse_replaces(req, named != 1 ? "name one photo to replace" : "is not a photo id");
        return -1;
    }
    *out = value;
    return 0;
}

/* A reviewer's upload is a correction of a published case (?reason= is the
 * note it is recorded with), with an event and a revision: the picture is
 * added at the end, or with ?replaces= put in that photo's place (under its
 * caption unless ?caption= gives another). */
static void photos_correct_add(request_t *req, const char *expected, const char *caption)
{
    const char *reason = request_query_param(req, "reason");
    const char *replaces;
    if (replaced_photo(req, &replaces) != 0)
        return;
    const char *id = api_param_text(req, "id");
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, req->raw, req->raw_len);
    char sha[crypto_hash_sha256_BYTES * 2 + 1];
    sodium_bin2hex(sha, sizeof(sha), digest, sizeof(digest));
    const char *values[] = {
        id,
        sha,
        req->image.media_type,
        arena_printf(req->arena, "%u", req->image.width),
        arena_printf(req->arena, "%u", req->image.height),
        (const char *)req->raw,
        caption,
        reason,
        expected,
        replaces,
    };
    const int lengths[] = {0, 0, 0, 0, 0, (int)req->raw_len, 0, 0, 0, 0};
    const int formats[] = {0, 0, 0, 0, 0, 1, 0, 0, 0, 0};
    PGresult *res = api_query_binary(req, SQL_CASES_PHOTO_CORRECT, values, lengths, formats);
    if (res == NULL)
        return;
    const char *outcome = db_value(res, 0, "outcome");
    if (outcome == NULL || strcmp(outcome, "ok") != 0) {
        if (outcome == NULL)
            response_problem(req, PROBLEM_INTERNAL, NULL, NULL);
        else
            workflow_refuse(req, res);
        return;
    }
    request_add_header(req, "Location: /api/photos/%s", sha);
    cases_send_written(req, 201, id, false);
}

/* Checks the query's parameters that rules name as validate_object checks
 * a body's fields; 0, or -1 after answering 400 (not UTF-8) or 422. */
static int validate_query(request_t *req, const struct field_rule *rules, size_t count)
{
    json_t *fields = json_object();
    if (fields == NULL) {
        response_problem(req, PROBLEM_INTERNAL, NULL, NULL);
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        const char *value = request_query_param(req, rules[i].name);
        if (value == NULL)
            continue;
        json_t *text = json_string(value);
        if (text == NULL) { /* not UTF-8 */
            json_decref(fields);
            response_problem(req, PROBLEM_BAD_REQUEST,
                             arena_printf(req->arena, "%s is not UTF-8", rules[i].name),
                             json_pack("{s:s}", "parameter", rules[i].name));
            return -1;
        }
        json_object_set_new(fields, rules[i].name, text);
    }
    json_t *errors = validate_object(fields, rules, count, false);
    json_decref(fields);
    if (errors != NULL) {
        response_problem(req, PROBLEM_VALIDATION, "some fields are not acceptable",
                         json_pack("{s:o}", "errors", errors));
        return -1;
    }
    return 0;
}

void photos_upload(request_t *req)
{
    int bad = 0;
    const char *expected = api_if_match(req, true, &bad);
    if (bad)
        return;
    /* the caption (and a reviewer's reason) come in the query, checked
     * like a body's fields */
    bool correction = strcmp(req->user.role, "reviewer") == 0;
    if (validate_query(req, correction ? correction_upload_rules : caption_rules,
                       correction ? COUNT(correction_upload_rules) : COUNT(caption_rules)) != 0)
        return;
    const char *caption = request_query_param(req, "caption");
    if (correction) {
        photos_correct_add(req, expected, caption);
        return;
    }
    if (request_query_count(req, "replaces") != 0) {
        refuse_replaces(req, "only a reviewer's correction replaces a photo; in a draft, add the "
                             "new one and remove the old");
        return;
    }
    const char *id = api_param_text(req, "id");
    const char *street = touch_case(req, id, expected);
    if (street == NULL)
        return;
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, req->raw, req->raw_len);
    char sha[crypto_hash_sha256_BYTES * 2 + 1];
    sodium_bin2hex(sha, sizeof(sha), digest, sizeof(digest));
    if (check_quota(req, sha) != 0)
        return;
    const char *store[] = {
        sha, req->image.media_type, arena_printf(req->arena, "%u", req->image.width),
        arena_printf(req->arena, "%u", req->image.height), (const char *)req->raw};
    const int lengths[] = {0, 0, 0, 0, (int)req->raw_len};
    const int formats[] = {0, 0, 0, 0, 1};
    if (api_query_binary(req, SQL_CASES_PHOTO_STORE, store, lengths, formats) == NULL)
        return;
    const char *add[] = {id, street, sha, caption ? caption : ""};
    if (api_query(req, SQL_CASES_PHOTO_ADD, add) == NULL)
        return;
    request_add_header(req, "Location: /api/photos/%s", sha);
    cases_send_written(req, 201, id, false);
}

void photos_update(request_t *req)
{
    int bad = 0;
    const char *expected = api_if_match(req, true, &bad);
    if (bad || api_validate(req, photo_update_rules, COUNT(photo_update_rules), true) != 0)
        return;
    const char *id = api_param_text(req, "id");
    if (touch_case(req, id, expected) == NULL)
        return;
    json_t *position = json_object_get(req->body, "position");
    const char *values[] = {
        id,
        api_param_text(req, "photo_id"),
        json_string_value(json_object_get(req->body, "caption")),
        position ? arena_printf(req->arena, "%lld", (long long)json_integer_value(position)) : NULL,
    };
    PGresult *res = api_query(req, SQL_CASES_PHOTO_UPDATE, values);
    if (res == NULL)
        return;
    if (PQntuples(res) == 0) {
        response_problem(req, PROBLEM_NOT_FOUND, "the case has no such photo", NULL);
        return;
    }
    cases_send_written(req, 200, id, false);
}

void photos_delete(request_t *req)
{
    int bad = 0;
    const char *expected = api_if_match(req, true, &bad);
    if (bad)
        return;
    const char *id = api_param_text(req, "id");
    if (touch_case(req, id, expected) == NULL)
        return;
    const char *values[] = {id, api_param_text(req, "photo_id")};
    PGresult *res = api_query(req, SQL_CASES_PHOTO_DELETE, values);
    if (res == NULL)
        return;
    if (db_int(res, 0, "deleted", 0) != 1) {
        response_problem(req, PROBLEM_NOT_FOUND, "the case has no such photo", NULL);
        return;
    }
    cases_send_written(req, 200, id, false);
}

static void free_unescaped(void *p)
{
    PQfreemem(p);
}

void photos_get(request_t *req)
{
    const char *sha = api_param_text(req, "sha256");
    if (sha == NULL || strlen(sha) != 64 || strspn(sha, "0123456789abcdef") != 64) {
        response_problem(req, PROBLEM_NOT_FOUND, NULL, NULL);
        return;
    }
    const char *values[] = {sha};
    PGresult *res = api_query(req, SQL_PHOTOS_GET, values);
    if (res == NULL)
        return;
    if (PQntuples(res) != 1) {
        response_problem(req, PROBLEM_NOT_FOUND, NULL, NULL);
        return;
    }
    size_t len = 0;
    const char *media_type = db_value(res, 0, "media_type");
    const char *escaped = db_value(res, 0, "bytes");
    unsigned char *bytes =
        escaped != NULL ? PQunescapeBytea((const unsigned char *)escaped, &len) : NULL;
    /* arena_defer frees bytes itself when it fails */
    if (bytes == NULL || media_type == NULL ||
        arena_defer(req->arena, free_unescaped, bytes) != 0) {
        response_problem(req, PROBLEM_INTERNAL, NULL, NULL);
        return;
    }
    if (api_commit(req) != 0)
        return;
    /* the URL names the content, so it never changes; a draft's photo,
     * fetched with a token, must stay out of shared caches */
    request_add_header(req, "Cache-Control: %s, max-age=31536000, immutable",
                       strcmp(req->user.role, "public") != 0 ? "private" : "public");
    request_add_header(req, "ETag: \"%s\"", sha);
    response_send(req, 200, media_type, (const char *)bytes, len, NULL);
}
