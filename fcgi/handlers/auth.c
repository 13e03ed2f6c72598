/*
 * auth_handlers: sign-in, refresh, sign-out and "who am I".
 *
 * A sign-in answers the same 401 whether the account is missing, disabled
 * or the password wrong, after the same Argon2id work. Failures are counted
 * per account and per client address (an IPv6 client by its /64) in the
 * database (so every worker and every pool host sees them): from
 * login-slow-after failures the next try must wait, doubling; at
 * login-lock-after the account is locked for login-lock-time, and even the
 * right password gets 429 until it ends. An attempt is counted as a failure,
 * and that committed, before its password is checked, and given back when
 * the password is right: so however many workers take guesses at once, no
 * more than login-lock-after of them reach Argon2 before the lock.
 *
 * The refresh token is 32 random bytes in an HttpOnly, Secure,
 * SameSite=Strict cookie scoped to /api/auth; only its SHA-256 is stored.
 * Its family ends refresh-max-age after the sign-in. A token used twice
 * signs the account out (see migrations/0004_auth_hardening.sql), except
 * within refresh-grace of its rotation, when it buys an access token but no
 * new cookie: two tabs that refresh at once both stay signed in.
 */
#include <arpa/inet.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "db.h"
#include "handlers.h"
#include "log.h"
#include "password.h"
#include "response.h"
#include "session.h"

#define REFRESH_COOKIE "portal_refresh"
#define REFRESH_BYTES 32
#define REFRESH_TEXT_LEN 43 /* base64url of 32 bytes, no padding */

static const struct field_rule login_rules[] = {
    {"username", FIELD_LINE, FIELD_REQUIRED, 1, 64, NULL},
    {"password", FIELD_TEXT, FIELD_REQUIRED, 1, PASSWORD_MAX, NULL},
};

/* sha256(token) in hex, arena-owned. */
static const char *refresh_hash_hex(request_t *req, const char *token)
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *)token, strlen(token));
    char *hex = arena_alloc(req->arena, sizeof(digest) * 2 + 1);
    if (hex != NULL)
        sodium_bin2hex(hex, sizeof(digest) * 2 + 1, digest, sizeof(digest));
    return hex;
}

