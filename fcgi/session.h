/*
 * session: who is calling a staff route. The bearer token is checked first
 * (no database work for a forged one), then the account is read in the
 * request's transaction, which also sets the transaction's identity for
 * row-level security. A disabled account, or one whose role, street or
 * password changed since the token was made, is refused on its next
 * request, not at the token's expiry.
 */
#ifndef PORTAL_SESSION_H
#define PORTAL_SESSION_H

#include <libpq-fe.h>

#include "request.h"
#include "token.h"

/* The token rules from the worker's settings. */
struct token_rules session_token_rules(const config_t *config);

/* Checks the Authorization header; on failure answers 401 and returns -1. */
int session_check_token(request_t *req, struct token_claims *claims);

/* Whether the token's role may use a route open to roles (ROUTE_EDITOR...).
 * Only a first, cheap answer, given before a large body is read: the role
 * is confirmed from the account row by session_load. A token made before
 * a role change therefore gets 403 here where session_load would say 401.
 * Writes 403 when not. */
int session_check_role(request_t *req, const struct token_claims *claims, unsigned roles);

/* The parameters of sql/auth_session.sql for claims (arena-owned), for
 * db_begin_session, which looks the account up as the transaction starts. */
const char **session_values(request_t *req, const struct token_claims *claims);

/* From that lookup's result (res): loads the account into req->user; the
 * statement has set the transaction's identity. Answers 401 (account gone,
 * disabled or changed since the token), 403 (role not in roles) or 503
 * (res NULL or failed), and returns -1 on failure. */
int session_load(request_t *req, PGresult *res, unsigned roles);

#endif
