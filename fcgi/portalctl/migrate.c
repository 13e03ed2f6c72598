/* migrate: the migration runner behind `portalctl migrate`. See migrate.h. */
#include "migrate.h"

#include <ctype.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_catalog.h"
#include "migrations_catalog.h"

long migrate_version_of(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (!isdigit((unsigned char)name[i]))
            return -1;
    if (name[4] != '_' || name[5] == '\0')
        return -1;
    return strtol(name, NULL, 10);
}

long migrate_latest_version(void)
{
    long latest = 0;
    for (int i = 0; i < MIGRATIONS_COUNT; i++) {
        long v = migrate_version_of(migrations_files[i].name);
        if (v > latest)
            latest = v;
    }
    return latest;
}

void migrate_checksum(const char *text, size_t len, char out[65])
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *)text, len);
    sodium_bin2hex(out, 65, digest, sizeof(digest));
}

/* Runs a portalctl statement; returns the result (caller PQclears) or NULL
 * with the server's message in err. */
PGresult *ctl_run(PGconn *conn, int statement, int nparams, const char *const *values, char *err,
                  size_t errlen)
{
    PGresult *res =
        PQexecParams(conn, ctl_files[statement].text, nparams, NULL, values, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        /* one line: the server's message and its detail ("Key (username)=(x)
         * already exists."), or libpq's own when there is no result */
        const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
        const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        if (detail == NULL && state != NULL && strcmp(state, "23505") == 0)
            detail = "it already exists"; /* the server hides the key under row security */
        if (primary != NULL)
            snprintf(err, errlen, "%s: %s%s%s%s", ctl_files[statement].name, primary,
                     detail ? " (" : "", detail ? detail : "", detail ? ")" : "");
        else
            snprintf(err, errlen, "%s: %s", ctl_files[statement].name, PQerrorMessage(conn));
        err[strcspn(err, "\n")] = '\0';
        PQclear(res);
        return NULL;
    }
    return res;
}

static int ctl_do(PGconn *conn, int statement, char *err, size_t errlen)
{
    PGresult *res = ctl_run(conn, statement, 0, NULL, err, errlen);
    PQclear(res);
    return res ? 0 : -1;
}

/* Finds an applied migration row by version; -1 if none. */
static int applied_row(PGresult *applied, long version)
{
    for (int r = 0; r < PQntuples(applied); r++)
        if (strtol(PQgetvalue(applied, r, 0), NULL, 10) == version)
            return r;
    return -1;
}

/* Refuses edited or malformed history; prints nothing. */
static int check_history(PGresult *applied, char *err, size_t errlen)
{
    for (int i = 0; i < MIGRATIONS_COUNT; i++) {
        const struct embedded_file *m = &migrations_files[i];
        long version = migrate_version_of(m->name);
        if (version < 0) {
            snprintf(err, errlen, "migration file %s.sql is not named NNNN_name.sql", m->name);
            return -1;
        }
        if (i > 0 && migrate_version_of(migrations_files[i - 1].name) == version) {
            snprintf(err, errlen, "two migrations have version %04ld", version);
            return -1;
        }
        int row = applied_row(applied, version);
        if (row < 0)
            continue;
        char sum[65];
        migrate_checksum(m->text, m->len, sum);
        if (strcmp(sum, PQgetvalue(applied, row, 2)) != 0) {
            snprintf(err, errlen,
                     "migration %s.sql was edited after it was applied (checksum %.12s..., "
                     "recorded %.12s...): add a new migration instead",
                     m->name, sum, PQgetvalue(applied, row, 2));
            return -1;
        }
    }
    return 0;
}

