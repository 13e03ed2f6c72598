/*
 * responder: the benchmark's ceiling. A bare FastCGI responder with the
 * pool's socket setup (one listening socket, N forked workers blocking in
 * FCGX_Accept_r). No routing, no logging, no metrics, no validation: what
 * the pool costs is measured against this. Modes:
 *
 *   (none)            the same bytes /healthz answers
 *   --query CONNINFO  one prepared query per request, as /readyz runs
 *   --row CONNINFO    one prepared primary-key query per request: the row
 *                     of bench_rows whose id ends the path (/row/1), sent
 *                     as it is stored (a public JSON or a page of the same
 *                     size as the pool's, put there by scripts/bench)
 *   --insert CONNINFO one prepared INSERT INTO votes ... ON CONFLICT DO
 *                     NOTHING per request: the case from the path
 *                     (/api/public/cases/{id}/votes), the voter from the
 *                     portal_voter cookie (unchecked), the choice from the
 *                     body, a random receipt; 201 when inserted, 200 when not
 *
 *   bench-responder unix:/path|HOST:PORT WORKERS [--query|--row|--insert CONNINFO]
 */
#include <fcgiapp.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

enum mode { MODE_BARE, MODE_QUERY, MODE_ROW, MODE_INSERT };

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

static void prepare(PGconn *conn, const char *sql)
{
    PGresult *res = PQprepare(conn, "q", sql, 0, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        fprintf(stderr, "responder: %s", PQerrorMessage(conn));
        exit(1);
    }
    PQclear(res);
}

static void send_answer(FCGX_Request *req, const char *status, const char *type, const char *body,
                        int len, const char *cache)
{
    FCGX_FPrintF(req->out,
                 "Status: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
                 "Cache-Control: %s\r\n\r\n",
                 status, type, len, cache);
    FCGX_PutStr(body, len, req->out);
}

/* The text after the last '/' of the request's path. */
static const char *last_segment(FCGX_Request *req)
{
    const char *uri = FCGX_GetParam("DOCUMENT_URI", req->envp);
    const char *slash = uri ? strrchr(uri, '/') : NULL;
    return slash ? slash + 1 : "";
}

/* /api/public/cases/{id}/votes: the id, copied into out. */
static void case_of(FCGX_Request *req, char *out, size_t size)
{
    const char *uri = FCGX_GetParam("DOCUMENT_URI", req->envp);
    const char *p = uri ? strstr(uri, "/cases/") : NULL;
    size_t n = 0;
    if (p != NULL)
        for (p += 7; n + 1 < size && *p >= '0' && *p <= '9'; p++)
            out[n++] = *p;
    out[n] = '\0';
}

/* The voter id of "portal_voter=v1.<id>.<mac>", not checked. */
static void voter_of(FCGX_Request *req, char out[33])
{
    const char *cookie = FCGX_GetParam("HTTP_COOKIE", req->envp);
    const char *p = cookie ? strstr(cookie, "portal_voter=v1.") : NULL;
    if (p == NULL || strlen(p) < 16 + 32) {
        out[0] = '\0';
        return;
    }
    memcpy(out, p + 16, 32);
    out[32] = '\0';
}

/* The string value of "choice" in a small JSON body, not unescaped. */
static void choice_of(const char *body, char *out, size_t size)
{
    const char *p = strstr(body, "\"choice\"");
    size_t n = 0;
    if (p != NULL && (p = strchr(p + 8, '"')) != NULL)
        for (p++; n + 1 < size && *p != '\0' && *p != '"'; p++)
            out[n++] = *p;
    out[n] = '\0';
}

