/* strbuf: arena-backed growable strings. */
#include "strbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

void strbuf_init(strbuf_t *sb, arena_t *arena, size_t initial)
{
    sb->arena = arena;
    sb->len = 0;
    sb->failed = false;
    sb->cap = initial < 64 ? 64 : initial;
    sb->data = arena_alloc(arena, sb->cap);
    if (sb->data == NULL) {
        sb->failed = true;
        sb->cap = 0;
        return;
    }
    sb->data[0] = '\0';
}

static bool strbuf_reserve(strbuf_t *sb, size_t extra)
{
    if (sb->failed)
        return false;
    if (extra >= SIZE_MAX / 2 - sb->len) {
        sb->failed = true;
        return false;
    }
    size_t need = sb->len + extra + 1;
    if (need <= sb->cap)
        return true;
    size_t cap = sb->cap * 2;
    while (cap < need)
        cap *= 2;
    char *grown = arena_alloc(sb->arena, cap);
    if (grown == NULL) {
        sb->failed = true;
        return false;
    }
    memcpy(grown, sb->data, sb->len + 1);
    sb->data = grown;
    sb->cap = cap;
    return true;
}

void strbuf_append(strbuf_t *sb, const char *data, size_t len)
{
    if (!strbuf_reserve(sb, len))
        return;
    memcpy(sb->data + sb->len, data, len);
    sb->len += len;
    sb->data[sb->len] = '\0';
}

void strbuf_puts(strbuf_t *sb, const char *s)
{
    strbuf_append(sb, s, strlen(s));
}

void strbuf_printf(strbuf_t *sb, const char *fmt, ...)
{
    if (sb->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    va_list probe;
    va_copy(probe, ap);
    int len = vsnprintf(NULL, 0, fmt, probe);
    va_end(probe);
    if (len < 0 || !strbuf_reserve(sb, (size_t)len)) {
        sb->failed = true;
        va_end(ap);
        return;
    }
    vsnprintf(sb->data + sb->len, (size_t)len + 1, fmt, ap);
    sb->len += (size_t)len;
    va_end(ap);
}

void strbuf_json_string(strbuf_t *sb, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    strbuf_append(sb, "\"", 1);
    const char *run = s;
    for (const char *p = s; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        strbuf_append(sb, run, (size_t)(p - run));
        switch (c) {
        case '"':
            strbuf_append(sb, "\\\"", 2);
            break;
        case '\\':
            strbuf_append(sb, "\\\\", 2);
            break;
        case '\n':
            strbuf_append(sb, "\\n", 2);
            break;
        case '\r':
            strbuf_append(sb, "\\r", 2);
            break;
        case '\t':
            strbuf_append(sb, "\\t", 2);
            break;
        default: {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            strbuf_append(sb, esc, sizeof(esc));
        }
        }
        run = p + 1;
    }
    strbuf_append(sb, run, strlen(run));
    strbuf_append(sb, "\"", 1);
}

bool strbuf_failed(const strbuf_t *sb)
{
    return sb->failed;
}
