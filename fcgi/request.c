/*
 * request: reading what the client sent. The body rules are strict and
 * checked in a fixed order, cheapest first, so a hostile body costs little:
 * media type, declared length against the limit, the bytes actually read,
 * UTF-8, then JSON (duplicate keys refused, since two readers of one
 * object could otherwise disagree on its meaning).
 */
#include "request.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>

#include "response.h"
#include "utf8.h"

const char *request_param(const request_t *req, const char *name)
{
    if (req->fcgi == NULL)
        return NULL;
    return FCGX_GetParam(name, req->fcgi->envp);
}

/* The path without its query string, for direct FastCGI clients that send
 * only REQUEST_URI. */
static const char *path_from_uri(arena_t *arena, const char *uri)
{
    const char *q = strchr(uri, '?');
    return q ? arena_strndup(arena, uri, (size_t)(q - uri)) : uri;
}

void request_init(request_t *req, arena_t *arena, FCGX_Request *fcgi, struct worker_ctx *worker)
{
    memset(req, 0, sizeof(*req));
    req->arena = arena;
    req->fcgi = fcgi;
    req->worker = worker;
    req->method = request_param(req, "REQUEST_METHOD");
    if (req->method == NULL)
        req->method = "GET";
    req->path = request_param(req, "DOCUMENT_URI");
    if (req->path == NULL) {
        const char *uri = request_param(req, "REQUEST_URI");
        req->path = uri ? path_from_uri(arena, uri) : NULL;
    }
    if (req->path == NULL || req->path[0] != '/')
        req->path = "/";
    req->query = request_param(req, "QUERY_STRING");
    req->remote_addr = request_param(req, "REMOTE_ADDR");
    req->request_id = request_param(req, "REQUEST_ID");
    req->user.role = "public";
}

