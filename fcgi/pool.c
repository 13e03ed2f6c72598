/*
 * pool: the master loop. All signals the master cares about are blocked
 * and taken synchronously with sigtimedwait(), so there are no signal
 * handlers and no races between a handler and the loop. The loop wakes at
 * least every POOL_TICK_MS to check request timeouts and reload progress.
 *
 * Reload is a reconciliation: after SIGHUP the generation number goes up;
 * while workers of an older generation remain, the master starts one new
 * worker, waits until it is accepting, then asks one old worker to finish
 * its request and exit, and repeats. Capacity never drops below the
 * configured count and no request is cut off.
 */
#include "pool.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"
#include "logfile.h"
#include "scoreboard.h"
#include "worker.h"

#define POOL_TICK_MS 50
#define POOL_QUICK_DEATH_NS 1000000000ull /* a worker that dies younger crash-loops */

struct pool_worker {
    pid_t pid;
    unsigned generation;
    bool signalled; /* asked to stop by the pool (reload or shutdown) */
    bool timed_out; /* killed by the pool for request-timeout */
    uint64_t started_ns;
};

struct pool {
    config_t config;
    int argc;
    char **argv;
    const router_t *router;
    int listen_fd;
    struct scoreboard *board;
    struct pool_worker workers[SCOREBOARD_SLOTS];
    unsigned generation;
    bool stopping;
    uint64_t stop_deadline_ns;
    unsigned quick_deaths;
    uint64_t next_spawn_ns;
    pid_t master;
};

unsigned pool_respawn_delay_ms(unsigned quick_deaths)
{
    if (quick_deaths < 3)
        return 0;
    unsigned shift = quick_deaths - 3;
    if (shift > 6)
        return 5000;
    unsigned delay = 100u << shift;
    return delay > 5000 ? 5000 : delay;
}

static void pool_log_worker(const char *level, const char *event, int slot,
                            const struct pool_worker *w, const char *reason)
{
    logline_t line;
    log_begin(&line, level, event);
    log_int(&line, "worker", slot);
    log_int(&line, "worker_pid", w->pid);
    log_int(&line, "generation", w->generation);
    if (reason != NULL)
        log_str(&line, "reason", reason);
    log_end(&line);
}

static int pool_spawn(struct pool *pool)
{
    int slot = -1;
    for (int i = 0; i < SCOREBOARD_SLOTS; i++) {
        if (pool->workers[i].pid == 0) {
            slot = i;
            break;
        }
    }
    if (slot < 0)
        return -1;
    struct scoreboard_slot *s = &pool->board->slots[slot];
    __atomic_store_n(&s->state, SLOT_STARTING, __ATOMIC_RELEASE);
    __atomic_store_n(&s->exit_recycled, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&s->request_started_ns, 0, __ATOMIC_RELEASE);
    pid_t pid = fork();
    if (pid < 0) {
        __atomic_store_n(&s->state, SLOT_EMPTY, __ATOMIC_RELEASE);
        log_msg("error", "fork_failed", "cannot fork a worker: %s", strerror(errno));
        pool->next_spawn_ns = scoreboard_now_ns() + 1000000000ull;
        return -1;
    }
    if (pid == 0)
        worker_run(&pool->config, pool->listen_fd, pool->board, slot, pool->router, pool->master);
    struct pool_worker *w = &pool->workers[slot];
    memset(w, 0, sizeof(*w));
    w->pid = pid;
    w->generation = pool->generation;
    w->started_ns = scoreboard_now_ns();
    __atomic_store_n(&s->pid, pid, __ATOMIC_RELEASE);
    __atomic_store_n(&s->generation, pool->generation, __ATOMIC_RELEASE);
    pool_log_worker("info", "worker_started", slot, w, NULL);
    return slot;
}

static void pool_stop_worker(struct pool *pool, int slot)
{
    struct pool_worker *w = &pool->workers[slot];
    if (w->pid == 0 || w->signalled)
        return;
    w->signalled = true;
    kill(w->pid, SIGTERM);
}

