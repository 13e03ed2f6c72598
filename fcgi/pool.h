/*
 * pool: the master process. It owns the listening socket and the
 * scoreboard, forks the workers, and never serves a request. It replaces
 * workers that die (rate-limited when they die young, so a crash loop
 * does not spin), kills workers stuck past request-timeout, rolls the
 * workers over one at a time on SIGHUP, and drains them on SIGTERM/SIGINT.
 */
#ifndef PORTAL_POOL_H
#define PORTAL_POOL_H

#include "config.h"
#include "route.h"

/* Runs until SIGTERM/SIGINT; takes ownership of *config. Returns the exit
 * status for main: 0 after a clean stop, 1 when start-up failed. */
int pool_run(config_t *config, int argc, char **argv, const router_t *router);

/* Delay before the next respawn after `quick_deaths` workers in a row died
 * within a second of starting: none for the first few, then doubling up to
 * a cap. Pure, for the tests. */
unsigned pool_respawn_delay_ms(unsigned quick_deaths);

#endif
