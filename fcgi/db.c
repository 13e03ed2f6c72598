/* db: lazy connection, prepared statements, transactions. See db.h. */
#include "db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define DB_RETRY_MS 200

/* One connection: to the primary, or to the read standby. */
struct db_link {
    const char *name; /* "primary" or "standby": the logs' and db_where's word */
    const char *url;  /* libpq connection string; "" lets libpq read PG* */
    PGconn *conn;
    uint64_t last_failure_ns;
    bool failing; /* the standby's failures are logged once, until it works again */
};

struct db {
    const config_t *config;
    struct scoreboard *board;
    struct scoreboard_slot *slot;
    struct db_link primary;
    struct db_link standby; /* used only when has_standby */
    bool has_standby;
    struct db_link *link; /* the open transaction's, or the last one's */
    bool in_tx;
    const char *read_request_id; /* the open read's (arena-owned), for its retry */
    bool read_moved;             /* the open read began again on the primary: two snapshots */
    char statement_timeout[24];
};

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define BUMP(x) __atomic_fetch_add(&(x), 1, __ATOMIC_RELAXED)

db_t *db_create(const config_t *config, struct scoreboard *board, struct scoreboard_slot *slot)
{
    db_t *db = calloc(1, sizeof(*db));
    if (db == NULL)
        return NULL;
    db->config = config;
    db->board = board;
    db->slot = slot;
    db->primary = (struct db_link){.name = "primary", .url = config->database_url};
    db->standby = (struct db_link){.name = "standby", .url = config->standby_url};
    db->has_standby = config->standby_url != NULL && config->standby_url[0] != '\0';
    db->link = &db->primary;
    /* statements end before the pool would kill the worker */
    unsigned timeout = config->request_timeout_ms > 1000 ? config->request_timeout_ms - 500
                                                         : config->request_timeout_ms / 2;
    snprintf(db->statement_timeout, sizeof(db->statement_timeout), "%u", timeout);
    return db;
}

static void link_disconnect(db_t *db, struct db_link *link)
{
    if (link->conn != NULL)
        PQfinish(link->conn);
    link->conn = NULL;
    if (db->link == link)
        db->in_tx = false;
}

void db_free(db_t *db)
{
    if (db == NULL)
        return;
    link_disconnect(db, &db->primary);
    link_disconnect(db, &db->standby);
    free(db);
}

/* Stores where the public's reads go, logging a move (standby_reads, with
 * why when there is something to say). */
static void db_standby_verdict(db_t *db, bool serves, int64_t lag_us, const char *why)
{
    STORE(db->board->standby_lag_us, lag_us);
    uint32_t now = serves ? 1u : 0u;
    if (__atomic_exchange_n(&db->board->standby_reads, now, __ATOMIC_RELAXED) == now)
        return;
    logline_t line;
    log_begin(&line, serves ? "info" : "warn", "standby_reads");
    log_str(&line, "reads", serves ? "standby" : "primary");
    if (lag_us >= 0)
        log_ms(&line, "lag_ms", (double)lag_us / 1000.0);
    if (why != NULL)
        log_str(&line, "why", why);
    log_end(&line);
}

/* The public's reads leave the standby until the next check finds it well. */
static void db_standby_set_aside(db_t *db)
{
    if (db->board != NULL)
        db_standby_verdict(db, false, -1, "a read failed there");
}

static void db_note_failure(db_t *db, struct db_link *link, const char *what)
{
    /* a standby that stays down is logged when it goes, not at every check */
    if (link == &db->primary || !link->failing) {
        logline_t line;
        log_begin(&line, link == &db->primary ? "error" : "warn", "db_unavailable");
        log_str(&line, "db", link->name);
        log_str(&line, "stage", what);
        log_str(&line, "error", link->conn ? PQerrorMessage(link->conn) : "out of memory");
        log_end(&line);
    }
    link->failing = true;
    link_disconnect(db, link);
    link->last_failure_ns = scoreboard_now_ns();
    /* the standby's reads are set aside by whoever gives up on it (a read
     * moving to the primary, the check), not here: a stale connection
     * found after a restart is replaced at once and keeps them */
}

