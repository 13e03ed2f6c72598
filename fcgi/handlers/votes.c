/*
 * votes: the public's vote. A voter is the random id in a signed cookie
 * (voter.c), issued by POST /api/public/voter; POST
 * /api/public/cases/{id}/votes casts one vote per voter per case through
 * vote_cast_counts() in the database, which also holds the deadline (by
 * its own clock), the edition's choices and the cap per client address. A
 * vote must come from the portal's own pages: another site's Origin is
 * refused before anything is read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "handlers.h"
#include "response.h"
#include "tally.h"
#include "voter.h"

#define VOTER_COOKIE "portal_voter"
#define VOTER_COOKIE_MAX_AGE_S (400 * 24 * 3600) /* the longest browsers keep */

static const struct field_rule vote_rules[] = {
    {"choice", FIELD_LINE, FIELD_REQUIRED, 1, 20, NULL},
};

/* Whether the request comes from the portal's own pages, as far as the
 * browser says: an Origin, when sent, names the site the request came to
 * (with the scheme nginx saw), and Sec-Fetch-Site is not cross-site. A
 * client that sends neither (curl, an old browser) passes: SameSite=Lax
 * keeps the voter cookie off another site's POST anyway. */
static bool from_own_site(request_t *req)
{
    const char *fetch_site = request_param(req, "HTTP_SEC_FETCH_SITE");
    if (fetch_site != NULL && strcmp(fetch_site, "cross-site") == 0)
        return false;
    const char *origin = request_param(req, "HTTP_ORIGIN");
    if (origin == NULL || origin[0] == '\0')
        return true;
    /* behind a proxy that ends TLS, the scheme nginx saw is not the reader's */
    const char *site = req->worker->config->public_url;
    if (site[0] != '\0' && strcmp(origin, site) == 0)
        return true;
    const char *host = request_param(req, "HTTP_HOST");
    const char *https = request_param(req, "HTTPS");
    if (host == NULL || host[0] == '\0')
        return false;
    const char *own = arena_printf(
        req->arena, "%s://%s", https != NULL && strcmp(https, "on") == 0 ? "https" : "http", host);
    return own != NULL && strcmp(origin, own) == 0;
}

static bool refuse_other_sites(request_t *req)
{
    if (from_own_site(req))
        return false;
    req->log_detail = "vote from another site's page";
    response_problem(req, PROBLEM_FORBIDDEN, "votes are taken from the portal's own pages only",
                     NULL);
    return true;
}

void votes_voter(request_t *req)
{
    if (refuse_other_sites(req))
        return;
    const struct voter_key *key = req->worker->config->voter_key;
    char id[VOTER_ID_HEX + 1];
    request_add_header(req, "Cache-Control: no-store");
    if (voter_cookie_check(key, request_cookie(req, VOTER_COOKIE), id)) {
        response_json(req, 200, json_pack("{s:b}", "issued", 0));
        return;
    }
    char cookie[VOTER_COOKIE_LEN + 1];
    voter_cookie_make(key, cookie);
    request_add_header(req,
                       "Set-Cookie: " VOTER_COOKIE "=%s; Path=/api/public; Max-Age=%d; HttpOnly; "
                       "Secure; SameSite=Lax",
                       cookie, VOTER_COOKIE_MAX_AGE_S);
    response_json(req, 201, json_pack("{s:b}", "issued", 1));
}

/* The voter id of the request's cookie into id; on a missing (401) or
 * forged or altered (403) one answers and returns false. */
static bool voter_of(request_t *req, char id[VOTER_ID_HEX + 1])
{
    const char *cookie = request_cookie(req, VOTER_COOKIE);
    if (cookie == NULL) {
        req->log_detail = "no voter cookie";
        response_problem(req, PROBLEM_UNAUTHORIZED,
                         "get a voter cookie first (POST /api/public/voter)", NULL);
        return false;
    }
    if (!voter_cookie_check(req->worker->config->voter_key, cookie, id)) {
        req->log_detail = "voter cookie fails its MAC";
        response_problem(req, PROBLEM_FORBIDDEN, "the voter cookie is not one the portal issued",
                         NULL);
        return false;
    }
    return true;
}

