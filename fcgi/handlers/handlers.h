/*
 * handlers: every route handler, one file per resource, each file
 * exporting only its resource's names (streets.c streets_*, cases.c
 * cases_*, ...), and the route table in routes.c.
 */
#ifndef PORTAL_HANDLERS_H
#define PORTAL_HANDLERS_H

#include <stddef.h>

#include <libpq-fe.h>

#include "request.h"
#include "route.h"

/* health.c, metrics.c */
void health_live(request_t *req);
void health_ready(request_t *req);
void metrics_show(request_t *req);

/* auth.c */
void auth_login(request_t *req);
void auth_refresh(request_t *req);
void auth_logout(request_t *req);
void auth_me(request_t *req);

/* streets.c */
void streets_list(request_t *req);
void streets_get(request_t *req);
void streets_create(request_t *req);
void streets_update(request_t *req);
/* communities.c */
void communities_list(request_t *req);
void communities_get(request_t *req);
void communities_create(request_t *req);
void communities_update(request_t *req);

/* users.c */
void users_list(request_t *req);
void users_get(request_t *req);
void users_create(request_t *req);
void users_update(request_t *req);
/* audit.c */
void audit_list(request_t *req);

/* cases.c */
void cases_create(request_t *req);
void cases_list(request_t *req);
void cases_get(request_t *req);
void cases_update(request_t *req);
void cases_transition(request_t *req);
void cases_events(request_t *req);
void cases_revisions(request_t *req);
void cases_revision_get(request_t *req);
void cases_diff(request_t *req);
/* photos.c */
void photos_upload(request_t *req);
void photos_update(request_t *req);
void photos_delete(request_t *req);
void photos_get(request_t *req);
/* editions.c */
void editions_list(request_t *req);
void editions_get(request_t *req);
void editions_create(request_t *req);
void editions_update(request_t *req);
void editions_transition(request_t *req);

/* Shared by the case and photo handlers: after a write, reads case id whole
 * (with its ETag), commits and sends it with status; Location when asked. */
void cases_send_written(request_t *req, int status, const char *id, bool location);

/* Shared by the case and photo handlers: after a write to case id found no
 * row, answers why (404, 409 not a draft, 412 not at version expected). */
void cases_explain_refusal(request_t *req, const char *id, const char *expected);

/* public.c */
void public_editions_list(request_t *req);
void public_edition_get(request_t *req);
void public_case_get(request_t *req);
void public_results(request_t *req);
void public_ballots(request_t *req);

/* results.c */
void results_edition(request_t *req);
void results_edition_csv(request_t *req);
void results_standings(request_t *req);
void results_standings_csv(request_t *req);

/* votes.c */
void votes_voter(request_t *req);
void votes_cast(request_t *req);

/* pages.c */
void pages_index(request_t *req);
void pages_edition(request_t *req);
void pages_case(request_t *req);

/* workflow.c */
void workflow_get(request_t *req);
/* Answers a refused case or edition transition: res row 0 has the columns
 * outcome, state, version, allowed (JSON) and detail that the workflow
 * functions return. */
void workflow_refuse(request_t *req, PGresult *res);

extern const struct route_def routes_table[];
extern const size_t routes_count;

#endif
