/*
 * worker: the accept loop.
 *
 * SIGTERM stays blocked except inside epoll_pwait(), which unblocks it
 * atomically while the worker waits for a connection. So a stop request
 * either interrupts the wait or waits for the request in hand to finish;
 * it can never interrupt a read or write half-way through a response, and
 * there is no window in which it is lost. The listening socket is
 * non-blocking and registered with EPOLLEXCLUSIVE: one idle worker wakes
 * per connection, and a worker that loses the race to accept() just waits
 * again.
 */
#include "worker.h"

#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "db.h"
#include "log.h"
#include "logfile.h"
#include "request.h"
#include "response.h"
#include "session.h"
#include "stored.h"
#include "validate.h" /* COUNT */

static volatile sig_atomic_t worker_stop_requested;

static void worker_on_sigterm(int signo)
{
    (void)signo;
    worker_stop_requested = 1;
}

static void worker_on_sigusr1(int signo)
{
    (void)signo;
    logfile_request_reopen();
}

static void worker_setup_signals(sigset_t *wait_mask)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGINT, &sa, NULL); /* the master turns Ctrl-C into SIGTERM */
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGPIPE, &sa, NULL); /* a client gone mid-response is EPIPE, not death */
    sa.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &sa, NULL);
    sa.sa_handler = worker_on_sigterm;
    sigaction(SIGTERM, &sa, NULL); /* no SA_RESTART: epoll_pwait returns EINTR */
    sa.sa_handler = worker_on_sigusr1;
    sigaction(SIGUSR1, &sa, NULL); /* log rotation: taken, like SIGTERM, only while waiting */

    sigset_t blocked;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGTERM);
    sigaddset(&blocked, SIGUSR1);
    sigprocmask(SIG_SETMASK, &blocked, NULL);
    sigemptyset(wait_mask);
}

/* The pool's periodic jobs share one due time each in the scoreboard: the
 * worker whose compare-and-swap moves it period_ms forward runs the job,
 * so on one host one worker does each run. Returns whether that is us. */
