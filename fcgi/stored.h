/*
 * stored: ready-made public answers (migrations/0012). A route marked
 * ROUTE_STORED answers every reader alike, from its parameters and what
 * the public may read. What it answered is kept in public_documents under
 * a key made of the route and its parameters, with the generation of the
 * public data it saw; while that is still the generation (and, for counts
 * of an open vote, for a second), the next request for it is answered from
 * that one row, without building anything.
 */
#ifndef PORTAL_STORED_H
#define PORTAL_STORED_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "request.h"
#include "route.h"

/* Longest key (public_documents.key allows 200). */
#define STORED_KEY_MAX 160

/* The key of a matched route's answer into out: format (the build and
 * settings that shape answers, config's answers_format: a new build or
 * public URL never serves what another made), its pattern, then each
 * parameter (an integer in its canonical digits, so one answer has one
 * key). Its length, or -1 when it does not fit. */
int stored_key(const char *format, const route_match_t *match, char *out, size_t size);

/* Whether req's answer may be served and kept ready-made: a stored route
 * that needs no role, asked without a token. */
bool stored_route(const request_t *req);

/* Answers req from its ready-made copy when a good one exists (one
 * statement, outside any transaction). True when it answered; false sends
 * nothing, and the route builds the answer as usual. */
bool stored_answer(request_t *req);

/* In the transaction that built req's answer, before COMMIT: what the
 * answer will be good for (public_document_state; owned by the arena).
 * NULL when it could not tell: then the answer is sent but not kept. */
PGresult *stored_state(request_t *req);

/* After COMMIT: has the answer (its bytes, content type and ETag) kept
 * with state, for the next reader, once req's answer has gone (after_send):
 * the reader never waits on the keeping. A failure is logged and costs
 * only that. */
void stored_keep(request_t *req, const PGresult *state, const char *content_type, const char *body,
                 size_t len, const char *etag);

#endif