static int db_prepare_all(struct db_link *link)
{
    for (int i = 0; i < SQL_COUNT; i++) {
        PGresult *res = PQprepare(link->conn, sql_files[i].name, sql_files[i].text, 0, NULL);
        bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok) {
            logline_t line;
            log_begin(&line, "error", "db_prepare_failed");
            log_str(&line, "db", link->name);
            log_str(&line, "statement", sql_files[i].name);
            /* the primary message only: DETAIL can quote the row, which is
             * the users' data and has no place in the log */
            log_str(&line, "error", PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
            log_end(&line);
        }
        PQclear(res);
        if (!ok)
            return -1;
    }
    return 0;
}

/* The connection's own settings (sql/session_settings.sql); a request's
 * transaction still sets its own with tx_settings. */
static int link_set_session(db_t *db, struct db_link *link)
{
    /* the worker's place in its pool picks the count rows its votes add
     * to (migrations/0019): no two of a pool's first sixteen share one */
    char shard[16] = "";
    if (db->board != NULL && db->slot != NULL)
        snprintf(shard, sizeof(shard), "%td", (db->slot - db->board->slots) & 15);
    const char *values[] = {db->statement_timeout, shard};
    PGresult *res =
        PQexecPrepared(link->conn, sql_files[SQL_SESSION_SETTINGS].name,
                       (int)(sizeof(values) / sizeof(values[0])), values, NULL, NULL, 0);
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    PQclear(res);
    return ok ? 0 : -1;
}

static int link_connect(db_t *db, struct db_link *link)
{
    if (link->conn != NULL && PQstatus(link->conn) == CONNECTION_OK)
        return 0;
    link_disconnect(db, link);
    uint64_t now = scoreboard_now_ns();
    if (link->last_failure_ns != 0 && now - link->last_failure_ns < DB_RETRY_MS * 1000000ull)
        return -1;
    char timeout[16];
    snprintf(timeout, sizeof(timeout), "%u", (db->config->db_connect_timeout_ms + 999) / 1000);
    const char *keys[] = {"dbname", "connect_timeout", "fallback_application_name", NULL};
    const char *values[] = {link->url[0] ? link->url : NULL, timeout, "portald", NULL};
    /* without a URL, libpq reads PGDATABASE and friends */
    size_t first = link->url[0] ? 0 : 1;
    link->conn = PQconnectdbParams(keys + first, values + first, 1);
    if (link->conn == NULL || PQstatus(link->conn) != CONNECTION_OK) {
        db_note_failure(db, link, "connect");
        return -1;
    }
    if (db->slot != NULL)
        __atomic_fetch_add(&db->slot->db_reconnects, 1, __ATOMIC_RELAXED);
    if (db_prepare_all(link) != 0) {
        db_note_failure(db, link, "prepare");
        return -1;
    }
    if (link_set_session(db, link) != 0) {
        db_note_failure(db, link, "session_settings");
        return -1;
    }
    link->last_failure_ns = 0;
    link->failing = false;
    return 0;
}

int db_connect(db_t *db)
{
    return link_connect(db, &db->primary);
}

static void result_release(void *res)
{
    PQclear(res);
}

PGresult *db_query(db_t *db, arena_t *arena, int statement, size_t nparams,
                   const char *const *values)
{
    return db_query_binary(db, arena, statement, nparams, values, NULL, NULL);
}

int db_statement_params(int statement)
{
    return statement >= 0 && statement < SQL_COUNT ? sql_files[statement].nparams : -1;
}

/* Logs a statement that failed (one a pipeline skipped because an earlier
 * step failed is not logged again). The primary message only: DETAIL can
 * quote the row, which is the users' data and has no place in the log. */
