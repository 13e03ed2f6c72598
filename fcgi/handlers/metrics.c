/*
 * metrics_handler: the Prometheus text for the whole pool, read from the
 * shared scoreboard. nginx keeps /metrics to loopback; the handler checks
 * again so a pool reached without nginx does not expose it either.
 */
#include <string.h>

#include "handlers.h"
#include "response.h"
#include "scoreboard.h"
#include "strbuf.h"

static int is_loopback(const char *addr)
{
    return addr == NULL /* unix-socket peers without REMOTE_ADDR */ ||
           strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0;
}

void metrics_show(request_t *req)
{
    if (!is_loopback(req->remote_addr)) {
        response_problem(req, PROBLEM_NOT_FOUND, NULL, NULL);
        return;
    }
    strbuf_t text;
    strbuf_init(&text, req->arena, 16384);
    scoreboard_render(req->worker->board, &text);
    if (strbuf_failed(&text)) {
        response_problem(req, PROBLEM_INTERNAL, NULL, NULL);
        return;
    }
    response_send(req, 200, "text/plain; charset=utf-8; version=0.0.4", text.data, text.len, NULL);
}
