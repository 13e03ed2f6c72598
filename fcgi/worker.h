/*
 * worker: one pool process. It accepts on the listening socket shared by
 * all workers, serves one request at a time from its arena, and exits when
 * asked (SIGTERM: after the request in hand), when recycled after
 * max-requests, or when its master is gone. It never returns.
 */
#ifndef PORTAL_WORKER_H
#define PORTAL_WORKER_H

#include <sys/types.h>

#include "config.h"
#include "route.h"
#include "scoreboard.h"

void worker_run(const config_t *config, int listen_fd, struct scoreboard *board, int slot,
                const router_t *router, pid_t master) __attribute__((noreturn));

/* Routes one request and runs its handler, or answers 404/405/400-415 itself. */
struct request;
void worker_dispatch(struct request *req);

#endif