static void log_statement_failed(db_t *db, struct db_link *link, int statement, const PGresult *res)
{
    if (PQresultStatus(res) == PGRES_PIPELINE_ABORTED)
        return;
    logline_t line;
    log_begin(&line, "warn", "db_statement_failed");
    if (link != &db->primary)
        log_str(&line, "db", link->name);
    log_str(&line, "statement", sql_files[statement].name);
    log_str(&line, "sqlstate", db_sqlstate(res));
    log_str(&line, "error", PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
    log_end(&line);
}

static PGresult *link_query(db_t *db, struct db_link *link, arena_t *arena, int statement,
                            size_t nparams, const char *const *values, const int *lengths,
                            const int *formats)
{
    if (statement < 0 || statement >= SQL_COUNT || link_connect(db, link) != 0)
        return NULL;
    if (nparams != (size_t)sql_files[statement].nparams) {
        logline_t line;
        log_begin(&line, "error", "statement_params_mismatch");
        log_str(&line, "statement", sql_files[statement].name);
        log_int(&line, "takes", sql_files[statement].nparams);
        log_int(&line, "given", (long long)nparams);
        log_end(&line);
        /* an error result with no SQLSTATE: the caller answers 500 */
        PGresult *refused = PQmakeEmptyPGresult(NULL, PGRES_FATAL_ERROR);
        if (refused == NULL || arena_defer(arena, result_release, refused) != 0) {
            PQclear(refused);
            return NULL;
        }
        return refused;
    }
    PGresult *res = PQexecPrepared(link->conn, sql_files[statement].name, (int)nparams, values,
                                   lengths, formats, 0);
    if (res == NULL || PQstatus(link->conn) != CONNECTION_OK) {
        PQclear(res);
        db_note_failure(db, link, sql_files[statement].name);
        return NULL;
    }
    if (arena_defer(arena, result_release, res) != 0)
        return NULL;
    if (!db_ok(res))
        log_statement_failed(db, link, statement, res);
    return res;
}

static PGresult *db_begin_on(db_t *db, struct db_link *link, arena_t *arena, const char *request_id,
                             const char *const *session_values, bool read_only);

/* Whether a read on the standby failed in a way the primary would not
 * have: the connection is gone (the standby stopped or restarted), or the
 * standby cancelled the read (class 40: a conflict with the recovery it
 * replays). Nothing else is worth a second try. */
static bool standby_read_failed(const PGresult *res)
{
    return res == NULL || strncmp(db_sqlstate(res), "40", 2) == 0;
}

PGresult *db_query_binary(db_t *db, arena_t *arena, int statement, size_t nparams,
                          const char *const *values, const int *lengths, const int *formats)
{
    struct db_link *link = db->in_tx ? db->link : &db->primary;
    PGresult *res = link_query(db, link, arena, statement, nparams, values, lengths, formats);
    if (link != &db->standby || !standby_read_failed(res))
        return res;
    /* A read the standby failed: once more on the primary, in a
     * transaction of its own (the read wrote nothing; what it read before
     * stays read). A failed COMMIT of it runs as an empty one there. */
    db_rollback(db);
    db_standby_set_aside(db);
    db->read_moved = true;
    if (db->slot != NULL)
        BUMP(db->slot->standby_retries);
    if (db_begin_on(db, &db->primary, arena, db->read_request_id, NULL, true) == NULL)
        return NULL;
    if (db->slot != NULL)
        BUMP(db->slot->reads_on_primary);
    return link_query(db, &db->primary, arena, statement, nparams, values, lengths, formats);
}

/* link_query outside a transaction, on a fresh connection once more when
 * the one it had was stale (the server restarted since it was made):
 * nothing ran on it, so the statement has not run either. */
static PGresult *link_query_fresh(db_t *db, struct db_link *link, arena_t *arena, int statement,
                                  size_t nparams, const char *const *values)
{
    bool had_connection = link->conn != NULL && PQstatus(link->conn) == CONNECTION_OK;
    PGresult *res = link_query(db, link, arena, statement, nparams, values, NULL, NULL);
    if (res == NULL && had_connection && link->conn == NULL) {
        link->last_failure_ns = 0;
        res = link_query(db, link, arena, statement, nparams, values, NULL, NULL);
    }
    return res;
}

PGresult *db_query_once(db_t *db, arena_t *arena, int statement, size_t nparams,
                        const char *const *values)
{
    if (db->in_tx)
        db_rollback(db); /* this is not part of any transaction */
    if (db_standby_serves_reads(db)) {
        db->link = &db->standby;
        PGresult *res = link_query_fresh(db, &db->standby, arena, statement, nparams, values);
        if (!standby_read_failed(res))
            return res;
        db_standby_set_aside(db);
        if (db->slot != NULL)
            BUMP(db->slot->standby_retries);
    }
    db->link = &db->primary;
    return link_query_fresh(db, &db->primary, arena, statement, nparams, values);
}

static int column_of(const PGresult *res, int row, const char *column)
{
    int col = PQfnumber(res, column);
    if (col < 0) {
        logline_t line;
        log_begin(&line, "error", "result_column_missing");
        log_str(&line, "column", column);
        log_end(&line);
        return -1;
    }
    if (row < 0 || row >= PQntuples(res) || PQgetisnull(res, row, col))
        return -1;
    return col;
}

const char *db_value(const PGresult *res, int row, const char *column)
{
    int col = column_of(res, row, column);
    return col < 0 ? NULL : PQgetvalue(res, row, col);
}

long long db_int(const PGresult *res, int row, const char *column, long long fallback)
{
    const char *text = db_value(res, row, column);
    if (text == NULL || *text == '\0')
        return fallback;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    return *end != '\0' || errno != 0 ? fallback : v;
}

bool db_bool(const PGresult *res, int row, const char *column)
{
    const char *text = db_value(res, row, column);
    return text != NULL && strcmp(text, "t") == 0;
}

size_t db_length(const PGresult *res, int row, const char *column)
{
    int col = column_of(res, row, column);
    return col < 0 ? 0 : (size_t)PQgetlength(res, row, col);
}

bool db_ok(const PGresult *res)
{
    ExecStatusType st = PQresultStatus(res);
    return st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
}

const char *db_sqlstate(const PGresult *res)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    return state ? state : "";
}