/* A new refresh token (arena-owned text). */
static const char *refresh_new(request_t *req)
{
    unsigned char raw[REFRESH_BYTES];
    randombytes_buf(raw, sizeof(raw));
    char *text = arena_alloc(req->arena, REFRESH_TEXT_LEN + 1);
    if (text != NULL)
        sodium_bin2base64(text, REFRESH_TEXT_LEN + 1, raw, sizeof(raw),
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return text;
}

/* max_age_s: how long the token lives (its family may end before its ttl). */
static void refresh_cookie_set(request_t *req, const char *token, long long max_age_s)
{
    request_add_header(req,
                       "Set-Cookie: " REFRESH_COOKIE "=%s; Path=/api/auth; Max-Age=%lld; HttpOnly; "
                       "Secure; SameSite=Strict",
                       token, max_age_s);
}

static void refresh_cookie_clear(request_t *req)
{
    request_add_header(req, "Set-Cookie: " REFRESH_COOKIE
                            "=; Path=/api/auth; Max-Age=0; HttpOnly; Secure; SameSite=Strict");
}

/* The refresh cookie when it has the right shape, else NULL. */
static const char *refresh_cookie(request_t *req)
{
    const char *token = request_cookie(req, REFRESH_COOKIE);
    if (token == NULL || strlen(token) != REFRESH_TEXT_LEN)
        return NULL;
    for (const char *p = token; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return NULL;
    return token;
}

/* Makes the access token for claims and sends the sign-in answer. */
static void send_access_token(request_t *req, struct token_claims *claims)
{
    const config_t *config = req->worker->config;
    struct token_rules rules = session_token_rules(config);
    char *token = token_issue(config->keyring, &rules, claims, time(NULL));
    if (token == NULL) {
        req->log_detail = "token_issue failed";
        response_problem(req, PROBLEM_INTERNAL, NULL, NULL);
        return;
    }
    json_t *body =
        json_pack("{s:s,s:s,s:i,s:{s:I,s:s,s:s}}", "access_token", token, "token_type", "Bearer",
                  "expires_in", (int)rules.ttl_s, "user", "id", (json_int_t)claims->user_id,
                  "username", claims->username, "role", claims->role);
    free(token);
    if (body != NULL && claims->street_id > 0)
        json_object_set_new(json_object_get(body, "user"), "street_id",
                            json_integer(claims->street_id));
    response_json(req, 200, body);
}

/* Claims from row 0 of an account row (user_id, username, role,
 * street_id: auth_login_lookup and auth_token_subject both return them). */
static void fill_claims(struct token_claims *claims, PGresult *res, int version)
{
    const char *username = db_value(res, 0, "username");
    const char *role = db_value(res, 0, "role");
    memset(claims, 0, sizeof(*claims));
    claims->user_id = db_int(res, 0, "user_id", 0);
    claims->version = version;
    claims->street_id = db_int(res, 0, "street_id", 0);
    snprintf(claims->username, sizeof(claims->username), "%s", username ? username : "");
    snprintf(claims->role, sizeof(claims->role), "%s", role ? role : "");
}

static void login_refuse_wait(request_t *req, long long wait_ms, bool locked)
{
    long long seconds = (wait_ms + 999) / 1000;
    request_add_header(req, "Retry-After: %lld", seconds);
    req->log_detail = locked ? "sign-in locked" : "sign-in slowed";
    response_problem(req, PROBLEM_TOO_MANY_REQUESTS,
                     locked ? "too many failed sign-ins; try again later"
                            : "too many failed sign-ins; wait before trying again",
                     json_pack("{s:I,s:I}", "retry_after", (json_int_t)seconds, "retry_after_ms",
                               (json_int_t)wait_ms));
}

/* Logs the lock rows of auth_login_reserve: event "locked" (only when
 * with_locks: a lock the attempt set stands only if its password was
 * wrong) or "lock_ended", key "user:<name>" or "addr:<ip>", failures,
 * locked_until (the lock's end). */
static void log_lock_events(const request_t *req, PGresult *res, bool with_locks)
{
    for (int i = 0; i < PQntuples(res); i++) {
        const char *event = db_value(res, i, "event");
        bool locked = event != NULL && strcmp(event, "locked") == 0;
        if (event == NULL || (!locked && strcmp(event, "lock_ended") != 0) ||
            (locked && !with_locks))
            continue;
        logline_t line;
        log_begin(&line, locked ? "warn" : "info", locked ? "login_locked" : "login_lock_ended");
        log_str(&line, "key", db_value(res, i, "key"));
        if (locked)
            log_int(&line, "failures", db_int(res, i, "failures", 0));
        log_str(&line, locked ? "until" : "ended_at", db_value(res, i, "locked_until"));
        log_str(&line, "request_id", req->request_id ? req->request_id : "");
        log_end(&line);
    }
}

/* The client's key for the address limit: an IPv4 address as it is, an
 * IPv6 one cut to its /64 (what one subscriber gets: a client could
 * otherwise try from 2^64 addresses of its own), "unknown" for anything
 * else. nginx's limit_req keys clients the same way. Arena-owned. */
static const char *login_client_key(request_t *req)
{
    const char *addr = req->remote_addr;
    struct in_addr v4;
    struct in6_addr v6;
    char text[INET6_ADDRSTRLEN];
    if (addr == NULL)
        return "unknown";
    if (inet_pton(AF_INET, addr, &v4) == 1)
        return addr;
    if (inet_pton(AF_INET6, addr, &v6) != 1)
        return "unknown";
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
        memcpy(&v4, &v6.s6_addr[12], sizeof(v4));
        if (inet_ntop(AF_INET, &v4, text, sizeof(text)) == NULL)
            return "unknown";
        return arena_strdup(req->arena, text);
    }
    memset(&v6.s6_addr[8], 0, 8);
    if (inet_ntop(AF_INET6, &v6, text, sizeof(text)) == NULL)
        return "unknown";
    return arena_printf(req->arena, "%s/64", text);
}

/* The row of res whose event is one of the two given, or -1. */
static int login_decision_row(PGresult *res, const char *a, const char *b)
{
    for (int i = 0; i < PQntuples(res); i++) {
        const char *event = db_value(res, i, "event");
        if (event != NULL && (strcmp(event, a) == 0 || strcmp(event, b) == 0))
            return i;
    }
    return -1;
}

/* Opens the transaction that settles a reserved attempt; answers 503 when it cannot. */
static int login_begin(request_t *req)
{
    if (db_begin(req->worker->db, req->arena, req->request_id) != 0) {
        response_problem(req, PROBLEM_DATABASE_UNAVAILABLE, NULL, NULL);
        return -1;
    }
    return 0;
}

/* The password was wrong (or the account missing or disabled): the
 * reserved failure stands, the account's wait starts now. */
static void login_settle_failure(request_t *req, const char *username, PGresult *reserved)
{
    const config_t *c = req->worker->config;
    const char *values[] = {
        username,
        arena_printf(req->arena, "%u", c->login_lock_time_ms),
        arena_printf(req->arena, "%u", c->login_slow_after),
        arena_printf(req->arena, "%u", c->login_slow_delay_ms),
    };
    if (login_begin(req) != 0 || api_query(req, SQL_AUTH_LOGIN_FAILED, values) == NULL ||
        api_commit(req) != 0)
        return;
    log_lock_events(req, reserved, true);
    req->log_detail = "wrong username or password";
    response_problem(req, PROBLEM_UNAUTHORIZED, "wrong username or password", NULL);
}

void auth_login(request_t *req)
{
    if (api_validate(req, login_rules, COUNT(login_rules), false) != 0)
        return;
    const config_t *c = req->worker->config;
    const char *username = json_string_value(json_object_get(req->body, "username"));
    json_t *pw = json_object_get(req->body, "password");
    const char *password = json_string_value(pw);
    size_t password_len = json_string_length(pw);
    const char *addr = login_client_key(req);

    /* the attempt is counted, and that committed, before Argon2 runs */
    const char *reserve_values[] = {
        username,
        addr,
        arena_printf(req->arena, "%u", c->login_lock_after),
        arena_printf(req->arena, "%u", c->login_address_lock_after),
        arena_printf(req->arena, "%u", c->login_lock_time_ms),
        arena_printf(req->arena, "%u", c->login_slow_after),
        arena_printf(req->arena, "%u", c->login_slow_delay_ms),
    };
    PGresult *reserved = api_query(req, SQL_AUTH_LOGIN_RESERVE, reserve_values);
    if (reserved == NULL)
        return;
    int decision = login_decision_row(reserved, "go", "wait");
    if (decision < 0) {
        req->log_detail = "auth_login_reserve decided nothing";
        response_problem(req, PROBLEM_INTERNAL, NULL, NULL);
        return;
    }
    if (strcmp(db_value(reserved, decision, "event"), "wait") == 0) {
        login_refuse_wait(req, db_int(reserved, decision, "wait_ms", 1000),
                          db_bool(reserved, decision, "locked"));
        return;
    }
    const char *lookup_values[] = {username};
    PGresult *account = api_query(req, SQL_AUTH_LOGIN_LOOKUP, lookup_values);
    if (account == NULL || api_commit(req) != 0)
        return;
    bool found = PQntuples(account) == 1;
    if (req->worker->board != NULL)
        __atomic_fetch_add(&req->worker->board->slots[req->worker->slot].password_checks, 1,
                           __ATOMIC_RELAXED);
    bool good = password_verify(found ? db_value(account, 0, "password_hash") : NULL, password,
                                password_len);
    if (!good || db_bool(account, 0, "disabled")) { /* found, or good is false */
        login_settle_failure(req, username, reserved);
        return;
    }
    struct token_claims claims;
    fill_claims(&claims, account, (int)db_int(account, 0, "token_version", 0));
    const char *refresh = refresh_new(req);
    if (refresh == NULL) {
        response_problem(req, PROBLEM_INTERNAL, NULL, NULL); /* out of memory */
        return;
    }
    const char *issue_values[] = {
        db_value(account, 0, "user_id"),
        refresh_hash_hex(req, refresh),
        arena_printf(req->arena, "%u", c->refresh_ttl_ms),
        arena_printf(req->arena, "%u", c->refresh_max_age_ms),
    };
    const char *cleared_values[] = {
        username,
        addr,
        arena_printf(req->arena, "%u", c->login_address_lock_after),
    };
    if (login_begin(req) != 0 || api_query(req, SQL_AUTH_LOGIN_SUCCEEDED, cleared_values) == NULL ||
        api_query(req, SQL_AUTH_REFRESH_ISSUE, issue_values) == NULL || api_commit(req) != 0)
        return;
    log_lock_events(req, reserved, false);
    req->user.user_id = claims.user_id;
    req->user.username = arena_strdup(req->arena, claims.username);
    unsigned cookie_ms =
        c->refresh_ttl_ms < c->refresh_max_age_ms ? c->refresh_ttl_ms : c->refresh_max_age_ms;
    refresh_cookie_set(req, refresh, cookie_ms / 1000);
    send_access_token(req, &claims);
}

void auth_refresh(request_t *req)
{
    const char *token = refresh_cookie(req);
    if (token == NULL) {
        req->log_detail = "no refresh cookie";
        response_problem(req, PROBLEM_UNAUTHORIZED, "sign in again", NULL);
        return;
    }
    const char *next = refresh_new(req);
    if (next == NULL) {
        response_problem(req, PROBLEM_INTERNAL, NULL, NULL); /* out of memory */
        return;
    }
    const config_t *c = req->worker->config;
    const char *values[] = {
        refresh_hash_hex(req, token),
        refresh_hash_hex(req, next),
        arena_printf(req->arena, "%u", c->refresh_ttl_ms),
        arena_printf(req->arena, "%u", c->refresh_grace_ms),
        arena_printf(req->arena, "%u", c->refresh_max_age_ms),
    };
    PGresult *res = api_query(req, SQL_AUTH_REFRESH_ROTATE, values);
    if (res == NULL)
        return;
    const char *outcome = db_value(res, 0, "outcome");
    bool rotated = outcome != NULL && strcmp(outcome, "ok") == 0;
    bool grace = outcome != NULL && strcmp(outcome, "grace") == 0;
    if (!rotated && !grace) {
        if (api_commit(req) != 0) /* a revoked family must stay revoked, its account signed out */
            return;
        if (outcome != NULL && strcmp(outcome, "reused") == 0) {
            logline_t line;
            log_begin(&line, "warn", "refresh_reused");
            log_str(&line, "user_id", db_value(res, 0, "user_id"));
            log_str(&line, "request_id", req->request_id ? req->request_id : "");
            log_end(&line);
        }
        refresh_cookie_clear(req);
        req->log_detail =
            arena_printf(req->arena, "refresh token %s", outcome ? outcome : "refused");
        response_problem(req, PROBLEM_UNAUTHORIZED, "sign in again", NULL);
        return;
    }
    const char *subject_values[] = {db_value(res, 0, "user_id"), db_value(res, 0, "token_version")};
    PGresult *subject = api_query(req, SQL_AUTH_TOKEN_SUBJECT, subject_values);
    if (subject == NULL)
        return;
    if (PQntuples(subject) != 1) {
        refresh_cookie_clear(req);
        response_problem(req, PROBLEM_UNAUTHORIZED, "sign in again", NULL);
        return;
    }
    if (api_commit(req) != 0)
        return;
    struct token_claims claims;
    fill_claims(&claims, subject, (int)db_int(res, 0, "token_version", 0));
    if (rotated) {
        refresh_cookie_set(req, next, db_int(res, 0, "expires_in", 0));
    } else {
        /* a second tab with the cookie the first one just traded: an access
         * token, and the cookie stays the successor the first answer set */
        logline_t line;
        log_begin(&line, "info", "refresh_in_grace");
        log_str(&line, "user_id", db_value(res, 0, "user_id"));
        log_str(&line, "request_id", req->request_id ? req->request_id : "");
        log_end(&line);
    }
    send_access_token(req, &claims);
}

void auth_logout(request_t *req)
{
    const char *token = refresh_cookie(req);
    if (token != NULL) {
        const char *values[] = {refresh_hash_hex(req, token)};
        if (api_query(req, SQL_AUTH_REFRESH_REVOKE, values) == NULL || api_commit(req) != 0)
            return;
    }
    refresh_cookie_clear(req);
    response_send(req, 204, "application/json", "", 0, NULL);
}

void auth_me(request_t *req)
{
    PGresult *res = api_query_none(req, SQL_ME);
    if (res != NULL)
        api_commit_and_send(req, 200, res);
}
