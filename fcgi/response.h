/*
 * response: the only place that writes to the FastCGI output stream. Every
 * response carries Content-Length, X-Request-Id and Cache-Control: no-store
 * (API data is per-user); HEAD responses carry the headers only.
 */
#ifndef PORTAL_RESPONSE_H
#define PORTAL_RESPONSE_H

#include <jansson.h>
#include <stddef.h>

#include "problem.h"
#include "request.h"

/* extra_headers: NULL or complete "Name: value\r\n" lines. */
void response_send(request_t *req, int status, const char *content_type, const char *body,
                   size_t len, const char *extra_headers);

/* Sends value as application/json and releases the reference it is given. */
void response_json(request_t *req, int status, json_t *value);

/* Sends an application/problem+json response. detail may be NULL; the
 * extension members in ext (may be NULL) are added and ext is released. */
void response_problem(request_t *req, enum problem_id id, const char *detail, json_t *ext);

/* The problem body as text (arena-owned), for tests and for nginx's pages. */
char *response_problem_body(arena_t *arena, enum problem_id id, const char *detail, json_t *ext,
                            const char *request_id);

#endif
