/* db: lazy connection, prepared statements, transactions. See db.h. */
#include "db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define DB_RETRY_MS 200

struct db {
    const config_t *config;
    struct scoreboard_slot *slot;
    PGconn *conn;
    bool in_tx;
    uint64_t last_failure_ns;
    char statement_timeout[24];
};

db_t *db_create(const config_t *config, struct scoreboard_slot *slot)
{
    db_t *db = calloc(1, sizeof(*db));
    if (db == NULL)
        return NULL;
    db->config = config;
    db->slot = slot;
    /* statements end before the pool would kill the worker */
    unsigned timeout = config->request_timeout_ms > 1000 ? config->request_timeout_ms - 500
                                                         : config->request_timeout_ms / 2;
    snprintf(db->statement_timeout, sizeof(db->statement_timeout), "%u", timeout);
    return db;
}

static void db_disconnect(db_t *db)
{
    if (db->conn != NULL)
        PQfinish(db->conn);
    db->conn = NULL;
    db->in_tx = false;
}

void db_free(db_t *db)
{
    if (db == NULL)
        return;
    db_disconnect(db);
    free(db);
}

static void db_note_failure(db_t *db, const char *what)
{
    logline_t line;
    log_begin(&line, "error", "db_unavailable");
    log_str(&line, "stage", what);
    log_str(&line, "error", db->conn ? PQerrorMessage(db->conn) : "out of memory");
    log_end(&line);
    db_disconnect(db);
    db->last_failure_ns = scoreboard_now_ns();
}

