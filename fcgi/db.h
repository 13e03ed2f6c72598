/*
 * db: a worker's PostgreSQL connections: one to the primary and, when
 * standby-url names a streaming read standby, one to it. Each is made
 * lazily on the first request that needs it, every statement in sql/ is
 * prepared once on it, and it is dropped as soon as it breaks, so the next
 * request after PostgreSQL comes back reconnects with no restart of the
 * pool. While a database is unreachable, attempts are spaced (db_retry_ms)
 * so a burst of requests fails fast instead of queueing on connect timeouts.
 *
 * Where a transaction runs is chosen when it begins. db_begin and
 * db_begin_session always begin on the primary: writes, staff work, and
 * anything that must see its own writes. db_begin_read begins a read-only
 * transaction for the public's reads (routes marked ROUTE_READ_REPLICA):
 * on the standby while the pool's last check found it reachable and within
 * standby-max-lag (db_standby_check, the verdict shared in the scoreboard),
 * on the primary otherwise. A read whose standby connection fails (at
 * BEGIN, or under a statement: the standby stopped, or cancelled the read
 * for a recovery conflict) is begun again on the primary and the statement
 * run there, once, within the same request; the standby is then left out
 * until the next check finds it well. Statements run on whichever
 * connection the open transaction is on; outside one, on the primary.
 *
 * Statements are named by the sql_catalog.h enum (SQL_<FILE NAME>); there
 * is no other way to run SQL from C. A statement is run with exactly as
 * many values as its text has placeholders (the catalog counts them at
 * build time), and its columns are read by name, never by position.
 */
#ifndef PORTAL_DB_H
#define PORTAL_DB_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "arena.h"
#include "config.h"
#include "scoreboard.h"
#include "sql_catalog.h"

typedef struct db db_t;

/* Does not connect. board (the shared standby verdict) and slot (this
 * worker's counters) may be NULL. Free with db_free, which closes the
 * connections. */
db_t *db_create(const config_t *config, struct scoreboard *board, struct scoreboard_slot *slot);
void db_free(db_t *db);

/* 0 when a working connection to the primary is ready, -1 when it is unreachable. */
int db_connect(db_t *db);

/* Runs one named statement with nparams values. Returns the result (owned
 * by the arena) when the server answered, even with an error: check
 * db_ok(). Returns NULL when the connection is gone (the caller answers
 * 503). nparams other than the statement's own count is a programming
 * error: logged (statement_params_mismatch) and failed without running. */
PGresult *db_query(db_t *db, arena_t *arena, int statement, size_t nparams,
                   const char *const *values);
/* As db_query, with some parameters in binary (formats[i] 1, lengths[i]
 * their size), for bytes such as photos. */
PGresult *db_query_binary(db_t *db, arena_t *arena, int statement, size_t nparams,
                          const char *const *values, const int *lengths, const int *formats);

/* Runs one read-only statement on its own, outside any transaction (an
 * open one is rolled back first): on the read standby when it serves
 * reads, else or when the standby fails it, on the primary. As db_query
 * for what it returns; db_where names where it ran. */
PGresult *db_query_once(db_t *db, arena_t *arena, int statement, size_t nparams,
                        const char *const *values);

/* How many values statement takes. */
int db_statement_params(int statement);

/* Column column of row as text (owned by res), or NULL when it is SQL NULL,
 * the row does not exist, or the result has no such column (a programming
 * error, logged as result_column_missing). */
const char *db_value(const PGresult *res, int row, const char *column);
/* As db_value, as a number: fallback when NULL or not a whole number. */
long long db_int(const PGresult *res, int row, const char *column, long long fallback);
/* As db_value, as a boolean: true only for PostgreSQL's "t". */
bool db_bool(const PGresult *res, int row, const char *column);
/* The byte length of column of row (bytea in binary, text): 0 when absent. */
size_t db_length(const PGresult *res, int row, const char *column);
bool db_ok(const PGresult *res);
/* The SQLSTATE of a failed result, or "" */
const char *db_sqlstate(const PGresult *res);

/* A request's transaction: BEGIN and the per-transaction settings. */
int db_begin(db_t *db, arena_t *arena, const char *request_id);

/* db_begin, and in the same round trip the signed-in account's lookup
 * (sql/auth_session.sql with session_values): returns its result
 * (arena-owned), or NULL when the transaction could not start. */
PGresult *db_begin_session(db_t *db, arena_t *arena, const char *request_id,
                           const char *const *session_values);
/* A read-only transaction (BEGIN READ ONLY and the settings) for a read
 * anyone may make, on the standby or the primary as the header comment
 * says. 0, or -1 when neither could begin one. */
int db_begin_read(db_t *db, arena_t *arena, const char *request_id);
/* Whether the open read began again on the primary after the standby
 * failed it (what it read before came from another snapshot). */
bool db_read_moved(const db_t *db);
/* Whether the primary's last connection attempt or statement failed. */
bool db_primary_failing(const db_t *db);
/* Where the open transaction runs, or the last one ran: "primary" or "standby". */
const char *db_where(const db_t *db);
int db_commit(db_t *db, arena_t *arena);
/* One statement in a transaction of its own, in one round trip on the
 * primary: sent alone, its transaction ended by the pipeline's sync, so
 * the row locks it takes are released as soon as it is done and the
 * request waits on the database once. For a route whose transaction is
 * that one statement (ROUTE_ONE_TRIP), and a statement that reads no
 * per-transaction setting: the connection's own statement timeout (the
 * same as a transaction's) and isolation level (read committed) bound it.
 * Returns the statement's result (owned by the arena) as db_query does;
 * *committed says whether it succeeded and its COMMIT too (a COMMIT that
 * fails after the statement is logged, and the connection kept). When the
 * connection is found broken (before any answer, or after: a lost COMMIT
 * cannot be told from an unsent one) it is replaced and the statement sent
 * once more, so it must be one that may run twice (a vote: the second is
 * a repeat). */
PGresult *db_write_alone(db_t *db, arena_t *arena, int statement, size_t nparams,
                         const char *const *values, bool *committed);
/* A whole transaction in one round trip, as db_write_alone but inside
 * BEGIN (read committed) and the settings (request id, and this statement
 * timeout of its own, milliseconds as text), with COMMIT: for a write
 * beside a request's own work that is worth less than a wait, once the
 * request's own transaction has ended (NULL while one is open). A failed
 * one is rolled back at once, and db_where still names where the
 * request's own work ran. Sent once more after a broken connection, as
 * db_write_alone's is. */
PGresult *db_write_once_within(db_t *db, arena_t *arena, const char *request_id, int statement,
                               size_t nparams, const char *const *values, const char *timeout_ms,
                               bool *committed);
/* Rolls back if a transaction is open; safe to call at any time. */
void db_rollback(db_t *db);
bool db_in_transaction(const db_t *db);

/* The standby check, run by one worker at a time (outside a transaction):
 * asks the primary how far its WAL is flushed and the standby whether it
 * has replayed that far, and stores in the scoreboard an upper bound on
 * how stale the standby's data is (0 when it had replayed all of it; else
 * the lesser of the age of the newest transaction it replayed and the time
 * since a check last found it caught up; unknown when it cannot be asked
 * or is no standby) and whether the public's reads go there (known and
 * within standby-max-lag). Does nothing without a standby. */
void db_standby_check(db_t *db, arena_t *arena);
/* Whether the public's reads now go to the standby (the last check's verdict). */
bool db_standby_serves_reads(const db_t *db);

#endif
