/* ctl_users: staff accounts from the command line. See ctl_users.h. */
#include "ctl_users.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_catalog.h"
#include "migrate.h"
#include "password.h"

/* Reads a password: from the terminal (twice, without echo) or the first
 * line of stdin. Returns a malloc'd string or NULL. */
static char *read_password(void)
{
    if (isatty(STDIN_FILENO)) {
        char *first = getpass("new password: ");
        char *copy = first ? strdup(first) : NULL;
        char *again = copy ? getpass("again: ") : NULL;
        if (again == NULL || strcmp(copy, again) != 0) {
            fprintf(stderr, "portalctl: the passwords differ\n");
            free(copy);
            return NULL;
        }
        return copy;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n <= 0) {
        free(line);
        fprintf(stderr, "portalctl: give the password on stdin\n");
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return line;
}

/* The Argon2id hash of a password read as above, or -1. */
static int new_password_hash(char out[crypto_pwhash_STRBYTES])
{
    char *password = read_password();
    if (password == NULL)
        return -1;
    const char *why = NULL;
    int rc = -1;
    if (!password_acceptable(password, strlen(password), &why))
        fprintf(stderr, "portalctl: the password %s\n", why);
    else if (password_hash(password, strlen(password), out) != 0)
        fprintf(stderr, "portalctl: out of memory hashing the password\n");
    else
        rc = 0;
    sodium_memzero(password, strlen(password));
    free(password);
    return rc;
}

/* Opens a transaction acting as the district admin, after checking that the
 * connection is the schema's owner. Says why not and returns -1 otherwise. */
static int begin_as_admin(PGconn *conn)
{
    char err[1024];
    PGresult *res = ctl_run(conn, CTL_BEGIN, 0, NULL, err, sizeof(err));
    PQclear(res);
    if (res == NULL || (res = ctl_run(conn, CTL_IDENTITY, 0, NULL, err, sizeof(err))) == NULL) {
        fprintf(stderr, "portalctl: %s\n", err);
        return -1;
    }
    int owner = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 2), "t") == 0;
    if (!owner)
        fprintf(stderr,
                "portalctl: connected as %s, which does not own the schema: use the owner's "
                "database URL (PORTAL_OWNER_DATABASE_URL)\n",
                PQntuples(res) == 1 ? PQgetvalue(res, 0, 3) : "?");
    PQclear(res);
    return owner ? 0 : -1;
}

/* Runs statement in a transaction as the admin command line; prints what
 * it changed, or missing when it changed no row. Returns an exit status. */
static int run_change(PGconn *conn, int statement, int nparams, const char *const *values,
                      const char *username, const char *done, const char *missing)
{
    char err[1024];
    if (begin_as_admin(conn) != 0)
        return 1;
    PGresult *res = ctl_run(conn, statement, nparams, values, err, sizeof(err));
    if (res == NULL) {
        fprintf(stderr, "portalctl: %s\n", err);
        return 1;
    }
    int rows = PQntuples(res);
    PQclear(res);
    if (rows != 1) {
        fprintf(stderr, "portalctl: %s\n", missing);
        return 1;
    }
    res = ctl_run(conn, CTL_COMMIT, 0, NULL, err, sizeof(err));
    if (res == NULL) {
        fprintf(stderr, "portalctl: %s\n", err);
        return 1;
    }
    PQclear(res);
    printf("%s %s\n", done, username);
    return 0;
}

static int user_add(PGconn *conn, int argc, char **argv)
{
    const char *username = argc > 1 ? argv[1] : NULL;
    const char *role = NULL, *street = "", *name = NULL;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--role") == 0)
            role = argv[i + 1];
        else if (strcmp(argv[i], "--street") == 0)
            street = argv[i + 1];
        else if (strcmp(argv[i], "--name") == 0)
            name = argv[i + 1];
        else
            role = NULL, username = NULL;
    }
    if (username == NULL || role == NULL || argc % 2 != 0) {
        fprintf(stderr, "usage: portalctl user add USERNAME --role editor|reviewer|admin "
                        "[--street NAME|ID] [--name DISPLAY-NAME]  (password on stdin)\n");
        return 2;
    }
    /* the table's constraints say the same; saying it here says it clearly */
    bool editor = strcmp(role, "editor") == 0;
    if (!editor && strcmp(role, "reviewer") != 0 && strcmp(role, "admin") != 0) {
        fprintf(stderr, "portalctl: the role must be editor, reviewer or admin\n");
        return 2;
    }
    if (editor != (street[0] != '\0')) {
        fprintf(stderr, editor ? "portalctl: an editor needs --street NAME|ID\n"
                               : "portalctl: only editors belong to a street (drop --street)\n");
        return 2;
    }
    char hash[crypto_pwhash_STRBYTES];
    if (new_password_hash(hash) != 0)
        return 1;
    const char *values[] = {username, name ? name : username, role, street, hash};
    char missing[256];
    snprintf(missing, sizeof(missing), "no street called %s", street);
    return run_change(conn, CTL_USER_ADD, 5, values, username, "added", missing);
}

static void no_account(char *out, size_t len, const char *username)
{
    snprintf(out, len, "no account called %s", username);
}

static int user_list(PGconn *conn)
{
    char err[1024];
    if (begin_as_admin(conn) != 0)
        return 1;
    PGresult *res = ctl_run(conn, CTL_USER_LIST, 0, NULL, err, sizeof(err));
    if (res == NULL) {
        fprintf(stderr, "portalctl: %s\n", err);
        return 1;
    }
    printf("%-6s %-20s %-9s %-12s %-9s %s\n", "id", "username", "role", "street", "state", "name");
    for (int r = 0; r < PQntuples(res); r++)
        printf("%-6s %-20s %-9s %-12s %-9s %s\n", PQgetvalue(res, r, 0), PQgetvalue(res, r, 1),
               PQgetvalue(res, r, 2), PQgetvalue(res, r, 3), PQgetvalue(res, r, 4),
               PQgetvalue(res, r, 5));
    PQclear(res);
    PQclear(ctl_run(conn, CTL_ROLLBACK, 0, NULL, err, sizeof(err)));
    return 0;
}

int ctl_users(PGconn *conn, int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "add") == 0)
        return user_add(conn, argc, argv);
    if (argc == 1 && strcmp(argv[0], "list") == 0)
        return user_list(conn);
    char missing[256];
    if (argc == 2)
        no_account(missing, sizeof(missing), argv[1]);
    if (argc == 2 && strcmp(argv[0], "disable") == 0) {
        const char *values[] = {argv[1]};
        return run_change(conn, CTL_USER_DISABLE, 1, values, argv[1], "disabled", missing);
    }
    if (argc == 2 && strcmp(argv[0], "enable") == 0) {
        const char *values[] = {argv[1]};
        return run_change(conn, CTL_USER_ENABLE, 1, values, argv[1], "enabled", missing);
    }
    if (argc == 2 && strcmp(argv[0], "passwd") == 0) {
        char hash[crypto_pwhash_STRBYTES];
        if (new_password_hash(hash) != 0)
            return 1;
        const char *values[] = {argv[1], hash};
        return run_change(conn, CTL_USER_PASSWD, 2, values, argv[1], "new password set for",
                          missing);
    }
    fprintf(stderr, "usage: portalctl user add|list|disable|enable|passwd ...\n");
    return 2;
}
