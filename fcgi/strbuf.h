/*
 * strbuf: a growable byte string whose storage lives in an arena, used to
 * build response bodies, log lines and metrics text without fixed buffers.
 * On allocation failure the buffer is marked failed and further appends are
 * ignored, so callers check strbuf_failed() once at the end.
 */
#ifndef PORTAL_STRBUF_H
#define PORTAL_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

typedef struct {
    arena_t *arena;
    char *data; /* always NUL-terminated when not failed */
    size_t len;
    size_t cap;
    bool failed;
} strbuf_t;

void strbuf_init(strbuf_t *sb, arena_t *arena, size_t initial);
void strbuf_append(strbuf_t *sb, const char *data, size_t len);
void strbuf_puts(strbuf_t *sb, const char *s);
void strbuf_printf(strbuf_t *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included; s must be valid UTF-8. */
void strbuf_json_string(strbuf_t *sb, const char *s);
bool strbuf_failed(const strbuf_t *sb);

#endif
