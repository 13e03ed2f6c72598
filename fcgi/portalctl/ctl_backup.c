/* ctl_backup: backups with pg_dump, restores with pg_restore. See ctl_backup.h. */
#include "ctl_backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl_catalog.h"
#include "migrate.h"

extern char **environ;

/* Runs args[0] from PATH; its stdout goes to /dev/null when quiet. 0 when it exits 0. */
static int run_tool(char *const args[], int quiet)
{
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (quiet)
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, args[0], &actions, NULL, args, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        fprintf(stderr, "portalctl: cannot run %s: %s\n", args[0], strerror(rc));
        return -1;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "portalctl: %s failed (see its message above)\n", args[0]);
        return -1;
    }
    return 0;
}

/* The connection's database, and a refusal unless it is a superuser's
 * (and, for a restore, an empty one). */
static int check_target(PGconn *conn, int restore, char *database, size_t len)
{
    char err[1024];
    PGresult *res = ctl_run(conn, CTL_BACKUP_TARGET, 0, NULL, err, sizeof(err));
    if (res == NULL) {
        fprintf(stderr, "portalctl: %s\n", err);
        return -1;
    }
    snprintf(database, len, "%s", PQgetvalue(res, 0, PQfnumber(res, "database")));
    int superuser = strcmp(PQgetvalue(res, 0, PQfnumber(res, "superuser")), "t") == 0;
    long relations = atol(PQgetvalue(res, 0, PQfnumber(res, "relations")));
    PQclear(res);
    if (!superuser) {
        fprintf(stderr,
                "portalctl: %s needs a superuser's connection (row-level security hides "
                "rows from every other role), e.g. as the postgres user: "
                "--database-url 'dbname=%s'\n",
                restore ? "restore" : "backup", database);
        return -1;
    }
    if (restore && relations != 0) {
        fprintf(stderr,
                "portalctl: database %s is not empty (%ld relations in its public "
                "schema); restore into a fresh one made by bootstrap.sql\n",
                database, relations);
        return -1;
    }
    return 0;
}

static int fsync_path(const char *path, int directory)
{
    int fd = open(path, (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* pg_dump into FILE.partial, synced, checked readable by pg_restore --list,
 * then renamed into place: FILE is a whole backup or absent. */
static int dump_to(const char *url, const char *database, const char *file)
{
    char partial[PATH_MAX];
    if (snprintf(partial, sizeof(partial), "%s.partial", file) >= (int)sizeof(partial)) {
        fprintf(stderr, "portalctl: path too long: %s\n", file);
        return -1;
    }
    unlink(partial);
    char dbname[PATH_MAX + 16];
    snprintf(dbname, sizeof(dbname), "--dbname=%s", url && url[0] ? url : database);
    char *dump[] = {"pg_dump", "--format=custom", "--file", partial, dbname, NULL};
    char *list[] = {"pg_restore", "--list", partial, NULL};
    errno = 0;
    if (run_tool(dump, 0) != 0 || run_tool(list, 1) != 0 || fsync_path(partial, 0) != 0 ||
        rename(partial, file) != 0) {
        if (errno != 0)
            fprintf(stderr, "portalctl: cannot complete %s: %s\n", file, strerror(errno));
        unlink(partial);
        return -1;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", file);
    fsync_path(dirname(dir), 1);
    struct stat st;
    stat(file, &st);
    printf("backup: %s (%lld bytes, database %s)\n", file, (long long)st.st_size, database);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Keeps the newest `keep` portal-*.dump files of dir (their names sort by time). */
static void prune(const char *dir, unsigned long keep)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    char *names[4096];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < sizeof(names) / sizeof(names[0])) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "portal-", 7) == 0 && len == 7 + 16 + 5 &&
            strcmp(e->d_name + len - 5, ".dump") == 0 && (names[n] = strdup(e->d_name)) != NULL)
            n++;
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), by_name);
    for (size_t i = 0; i < n; i++) {
        if (i + keep < n) {
            char path[PATH_MAX];
            snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
            if (unlink(path) == 0)
                printf("removed: %s\n", path);
        }
        free(names[i]);
    }
}

int ctl_backup(PGconn *conn, const char *url, int argc, char **argv)
{
    const char *file = NULL, *dir = NULL;
    unsigned long keep = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--file") == 0 && i + 1 < argc)
            file = argv[++i];
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--keep") == 0 && i + 1 < argc && atol(argv[i + 1]) > 0)
            keep = strtoul(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "portalctl: backup --file FILE | --dir DIR [--keep N]\n");
            return 2;
        }
    }
    if ((file == NULL) == (dir == NULL) || (keep != 0 && dir == NULL)) {
        fprintf(stderr, "portalctl: backup --file FILE | --dir DIR [--keep N]\n");
        return 2;
    }
    char database[256];
    if (check_target(conn, 0, database, sizeof(database)) != 0)
        return 1;
    char path[PATH_MAX];
    if (dir != NULL) {
        char stamp[32];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
        snprintf(path, sizeof(path), "%s/portal-%s.dump", dir, stamp);
        file = path;
    }
    if (dump_to(url, database, file) != 0)
        return 1;
    if (keep != 0)
        prune(dir, keep);
    return 0;
}

int ctl_restore(PGconn *conn, const char *url, int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[1], "--file") != 0) {
        fprintf(stderr, "portalctl: restore --file FILE\n");
        return 2;
    }
    const char *file = argv[2];
    if (access(file, R_OK) != 0) {
        fprintf(stderr, "portalctl: cannot read %s: %s\n", file, strerror(errno));
        return 1;
    }
    char database[256];
    if (check_target(conn, 1, database, sizeof(database)) != 0)
        return 1;
    char dbname[PATH_MAX + 16];
    snprintf(dbname, sizeof(dbname), "--dbname=%s", url && url[0] ? url : database);
    char *restore[] = {"pg_restore", "--exit-on-error", "--single-transaction",
                       dbname,       (char *)file,      NULL};
    if (run_tool(restore, 0) != 0)
        return 1;
    char err[1024];
    PGresult *res = ctl_run(conn, CTL_BACKUP_SCHEMA_VERSION, 0, NULL, err, sizeof(err));
    if (res == NULL) {
        fprintf(stderr, "portalctl: restored, but %s\n", err);
        return 1;
    }
    long version = atol(PQgetvalue(res, 0, PQfnumber(res, "version")));
    PQclear(res);
    printf("restored: %s into database %s (schema version %ld; this portalctl has %ld%s)\n", file,
           database, version, migrate_latest_version(),
           version < migrate_latest_version() ? ": run portalctl migrate" : "");
    return 0;
}
