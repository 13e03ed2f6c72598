/*
 * ctl_users: `portalctl user add|disable|enable|passwd|list`, so a
 * deployment gets its first admin without SQL by hand. Each change runs in
 * one transaction that says the command line is acting, so row-level
 * security applies and the audit trail names "portalctl".
 */
#ifndef PORTAL_CTL_USERS_H
#define PORTAL_CTL_USERS_H

#include <libpq-fe.h>

/* argv[0] is the subcommand. Returns the process exit status. */
int ctl_users(PGconn *conn, int argc, char **argv);

#endif
