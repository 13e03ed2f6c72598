/*
 * responder: the benchmark's ceiling. A bare FastCGI responder with the
 * pool's socket setup (one listening socket, N forked workers blocking in
 * FCGX_Accept_r) answering the same bytes /healthz does, or, with --query,
 * running one prepared query per request as /readyz does. No routing, no
 * logging, no metrics: what the pool costs is measured against this.
 *
 *   bench-responder unix:/path|HOST:PORT WORKERS [--query CONNINFO]
 */
#include <fcgiapp.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int open_socket(const char *spec)
{
    if (strncmp(spec, "unix:", 5) != 0) {
        char port[16];
        const char *colon = strrchr(spec, ':');
        snprintf(port, sizeof(port), ":%s", colon ? colon + 1 : spec);
        return FCGX_OpenSocket(port, 1024);
    }
    const char *path = spec + 5;
    unlink(path);
    int fd = FCGX_OpenSocket(path, 1024);
    if (fd >= 0)
        chmod(path, 0666);
    return fd;
}

static void serve(int fd, const char *conninfo)
{
    PGconn *conn = NULL;
    if (conninfo != NULL) {
        conn = PQconnectdb(conninfo);
        PGresult *res = PQprepare(conn, "q",
                                  "SELECT coalesce(max(version), 0) FROM "
                                  "schema_migrations",
                                  0, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            fprintf(stderr, "responder: %s", PQerrorMessage(conn));
            exit(1);
        }
        PQclear(res);
    }
    FCGX_Request req;
    FCGX_InitRequest(&req, fd, 0);
    char body[128];
    while (FCGX_Accept_r(&req) >= 0) {
        int len;
        if (conn != NULL) {
            PGresult *res = PQexecPrepared(conn, "q", 0, NULL, NULL, NULL, 0);
            len = snprintf(body, sizeof(body),
                           "{\"status\":\"ready\",\"schema_version\":%s,\"expected_version\":%s}",
                           PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 0));
            PQclear(res);
        } else {
            len = snprintf(body, sizeof(body), "{\"status\":\"alive\",\"pid\":%d,\"worker\":0}",
                           (int)getpid());
        }
        FCGX_FPrintF(req.out,
                     "Status: 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                     "%d\r\nCache-Control: no-store\r\n\r\n",
                     len);
        FCGX_PutStr(body, len, req.out);
        FCGX_Finish_r(&req);
    }
    exit(0);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: responder unix:/path|HOST:PORT WORKERS [--query CONNINFO]\n");
        return 2;
    }
    const char *conninfo = argc >= 5 && strcmp(argv[3], "--query") == 0 ? argv[4] : NULL;
    int workers = atoi(argv[2]);
    FCGX_Init();
    int fd = open_socket(argv[1]);
    if (fd < 0 || workers < 1) {
        fprintf(stderr, "responder: cannot listen on %s\n", argv[1]);
        return 1;
    }
    for (int i = 0; i < workers; i++)
        if (fork() == 0)
            serve(fd, conninfo);
    signal(SIGTERM, SIG_DFL);
    int status;
    pause(); /* the bench script stops us with SIGTERM; children die with the group */
    while (wait(&status) > 0)
        ;
    return 0;
}