/* One statement of a pipeline, with as many values as the catalog counted
 * in its text. */
struct pipeline_step {
    int statement;
    const char *const *values;
};

/* Sends count steps and a sync on link in pipeline mode, then reads each
 * step's result into results (count entries, the caller's to clear; a step
 * skipped because an earlier one failed reads PGRES_PIPELINE_ABORTED) and
 * the sync. When the steps ran outside BEGIN, the implicit COMMIT at the
 * sync can fail after the last step succeeded: with ending given, that
 * error is read into *ending (the caller's to clear; NULL when COMMIT
 * succeeded), and the connection stays good. False when the connection
 * failed on the way: then every result is cleared and the link noted as
 * failing at stage what. */
static bool pipeline_exchange(db_t *db, struct db_link *link, const struct pipeline_step *steps,
                              int count, PGresult **results, PGresult **ending, const char *what)
{
    PGconn *conn = link->conn;
    for (int i = 0; i < count; i++)
        results[i] = NULL;
    if (ending != NULL)
        *ending = NULL;
    if (PQenterPipelineMode(conn) != 1) {
        db_note_failure(db, link, "pipeline");
        return false;
    }
    bool sent = true;
    for (int i = 0; i < count && sent; i++)
        sent = PQsendQueryPrepared(conn, sql_files[steps[i].statement].name,
                                   sql_files[steps[i].statement].nparams, steps[i].values, NULL,
                                   NULL, 0) == 1;
    sent = sent && PQpipelineSync(conn) == 1;
    /* every query's result, each followed by NULL, then the sync */
    for (int i = 0; i < count && sent; i++) {
        results[i] = PQgetResult(conn);
        if (results[i] == NULL) {
            sent = false;
            break;
        }
        PGresult *extra;
        while ((extra = PQgetResult(conn)) != NULL) /* up to the query's closing NULL */
            PQclear(extra);
    }
    if (sent) {
        PGresult *sync = PQgetResult(conn);
        if (ending != NULL && sync != NULL && PQresultStatus(sync) == PGRES_FATAL_ERROR) {
            /* the implicit COMMIT failed: its error, its NULL, then the sync */
            *ending = sync;
            PGresult *extra;
            while ((extra = PQgetResult(conn)) != NULL)
                PQclear(extra);
            sync = PQgetResult(conn);
        }
        if (sync == NULL || PQresultStatus(sync) != PGRES_PIPELINE_SYNC)
            sent = false;
        PQclear(sync);
    }
    if (!sent || PQexitPipelineMode(conn) != 1 || PQstatus(conn) != CONNECTION_OK) {
        for (int i = 0; i < count; i++) {
            PQclear(results[i]);
            results[i] = NULL;
        }
        if (ending != NULL) {
            PQclear(*ending);
            *ending = NULL;
        }
        db_note_failure(db, link, what);
        return false;
    }
    return true;
}

