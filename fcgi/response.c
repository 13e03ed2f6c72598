/* response: status line, headers and body, written in one FCGX_PutStr each. */
#include "response.h"

#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

void response_send(request_t *req, int status, const char *content_type, const char *body,
                   size_t len, const char *extra_headers)
{
    if (req->status != 0)
        return; /* a response was already written */
    req->status = status;
    if (req->fcgi == NULL)
        return;
    strbuf_t head;
    strbuf_init(&head, req->arena, 256);
    strbuf_printf(&head, "Status: %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n", status,
                  http_reason(status), content_type, len);
    /* API answers are per user and per moment, unless a handler says otherwise */
    if (req->headers == NULL || strstr(req->headers, "Cache-Control:") == NULL)
        strbuf_puts(&head, "Cache-Control: no-store\r\n");
    if (req->request_id != NULL)
        strbuf_printf(&head, "X-Request-Id: %s\r\n", req->request_id);
    if (req->headers != NULL)
        strbuf_puts(&head, req->headers);
    if (extra_headers != NULL)
        strbuf_puts(&head, extra_headers);
    strbuf_puts(&head, "\r\n");
    if (strbuf_failed(&head)) {
        static const char fallback[] = "Status: 500 Internal Server Error\r\nContent-Length: "
                                       "0\r\n\r\n";
        FCGX_PutStr(fallback, sizeof(fallback) - 1, req->fcgi->out);
        req->status = 500;
        return;
    }
    FCGX_PutStr(head.data, (int)head.len, req->fcgi->out);
    if (strcmp(req->method, "HEAD") != 0 && len > 0)
        FCGX_PutStr(body, (int)len, req->fcgi->out);
}

void response_json(request_t *req, int status, json_t *value)
{
    char *text = value ? json_dumps(value, JSON_COMPACT) : NULL;
    json_decref(value);
    if (text == NULL) {
        response_problem(req, PROBLEM_INTERNAL, NULL, NULL);
        return;
    }
    response_send(req, status, "application/json", text, strlen(text), NULL);
    free(text);
}

char *response_problem_body(arena_t *arena, enum problem_id id, const char *detail, json_t *ext,
                            const char *request_id)
{
    const struct problem_type *type = problem_get(id);
    json_t *body = json_object();
    if (body == NULL) {
        json_decref(ext);
        return NULL;
    }
    json_object_set_new(body, "type", json_sprintf("/problems/%s", type->slug));
    json_object_set_new(body, "title", json_string(type->title));
    json_object_set_new(body, "title_zh", json_string(type->title_zh));
    json_object_set_new(body, "status", json_integer(type->status));
    if (detail != NULL)
        json_object_set_new(body, "detail", json_string(detail));
    if (request_id != NULL)
        json_object_set_new(body, "request_id", json_string(request_id));
    if (ext != NULL) {
        json_object_update_missing(body, ext);
        json_decref(ext);
    }
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text == NULL)
        return NULL;
    char *copy = arena_strdup(arena, text);
    free(text);
    return copy;
}

void response_problem(request_t *req, enum problem_id id, const char *detail, json_t *ext)
{
    const struct problem_type *type = problem_get(id);
    req->problem_slug = type->slug;
    if (detail != NULL && req->log_detail == NULL)
        req->log_detail = detail;
    char *body = response_problem_body(req->arena, id, detail, ext, req->request_id);
    const char *extra = NULL;
    if (id == PROBLEM_METHOD_NOT_ALLOWED && req->match.allow[0] != '\0')
        extra = arena_printf(req->arena, "Allow: %s\r\n", req->match.allow);
    if (body == NULL) {
        response_send(req, 500, "application/problem+json", "{}", 2, NULL);
        return;
    }
    response_send(req, type->status, "application/problem+json", body, strlen(body), extra);
}
