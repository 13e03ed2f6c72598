/*
 * db: a worker's single PostgreSQL connection. It is made lazily on the
 * first request that needs it, every statement in sql/ is prepared once on
 * it, and it is dropped as soon as it breaks, so the next request after
 * PostgreSQL comes back reconnects with no restart of the pool. While the
 * database is unreachable, attempts are spaced (db_retry_ms) so a burst of
 * requests fails fast with 503 instead of queueing on connect timeouts.
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

/* Does not connect. Free with db_free, which closes the connection. */
db_t *db_create(const config_t *config, struct scoreboard_slot *slot);
void db_free(db_t *db);

/* 0 when a working connection is ready, -1 when the database is unreachable. */
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
int db_commit(db_t *db, arena_t *arena);
/* Rolls back if a transaction is open; safe to call at any time. */
void db_rollback(db_t *db);
bool db_in_transaction(const db_t *db);

#endif
