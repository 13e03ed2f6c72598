/* log: structured log lines; see log.h for the atomicity rule. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Each process's own pid, remembered so a log line costs no getpid() call;
 * process state, set once after fork, never shared between processes. */
static long log_pid;

void log_set_pid(long pid)
{
    log_pid = pid;
}

/* Reserve for the closing ,"truncated":true}\n */
#define LOG_TAIL_RESERVE 24

static void log_raw(logline_t *line, const char *s, size_t n)
{
    size_t room = LOG_LINE_MAX - LOG_TAIL_RESERVE - line->len;
    if (n > room) {
        n = room;
        line->truncated = true;
    }
    memcpy(line->buf + line->len, s, n);
    line->len += n;
}

/* The length of the well-formed UTF-8 sequence at p (1-4), or 0 when the
 * bytes there are not one (stray continuation, overlong, surrogate, cut). */
static size_t utf8_sequence(const unsigned char *p)
{
    if (p[0] < 0x80)
        return 1;
    size_t n = p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC2 ? 2 : 0;
    if (n == 0 || p[0] > 0xF4)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80) /* also stops at the terminating NUL */
            return 0;
    if ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0) ||
        (p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90))
        return 0;
    return n;
}

/* Escapes for JSON. Bytes that are not UTF-8 (a raw path, a driver's
 * message) become U+FFFD, so every line is valid JSON; out of room, the
 * value is cut between characters. */
static void log_escaped(logline_t *line, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        char esc[6];
        size_t n = 1, advance = 1;
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            n = 2;
        } else if (*p < 0x20) {
            esc[0] = '\\';
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[*p >> 4];
            esc[5] = hex[*p & 15];
            n = 6;
        } else if (*p < 0x80) {
            esc[0] = (char)*p;
        } else if ((advance = utf8_sequence(p)) != 0) {
            memcpy(esc, p, advance);
            n = advance;
        } else {
            memcpy(esc, "\\ufffd", 6);
            n = 6;
            advance = 1;
        }
        if (LOG_LINE_MAX - LOG_TAIL_RESERVE - line->len < n + 1) {
            line->truncated = true;
            return;
        }
        log_raw(line, esc, n);
        p += advance;
    }
}

/* Starts a field, or returns false (marking the line truncated) when the
 * key and a short value no longer fit, so a line never ends mid-token. */
static bool log_key(logline_t *line, const char *key)
{
    if (line->len + strlen(key) + 48 > LOG_LINE_MAX - LOG_TAIL_RESERVE) {
        line->truncated = true;
        return false;
    }
    log_raw(line, ",\"", 2);
    log_escaped(line, key);
    log_raw(line, "\":", 2);
    return true;
}

void log_begin(logline_t *line, const char *level, const char *event)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char stamp[40];
    size_t n = strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp + n, sizeof(stamp) - n, ".%03ldZ", (long)(tv.tv_usec / 1000));
    line->len = 0;
    line->truncated = false;
    log_raw(line, "{\"time\":\"", 9);
    log_raw(line, stamp, strlen(stamp));
    log_raw(line, "\"", 1);
    log_str(line, "level", level);
    log_str(line, "event", event);
    log_int(line, "pid", log_pid != 0 ? log_pid : (long long)getpid());
}

void log_str(logline_t *line, const char *key, const char *value)
{
    if (!log_key(line, key))
        return;
    if (value == NULL) {
        log_raw(line, "null", 4);
        return;
    }
    log_raw(line, "\"", 1);
    log_escaped(line, value);
    log_raw(line, "\"", 1);
}

void log_int(logline_t *line, const char *key, long long value)
{
    char num[32];
    int n = snprintf(num, sizeof(num), "%lld", value);
    if (log_key(line, key))
        log_raw(line, num, (size_t)n);
}

void log_ms(logline_t *line, const char *key, double milliseconds)
{
    char num[32];
    int n = snprintf(num, sizeof(num), "%.3f", milliseconds);
    if (log_key(line, key))
        log_raw(line, num, (size_t)n);
}

void log_end(logline_t *line)
{
    /* the tail reserve guarantees room for these */
    if (line->truncated) {
        memcpy(line->buf + line->len, ",\"truncated\":true", 17);
        line->len += 17;
    }
    line->buf[line->len++] = '}';
    line->buf[line->len++] = '\n';
    size_t off = 0;
    while (off < line->len) {
        ssize_t w = write(STDERR_FILENO, line->buf + off, line->len - off);
        if (w <= 0)
            break; /* nowhere else to report a failing stderr */
        off += (size_t)w;
    }
}

void log_msg(const char *level, const char *event, const char *fmt, ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    logline_t line;
    log_begin(&line, level, event);
    log_str(&line, "message", message);
    log_end(&line);
}