void request_add_header(request_t *req, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *line = arena_vprintf(req->arena, fmt, ap);
    va_end(ap);
    if (line == NULL)
        return;
    char *all = arena_printf(req->arena, "%s%s\r\n", req->headers ? req->headers : "", line);
    if (all != NULL)
        req->headers = all;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes text[0..len) ('+' is a space); NULL when malformed or
 * when it decodes to a NUL byte. */
static char *query_decode(arena_t *arena, const char *text, size_t len)
{
    char *out = arena_alloc(arena, len + 1);
    if (out == NULL)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 2 < len ? hex_value(text[i + 1]) : -1;
            int lo = hi >= 0 ? hex_value(text[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return NULL;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        out[n++] = c;
    }
    out[n] = '\0';
    return out;
}

const char *request_query_param(request_t *req, const char *name)
{
    const char *q = req->query;
    size_t name_len = strlen(name);
    while (q != NULL && *q != '\0') {
        const char *end = strchr(q, '&');
        size_t len = end ? (size_t)(end - q) : strlen(q);
        if (len > name_len && strncmp(q, name, name_len) == 0 && q[name_len] == '=')
            return query_decode(req->arena, q + name_len + 1, len - name_len - 1);
        q = end ? end + 1 : NULL;
    }
    return NULL;
}

size_t request_query_count(const request_t *req, const char *name)
{
    size_t count = 0, name_len = strlen(name);
    for (const char *q = req->query; q != NULL && *q != '\0';) {
        const char *end = strchr(q, '&');
        size_t len = end ? (size_t)(end - q) : strlen(q);
        if (len >= name_len && strncmp(q, name, name_len) == 0 &&
            (len == name_len || q[name_len] == '='))
            count++;
        q = end ? end + 1 : NULL;
    }
    return count;
}

const char *request_cookie(request_t *req, const char *name)
{
    const char *header = request_param(req, "HTTP_COOKIE");
    size_t name_len = strlen(name);
    while (header != NULL && *header != '\0') {
        while (*header == ' ' || *header == ';')
            header++;
        const char *end = strchr(header, ';');
        size_t len = end ? (size_t)(end - header) : strlen(header);
        if (len > name_len && strncmp(header, name, name_len) == 0 && header[name_len] == '=')
            return arena_strndup(req->arena, header + name_len + 1, len - name_len - 1);
        header = end;
    }
    return NULL;
}

bool request_is_json_type(const char *content_type)
{
    if (content_type == NULL)
        return false;
    static const char json[] = "application/json";
    size_t n = sizeof(json) - 1;
    if (strncasecmp(content_type, json, n) != 0)
        return false;
    const char *rest = content_type + n;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    if (*rest == '\0')
        return true;
    if (*rest != ';')
        return false;
    rest++;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    /* the only parameter JSON admits is charset, and only UTF-8 */
    return strcasecmp(rest, "charset=utf-8") == 0 || strcasecmp(rest, "charset=\"utf-8\"") == 0;
}

int request_parse_length(const char *text, size_t *out)
{
    if (text == NULL || text[0] == '\0') {
        *out = 0;
        return 0;
    }
    for (const char *p = text; *p; p++)
        if (!isdigit((unsigned char)*p))
            return -1;
    if (strlen(text) > 15)
        return -1;
    *out = (size_t)strtoull(text, NULL, 10);
    return 0;
}

enum problem_id request_parse_json(const char *data, size_t len, json_t **out, json_t **where,
                                   char *detail, size_t detail_len)
{
    *out = NULL;
    *where = NULL;
    size_t bad = 0;
    if (!utf8_validate(data, len, &bad)) {
        snprintf(detail, detail_len, "invalid UTF-8 at byte %zu", bad);
        *where = json_pack("{s:I}", "position", (json_int_t)bad);
        return PROBLEM_INVALID_UTF8;
    }
    json_error_t error;
    json_t *value = json_loadb(data, len, JSON_REJECT_DUPLICATES, &error);
    if (value == NULL) {
        snprintf(detail, detail_len, "%s at line %d, column %d", error.text, error.line,
                 error.column);
        *where = json_pack("{s:i,s:i,s:i}", "line", error.line, "column", error.column, "position",
                           error.position);
        return PROBLEM_MALFORMED_JSON;
    }
    *out = value;
    return REQUEST_PARSE_OK;
}

static void json_release(void *value)
{
    json_decref(value);
}

/* Reads a body of 1 to limit bytes (Content-Length) into the arena. On
 * failure writes the problem and returns NULL. */
static char *read_body(request_t *req, size_t limit, const char *what, size_t *len)
{
    size_t length;
    if (request_parse_length(request_param(req, "CONTENT_LENGTH"), &length) != 0) {
        response_problem(req, PROBLEM_BAD_REQUEST, "Content-Length is not a number", NULL);
        return NULL;
    }
    if (length > limit) {
        json_t *ext = json_pack("{s:I}", "max_bytes", (json_int_t)limit);
        response_problem(req, PROBLEM_BODY_TOO_LARGE, "the body is larger than the limit", ext);
        return NULL;
    }
    if (length == 0) {
        response_problem(req, PROBLEM_BODY_REQUIRED, what, NULL);
        return NULL;
    }
    char *data = arena_alloc(req->arena, length);
    if (data == NULL) {
        response_problem(req, PROBLEM_INTERNAL, NULL, NULL);
        return NULL;
    }
    int got = FCGX_GetStr(data, (int)length, req->fcgi->in);
    if (got < 0 || (size_t)got != length) {
        response_problem(req, PROBLEM_BODY_INCOMPLETE, "the body ended before Content-Length",
                         NULL);
        return NULL;
    }
    *len = length;
    return data;
}

int request_read_image(request_t *req)
{
    const char *declared = request_param(req, "CONTENT_TYPE");
    static const char *const types[] = {"image/jpeg", "image/png", "image/webp"};
    size_t t = 0;
    while (t < 3 && (declared == NULL || strcasecmp(declared, types[t]) != 0))
        t++;
    if (t == 3) {
        response_problem(req, PROBLEM_UNSUPPORTED_MEDIA_TYPE,
                         "send the photo as image/jpeg, image/png or image/webp", NULL);
        return -1;
    }
    size_t length;
    char *data =
        read_body(req, req->worker->config->max_photo, "this request needs an image", &length);
    if (data == NULL)
        return -1;
    enum image_result result = image_inspect((const unsigned char *)data, length, &req->image);
    if (result == IMAGE_OK && strcasecmp(req->image.media_type, declared) != 0) {
        char *detail =
            arena_printf(req->arena, "the bytes are %s, not %s", req->image.media_type, types[t]);
        response_problem(req, PROBLEM_UNSUPPORTED_MEDIA_TYPE, detail, NULL);
        return -1;
    }
    if (result != IMAGE_OK) {
        response_problem(
            req, result == IMAGE_UNKNOWN ? PROBLEM_UNSUPPORTED_MEDIA_TYPE : PROBLEM_INVALID_IMAGE,
            image_result_text(result), NULL);
        return -1;
    }
    req->raw = (const unsigned char *)data;
    req->raw_len = length;
    return 0;
}

int request_read_json(request_t *req)
{
    if (!request_is_json_type(request_param(req, "CONTENT_TYPE"))) {
        response_problem(req, PROBLEM_UNSUPPORTED_MEDIA_TYPE,
                         "send the body as application/json (UTF-8)", NULL);
        return -1;
    }
    size_t length;
    char *data =
        read_body(req, req->worker->config->max_body, "this request needs a JSON body", &length);
    if (data == NULL)
        return -1;
    char detail[256];
    json_t *where = NULL;
    json_t *value = NULL;
    enum problem_id problem =
        request_parse_json(data, length, &value, &where, detail, sizeof(detail));
    if (problem != REQUEST_PARSE_OK) {
        response_problem(req, problem, detail, where);
        return -1;
    }
    if (arena_defer(req->arena, json_release, value) != 0) {
        response_problem(req, PROBLEM_INTERNAL, NULL, NULL);
        return -1;
    }
    req->body = value;
    return 0;
}
