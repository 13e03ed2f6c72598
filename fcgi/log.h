/*
 * log: one JSON object per line on stderr. A line is assembled in a bounded
 * buffer and written with one write(2), so lines from the master and all
 * workers sharing stderr never interleave (each stays under PIPE_BUF).
 * A value that would overflow the line is cut and the line gets
 * "truncated": true, rather than being dropped.
 */
#ifndef PORTAL_LOG_H
#define PORTAL_LOG_H

#include <stdbool.h>
#include <stddef.h>

#define LOG_LINE_MAX 4000

typedef struct {
    char buf[LOG_LINE_MAX];
    size_t len;
    bool truncated;
} logline_t;

/* Records the calling process's pid for its log lines; call after fork. */
void log_set_pid(long pid);

void log_begin(logline_t *line, const char *level, const char *event);
void log_str(logline_t *line, const char *key, const char *value);
void log_int(logline_t *line, const char *key, long long value);
void log_ms(logline_t *line, const char *key, double milliseconds);
void log_end(logline_t *line);

/* A whole line with a "message": for events without structured fields. */
void log_msg(const char *level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
