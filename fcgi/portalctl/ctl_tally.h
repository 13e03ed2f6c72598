/*
 * ctl_tally: `portalctl tally verify NUMBER`. Recounts an edition's votes
 * from the database and compares the ballot list they make with the one
 * whose digest was recorded when the edition's vote closed: exit 0 when
 * they are the same, 1 (naming each ballot that differs) when not.
 */
#ifndef PORTAL_CTL_TALLY_H
#define PORTAL_CTL_TALLY_H

#include <libpq-fe.h>

/* argv[0] is the subcommand. Returns the process exit status. */
int ctl_tally(PGconn *conn, int argc, char **argv);

#endif