/* Sends BEGIN (read-only when asked), the transaction's settings and,
 * when session_values is given, the signed-in account's lookup in one
 * pipeline on link: one round trip instead of three. Returns the lookup's
 * result (or a non-NULL dummy when none was asked), NULL when the
 * transaction could not start. */
static PGresult *db_begin_pipelined(db_t *db, struct db_link *link, arena_t *arena,
                                    const char *request_id, const char *const *session_values,
                                    bool read_only)
{
    if (db->in_tx)
        db_rollback(db); /* never two transactions open at once */
    if (link_connect(db, link) != 0)
        return NULL;
    db->link = link;
    const char *settings[] = {request_id ? request_id : "", db->statement_timeout};
    const struct pipeline_step steps[] = {
        {read_only ? SQL_TX_BEGIN_READ : SQL_TX_BEGIN, NULL},
        {SQL_TX_SETTINGS, settings},
        {SQL_AUTH_SESSION, session_values},
    };
    int count = session_values != NULL ? 3 : 2;
    PGresult *results[3];
    if (!pipeline_exchange(db, link, steps, count, results, NULL, "begin"))
        return NULL;
    bool ok = true;
    for (int i = 0; i < count; i++) {
        if (!db_ok(results[i])) {
            ok = false;
            log_statement_failed(db, link, steps[i].statement, results[i]);
        }
    }
    db->in_tx = db_ok(results[0]);
    PGresult *session = results[count - 1];
    for (int i = 0; i < count - 1; i++)
        PQclear(results[i]);
    if (arena_defer(arena, result_release, session) != 0) { /* it cleared session */
        db_rollback(db);
        return NULL;
    }
    if (!ok) {
        db_rollback(db);
        return NULL;
    }
    return session;
}

static PGresult *db_begin_on(db_t *db, struct db_link *link, arena_t *arena, const char *request_id,
                             const char *const *session_values, bool read_only)
{
    bool had_connection = link->conn != NULL && PQstatus(link->conn) == CONNECTION_OK;
    PGresult *res = db_begin_pipelined(db, link, arena, request_id, session_values, read_only);
    if (res == NULL && had_connection && link->conn == NULL) {
        /* The connection was stale (the server restarted since it was
         * made) and nothing ran on it: try a fresh one at once rather than
         * fail a request the database could serve. */
        link->last_failure_ns = 0;
        res = db_begin_pipelined(db, link, arena, request_id, session_values, read_only);
    }
    return res;
}

PGresult *db_begin_session(db_t *db, arena_t *arena, const char *request_id,
                           const char *const *session_values)
{
    return db_begin_on(db, &db->primary, arena, request_id, session_values, false);
}

int db_begin(db_t *db, arena_t *arena, const char *request_id)
{
    return db_begin_session(db, arena, request_id, NULL) != NULL ? 0 : -1;
}

bool db_standby_serves_reads(const db_t *db)
{
    return db->has_standby && db->board != NULL && LOAD(db->board->standby_reads) != 0;
}

int db_begin_read(db_t *db, arena_t *arena, const char *request_id)
{
    db->read_request_id = request_id;
    db->read_moved = false;
    if (db_standby_serves_reads(db)) {
        if (db_begin_on(db, &db->standby, arena, request_id, NULL, true) != NULL) {
            if (db->slot != NULL)
                BUMP(db->slot->reads_on_standby);
            return 0;
        }
        db_standby_set_aside(db);
        if (db->slot != NULL)
            BUMP(db->slot->standby_retries);
    }
    if (db_begin_on(db, &db->primary, arena, request_id, NULL, true) == NULL)
        return -1;
    if (db->slot != NULL)
        BUMP(db->slot->reads_on_primary);
    return 0;
}

bool db_read_moved(const db_t *db)
{
    return db->read_moved;
}

