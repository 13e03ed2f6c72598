/*
 * scoreboard: the one piece of memory the master and its workers share
 * (an anonymous MAP_SHARED mapping made before the first fork).
 *
 * Each worker writes only its own slot; the master writes the pool-wide
 * figures and the slot's pid. Readers (the master's timeout check, any
 * worker rendering /metrics) use relaxed atomic loads, so figures may be a
 * moment stale but are never torn. Counters live in the slot, not the
 * process, so they keep counting across a worker's replacement and
 * Prometheus never sees them go backwards. Nothing request-specific is
 * shared between requests: the slot only mirrors what the worker is doing.
 */
#ifndef PORTAL_SCOREBOARD_H
#define PORTAL_SCOREBOARD_H

#include <stdint.h>
#include <sys/types.h>

#include "strbuf.h"

#define SCOREBOARD_SLOTS 130 /* 128 workers + room for a reload's surge */
#define SCOREBOARD_ROUTE_MAX 64
#define SCOREBOARD_BUCKETS 14

enum slot_state {
    SLOT_EMPTY = 0,
    SLOT_STARTING, /* forked, not yet accepting */
    SLOT_IDLE,     /* waiting for a request */
    SLOT_BUSY,     /* serving a request */
};

enum restart_reason {
    RESTART_CRASH,    /* killed by a signal the pool did not send */
    RESTART_EXIT,     /* exited with an error status */
    RESTART_TIMEOUT,  /* killed by the pool for exceeding request-timeout */
    RESTART_RECYCLED, /* served max-requests */
    RESTART_RELOAD,   /* replaced after SIGHUP */
    RESTART_REASONS
};

struct scoreboard_slot {
    /* written by the master */
    int32_t pid;
    uint32_t generation;
    /* written by the worker */
    int32_t state;
    uint32_t exit_recycled;           /* set just before a recycling exit */
    uint64_t request_started_ns;      /* CLOCK_MONOTONIC, 0 when idle */
    char route[SCOREBOARD_ROUTE_MAX]; /* last byte stays NUL */
    uint64_t requests;
    uint64_t responses_by_class[6];                /* index = status / 100 */
    uint64_t duration_buckets[SCOREBOARD_BUCKETS]; /* cumulative buckets are built when rendering */
    uint64_t duration_sum_us;
    uint64_t db_reconnects;
    uint64_t password_checks; /* sign-in passwords checked (Argon2 run) */
    /* the public's read-only transactions, by where they ran (see db.h) */
    uint64_t reads_on_standby;
    uint64_t reads_on_primary;
    uint64_t standby_retries; /* reads whose standby failed them, run again on the primary */
    /* ready-made public answers (see stored.h): served, and looked up in vain */
    uint64_t stored_hits;
    uint64_t stored_misses;
};

struct scoreboard {
    uint64_t started_unix;
    uint32_t configured_workers;
    uint32_t generation;
    uint64_t restarts[RESTART_REASONS];
    uint64_t respawns_throttled;
    /* when the next deadline check is due (monotonic ns); the worker that
     * moves it forward runs the check, so one worker does each */
    uint64_t deadline_check_next_ns;
    /* the same for the collection of photo bytes nothing refers to */
    uint64_t photo_collect_next_ns;
    /* the read standby as the last check found it (see db_standby_check):
     * the check's due time, whether the public's reads go there, and how
     * stale it may be (microseconds; -1 unknown: unreachable, or never
     * checked). standby_caught_up_ns is when the primary's WAL position was
     * read by the last check that found the standby had replayed it. */
    uint64_t standby_check_next_ns;
    uint32_t standby_reads;
    int64_t standby_lag_us;
    uint64_t standby_caught_up_ns;
    struct scoreboard_slot slots[SCOREBOARD_SLOTS];
};

extern const double scoreboard_bucket_bounds[SCOREBOARD_BUCKETS]; /* seconds; last is +Inf */

/* Maps the shared scoreboard; returns NULL on failure. Free with scoreboard_free. */
struct scoreboard *scoreboard_create(void);
void scoreboard_free(struct scoreboard *board);

uint64_t scoreboard_now_ns(void);

/* Worker side: bracket one request. */
void scoreboard_request_start(struct scoreboard_slot *slot, const char *route, uint64_t now_ns);
void scoreboard_request_end(struct scoreboard_slot *slot, int status, uint64_t duration_ns);
/* Marks slot idle after work that scoreboard_request_start marked busy
 * but that answers no request (the keeping after an answer has gone):
 * nothing is counted, and the request timeout covered it while it ran. */
void scoreboard_work_end(struct scoreboard_slot *slot);

const char *scoreboard_reason_name(enum restart_reason reason);

/* Appends the Prometheus text exposition (format 0.0.4) of the whole pool. */
void scoreboard_render(const struct scoreboard *board, strbuf_t *out);

#endif