/* A failure of vote_cast itself: the address cap (PV429), or the
 * database's own deadline rule firing after the function's check (23514,
 * a vote racing the deadline); anything else as any statement's. */
static void refuse_failed_vote(request_t *req, PGresult *res)
{
    const char *state = res != NULL ? db_sqlstate(res) : "";
    if (strcmp(state, "PV429") == 0) {
        req->log_detail = "votes per address reached";
        response_problem(req, PROBLEM_TOO_MANY_REQUESTS,
                         "too many votes on this case from your network", NULL);
    } else if (strcmp(state, "23514") == 0) {
        req->log_detail = "vote refused by votes_guard";
        response_problem(req, PROBLEM_VOTING_CLOSED, NULL, NULL);
    } else {
        api_answer_failure(req, res);
    }
}

void votes_cast(request_t *req)
{
    char voter[VOTER_ID_HEX + 1];
    if (refuse_other_sites(req) || !voter_of(req, voter) ||
        api_validate(req, vote_rules, COUNT(vote_rules), false) != 0)
        return;
    const config_t *config = req->worker->config;
    char receipt[VOTER_RECEIPT_HEX + 1], address[VOTER_ADDRESS_HEX + 1];
    voter_receipt_make(receipt);
    voter_address_key(config->voter_key, req->remote_addr, address);
    const char *case_id = api_param_text(req, "id");
    const char *values[] = {
        case_id, voter,   json_string_value(json_object_get(req->body, "choice")),
        receipt, address, arena_printf(req->arena, "%u", config->votes_per_address),
    };
    request_add_header(req, "Cache-Control: no-store");
    /* vote_cast_counts writes nothing unless it counts the vote, and it
     * holds the row of this case and address until COMMIT: the statement
     * in a transaction of its own, in one round trip, keeps one office's
     * votes from queueing behind a worker, and a vote waits on the
     * database once (ROUTE_ONE_TRIP). It reads no per-transaction setting:
     * the request id goes into no row */
    bool committed;
    PGresult *res = db_write_alone(req->worker->db, req->arena, SQL_VOTES_CAST, COUNT(values),
                                   values, &committed);
    if (res == NULL || !db_ok(res)) {
        refuse_failed_vote(req, res);
        return;
    }
    const char *outcome = db_value(res, 0, "outcome");
    if (outcome == NULL) {
        response_problem(req, PROBLEM_INTERNAL, NULL, NULL);
    } else if (strcmp(outcome, "not_found") == 0) {
        response_problem(req, PROBLEM_NOT_FOUND, NULL, NULL);
    } else if (strcmp(outcome, "closed") == 0) {
        req->log_detail = "case not open for votes";
        response_problem(req, PROBLEM_VOTING_CLOSED, NULL, NULL);
    } else if (strcmp(outcome, "bad_choice") == 0) {
        json_error_t jerr;
        json_t *choices = json_loads(db_value(res, 0, "choices"), 0, &jerr);
        json_t *errors = NULL;
        validate_add(&errors, "choice", "is not one of this edition's choices");
        response_problem(
            req, PROBLEM_VALIDATION, "is not one of this edition's choices",
            json_pack("{s:o,s:o}", "errors", errors, "choices", choices ? choices : json_array()));
    } else if (!committed) { /* as api_commit answers */
        response_problem(req, PROBLEM_CONFLICT, "the change could not be saved; try again", NULL);
    } else {
        bool counted = strcmp(outcome, "counted") == 0;
        json_t *votes = tally_in_order(db_value(res, 0, "choices"), db_value(res, 0, "counts"));
        if (votes == NULL) {
            req->log_detail = "vote counts not of their shape";
            response_problem(req, PROBLEM_INTERNAL, NULL, NULL);
            return;
        }
        json_t *body =
            json_pack("{s:I,s:s?,s:s?,s:b,s:o}", "case_id", (json_int_t)strtoll(case_id, NULL, 10),
                      "choice", db_value(res, 0, "choice"), "receipt", db_value(res, 0, "receipt"),
                      "counted", counted, "votes", votes);
        response_json(req, counted ? 201 : 200, body);
    }
}