bool db_primary_failing(const db_t *db)
{
    return db->primary.failing;
}

const char *db_where(const db_t *db)
{
    return db->link->name;
}

int db_commit(db_t *db, arena_t *arena)
{
    PGresult *res = db_query(db, arena, SQL_TX_COMMIT, 0, NULL);
    db->in_tx = false;
    return res != NULL && db_ok(res) ? 0 : -1;
}

/* Sends BEGIN, the settings, statement and COMMIT on the primary in one
 * pipeline, or with alone the statement only, in the transaction of its
 * own that the pipeline's sync ends; the statement's result (owned by the
 * arena), NULL when the connection failed. See db_write_alone and
 * db_write_once_within. */
static PGresult *write_pipelined(db_t *db, arena_t *arena, const char *request_id, int statement,
                                 const char *const *values, const char *timeout_ms, bool alone,
                                 bool *committed)
{
    struct db_link *link = &db->primary;
    if (db->in_tx)
        db_rollback(db); /* never two transactions open at once */
    if (link_connect(db, link) != 0)
        return NULL;
    db->link = link;
    const char *settings[] = {request_id ? request_id : "", timeout_ms};
    const struct pipeline_step wrapped[] = {
        {SQL_TX_BEGIN, NULL},
        {SQL_TX_SETTINGS, settings},
        {statement, values},
        {SQL_TX_COMMIT, NULL},
    };
    const struct pipeline_step single[] = {{statement, values}};
    enum { STEPS = sizeof(wrapped) / sizeof(wrapped[0]) };
    const struct pipeline_step *steps = alone ? single : wrapped;
    int count = alone ? 1 : STEPS, at = alone ? 0 : 2;
    PGresult *results[STEPS], *ending = NULL;
    if (!pipeline_exchange(db, link, steps, count, results, alone ? &ending : NULL,
                           sql_files[statement].name)) {
        db->in_tx = false;
        return NULL;
    }
    bool commit_ok;
    if (alone) {
        /* the sync ended the implicit transaction either way */
        db->in_tx = false;
        commit_ok = db_ok(results[0]) && ending == NULL;
        if (ending != NULL) {
            log_statement_failed(db, link, SQL_TX_COMMIT, ending);
            PQclear(ending);
        }
    } else {
        /* a transaction is open when BEGIN ran and COMMIT did not (a
         * failure before it made the pipeline skip it): db_rollback ends it */
        ExecStatusType commit = PQresultStatus(results[3]);
        db->in_tx =
            PQresultStatus(results[0]) == PGRES_COMMAND_OK && commit == PGRES_PIPELINE_ABORTED;
        commit_ok = commit == PGRES_COMMAND_OK;
    }
    for (int i = 0; i < count; i++) {
        if (!db_ok(results[i]))
            log_statement_failed(db, link, steps[i].statement, results[i]);
        if (i != at)
            PQclear(results[i]);
    }
    if (arena_defer(arena, result_release, results[at]) != 0)
        return NULL; /* arena_defer cleared it */
    *committed = commit_ok;
    return results[at];
}

/* db_write_once_within, or with alone db_write_alone, with the statement
 * timeout given. */
static PGresult *write_once(db_t *db, arena_t *arena, const char *request_id, int statement,
                            size_t nparams, const char *const *values, const char *timeout_ms,
                            bool alone, bool *committed)
{
    *committed = false;
    if (statement < 0 || statement >= SQL_COUNT ||
        nparams != (size_t)sql_files[statement].nparams) {
        /* a programming error: the plain way logs the mismatch and refuses */
        return db_query(db, arena, statement, nparams, values);
    }
    struct db_link *link = &db->primary;
    bool had_connection = link->conn != NULL && PQstatus(link->conn) == CONNECTION_OK;
    PGresult *res =
        write_pipelined(db, arena, request_id, statement, values, timeout_ms, alone, committed);
    if (res == NULL && had_connection && link->conn == NULL) {
        /* the connection broke (most often it was stale: the server
         * restarted since it was made). What was sent may or may not have
         * run, so the statement is one that may run twice (see db.h): once
         * more on a fresh connection */
        link->last_failure_ns = 0;
        res =
            write_pipelined(db, arena, request_id, statement, values, timeout_ms, alone, committed);
    }
    return res;
}