static int db_prepare_all(db_t *db)
{
    for (int i = 0; i < SQL_COUNT; i++) {
        PGresult *res = PQprepare(db->conn, sql_files[i].name, sql_files[i].text, 0, NULL);
        bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok) {
            logline_t line;
            log_begin(&line, "error", "db_prepare_failed");
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

int db_connect(db_t *db)
{
    if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
        return 0;
    db_disconnect(db);
    uint64_t now = scoreboard_now_ns();
    if (db->last_failure_ns != 0 && now - db->last_failure_ns < DB_RETRY_MS * 1000000ull)
        return -1;
    char timeout[16];
    snprintf(timeout, sizeof(timeout), "%u", (db->config->db_connect_timeout_ms + 999) / 1000);
    const char *keys[] = {"dbname", "connect_timeout", "fallback_application_name", NULL};
    const char *values[] = {db->config->database_url[0] ? db->config->database_url : NULL, timeout,
                            "portald", NULL};
    if (values[0] == NULL) { /* let libpq read PGDATABASE and friends */
        keys[0] = "connect_timeout";
        values[0] = timeout;
        keys[1] = "fallback_application_name";
        values[1] = "portald";
        keys[2] = NULL;
    }
    db->conn = PQconnectdbParams(keys, values, 1);
    if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
        db_note_failure(db, "connect");
        return -1;
    }
    if (db->slot != NULL)
        __atomic_fetch_add(&db->slot->db_reconnects, 1, __ATOMIC_RELAXED);
    if (db_prepare_all(db) != 0) {
        db_note_failure(db, "prepare");
        return -1;
    }
    db->last_failure_ns = 0;
    return 0;
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

PGresult *db_query_binary(db_t *db, arena_t *arena, int statement, size_t nparams,
                          const char *const *values, const int *lengths, const int *formats)
{
    if (statement < 0 || statement >= SQL_COUNT || db_connect(db) != 0)
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
    PGresult *res = PQexecPrepared(db->conn, sql_files[statement].name, (int)nparams, values,
                                   lengths, formats, 0);
    if (res == NULL || PQstatus(db->conn) != CONNECTION_OK) {
        PQclear(res);
        db_note_failure(db, sql_files[statement].name);
        return NULL;
    }
    if (arena_defer(arena, result_release, res) != 0)
        return NULL;
    if (!db_ok(res)) {
        logline_t line;
        log_begin(&line, "warn", "db_statement_failed");
        log_str(&line, "statement", sql_files[statement].name);
        log_str(&line, "sqlstate", db_sqlstate(res));
        /* the primary message only: DETAIL can quote the row, which is
         * the users' data and has no place in the log */
        log_str(&line, "error", PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
        log_end(&line);
    }
    return res;
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

/* Sends BEGIN, the transaction's settings and, when session_values is
 * given, the signed-in account's lookup in one pipeline: one round trip
 * instead of three. Returns the lookup's result (or a non-NULL dummy when
 * none was asked), NULL when the transaction could not start. */
static PGresult *db_begin_pipelined(db_t *db, arena_t *arena, const char *request_id,
                                    const char *const *session_values)
{
    if (db_connect(db) != 0)
        return NULL;
    const char *settings[] = {request_id ? request_id : "", db->statement_timeout};
    /* each takes as many values as the catalog counted in its text */
    struct {
        int statement;
        const char *const *values;
    } steps[] = {
        {SQL_TX_BEGIN, NULL},
        {SQL_TX_SETTINGS, settings},
        {SQL_AUTH_SESSION, session_values},
    };
    int count = session_values != NULL ? 3 : 2;
    PGconn *conn = db->conn;
    if (PQenterPipelineMode(conn) != 1) {
        db_note_failure(db, "pipeline");
        return NULL;
    }
    bool sent = true;
    for (int i = 0; i < count && sent; i++)
        sent = PQsendQueryPrepared(conn, sql_files[steps[i].statement].name,
                                   sql_files[steps[i].statement].nparams, steps[i].values, NULL,
                                   NULL, 0) == 1;
    sent = sent && PQpipelineSync(conn) == 1;
    PGresult *results[3] = {NULL, NULL, NULL};
    bool ok = sent;
    /* every query's result, each followed by NULL, then the sync */
    for (int i = 0; i < count && sent; i++) {
        results[i] = PQgetResult(conn);
        if (results[i] == NULL) {
            ok = sent = false;
            break;
        }
        PGresult *extra;
        while ((extra = PQgetResult(conn)) != NULL) /* up to the query's closing NULL */
            PQclear(extra);
        if (!db_ok(results[i]) && PQresultStatus(results[i]) != PGRES_PIPELINE_ABORTED) {
            ok = false;
            logline_t line;
            log_begin(&line, "warn", "db_statement_failed");
            log_str(&line, "statement", sql_files[steps[i].statement].name);
            log_str(&line, "sqlstate", db_sqlstate(results[i]));
            log_str(&line, "error", PQresultErrorField(results[i], PG_DIAG_MESSAGE_PRIMARY));
            log_end(&line);
        } else if (!db_ok(results[i])) {
            ok = false; /* skipped because an earlier step failed */
        }
    }
    if (sent) {
        PGresult *sync = PQgetResult(conn);
        if (sync == NULL || PQresultStatus(sync) != PGRES_PIPELINE_SYNC)
            sent = false;
        PQclear(sync);
    }
    if (!sent || PQexitPipelineMode(conn) != 1 || PQstatus(conn) != CONNECTION_OK) {
        for (int i = 0; i < count; i++)
            PQclear(results[i]);
        db_note_failure(db, "begin");
        return NULL;
    }
    db->in_tx = results[0] != NULL && db_ok(results[0]);
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

PGresult *db_begin_session(db_t *db, arena_t *arena, const char *request_id,
                           const char *const *session_values)
{
    bool had_connection = db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK;
    PGresult *res = db_begin_pipelined(db, arena, request_id, session_values);
    if (res == NULL && had_connection && db->conn == NULL) {
        /* The connection was stale (the server restarted since it was
         * made) and nothing ran on it: try a fresh one at once rather than
         * answer 503 to a request the database could serve. */
        db->last_failure_ns = 0;
        res = db_begin_pipelined(db, arena, request_id, session_values);
    }
    return res;
}

int db_begin(db_t *db, arena_t *arena, const char *request_id)
{
    return db_begin_session(db, arena, request_id, NULL) != NULL ? 0 : -1;
}

int db_commit(db_t *db, arena_t *arena)
{
    PGresult *res = db_query(db, arena, SQL_TX_COMMIT, 0, NULL);
    db->in_tx = false;
    return res != NULL && db_ok(res) ? 0 : -1;
}

void db_rollback(db_t *db)
{
    if (!db->in_tx || db->conn == NULL)
        return;
    db->in_tx = false;
    PGresult *res =
        PQexecPrepared(db->conn, sql_files[SQL_TX_ROLLBACK].name, 0, NULL, NULL, NULL, 0);
    bool ok = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok)
        db_note_failure(db, "rollback"); /* a connection we cannot reset is dropped */
}

bool db_in_transaction(const db_t *db)
{
    return db->in_tx;
}
