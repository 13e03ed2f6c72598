/*
 * portalctl: the administrator's command line. Runs as the database owner
 * (PORTAL_OWNER_DATABASE_URL or --database-url), never as the application
 * role.
 *
 *   portalctl migrate            apply pending migrations
 *   portalctl migrate --status   list applied and pending migrations
 *   portalctl user add|list|disable|enable|passwd ...
 *   portalctl key generate --dir DIR [--alg hs256|rs256|es256] [--kid KID]
 *   portalctl key voter --file FILE
 *   portalctl tally verify NUMBER
 *   portalctl backup --file FILE | --dir DIR [--keep N]    (as a superuser)
 *   portalctl restore --file FILE                          (as a superuser)
 */
#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_backup.h"
#include "ctl_keys.h"
#include "ctl_tally.h"
#include "ctl_users.h"
#include "migrate.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: portalctl [--database-url URL] COMMAND\n\n"
                 "commands:\n"
                 "  migrate            apply pending migrations, each in its own transaction\n"
                 "  migrate --status   list applied and pending migrations\n"
                 "  user add USERNAME --role editor|reviewer|admin [--street NAME|ID]\n"
                 "       [--name DISPLAY-NAME]   add a staff account (password on stdin)\n"
                 "  user list          list staff accounts\n"
                 "  user disable|enable USERNAME\n"
                 "  user passwd USERNAME   set a new password (on stdin); signs the user out\n"
                 "  key generate --dir DIR [--alg hs256|rs256|es256] [--kid KID]\n"
                 "                     add a token-signing key to the jwt-keys directory\n"
                 "  key voter --file FILE\n"
                 "                     make the secret that signs voter cookies (--voter-key)\n"
                 "  tally verify NUMBER\n"
                 "                     recount a closed edition's votes against the digest\n"
                 "                     recorded at close: exit 0 when they agree, 1 when not\n"
                 "  backup --file FILE | --dir DIR [--keep N]\n"
                 "                     pg_dump (custom format) of the whole database; as a\n"
                 "                     superuser; --dir names it by time and keeps the newest N\n"
                 "  restore --file FILE\n"
                 "                     pg_restore into an empty database (bootstrap.sql); as a\n"
                 "                     superuser\n\n"
                 "The database URL (a libpq connection string) defaults to\n"
                 "PORTAL_OWNER_DATABASE_URL, then to libpq's PG* environment. It must name\n"
                 "the owner role, not the application role.\n");
}

/* "already exists, skipping" and the like are not news to an operator. */
static void drop_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static PGconn *connect_owner(const char *url)
{
    const char *keys[] = {"dbname", "fallback_application_name", NULL};
    const char *values[] = {url, "portalctl", NULL};
    if (url == NULL || url[0] == '\0') {
        keys[0] = "fallback_application_name";
        values[0] = "portalctl";
        keys[1] = NULL;
    }
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "portalctl: cannot connect: %s",
                conn ? PQerrorMessage(conn) : "no memory\n");
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, drop_notice, NULL);
    return conn;
}

int main(int argc, char **argv)
{
    const char *url = getenv("PORTAL_OWNER_DATABASE_URL");
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--database-url") == 0 && i + 1 < argc) {
            url = argv[++i];
            continue;
        }
        fprintf(stderr, "portalctl: unknown option %s (see --help)\n", argv[i]);
        return 2;
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "portalctl: libsodium cannot initialise\n");
        return 1;
    }
    const char *command = argv[i];
    char err[1024] = "";
    int rc;
    if (strcmp(command, "migrate") == 0) {
        int status_only = i + 1 < argc && strcmp(argv[i + 1], "--status") == 0;
        if (i + 1 + status_only != argc) {
            fprintf(stderr, "portalctl: migrate takes only --status\n");
            return 2;
        }
        PGconn *conn = connect_owner(url);
        if (conn == NULL)
            return 1;
        rc = status_only ? migrate_status(conn, stdout, err, sizeof(err))
                         : migrate_apply(conn, stdout, err, sizeof(err));
        PQfinish(conn);
    } else if (strcmp(command, "backup") == 0 || strcmp(command, "restore") == 0) {
        PGconn *conn = connect_owner(url);
        if (conn == NULL)
            return 1;
        rc = strcmp(command, "backup") == 0 ? ctl_backup(conn, url, argc - i, argv + i)
                                            : ctl_restore(conn, url, argc - i, argv + i);
        PQfinish(conn);
        return rc;
    } else if (strcmp(command, "key") == 0) {
        return ctl_keys(argc - i - 1, argv + i + 1);
    } else if (strcmp(command, "tally") == 0) {
        PGconn *conn = connect_owner(url);
        if (conn == NULL)
            return 1;
        rc = ctl_tally(conn, argc - i - 1, argv + i + 1);
        PQfinish(conn);
        return rc;
    } else if (strcmp(command, "user") == 0) {
        PGconn *conn = connect_owner(url);
        if (conn == NULL)
            return 1;
        rc = ctl_users(conn, argc - i - 1, argv + i + 1);
        PQfinish(conn);
        return rc;
    } else {
        fprintf(stderr, "portalctl: unknown command %s (see --help)\n", command);
        return 2;
    }
    if (rc != 0) {
        fprintf(stderr, "portalctl: %s\n", err);
        return 1;
    }
    return 0;
}
