/* scoreboard: shared pool state and its Prometheus rendering. */
#include "scoreboard.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

const double scoreboard_bucket_bounds[SCOREBOARD_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 0};

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define BUMP(x, v) __atomic_fetch_add(&(x), (v), __ATOMIC_RELAXED)

struct scoreboard *scoreboard_create(void)
{
    void *p = mmap(NULL, sizeof(struct scoreboard), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    struct scoreboard *board = p;
    memset(board, 0, sizeof(*board));
    board->started_unix = (uint64_t)time(NULL);
    board->standby_lag_us = -1;
    return board;
}

void scoreboard_free(struct scoreboard *board)
{
    if (board != NULL)
        munmap(board, sizeof(*board));
}

uint64_t scoreboard_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void scoreboard_request_start(struct scoreboard_slot *slot, const char *route, uint64_t now_ns)
{
    size_t n = strlen(route);
    if (n > SCOREBOARD_ROUTE_MAX - 1)
        n = SCOREBOARD_ROUTE_MAX - 1;
    memcpy(slot->route, route, n);
    slot->route[n] = '\0';
    STORE(slot->state, SLOT_BUSY);
    __atomic_store_n(&slot->request_started_ns, now_ns, __ATOMIC_RELEASE);
}

void scoreboard_request_end(struct scoreboard_slot *slot, int status, uint64_t duration_ns)
{
    double seconds = (double)duration_ns / 1e9;
    size_t bucket = SCOREBOARD_BUCKETS - 1;
    for (size_t i = 0; i + 1 < SCOREBOARD_BUCKETS; i++) {
        if (seconds <= scoreboard_bucket_bounds[i]) {
            bucket = i;
            break;
        }
    }
    int cls = status / 100;
    if (cls < 1 || cls > 5)
        cls = 5;
    BUMP(slot->requests, 1);
    BUMP(slot->responses_by_class[cls], 1);
    BUMP(slot->duration_buckets[bucket], 1);
    BUMP(slot->duration_sum_us, duration_ns / 1000);
    scoreboard_work_end(slot);
}

void scoreboard_work_end(struct scoreboard_slot *slot)
{
    __atomic_store_n(&slot->request_started_ns, 0, __ATOMIC_RELEASE);
    STORE(slot->state, SLOT_IDLE);
}

const char *scoreboard_reason_name(enum restart_reason reason)
{
    static const char *const names[RESTART_REASONS] = {"crash", "exit", "timeout", "recycled",
                                                       "reload"};
    return (unsigned)reason < RESTART_REASONS ? names[reason] : "unknown";
}

/* Resident set size of a process in bytes, or 0 when it cannot be read. */
static unsigned long long process_rss_bytes(int pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/statm", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    unsigned long size = 0, resident = 0;
    int got = fscanf(f, "%lu %lu", &size, &resident);
    fclose(f);
    if (got != 2)
        return 0;
    return (unsigned long long)resident * (unsigned long long)sysconf(_SC_PAGESIZE);
}

void scoreboard_render(const struct scoreboard *board, strbuf_t *out)
{
    static const char *const classes[6] = {"", "1xx", "2xx", "3xx", "4xx", "5xx"};
    uint64_t buckets[SCOREBOARD_BUCKETS] = {0};
    uint64_t sum_us = 0, total = 0;
    unsigned busy = 0, idle = 0, starting = 0;

    strbuf_puts(out, "# HELP portal_requests_total Requests served, by worker slot.\n"
                     "# TYPE portal_requests_total counter\n");
    for (int i = 0; i < SCOREBOARD_SLOTS; i++) {
        const struct scoreboard_slot *s = &board->slots[i];
        uint64_t n = LOAD(s->requests);
        int state = LOAD(s->state);
        if (n == 0 && state == SLOT_EMPTY)
            continue;
        strbuf_printf(out, "portal_requests_total{worker=\"%d\"} %llu\n", i, (unsigned long long)n);
        total += n;
        sum_us += LOAD(s->duration_sum_us);
        for (int b = 0; b < SCOREBOARD_BUCKETS; b++)
            buckets[b] += LOAD(s->duration_buckets[b]);
        busy += state == SLOT_BUSY;
        idle += state == SLOT_IDLE;
        starting += state == SLOT_STARTING;
    }

    strbuf_puts(out, "# HELP portal_responses_total Responses, by worker slot and status class.\n"
                     "# TYPE portal_responses_total counter\n");
    for (int i = 0; i < SCOREBOARD_SLOTS; i++) {
        const struct scoreboard_slot *s = &board->slots[i];
        if (LOAD(s->requests) == 0)
            continue;
        for (int c = 1; c <= 5; c++)
            strbuf_printf(out, "portal_responses_total{worker=\"%d\",class=\"%s\"} %llu\n", i,
                          classes[c], (unsigned long long)LOAD(s->responses_by_class[c]));
    }

    strbuf_puts(out, "# HELP portal_requests_in_flight Requests being served now, by worker slot.\n"
                     "# TYPE portal_requests_in_flight gauge\n");
    for (int i = 0; i < SCOREBOARD_SLOTS; i++) {
        const struct scoreboard_slot *s = &board->slots[i];
        int state = LOAD(s->state);
        if (state == SLOT_EMPTY)
            continue;
        strbuf_printf(out, "portal_requests_in_flight{worker=\"%d\"} %d\n", i, state == SLOT_BUSY);
    }

    strbuf_puts(out, "# HELP portal_worker_resident_bytes Resident memory of each live worker.\n"
                     "# TYPE portal_worker_resident_bytes gauge\n");
    for (int i = 0; i < SCOREBOARD_SLOTS; i++) {
        const struct scoreboard_slot *s = &board->slots[i];
        int pid = LOAD(s->pid);
        if (LOAD(s->state) == SLOT_EMPTY || pid <= 0)
            continue;
        strbuf_printf(out, "portal_worker_resident_bytes{worker=\"%d\",pid=\"%d\"} %llu\n", i, pid,
                      process_rss_bytes(pid));
    }

    strbuf_puts(out, "# HELP portal_request_duration_seconds Time from accept to response, whole "
                     "pool.\n# TYPE portal_request_duration_seconds histogram\n");
    uint64_t cumulative = 0;
    for (int b = 0; b < SCOREBOARD_BUCKETS; b++) {
        cumulative += buckets[b];
        if (b + 1 < SCOREBOARD_BUCKETS)
            strbuf_printf(out, "portal_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                          scoreboard_bucket_bounds[b], (unsigned long long)cumulative);
        else
            strbuf_printf(out, "portal_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                          (unsigned long long)cumulative);
    }
    strbuf_printf(out, "portal_request_duration_seconds_sum %.6f\n", (double)sum_us / 1e6);
    strbuf_printf(out, "portal_request_duration_seconds_count %llu\n", (unsigned long long)total);

    strbuf_puts(out, "# HELP portal_workers Worker processes by state.\n"
                     "# TYPE portal_workers gauge\n");
    strbuf_printf(out,
                  "portal_workers{state=\"idle\"} %u\nportal_workers{state=\"busy\"} %u\n"
                  "portal_workers{state=\"starting\"} %u\n",
                  idle, busy, starting);
    strbuf_printf(out,
                  "# HELP portal_workers_configured Workers the pool keeps running.\n"
                  "# TYPE portal_workers_configured gauge\nportal_workers_configured %u\n",
                  LOAD(board->configured_workers));

    strbuf_puts(out, "# HELP portal_worker_restarts_total Workers replaced, by reason.\n"
                     "# TYPE portal_worker_restarts_total counter\n");
    for (int r = 0; r < RESTART_REASONS; r++)
        strbuf_printf(out, "portal_worker_restarts_total{reason=\"%s\"} %llu\n",
                      scoreboard_reason_name((enum restart_reason)r),
                      (unsigned long long)LOAD(board->restarts[r]));
    strbuf_printf(out,
                  "# HELP portal_respawns_throttled_total Respawns delayed by the crash-loop "
                  "limit.\n# TYPE portal_respawns_throttled_total counter\n"
                  "portal_respawns_throttled_total %llu\n",
                  (unsigned long long)LOAD(board->respawns_throttled));
    uint64_t reconnects = 0;
    for (int i = 0; i < SCOREBOARD_SLOTS; i++)
        reconnects += LOAD(board->slots[i].db_reconnects);
    strbuf_printf(out,
                  "# HELP portal_db_connects_total Database connections made by workers.\n"
                  "# TYPE portal_db_connects_total counter\nportal_db_connects_total %llu\n",
                  (unsigned long long)reconnects);
    uint64_t checks = 0;
    for (int i = 0; i < SCOREBOARD_SLOTS; i++)
        checks += LOAD(board->slots[i].password_checks);
    strbuf_printf(out,
                  "# HELP portal_password_checks_total Sign-in passwords checked (Argon2id "
                  "run).\n# TYPE portal_password_checks_total counter\n"
                  "portal_password_checks_total %llu\n",
                  (unsigned long long)checks);
    uint64_t on_standby = 0, on_primary = 0, retries = 0;
    for (int i = 0; i < SCOREBOARD_SLOTS; i++) {
        on_standby += LOAD(board->slots[i].reads_on_standby);
        on_primary += LOAD(board->slots[i].reads_on_primary);
        retries += LOAD(board->slots[i].standby_retries);
    }
    strbuf_printf(out,
                  "# HELP portal_public_reads_total The public's read-only transactions, by the "
                  "database they began on (a read moved to the primary counts on both).\n# TYPE "
                  "portal_public_reads_total counter\n"
                  "portal_public_reads_total{db=\"standby\"} %llu\n"
                  "portal_public_reads_total{db=\"primary\"} %llu\n",
                  (unsigned long long)on_standby, (unsigned long long)on_primary);
    strbuf_printf(out,
                  "# HELP portal_standby_retries_total Reads whose standby connection failed, run "
                  "again on the primary.\n# TYPE portal_standby_retries_total counter\n"
                  "portal_standby_retries_total %llu\n",
                  (unsigned long long)retries);
    uint64_t hits = 0, misses = 0;
    for (int i = 0; i < SCOREBOARD_SLOTS; i++) {
        hits += LOAD(board->slots[i].stored_hits);
        misses += LOAD(board->slots[i].stored_misses);
    }
    strbuf_printf(out,
                  "# HELP portal_public_stored_total Public reads looked up among the ready-made "
                  "answers: served from one (hit) or built (miss).\n# TYPE "
                  "portal_public_stored_total counter\n"
                  "portal_public_stored_total{result=\"hit\"} %llu\n"
                  "portal_public_stored_total{result=\"miss\"} %llu\n",
                  (unsigned long long)hits, (unsigned long long)misses);
    strbuf_printf(out,
                  "# HELP portal_standby_reads Whether the public's reads go to the standby (1) or "
                  "the primary (0).\n# TYPE portal_standby_reads gauge\nportal_standby_reads %u\n",
                  LOAD(board->standby_reads));
    int64_t lag_us = LOAD(board->standby_lag_us);
    strbuf_puts(out, "# HELP portal_standby_lag_seconds At most how stale the standby's data was "
                     "at the last check (NaN: unknown or unreachable).\n"
                     "# TYPE portal_standby_lag_seconds gauge\n");
    if (lag_us < 0)
        strbuf_puts(out, "portal_standby_lag_seconds NaN\n");
    else
        strbuf_printf(out, "portal_standby_lag_seconds %.6f\n", (double)lag_us / 1e6);
    strbuf_printf(out,
                  "# HELP portal_start_time_seconds When the pool started (Unix time).\n"
                  "# TYPE portal_start_time_seconds gauge\nportal_start_time_seconds %llu\n",
                  (unsigned long long)board->started_unix);
}
