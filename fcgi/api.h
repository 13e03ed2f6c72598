/*
 * api: what every JSON handler does the same way: run a statement and turn
 * a failure into the right problem, commit, send the JSON text PostgreSQL
 * built, read paging parameters.
 */
#ifndef PORTAL_API_H
#define PORTAL_API_H

#include <libpq-fe.h>
#include <stdint.h>

#include "db.h"
#include "request.h"
#include "sql_catalog.h"
#include "validate.h"

/* Runs a statement in the request's transaction with the values of an
 * array (its length is the count: a statement's values are never counted
 * by hand). On failure it has already answered (503 when the database is
 * gone, 409/422 for constraint violations, 403 when row-level security
 * refused a write, 500 otherwise) and returns NULL. */
#define api_query(req, statement, values) api_run((req), (statement), COUNT(values), (values))
/* As api_query, for a statement that takes no values. */
#define api_query_none(req, statement) api_run((req), (statement), 0, NULL)
/* As api_query, with binary parameters (see db_query_binary). */
#define api_query_binary(req, statement, values, lengths, formats)                                 \
    api_run_binary((req), (statement), COUNT(values), (values), (lengths), (formats))

PGresult *api_run(request_t *req, int statement, size_t nparams, const char *const *values);
PGresult *api_run_binary(request_t *req, int statement, size_t nparams, const char *const *values,
                         const int *lengths, const int *formats);

/* Commits; on failure answers (503, or 409 for a serialization failure) and returns -1. */
int api_commit(request_t *req);

/* Commits, then sends column doc of row 0 of res (JSON text built by the
 * statement) with status; 404 when res has no row or doc is NULL. */
void api_commit_and_send(request_t *req, int status, PGresult *res);

/* After a write whose statement returned the row's id (column id): reads
 * the row with get_statement (values: the id, then NULL for each further
 * one it takes, e.g. no street scope), commits and sends it; Location is
 * set when location_prefix is given (201 Created). 404 when nothing was
 * written. */
void api_send_written(request_t *req, int status, PGresult *written, int get_statement,
                      const char *location_prefix);

/* The int64 path parameter called name (routes only match canonical ints). */
const char *api_param_text(request_t *req, const char *name);

/* ?limit=: a number 1..max, or fallback when absent. -1 (and a 400
 * written) when malformed. */
int api_limit(request_t *req, int fallback, int max);

/* An optional int query parameter (a positive id): NULL when absent; on a
 * malformed one writes 400 and sets *bad. The text is arena-owned. */
const char *api_query_id(request_t *req, const char *name, int *bad);
/* Whether text is a row id as api_query_id takes one: 1 to 18 digits, the
 * first not 0. */
bool api_is_id(const char *text);

/* Checks req->body against rules; on errors answers 422 with the list and returns -1. */
int api_validate(request_t *req, const struct field_rule *rules, size_t count, bool partial);

/* The editor's street as a statement parameter; NULL for district roles
 * and the public. Handlers narrow their queries with it, and row-level
 * security would hide the rest anyway. */
const char *api_street_scope(request_t *req);

/* The version an If-Match header names ("7" or W/"7"), as text. NULL when
 * absent: then, if required, 428 is written and *bad set. A malformed or
 * "*" one is 412 (it can match no version of ours), also setting *bad. */
const char *api_if_match(request_t *req, bool required, int *bad);

/* Commits, then sends row 0 of res: column doc the JSON document, column
 * version its version, sent as the ETag. 404 when res has no row; 304 without a
 * body when a GET's If-None-Match names that version. */
void api_commit_and_send_versioned(request_t *req, int status, PGresult *res);

/* Commits, then sends body as a public, briefly cacheable answer: an ETag
 * made from its bytes, Cache-Control public with a short max-age (nginx
 * keeps it as briefly), and 304 without a body when a GET's If-None-Match
 * names that ETag. What it sends must be the same for every reader; on a
 * route marked ROUTE_STORED it is also kept ready-made (stored.h). */
/* Public answers may be read by anyone for this long (nginx keeps them as
 * briefly), so a publish, an open or a close shows within seconds. */
#define API_PUBLIC_MAX_AGE_S 2

void api_commit_and_send_public(request_t *req, int status, const char *content_type,
                                const char *body, size_t len);

/* Sends body as api_commit_and_send_public does, with the ETag etag (its
 * bytes' hash, without quotes) already known, outside any transaction. */
void api_send_public(request_t *req, int status, const char *content_type, const char *body,
                     size_t len, const char *etag);

/* Answers a statement's failure as api_query would have (for handlers that
 * look at some failures themselves first). */
void api_answer_failure(request_t *req, PGresult *res);

/* req->body as compact JSON text (arena-owned), to pass to a statement. */
const char *api_body_text(request_t *req);

#endif
