/*
 * request: one HTTP request as the pool sees it. A request_t lives on the
 * worker's stack for one iteration of its accept loop; everything it points
 * to is in the request's arena or in the FastCGI parameters, and is gone
 * after FCGX_Finish_r. The worker_ctx it refers to is the worker's own
 * (its database connection, router and scoreboard slot), never another
 * request's data.
 */
#ifndef PORTAL_REQUEST_H
#define PORTAL_REQUEST_H

#include <fcgiapp.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "arena.h"
#include "config.h"
#include "image.h"
#include "problem.h"
#include "route.h"

struct db;
struct scoreboard;

struct worker_ctx {
    const config_t *config;
    const router_t *router;
    struct db *db;
    struct scoreboard *board;
    int slot;
    pid_t pid;
};

/* Who is acting, once a staff route has checked the token and the account
 * (role is "public" otherwise). Taken from the account row, not the token. */
struct identity {
    int64_t user_id;   /* 0: anonymous */
    int64_t street_id; /* 0: none */
    const char *role;
    const char *username;
};

typedef struct request {
    arena_t *arena;
    FCGX_Request *fcgi; /* NULL in unit tests */
    struct worker_ctx *worker;
    const char *method;
    const char *path; /* decoded, normalised by nginx ($uri) */
    const char *query;
    const char *request_id;
    const char *remote_addr;
    route_match_t match;
    json_t *body;             /* the parsed body of a ROUTE_BODY_JSON route; arena-owned */
    const unsigned char *raw; /* the bytes of a ROUTE_BODY_IMAGE route; arena-owned */
    size_t raw_len;
    struct image_info image; /* what those bytes are */
    struct identity user;
    const char *headers;      /* extra "Name: value\r\n" lines for the response; arena-owned */
    int status;               /* 0 until a response is written */
    const char *problem_slug; /* for the log line */
    const char *log_detail;   /* internal detail for the log line, never sent */
    const char *db;           /* where its transaction ran: "primary", "standby"; NULL: none */
    uint64_t started_ns;
    /* Work for after the answer has gone (at most one: stored_keep's): the
     * worker runs it once the request is finished and before its arena is
     * reset, so data is arena-owned and must not point into the FastCGI
     * parameters, which are gone by then. */
    void (*after_send)(struct worker_ctx *worker, arena_t *arena, void *data);
    void *after_send_data;
} request_t;

/* Fills the request's fields from its FastCGI parameters. */
void request_init(request_t *req, arena_t *arena, FCGX_Request *fcgi, struct worker_ctx *worker);

/* Adds one response header line (format without the CRLF). */
void request_add_header(request_t *req, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A query-string parameter, percent-decoded (arena-owned), or NULL. */
const char *request_query_param(request_t *req, const char *name);

/* How many times the query names the parameter name, with a value or
 * without, decodable or not (request_query_param decodes only the first
 * that has a value, and gives NULL when that one does not decode). Names
 * are compared as sent, as request_query_param compares them: a
 * percent-encoded or differently cased name is another parameter. */
size_t request_query_count(const request_t *req, const char *name);

/* The value of the cookie called name (arena-owned), or NULL. */
const char *request_cookie(request_t *req, const char *name);

/* A FastCGI parameter, or NULL. */
const char *request_param(const request_t *req, const char *name);

/* Reads an image body into req->raw and req->image; on any failure
 * (declared type not an image type, too large, short, bytes that are not
 * the declared type, truncated or impossible images) writes the problem and
 * returns -1. */
int request_read_image(request_t *req);

/* Reads and validates a JSON body into req->body; on any failure writes the
 * problem response and returns -1. */
int request_read_json(request_t *req);

/* Pure helpers, exposed for the unit tests. */
bool request_is_json_type(const char *content_type);
/* Parses a Content-Length; -1 when malformed. */
int request_parse_length(const char *text, size_t *out);
/* Parses body text; on failure returns the problem and fills detail and,
 * for malformed JSON, *where (an object with line, column, position). */
enum problem_id request_parse_json(const char *data, size_t len, json_t **out, json_t **where,
                                   char *detail, size_t detail_len);
#define REQUEST_PARSE_OK PROBLEM_COUNT

#endif
