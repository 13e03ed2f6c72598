/*
 * ctl_backup: `portalctl backup` and `portalctl restore`, a logical backup
 * of the portal's database with PostgreSQL's own tools (run directly, never
 * through a shell): pg_dump's custom format (compressed, every row, the
 * photos included, restorable table by table) and pg_restore in one
 * transaction. Both connect as a superuser (row-level security is forced
 * even on the owner, so only a superuser reads every row); a restore goes
 * only into an empty database, as scripts/bootstrap.sql makes it.
 *
 *   portalctl backup --file FILE              FILE, written whole or not at all
 *   portalctl backup --dir DIR [--keep N]     DIR/portal-YYYYMMDDTHHMMSSZ.dump,
 *                                             then only the newest N kept
 *   portalctl restore --file FILE
 */
#ifndef PORTAL_CTL_BACKUP_H
#define PORTAL_CTL_BACKUP_H

#include <libpq-fe.h>

/* conn: connected with url, the superuser's connection string ("" or NULL:
 * libpq's PG*), which pg_dump and pg_restore are given too. argv[0] is the
 * command. Returns the process exit status. */
int ctl_backup(PGconn *conn, const char *url, int argc, char **argv);
int ctl_restore(PGconn *conn, const char *url, int argc, char **argv);

#endif