static bool worker_claim_due(uint64_t *next_ns, unsigned period_ms)
{
    uint64_t now = scoreboard_now_ns();
    uint64_t due = __atomic_load_n(next_ns, __ATOMIC_ACQUIRE);
    return now >= due &&
           __atomic_compare_exchange_n(next_ns, &due, now + (uint64_t)period_ms * 1000000u, false,
                                       __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

/* Closes the editions whose deadline has passed, when a check is due, between
 * requests or while idle. Nothing to install, no extra process; with several
 * pool hosts each checks, and the database function shares the work (SKIP
 * LOCKED). */
static void worker_check_deadlines(struct worker_ctx *ctx, arena_t *arena)
{
    if (!worker_claim_due(&ctx->board->deadline_check_next_ns, ctx->config->deadline_check_ms))
        return;
    if (db_begin(ctx->db, arena, "deadline-check") != 0)
        return; /* the database is down; the next check will try again */
    PGresult *res = db_query(ctx->db, arena, SQL_EDITIONS_CLOSE_DUE, 0, NULL); /* takes none */
    if (res == NULL || !db_ok(res) || db_commit(ctx->db, arena) != 0) {
        db_rollback(ctx->db);
        arena_reset(arena);
        return;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        logline_t line;
        log_begin(&line, "info", "edition_closed_at_deadline");
        log_int(&line, "edition_id", db_int(res, i, "edition_id", 0));
        log_int(&line, "number", db_int(res, i, "number", 0));
        log_str(&line, "detail", db_value(res, i, "cases_closed"));
        log_end(&line);
    }
    arena_reset(arena);
}

/* Deletes photo bytes that no case photo and no revision names, once they
 * are older than photo-collect-grace since their last upload (and the
 * ready-made public answers that can no longer be served): every
 * photo-collect, by an idle worker only (a busy pool postpones it; the
 * street quota bounds what waits), in batches. With several pool hosts the
 * database function shares the work (SKIP LOCKED), and an upload of the same
 * bytes meanwhile keeps them (see migration 0005). */
static void worker_collect_photos(struct worker_ctx *ctx, arena_t *arena)
{
    if (!worker_claim_due(&ctx->board->photo_collect_next_ns, ctx->config->photo_collect_ms))
        return;
    const char *grace = arena_printf(arena, "%u", ctx->config->photo_collect_grace_ms);
    if (grace == NULL || db_begin(ctx->db, arena, "photo-collect") != 0) {
        arena_reset(arena);
        return; /* out of memory, or the database is down: the next run will try again */
    }
    const char *values[] = {grace};
    PGresult *res = db_query(ctx->db, arena, SQL_PHOTOS_COLLECT, COUNT(values), values);
    /* a failed statement is logged by db_query (db_statement_failed) */
    if (res == NULL || !db_ok(res) || PQntuples(res) != 1 || db_commit(ctx->db, arena) != 0) {
        db_rollback(ctx->db);
        arena_reset(arena);
        return;
    }
    long long collected = db_int(res, 0, "collected", 0);
    if (collected > 0) {
        logline_t line;
        log_begin(&line, "info", "photos_collected");
        log_int(&line, "count", collected);
        log_int(&line, "bytes", db_int(res, 0, "bytes", 0));
        log_end(&line);
    }
    /* the same run deletes the ready-made answers no reader can be served
     * again (see stored.h), on its own: a failure is only logged */
    res = db_query(ctx->db, arena, SQL_PUBLIC_DOCUMENTS_COLLECT, 0, NULL);
    collected = res != NULL && db_ok(res) ? db_int(res, 0, "collected", 0) : 0;
    if (collected > 0) {
        logline_t line;
        log_begin(&line, "info", "answers_collected");
        log_int(&line, "count", collected);
        log_end(&line);
    }
    arena_reset(arena);
}

/* How often the read standby's lag is checked (when one is configured):
 * often enough that a standby that stops or falls behind loses the public's
 * reads within about a second, and one that is back gets them again. An
 * idle pool checks when a worker's wait times out (each second per worker),
 * so about as often. A check is one short query on each database. */
#define STANDBY_CHECK_MS 500

/* Checks the read standby, when a check is due (one worker per host); with
 * none configured, only says so. */
static void worker_check_standby(struct worker_ctx *ctx, arena_t *arena)
{
    if (!worker_claim_due(&ctx->board->standby_check_next_ns, STANDBY_CHECK_MS))
        return;
    db_standby_check(ctx->db, arena);
    arena_reset(arena);
}

static void worker_log_request(const request_t *req, int slot, uint64_t duration_ns,
                               unsigned slow_ms)
{
    double ms = (double)duration_ns / 1e6;
    bool slow = ms > (double)slow_ms;
    logline_t line;
    log_begin(&line, slow ? "warn" : "info", "request");
    log_str(&line, "request_id", req->request_id);
    log_str(&line, "method", req->method);
    log_str(&line, "path", req->path);
    log_str(&line, "route", req->match.def ? req->match.def->pattern : NULL);
    log_int(&line, "status", req->status);
    log_ms(&line, "duration_ms", ms);
    log_int(&line, "worker", slot);
    if (slow)
        log_str(&line, "slow", "true");
    if (req->problem_slug != NULL)
        log_str(&line, "problem", req->problem_slug);
    if (req->log_detail != NULL)
        log_str(&line, "detail", req->log_detail);
    if (req->db != NULL)
        log_str(&line, "db", req->db);
    log_end(&line);
}

void worker_dispatch(request_t *req)
{
    enum route_result found =
        router_match(req->worker->router, req->method, req->path, &req->match);
    if (found == ROUTE_NOT_FOUND) {
        response_problem(req, PROBLEM_NOT_FOUND, NULL, NULL);
        return;
    }
    if (found == ROUTE_METHOD_NOT_ALLOWED) {
        response_problem(req, PROBLEM_METHOD_NOT_ALLOWED, NULL, NULL);
        return;
    }
    if (req->worker->board != NULL)
        scoreboard_request_start(&req->worker->board->slots[req->worker->slot],
                                 req->match.def->pattern, req->started_ns);
    unsigned access = req->match.def->access;
    const char *authorization = request_param(req, "HTTP_AUTHORIZATION");
    if ((access & ROUTE_TOKEN_OPTIONAL) != 0 && authorization != NULL && authorization[0] != '\0')
        access |= ROUTE_STAFF;
    struct token_claims claims;
    if ((access & ROUTE_STAFF) != 0 && session_check_token(req, &claims) != 0)
        return;
    /* before reading megabytes of photo, a first answer from the token's role */
    if (req->match.def->body == ROUTE_BODY_IMAGE &&
        session_check_role(req, &claims, access & ROUTE_STAFF) != 0)
        return;
    if (req->match.def->body == ROUTE_BODY_JSON && request_read_json(req) != 0)
        return;
    if (req->match.def->body == ROUTE_BODY_IMAGE && request_read_image(req) != 0)
        return;
    if (stored_route(req) && stored_answer(req))
        return;
    if ((access & ROUTE_READ_REPLICA) != 0 && (access & ROUTE_STAFF) == 0) {
        if (db_begin_read(req->worker->db, req->arena, req->request_id) != 0) {
            response_problem(req, PROBLEM_DATABASE_UNAVAILABLE, NULL, NULL);
            return;
        }
    } else if (access != ROUTE_OPEN && (access & ROUTE_ONE_TRIP) == 0) {
        const char **lookup = NULL;
        if ((access & ROUTE_STAFF) != 0 && (lookup = session_values(req, &claims)) == NULL) {
            response_problem(req, PROBLEM_INTERNAL, NULL, NULL); /* out of memory */
            return;
        }
        PGresult *session = db_begin_session(req->worker->db, req->arena, req->request_id, lookup);
        if (session == NULL) {
            response_problem(req, PROBLEM_DATABASE_UNAVAILABLE, NULL, NULL);
            return;
        }
        if (lookup != NULL && session_load(req, session, access & ROUTE_STAFF) != 0)
            return;
    }
    if (access != ROUTE_OPEN)
        req->db = db_where(req->worker->db);
    req->match.def->handler(req);
    if (access != ROUTE_OPEN)
        req->db = db_where(req->worker->db); /* a read the standby failed moved */
    if (req->status == 0) {
        req->log_detail = "handler wrote no response";
        response_problem(req, PROBLEM_INTERNAL, NULL, NULL);
    }
}

/* Makes a request id when nginx sent none (direct FastCGI clients). */
static const char *worker_request_id(arena_t *arena)
{
    unsigned char raw[16];
    randombytes_buf(raw, sizeof(raw));
    char *hex = arena_alloc(arena, sizeof(raw) * 2 + 1);
    if (hex != NULL)
        sodium_bin2hex(hex, sizeof(raw) * 2 + 1, raw, sizeof(raw));
    return hex;
}

/* Work a request left for after its answer has gone (request_t's
 * after_send), in the request's arena. */
struct after_send {
    void (*run)(struct worker_ctx *worker, arena_t *arena, void *data);
    void *data;
};

/* Serves one request; returns the work it left for after its answer. */
static struct after_send worker_serve(FCGX_Request *fcgi, arena_t *arena, struct worker_ctx *ctx)
{
    request_t req;
    uint64_t started = scoreboard_now_ns();
    request_init(&req, arena, fcgi, ctx);
    req.started_ns = started;
    if (req.request_id == NULL || req.request_id[0] == '\0')
        req.request_id = worker_request_id(arena);
    struct scoreboard_slot *slot = &ctx->board->slots[ctx->slot];
    scoreboard_request_start(slot, "", started);
    worker_dispatch(&req);
    if (db_in_transaction(ctx->db))
        db_rollback(ctx->db); /* a request that did not commit leaves nothing behind */
    uint64_t duration = scoreboard_now_ns() - started;
    scoreboard_request_end(slot, req.status, duration);
    worker_log_request(&req, ctx->slot, duration, ctx->config->slow_request_ms);
    return (struct after_send){req.after_send, req.after_send_data};
}

void worker_run(const config_t *config, int listen_fd, struct scoreboard *board, int slot,
                const router_t *router, pid_t master)
{
    sigset_t wait_mask;
    worker_setup_signals(&wait_mask);
    log_set_pid(getpid());
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != master)
        _exit(0);

    struct scoreboard_slot *me = &board->slots[slot];
    arena_t *arena = arena_create(64 * 1024);
    db_t *db = db_create(config, board, me);
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event interest = {.events = EPOLLIN | EPOLLEXCLUSIVE};
    if (arena == NULL || db == NULL || epfd < 0 ||
        epoll_ctl(epfd, EPOLL_CTL_ADD, listen_fd, &interest) != 0 || FCGX_Init() != 0) {
        log_msg("error", "worker_init_failed", "cannot set up worker: %s", strerror(errno));
        _exit(1);
    }
    FCGX_Request fcgi;
    if (FCGX_InitRequest(&fcgi, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
        log_msg("error", "worker_init_failed", "FCGX_InitRequest failed");
        _exit(1);
    }
    struct worker_ctx ctx = {.config = config,
                             .router = router,
                             .db = db,
                             .board = board,
                             .slot = slot,
                             .pid = getpid()};
    __atomic_store_n(&me->state, SLOT_IDLE, __ATOMIC_RELEASE);

    unsigned served = 0;
    unsigned accept_errors = 0;
    while (!worker_stop_requested) {
        struct epoll_event ev;
        int n = epoll_pwait(epfd, &ev, 1, 1000, &wait_mask);
        logfile_reopen_if_requested();
        if (n < 0 && errno != EINTR) {
            log_msg("error", "worker_wait_failed", "epoll_pwait: %s", strerror(errno));
            break;
        }
        if (n <= 0) {
            if (getppid() != master)
                break;
            worker_check_deadlines(&ctx, arena);
            worker_check_standby(&ctx, arena);
            worker_collect_photos(&ctx, arena);
            continue;
        }
        if (FCGX_Accept_r(&fcgi) < 0) {
            /* EAGAIN: another worker took this connection */
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                ++accept_errors > 100) {
                log_msg("error", "worker_accept_failed", "accept keeps failing: %s",
                        strerror(errno));
                break;
            }
            continue;
        }
        accept_errors = 0;
        struct after_send after = worker_serve(&fcgi, arena, &ctx);
        FCGX_Finish_r(&fcgi); /* the answer is on its way; the reader waits no longer */
        if (after.run != NULL) {
            /* busy while it runs, so the pool's request timeout still
             * ends a worker stuck in it */
            scoreboard_request_start(me, "after_send", scoreboard_now_ns());
            after.run(&ctx, arena, after.data);
            scoreboard_work_end(me);
        }
        arena_reset(arena);
        worker_check_deadlines(&ctx, arena);
        worker_check_standby(&ctx, arena);
        served++;
        if (config->max_requests != 0 && served >= config->max_requests) {
            __atomic_store_n(&me->exit_recycled, 1, __ATOMIC_RELEASE);
            break;
        }
    }
    FCGX_Free(&fcgi, 0);
    db_free(db);
    arena_free(arena);
    close(epfd);
    _exit(0);
}
