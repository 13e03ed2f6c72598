/*
 * public: what anyone may read as JSON, without signing in: the column's
 * editions, one edition with its cases, one case with its choices and
 * counts, and an edition's results. Each runs as the public (row security
 * shows only published, voting and closed cases, so a draft's id is a 404
 * like a missing one) and answers the same bytes to every reader, which is
 * what lets nginx keep them for a moment (see api_commit_and_send_public).
 */
#include <sodium.h>

#include "api.h"
#include "handlers.h"
#include "response.h"

/* Runs statement with the path parameter param (or none) and sends its
 * doc publicly; 404 when there is none. */
static void send_public_doc(request_t *req, int statement, const char *param)
{
    const char *values[] = {param ? api_param_text(req, param) : NULL};
    PGresult *res = param ? api_query(req, statement, values) : api_query_none(req, statement);
    if (res == NULL)
        return;
    const char *doc = db_value(res, 0, "doc");
    if (doc == NULL) {
        /* kept as briefly as an answer, so a cached answer that became a
         * 404 is replaced, not served stale for as long as it is asked for */
        request_add_header(req, "Cache-Control: public, max-age=%d", API_PUBLIC_MAX_AGE_S);
        response_problem(req, PROBLEM_NOT_FOUND, NULL, NULL);
        return;
    }
    api_commit_and_send_public(req, 200, "application/json", doc, db_length(res, 0, "doc"));
}

void public_editions_list(request_t *req)
{
    send_public_doc(req, SQL_PUBLIC_EDITIONS_LIST, NULL);
}

void public_edition_get(request_t *req)
{
    send_public_doc(req, SQL_PUBLIC_EDITION_GET, "number");
}

void public_case_get(request_t *req)
{
    send_public_doc(req, SQL_PUBLIC_CASE_GET, "id");
}

void public_results(request_t *req)
{
    send_public_doc(req, SQL_PUBLIC_RESULTS, "number");
}

/* The ballot list exists once the edition's vote has closed: before that,
 * and for an edition the public cannot read, 404. Its digest now goes in
 * Repr-Digest (RFC 9530) beside the one the edition's tally recorded. */
void public_ballots(request_t *req)
{
    const char *number = api_param_text(req, "number");
    const char *values[] = {number};
    PGresult *res = api_query(req, SQL_PUBLIC_BALLOTS, values);
    if (res == NULL)
        return;
    const char *csv = db_value(res, 0, "csv");
    const char *digest = db_value(res, 0, "digest");
    if (csv == NULL || digest == NULL) {
        request_add_header(req, "Cache-Control: public, max-age=%d", API_PUBLIC_MAX_AGE_S);
        response_problem(req, PROBLEM_NOT_FOUND,
                         "an edition's ballot list is published when its vote closes", NULL);
        return;
    }
    size_t len = db_length(res, 0, "csv");
    unsigned char sha[crypto_hash_sha256_BYTES];
    char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    crypto_hash_sha256(sha, (const unsigned char *)csv, len);
    sodium_bin2base64(b64, sizeof(b64), sha, sizeof(sha), sodium_base64_VARIANT_ORIGINAL);
    request_add_header(req, "Repr-Digest: sha-256=:%s:", b64);
    request_add_header(req, "Content-Disposition: inline; filename=\"ballots-%s.csv\"", number);
    api_commit_and_send_public(req, 200, "text/csv; charset=utf-8", csv, len);
}