/* Classifies and records a worker's exit; returns true when it was not the pool's doing. */
static bool pool_record_exit(struct pool *pool, int slot, int status)
{
    struct pool_worker *w = &pool->workers[slot];
    struct scoreboard_slot *s = &pool->board->slots[slot];
    enum restart_reason reason;
    bool unexpected = false;
    char why[64];
    if (w->timed_out) {
        reason = RESTART_TIMEOUT;
        snprintf(why, sizeof(why), "request timeout");
    } else if (w->signalled) {
        reason = RESTART_RELOAD;
        snprintf(why, sizeof(why), pool->stopping ? "shutdown" : "reload");
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
               __atomic_load_n(&s->exit_recycled, __ATOMIC_ACQUIRE)) {
        reason = RESTART_RECYCLED;
        snprintf(why, sizeof(why), "served max-requests");
    } else if (WIFSIGNALED(status)) {
        reason = RESTART_CRASH;
        unexpected = true;
        snprintf(why, sizeof(why), "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    } else {
        reason = RESTART_EXIT;
        unexpected = true;
        snprintf(why, sizeof(why), "exited with status %d", WEXITSTATUS(status));
    }
    if (!pool->stopping)
        __atomic_fetch_add(&pool->board->restarts[reason], 1, __ATOMIC_RELAXED);
    pool_log_worker(unexpected ? "error" : "info", "worker_exited", slot, w, why);
    if (unexpected) {
        uint64_t now = scoreboard_now_ns();
        if (now - w->started_ns < POOL_QUICK_DEATH_NS)
            pool->quick_deaths++;
        else
            pool->quick_deaths = 0;
        unsigned delay = pool_respawn_delay_ms(pool->quick_deaths);
        if (delay > 0) {
            pool->next_spawn_ns = now + (uint64_t)delay * 1000000ull;
            __atomic_fetch_add(&pool->board->respawns_throttled, 1, __ATOMIC_RELAXED);
            logline_t line;
            log_begin(&line, "warn", "respawn_throttled");
            log_int(&line, "quick_deaths", pool->quick_deaths);
            log_int(&line, "delay_ms", delay);
            log_str(&line, "message", "workers keep dying right after start; slowing respawns");
            log_end(&line);
        }
    }
    __atomic_store_n(&s->request_started_ns, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&s->state, SLOT_EMPTY, __ATOMIC_RELEASE);
    __atomic_store_n(&s->pid, 0, __ATOMIC_RELEASE);
    memset(w, 0, sizeof(*w));
    return unexpected;
}

static void pool_reap(struct pool *pool)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            return;
        for (int i = 0; i < SCOREBOARD_SLOTS; i++) {
            if (pool->workers[i].pid == pid) {
                pool_record_exit(pool, i, status);
                break;
            }
        }
    }
}

static void pool_check_timeouts(struct pool *pool)
{
    uint64_t now = scoreboard_now_ns();
    uint64_t limit = (uint64_t)pool->config.request_timeout_ms * 1000000ull;
    for (int i = 0; i < SCOREBOARD_SLOTS; i++) {
        struct pool_worker *w = &pool->workers[i];
        if (w->pid == 0 || w->timed_out)
            continue;
        struct scoreboard_slot *s = &pool->board->slots[i];
        uint64_t started = __atomic_load_n(&s->request_started_ns, __ATOMIC_ACQUIRE);
        if (started == 0 || now <= started || now - started <= limit)
            continue;
        char route[SCOREBOARD_ROUTE_MAX];
        memcpy(route, s->route, sizeof(route));
        route[sizeof(route) - 1] = '\0';
        w->timed_out = true;
        kill(w->pid, SIGKILL);
        logline_t line;
        log_begin(&line, "error", "request_timeout");
        log_int(&line, "worker", i);
        log_int(&line, "worker_pid", w->pid);
        log_str(&line, "route", route);
        log_ms(&line, "duration_ms", (double)(now - started) / 1e6);
        log_int(&line, "timeout_ms", pool->config.request_timeout_ms);
        log_end(&line);
    }
}

