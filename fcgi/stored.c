/* stored: ready-made public answers. See stored.h. */
#include "stored.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "log.h"
#include "scoreboard.h"
#include "worker.h"

/* Keeping an answer normally takes a millisecond; a quarter second is
 * waiting on a row someone else holds. */
#define STORED_KEEP_TIMEOUT_MS "250"

int stored_key(const char *format, const route_match_t *match, char *out, size_t size)
{
    if (match->def == NULL || size == 0)
        return -1;
    int head = snprintf(out, size, "%s %s", format, match->def->pattern);
    if (head < 0 || (size_t)head >= size)
        return -1;
    size_t len = (size_t)head;
    for (size_t i = 0; i < match->param_count; i++) {
        const struct route_param *p = &match->params[i];
        int n = p->type == ROUTE_PARAM_INT
                    ? snprintf(out + len, size - len, " %" PRId64, p->int_value)
                    : snprintf(out + len, size - len, " %.*s", (int)p->text_len, p->text);
        if (n < 0 || (size_t)n >= size - len)
            return -1;
        len += (size_t)n;
    }
    return (int)len;
}

bool stored_route(const request_t *req)
{
    const struct route_def *def = req->match.def;
    if (def == NULL || (def->access & ROUTE_STORED) == 0 || (def->access & ROUTE_STAFF) != 0)
        return false;
    /* a route that lets staff see more would store what they saw */
    const char *authorization = request_param(req, "HTTP_AUTHORIZATION");
    return (def->access & ROUTE_TOKEN_OPTIONAL) == 0 || authorization == NULL ||
           authorization[0] == '\0';
}

/* req's key in the arena, or NULL. */
static const char *key_of(request_t *req)
{
    char key[STORED_KEY_MAX + 1];
    if (stored_key(req->worker->config->answers_format, &req->match, key, sizeof(key)) < 0)
        return NULL;
    return arena_strdup(req->arena, key);
}

bool stored_answer(request_t *req)
{
    const char *key = key_of(req);
    if (key == NULL)
        return false;
    const char *values[] = {key};
    PGresult *res =
        db_query_once(req->worker->db, req->arena, SQL_PUBLIC_DOCUMENT_GET, COUNT(values), values);
    req->db = db_where(req->worker->db);
    const char *type = res != NULL && db_ok(res) ? db_value(res, 0, "content_type") : NULL;
    const char *body = type != NULL ? db_value(res, 0, "doc") : NULL;
    const char *etag = type != NULL ? db_value(res, 0, "etag") : NULL;
    struct scoreboard_slot *slot =
        req->worker->board != NULL ? &req->worker->board->slots[req->worker->slot] : NULL;
    /* a failure here is the build's to answer: it runs the same database */
    if (type == NULL || body == NULL || etag == NULL) {
        if (slot != NULL)
            __atomic_fetch_add(&slot->stored_misses, 1, __ATOMIC_RELAXED);
        return false;
    }
    if (slot != NULL)
        __atomic_fetch_add(&slot->stored_hits, 1, __ATOMIC_RELAXED);
    api_send_public(req, 200, type, body, db_length(res, 0, "doc"), etag);
    return true;
}

PGresult *stored_state(request_t *req)
{
    PGresult *res = db_query(req->worker->db, req->arena, SQL_PUBLIC_DOCUMENT_STATE, 0, NULL);
    /* a read the standby failed part-way began again on the primary: its
     * answer may mix two snapshots, and no one generation describes it */
    if (db_read_moved(req->worker->db))
        return NULL;
    return res != NULL && db_ok(res) && PQntuples(res) == 1 ? res : NULL;
}

/* What keeping one answer takes, all in the request's arena (the FastCGI
 * parameters are gone when it runs). */
struct keeping {
    const char *request_id;
    const char *values[7]; /* public_document_put's: key first */
};

/* A copy of text (may be NULL) in arena; NULL when text is NULL or memory
 * ran out. */
static const char *copy_of(arena_t *arena, const char *text)
{
    return text != NULL ? arena_strdup(arena, text) : NULL;
}

/* after_send: keeps the answer, outside the read's transaction, on the
 * primary, in one round trip. A copy for the next reader is worth no wait:
 * a row another keeper or the collection holds ends it within
 * STORED_KEEP_TIMEOUT_MS. */
static void keep_now(struct worker_ctx *worker, arena_t *arena, void *data)
{
    const struct keeping *k = data;
    bool committed;
    PGresult *res =
        db_write_once_within(worker->db, arena, k->request_id, SQL_PUBLIC_DOCUMENT_PUT,
                             COUNT(k->values), k->values, STORED_KEEP_TIMEOUT_MS, &committed);
    if (res == NULL || !db_ok(res) || !committed) {
        logline_t line;
        log_begin(&line, "warn", "stored_keep_failed");
        log_str(&line, "request_id", k->request_id);
        log_str(&line, "key", k->values[0]);
        log_end(&line);
    }
}

void stored_keep(request_t *req, const PGresult *state, const char *content_type, const char *body,
                 size_t len, const char *etag)
{
    /* a reader on the standby while the primary is away gets the answer
     * without waiting for a connection that is failing anyway */
    if (db_primary_failing(req->worker->db))
        return;
    struct keeping *k = arena_alloc(req->arena, sizeof(*k));
    const char *key = key_of(req);
    char *text = arena_strndup(req->arena, body, len);
    if (k == NULL || key == NULL || text == NULL || strlen(text) != len)
        return; /* too long a key, no memory, or a NUL in the body: not kept */
    const char *fresh_until = db_value(state, 0, "fresh_until");
    const char *values[] = {
        key,
        copy_of(req->arena, content_type),
        text,
        copy_of(req->arena, etag),
        copy_of(req->arena, db_value(state, 0, "generation")),
        copy_of(req->arena, db_value(state, 0, "built_at")),
        copy_of(req->arena, fresh_until),
    };
    _Static_assert(COUNT(values) == COUNT(k->values), "public_document_put's parameters");
    /* only fresh_until may be NULL (SQL's, while no vote is open); any
     * other missing value is memory run out */
    for (size_t i = 0; i < COUNT(values); i++) {
        if (values[i] == NULL && (i != COUNT(values) - 1 || fresh_until != NULL))
            return;
        k->values[i] = values[i];
    }
    k->request_id = copy_of(req->arena, req->request_id ? req->request_id : "");
    if (k->request_id == NULL)
        return;
    req->after_send = keep_now;
    req->after_send_data = k;
}