static int apply_one(PGconn *conn, const struct embedded_file *m, long version, FILE *out,
                     char *err, size_t errlen)
{
    char sum[65], ver[16];
    migrate_checksum(m->text, m->len, sum);
    snprintf(ver, sizeof(ver), "%ld", version);
    if (ctl_do(conn, CTL_BEGIN, err, errlen) != 0)
        return -1;
    /* the file may hold many statements: the simple protocol runs them all */
    char *text = strndup(m->text, m->len);
    PGresult *res = text ? PQexec(conn, text) : NULL;
    free(text);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "migration %s.sql failed: %s", m->name, PQerrorMessage(conn));
        PQclear(res);
        char ignored[8];
        ctl_do(conn, CTL_ROLLBACK, ignored, sizeof(ignored));
        return -1;
    }
    PQclear(res);
    const char *values[] = {ver, m->name, sum};
    res = ctl_run(conn, CTL_MIGRATIONS_RECORD, 3, values, err, errlen);
    PQclear(res);
    if (res == NULL || ctl_do(conn, CTL_COMMIT, err, errlen) != 0) {
        char ignored[8];
        ctl_do(conn, CTL_ROLLBACK, ignored, sizeof(ignored));
        return -1;
    }
    fprintf(out, "applied %s\n", m->name);
    return 0;
}

int migrate_apply(PGconn *conn, FILE *out, char *err, size_t errlen)
{
    if (ctl_do(conn, CTL_MIGRATIONS_LOCK, err, errlen) != 0)
        return -1;
    int rc = -1;
    PGresult *applied = NULL;
    if (ctl_do(conn, CTL_MIGRATIONS_TABLE, err, errlen) != 0)
        goto done;
    applied = ctl_run(conn, CTL_MIGRATIONS_APPLIED, 0, NULL, err, errlen);
    if (applied == NULL || check_history(applied, err, errlen) != 0)
        goto done;
    int count = 0;
    for (int i = 0; i < MIGRATIONS_COUNT; i++) {
        long version = migrate_version_of(migrations_files[i].name);
        if (applied_row(applied, version) >= 0)
            continue;
        if (apply_one(conn, &migrations_files[i], version, out, err, errlen) != 0)
            goto done;
        count++;
    }
    fprintf(out, "%d migration%s applied; schema at version %04ld\n", count, count == 1 ? "" : "s",
            migrate_latest_version());
    rc = 0;
done:
    PQclear(applied);
    char ignored[8];
    ctl_do(conn, CTL_MIGRATIONS_UNLOCK, ignored, sizeof(ignored));
    return rc;
}

int migrate_status(PGconn *conn, FILE *out, char *err, size_t errlen)
{
    if (ctl_do(conn, CTL_MIGRATIONS_TABLE, err, errlen) != 0)
        return -1;
    PGresult *applied = ctl_run(conn, CTL_MIGRATIONS_APPLIED, 0, NULL, err, errlen);
    if (applied == NULL)
        return -1;
    fprintf(out, "%-8s %-40s %-9s %s\n", "version", "name", "state", "applied at");
    int rc = 0;
    for (int i = 0; i < MIGRATIONS_COUNT; i++) {
        const struct embedded_file *m = &migrations_files[i];
        long version = migrate_version_of(m->name);
        int row = applied_row(applied, version);
        const char *state = "pending";
        if (row >= 0) {
            char sum[65];
            migrate_checksum(m->text, m->len, sum);
            state = strcmp(sum, PQgetvalue(applied, row, 2)) == 0 ? "applied" : "EDITED";
            if (state[0] == 'E')
                rc = -1;
        }
        fprintf(out, "%04ld     %-40s %-9s %s\n", version, m->name, state,
                row >= 0 ? PQgetvalue(applied, row, 3) : "");
    }
    for (int r = 0; r < PQntuples(applied); r++) {
        bool known = false;
        for (int i = 0; i < MIGRATIONS_COUNT; i++)
            known |= migrate_version_of(migrations_files[i].name) ==
                     strtol(PQgetvalue(applied, r, 0), NULL, 10);
        if (!known)
            fprintf(out, "%04ld     %-40s %-9s %s\n", strtol(PQgetvalue(applied, r, 0), NULL, 10),
                    PQgetvalue(applied, r, 1), "unknown", PQgetvalue(applied, r, 3));
    }
    if (rc != 0)
        snprintf(err, errlen, "an applied migration was edited since (see EDITED above)");
    PQclear(applied);
    return rc;
}