/* Brings the set of workers towards `workers` of the current generation. */
static void pool_reconcile(struct pool *pool)
{
    unsigned current = 0, starting = 0, old = 0, draining = 0;
    int old_slot = -1, extra_slot = -1;
    for (int i = 0; i < SCOREBOARD_SLOTS; i++) {
        struct pool_worker *w = &pool->workers[i];
        if (w->pid == 0)
            continue;
        if (w->signalled) {
            draining++;
            continue;
        }
        if (w->generation == pool->generation) {
            current++;
            extra_slot = i;
            if (__atomic_load_n(&pool->board->slots[i].state, __ATOMIC_ACQUIRE) == SLOT_STARTING)
                starting++;
        } else {
            old++;
            old_slot = i;
        }
    }
    unsigned want = pool->config.workers;
    if (old > 0 || draining > 0) {
        /* rolling replacement: one step at a time */
        if (starting > 0 || draining > 0)
            return;
        if (old > 0 && current + old > want)
            pool_stop_worker(pool, old_slot);
        else if (old > 0)
            pool_spawn(pool);
        return;
    }
    if (current > want && extra_slot >= 0) {
        pool_stop_worker(pool, extra_slot);
        return;
    }
    uint64_t now = scoreboard_now_ns();
    while (current < want && now >= pool->next_spawn_ns) {
        if (pool_spawn(pool) < 0)
            break;
        current++;
        if (pool->quick_deaths >= 3)
            break; /* while throttled, one at a time */
    }
}

static void pool_reload(struct pool *pool)
{
    config_t fresh;
    enum config_action action;
    char err[512];
    if (config_load(&fresh, pool->argc, pool->argv, &action, err, sizeof(err)) != 0) {
        log_msg("error", "reload_refused", "configuration not reloaded: %s", err);
        return;
    }
    if (fresh.keyring == NULL) {
        config_free(&fresh);
        log_msg("error", "reload_refused", "configuration not reloaded: jwt-keys is required");
        return;
    }
    if (strcmp(fresh.listen, pool->config.listen) != 0 ||
        fresh.socket_mode != pool->config.socket_mode || fresh.backlog != pool->config.backlog) {
        log_msg("warn", "reload_listen_kept",
                "listen, socket-mode and backlog change only on restart; keeping %s",
                pool->config.listen);
        free(fresh.listen);
        fresh.listen = strdup(pool->config.listen);
        fresh.socket_mode = pool->config.socket_mode;
        fresh.backlog = pool->config.backlog;
        if (fresh.listen == NULL) {
            config_free(&fresh);
            log_msg("error", "reload_refused", "out of memory");
            return;
        }
    }
    if (strcmp(fresh.log_file, pool->config.log_file) != 0) {
        log_msg("warn", "reload_log_file_kept", "log-file changes only on restart; keeping %s",
                pool->config.log_file[0] ? pool->config.log_file : "stderr");
        char *kept = strdup(pool->config.log_file);
        if (kept == NULL) {
            config_free(&fresh);
            log_msg("error", "reload_refused", "out of memory");
            return;
        }
        free(fresh.log_file);
        fresh.log_file = kept;
    }
    config_free(&pool->config);
    pool->config = fresh;
    pool->generation++;
    pool->quick_deaths = 0;
    pool->next_spawn_ns = 0;
    __atomic_store_n(&pool->board->generation, pool->generation, __ATOMIC_RELAXED);
    __atomic_store_n(&pool->board->configured_workers, pool->config.workers, __ATOMIC_RELAXED);
    logline_t line;
    log_begin(&line, "info", "reload");
    log_int(&line, "generation", pool->generation);
    log_int(&line, "workers", pool->config.workers);
    log_end(&line);
}

static void pool_begin_stop(struct pool *pool, int signo)
{
    if (pool->stopping)
        return;
    pool->stopping = true;
    pool->stop_deadline_ns =
        scoreboard_now_ns() + (uint64_t)pool->config.shutdown_timeout_ms * 1000000ull;
    log_msg("info", "stopping", "received %s; draining workers", strsignal(signo));
    for (int i = 0; i < SCOREBOARD_SLOTS; i++)
        pool_stop_worker(pool, i);
}