static void serve(int fd, enum mode mode, const char *conninfo)
{
    PGconn *conn = NULL;
    if (mode != MODE_BARE) {
        conn = PQconnectdb(conninfo);
        if (PQstatus(conn) != CONNECTION_OK) {
            fprintf(stderr, "responder: %s", PQerrorMessage(conn));
            exit(1);
        }
        prepare(conn, mode == MODE_QUERY ? "SELECT coalesce(max(version), 0) FROM "
                                           "schema_migrations"
                      : mode == MODE_ROW ? "SELECT content_type, doc FROM bench_rows "
                                           "WHERE id = $1::integer"
                                         : "INSERT INTO votes (case_id, choice, voter, receipt) "
                                           "VALUES ($1::bigint, $2, $3, $4) "
                                           "ON CONFLICT (case_id, voter) DO NOTHING");
    }
    FCGX_Request req;
    FCGX_InitRequest(&req, fd, 0);
    char body[512];
    while (FCGX_Accept_r(&req) >= 0) {
        int len;
        if (mode == MODE_QUERY) {
            PGresult *res = PQexecPrepared(conn, "q", 0, NULL, NULL, NULL, 0);
            len = snprintf(body, sizeof(body),
                           "{\"status\":\"ready\",\"schema_version\":%s,\"expected_version\":%s}",
                           PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 0));
            PQclear(res);
            send_answer(&req, "200 OK", "application/json", body, len, "no-store");
        } else if (mode == MODE_ROW) {
            const char *id = last_segment(&req);
            PGresult *res = PQexecPrepared(conn, "q", 1, &id, NULL, NULL, 0);
            if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
                send_answer(&req, "200 OK", PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
                            PQgetlength(res, 0, 1), "public, max-age=2");
            else
                send_answer(&req, "404 Not Found", "application/json", "{}", 2, "no-store");
            PQclear(res);
        } else if (mode == MODE_INSERT) {
            char input[256], case_id[24], voter[33], choice[64], receipt[33];
            unsigned char random[16];
            int got = FCGX_GetStr(input, sizeof(input) - 1, req.in);
            input[got > 0 ? got : 0] = '\0';
            case_of(&req, case_id, sizeof(case_id));
            voter_of(&req, voter);
            choice_of(input, choice, sizeof(choice));
            if (getrandom(random, sizeof(random), 0) != sizeof(random))
                exit(1);
            for (size_t i = 0; i < sizeof(random); i++)
                snprintf(receipt + 2 * i, 3, "%02x", random[i]);
            const char *values[] = {case_id, choice, voter, receipt};
            PGresult *res = PQexecPrepared(conn, "q", 4, values, NULL, NULL, 0);
            if (PQresultStatus(res) == PGRES_COMMAND_OK) {
                bool counted = strcmp(PQcmdTuples(res), "1") == 0;
                len = snprintf(body, sizeof(body), "{\"case_id\":%s,\"counted\":%s}", case_id,
                               counted ? "true" : "false");
                send_answer(&req, counted ? "201 Created" : "200 OK", "application/json", body, len,
                            "no-store");
            } else {
                len = snprintf(body, sizeof(body), "{\"status\":500}");
                send_answer(&req, "500 Internal Server Error", "application/json", body, len,
                            "no-store");
            }
            PQclear(res);
        } else {
            len = snprintf(body, sizeof(body), "{\"status\":\"alive\",\"pid\":%d,\"worker\":0}",
                           (int)getpid());
            send_answer(&req, "200 OK", "application/json", body, len, "no-store");
        }
        FCGX_Finish_r(&req);
    }
    exit(0);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: responder unix:/path|HOST:PORT WORKERS "
                        "[--query|--row|--insert CONNINFO]\n");
        return 2;
    }
    enum mode mode = MODE_BARE;
    const char *conninfo = NULL;
    if (argc >= 5) {
        conninfo = argv[4];
        if (strcmp(argv[3], "--query") == 0)
            mode = MODE_QUERY;
        else if (strcmp(argv[3], "--row") == 0)
            mode = MODE_ROW;
        else if (strcmp(argv[3], "--insert") == 0)
            mode = MODE_INSERT;
        else {
            fprintf(stderr, "responder: unknown mode %s\n", argv[3]);
            return 2;
        }
    }
    int workers = atoi(argv[2]);
    FCGX_Init();
    int fd = open_socket(argv[1]);
    if (fd < 0 || workers < 1) {
        fprintf(stderr, "responder: cannot listen on %s\n", argv[1]);
        return 1;
    }
    for (int i = 0; i < workers; i++)
        if (fork() == 0)
            serve(fd, mode, conninfo);
    signal(SIGTERM, SIG_DFL);
    int status;
    pause(); /* the bench script stops us with SIGTERM; children die with the group */
    while (wait(&status) > 0)
        ;
    return 0;
}
