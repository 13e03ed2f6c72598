/*
 * migrate: applies migrations/NNNN_name.sql in order. Each file runs in its
 * own transaction with its row in schema_migrations (version, name,
 * SHA-256 checksum, time), under a session advisory lock so two runners
 * never interleave. An applied file whose checksum changed stops the run:
 * history is never rewritten silently.
 */
#ifndef PORTAL_MIGRATE_H
#define PORTAL_MIGRATE_H

#include <libpq-fe.h>
#include <stdio.h>

/* The highest version among the embedded migrations (what /readyz expects). */
long migrate_latest_version(void);

/* Applies pending migrations; prints progress to out. 0 on success. */
int migrate_apply(PGconn *conn, FILE *out, char *err, size_t errlen);
/* Prints applied and pending migrations. 0 on success, -1 when an applied
 * file was edited since or cannot be checked. */
int migrate_status(PGconn *conn, FILE *out, char *err, size_t errlen);

/* Runs one of portalctl's statements (sql/portalctl, CTL_<NAME>); returns
 * the result (the caller PQclears it) or NULL with the server's message in err. */
PGresult *ctl_run(PGconn *conn, int statement, int nparams, const char *const *values, char *err,
                  size_t errlen);

/* Parses "0007_name" into 7; -1 if the name has no 4-digit version. */
long migrate_version_of(const char *name);
/* Hex SHA-256 of text into out (65 bytes). */
void migrate_checksum(const char *text, size_t len, char out[65]);

#endif