/* SIGUSR1: the master opens the log file again, then asks every worker to
 * (each holds its own fd 2); a worker busy on a request does so when it
 * finishes, so its line lands whole in one file or the other. */
static void pool_reopen_log(struct pool *pool)
{
    logfile_request_reopen();
    if (logfile_reopen_if_requested())
        log_msg("info", "log_reopened", "log file opened again");
    for (int i = 0; i < SCOREBOARD_SLOTS; i++)
        if (pool->workers[i].pid != 0)
            kill(pool->workers[i].pid, SIGUSR1);
}

static int pool_live_workers(const struct pool *pool)
{
    int n = 0;
    for (int i = 0; i < SCOREBOARD_SLOTS; i++)
        n += pool->workers[i].pid != 0;
    return n;
}

int pool_run(config_t *config, int argc, char **argv, const router_t *router)
{
    struct pool pool; /* the master's own state; workers get copies of what they need */
    memset(&pool, 0, sizeof(pool));
    pool.config = *config;
    memset(config, 0, sizeof(*config));
    pool.argc = argc;
    pool.argv = argv;
    pool.router = router;
    pool.master = getpid();
    log_set_pid(pool.master);

    sigset_t watched;
    sigemptyset(&watched);
    sigaddset(&watched, SIGCHLD);
    sigaddset(&watched, SIGTERM);
    sigaddset(&watched, SIGINT);
    sigaddset(&watched, SIGHUP);
    sigaddset(&watched, SIGUSR1);
    sigprocmask(SIG_BLOCK, &watched, NULL);
    signal(SIGPIPE, SIG_IGN);

    char err[512];
    pool.listen_fd = listen_open(pool.config.listen, pool.config.socket_mode, pool.config.backlog,
                                 err, sizeof(err));
    pool.board = scoreboard_create();
    if (pool.listen_fd < 0 || pool.board == NULL) {
        fprintf(stderr, "portald: %s\n", pool.listen_fd < 0 ? err : "cannot map scoreboard");
        config_free(&pool.config);
        return 1;
    }
    if (logfile_open(pool.config.log_file, err, sizeof(err)) != 0) {
        fprintf(stderr, "portald: %s\n", err);
        close(pool.listen_fd);
        listen_cleanup(pool.config.listen);
        config_free(&pool.config);
        scoreboard_free(pool.board);
        return 1;
    }
    pool.board->configured_workers = pool.config.workers;
    logline_t line;
    log_begin(&line, "info", "started");
    log_str(&line, "listen", pool.config.listen);
    log_int(&line, "workers", pool.config.workers);
    log_end(&line);

    while (!pool.stopping || pool_live_workers(&pool) > 0) {
        if (!pool.stopping)
            pool_reconcile(&pool);
        struct timespec tick = {0, POOL_TICK_MS * 1000000L};
        siginfo_t info;
        int signo = sigtimedwait(&watched, &info, &tick);
        if (signo == SIGCHLD)
            pool_reap(&pool);
        else if (signo == SIGTERM || signo == SIGINT)
            pool_begin_stop(&pool, signo);
        else if (signo == SIGHUP && !pool.stopping)
            pool_reload(&pool);
        else if (signo == SIGUSR1)
            pool_reopen_log(&pool);
        pool_reap(&pool); /* SIGCHLD is not queued: collect any we merged */
        pool_check_timeouts(&pool);
        if (pool.stopping && scoreboard_now_ns() > pool.stop_deadline_ns) {
            for (int i = 0; i < SCOREBOARD_SLOTS; i++)
                if (pool.workers[i].pid != 0)
                    kill(pool.workers[i].pid, SIGKILL);
            log_msg("warn", "shutdown_forced", "workers still busy after shutdown-timeout");
            pool.stop_deadline_ns = UINT64_MAX;
        }
    }
    close(pool.listen_fd);
    listen_cleanup(pool.config.listen);
    log_msg("info", "stopped", "all workers finished");
    config_free(&pool.config);
    scoreboard_free(pool.board);
    return 0;
}
