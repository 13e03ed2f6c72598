/*
 * listen: opens the pool's listening socket once, in the master, before
 * any worker exists. A stale unix socket left by a crash is replaced; one
 * that a live server still answers on is refused.
 */
#ifndef PORTAL_LISTEN_H
#define PORTAL_LISTEN_H

#include <stddef.h>

/* Returns a non-blocking listening fd, or -1 with a one-line reason. */
int listen_open(const char *spec, unsigned mode, unsigned backlog, char *err, size_t errlen);
/* Removes the socket file of a unix: spec (nothing for TCP). */
void listen_cleanup(const char *spec);

#endif
