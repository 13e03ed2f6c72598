/*
 * token: access tokens (JWT, RFC 7519) made and checked with libjwt 1.10.
 * libjwt verifies with whatever algorithm a token's header names and checks
 * no claims, so everything else is done here: the header is read first, the
 * key is chosen by its kid, the header's alg must be that key's algorithm
 * (so "none", or HS256 keyed with an RSA public key, never verify), and
 * exp, nbf, iat, iss and aud are checked with a leeway. Pure: no I/O, the
 * time is an argument.
 */
#ifndef PORTAL_TOKEN_H
#define PORTAL_TOKEN_H

#include <stdint.h>
#include <time.h>

#include "keyring.h"

#define TOKEN_MAX_LEN 8192
#define TOKEN_ROLE_MAX 16
#define TOKEN_NAME_MAX 32

struct token_claims {
    int64_t user_id;
    int64_t street_id; /* 0: none */
    int version;       /* the user's token_version when it was made */
    char role[TOKEN_ROLE_MAX + 1];
    char username[TOKEN_NAME_MAX + 1];
    int64_t issued_at;
    int64_t expires_at;
};

struct token_rules {
    const char *issuer;
    const char *audience;
    long leeway_s;
    long ttl_s;
};

enum token_error {
    TOKEN_OK,
    TOKEN_MALFORMED,     /* not three base64url parts, or a header/claims that are not JSON */
    TOKEN_UNKNOWN_KEY,   /* no kid, or a kid not in the keyring */
    TOKEN_ALG_MISMATCH,  /* the header's alg is not the key's algorithm */
    TOKEN_BAD_SIGNATURE, /* libjwt refused it */
    TOKEN_EXPIRED,
    TOKEN_NOT_YET_VALID,
    TOKEN_ISSUED_IN_FUTURE,
    TOKEN_WRONG_ISSUER,
    TOKEN_WRONG_AUDIENCE,
    TOKEN_BAD_CLAIMS, /* sub, ver, exp or iat missing or of the wrong type */
};

/* A signed token for claims with the keyring's signing key, valid from now
 * for rules->ttl_s. Returns a malloc'd string (free it) or NULL. */
char *token_issue(const keyring_t *ring, const struct token_rules *rules,
                  const struct token_claims *claims, time_t now);

/* Checks text at time now; fills *out only when it returns TOKEN_OK. */
enum token_error token_verify(const keyring_t *ring, const struct token_rules *rules,
                              const char *text, time_t now, struct token_claims *out);

/* A short name for the log ("expired", "alg-mismatch", ...). */
const char *token_error_name(enum token_error err);

#endif
