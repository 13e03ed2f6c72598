/*
 * handlers: every route handler, grouped one file per resource
 * (health.c, metrics_handler.c, ...), and the route table in routes.c.
 */
#ifndef PORTAL_HANDLERS_H
#define PORTAL_HANDLERS_H

#include <stddef.h>

#include "request.h"
#include "route.h"

void health_live(request_t *req);
void health_ready(request_t *req);
void metrics_show(request_t *req);

void auth_login(request_t *req);
void auth_refresh(request_t *req);
void auth_logout(request_t *req);
void auth_me(request_t *req);

void streets_list(request_t *req);
void streets_get(request_t *req);
void streets_create(request_t *req);
void streets_update(request_t *req);
void communities_list(request_t *req);
void communities_get(request_t *req);
void communities_create(request_t *req);
void communities_update(request_t *req);

void users_list(request_t *req);
void users_get(request_t *req);
void users_create(request_t *req);
void users_update(request_t *req);
void audit_list(request_t *req);

extern const struct route_def routes_table[];
extern const size_t routes_count;

#endif