PGresult *db_write_alone(db_t *db, arena_t *arena, int statement, size_t nparams,
                         const char *const *values, bool *committed)
{
    return write_once(db, arena, NULL, statement, nparams, values, db->statement_timeout, true,
                      committed);
}

PGresult *db_write_once_within(db_t *db, arena_t *arena, const char *request_id, int statement,
                               size_t nparams, const char *const *values, const char *timeout_ms,
                               bool *committed)
{
    *committed = false;
    if (db->in_tx) {
        /* write_once would end the request's own transaction first */
        logline_t line;
        log_begin(&line, "error", "db_write_inside_transaction");
        log_str(&line, "statement",
                statement >= 0 && statement < SQL_COUNT ? sql_files[statement].name : "?");
        log_end(&line);
        return NULL;
    }
    struct db_link *was = db->link;
    PGresult *res =
        write_once(db, arena, request_id, statement, nparams, values, timeout_ms, false, committed);
    if (db->in_tx)
        db_rollback(db); /* a write beside the request's work leaves no transaction open */
    db->link = was;      /* nor moves where that work is reported to have run */
    return res;
}

void db_rollback(db_t *db)
{
    struct db_link *link = db->link;
    if (!db->in_tx || link->conn == NULL)
        return;
    db->in_tx = false;
    PGresult *res =
        PQexecPrepared(link->conn, sql_files[SQL_TX_ROLLBACK].name, 0, NULL, NULL, NULL, 0);
    bool ok = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok)
        db_note_failure(db, link, "rollback"); /* a connection we cannot reset is dropped */
}

bool db_in_transaction(const db_t *db)
{
    return db->in_tx;
}

void db_standby_check(db_t *db, arena_t *arena)
{
    if (db->board == NULL || db->in_tx)
        return;
    if (!db->has_standby) { /* none (any more, after a reload): nothing is read there */
        db_standby_verdict(db, false, -1, "none");
        return;
    }
    struct scoreboard *board = db->board;
    uint64_t started = scoreboard_now_ns();
    /* the primary first: what the standby must have replayed to hold all
     * the primary held when this check began */
    PGresult *wal = link_query_fresh(db, &db->primary, arena, SQL_STANDBY_PRIMARY_WAL, 0, NULL);
    const char *values[] = {wal != NULL && db_ok(wal) ? db_value(wal, 0, "lsn") : NULL};
    PGresult *state = link_query_fresh(db, &db->standby, arena, SQL_STANDBY_STATE, 1, values);
    if (state == NULL || !db_ok(state)) {
        db_standby_verdict(db, false, -1, "unreachable");
        return;
    }
    if (!db_bool(state, 0, "in_recovery")) {
        /* promoted, or pointed at a primary: its data may part from ours */
        db_standby_verdict(db, false, -1, "not in recovery");
        return;
    }
    int64_t lag_us = -1;
    if (db_bool(state, 0, "caught_up")) {
        lag_us = 0;
        STORE(board->standby_caught_up_ns, started);
    } else {
        /* two upper bounds on its staleness; the lesser holds */
        long long replay_age = db_int(state, 0, "replay_age_us", -1);
        uint64_t caught_up = LOAD(board->standby_caught_up_ns);
        if (replay_age >= 0)
            lag_us = replay_age;
        if (caught_up != 0) {
            int64_t since = (int64_t)((scoreboard_now_ns() - caught_up) / 1000u);
            if (lag_us < 0 || since < lag_us)
                lag_us = since;
        }
    }
    uint64_t max_lag_us = (uint64_t)db->config->standby_max_lag_ms * 1000u;
    if (lag_us >= 0 && (uint64_t)lag_us <= max_lag_us)
        db_standby_verdict(db, true, lag_us, NULL);
    else if (wal == NULL)
        /* The primary is down: nothing newer can be read anywhere, so the
         * standby keeps the reads (the lag says how old they may be) */
        db_standby_verdict(db, true, lag_us, "primary unreachable");
    else
        db_standby_verdict(db, false, lag_us, "behind");
}
