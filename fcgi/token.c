/* token: JWT issue and verification rules. See token.h. */
#include "token.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *token_error_name(enum token_error err)
{
    static const char *const names[] = {
        [TOKEN_OK] = "ok",
        [TOKEN_MALFORMED] = "malformed",
        [TOKEN_UNKNOWN_KEY] = "unknown-key",
        [TOKEN_ALG_MISMATCH] = "alg-mismatch",
        [TOKEN_BAD_SIGNATURE] = "bad-signature",
        [TOKEN_EXPIRED] = "expired",
        [TOKEN_NOT_YET_VALID] = "not-yet-valid",
        [TOKEN_ISSUED_IN_FUTURE] = "issued-in-future",
        [TOKEN_WRONG_ISSUER] = "wrong-issuer",
        [TOKEN_WRONG_AUDIENCE] = "wrong-audience",
        [TOKEN_BAD_CLAIMS] = "bad-claims",
    };
    if ((unsigned)err >= sizeof(names) / sizeof(names[0]))
        return "unknown";
    return names[err];
}

char *token_issue(const keyring_t *ring, const struct token_rules *rules,
                  const struct token_claims *claims, time_t now)
{
    if (ring == NULL || ring->signing == NULL)
        return NULL;
    const struct jwt_key *key = ring->signing;
    jwt_t *jwt = NULL;
    char *text = NULL;
    char sub[24];
    unsigned char raw_id[12];
    char jti[sizeof(raw_id) * 2 + 1];
    snprintf(sub, sizeof(sub), "%lld", (long long)claims->user_id);
    randombytes_buf(raw_id, sizeof(raw_id));
    sodium_bin2hex(jti, sizeof(jti), raw_id, sizeof(raw_id));
    if (jwt_new(&jwt) != 0)
        return NULL;
    int rc = jwt_add_header(jwt, "kid", key->kid);
    rc |= jwt_add_grant(jwt, "iss", rules->issuer);
    rc |= jwt_add_grant(jwt, "aud", rules->audience);
    rc |= jwt_add_grant(jwt, "sub", sub);
    rc |= jwt_add_grant(jwt, "jti", jti);
    rc |= jwt_add_grant_int(jwt, "iat", (long)now);
    rc |= jwt_add_grant_int(jwt, "nbf", (long)now);
    rc |= jwt_add_grant_int(jwt, "exp", (long)(now + rules->ttl_s));
    rc |= jwt_add_grant_int(jwt, "ver", claims->version);
    rc |= jwt_add_grant(jwt, "role", claims->role);
    rc |= jwt_add_grant(jwt, "name", claims->username);
    if (claims->street_id > 0)
        rc |= jwt_add_grant_int(jwt, "street_id", (long)claims->street_id);
    rc |= jwt_set_alg(jwt, key->alg, key->sign, (int)key->sign_len);
    if (rc == 0)
        text = jwt_encode_str(jwt);
    jwt_free(jwt);
    return text;
}

/* Decodes the first part of a token (the header) into JSON. */
static json_t *token_header(const char *text, size_t len)
{
    unsigned char raw[1024];
    size_t raw_len;
    if (len == 0 || len > 1300 ||
        sodium_base642bin(raw, sizeof(raw), text, len, NULL, &raw_len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return NULL;
    return json_loadb((const char *)raw, raw_len, JSON_REJECT_DUPLICATES, NULL);
}

static int is_base64url(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

/* An integer claim; -1 when missing or not an integer. */
static long claim_int(jwt_t *jwt, const char *name)
{
    errno = 0;
    long v = jwt_get_grant_int(jwt, name);
    return errno != 0 ? -1 : v;
}

static enum token_error check_claims(jwt_t *jwt, const struct token_rules *rules, time_t now,
                                     struct token_claims *out)
{
    const char *iss = jwt_get_grant(jwt, "iss");
    if (iss == NULL || strcmp(iss, rules->issuer) != 0)
        return TOKEN_WRONG_ISSUER;
    const char *aud = jwt_get_grant(jwt, "aud");
    if (aud == NULL || strcmp(aud, rules->audience) != 0)
        return TOKEN_WRONG_AUDIENCE;
    long exp = claim_int(jwt, "exp");
    long iat = claim_int(jwt, "iat");
    long ver = claim_int(jwt, "ver");
    if (exp < 0 || iat < 0 || ver < 1 || ver > 2147483647)
        return TOKEN_BAD_CLAIMS;
    if ((long)now >= exp + rules->leeway_s)
        return TOKEN_EXPIRED;
    errno = 0;
    long nbf = jwt_get_grant_int(jwt, "nbf");
    if (errno == 0 && nbf > (long)now + rules->leeway_s)
        return TOKEN_NOT_YET_VALID;
    if (errno != 0 && errno != ENOENT)
        return TOKEN_BAD_CLAIMS;
    if (iat > (long)now + rules->leeway_s)
        return TOKEN_ISSUED_IN_FUTURE;
    if (exp - iat > rules->ttl_s + rules->leeway_s)
        return TOKEN_BAD_CLAIMS; /* longer-lived than this service would ever make */
    const char *sub = jwt_get_grant(jwt, "sub");
    const char *role = jwt_get_grant(jwt, "role");
    const char *name = jwt_get_grant(jwt, "name");
    if (sub == NULL || role == NULL || name == NULL || strlen(role) > TOKEN_ROLE_MAX ||
        strlen(name) > TOKEN_NAME_MAX || sub[0] < '1' || sub[0] > '9' || strlen(sub) > 18)
        return TOKEN_BAD_CLAIMS;
    char *end;
    long long id = strtoll(sub, &end, 10);
    if (*end != '\0')
        return TOKEN_BAD_CLAIMS;
    memset(out, 0, sizeof(*out));
    out->user_id = id;
    out->version = (int)ver;
    errno = 0;
    long street = jwt_get_grant_int(jwt, "street_id");
    out->street_id = errno == 0 && street > 0 ? street : 0;
    snprintf(out->role, sizeof(out->role), "%s", role);
    snprintf(out->username, sizeof(out->username), "%s", name);
    out->issued_at = iat;
    out->expires_at = exp;
    return TOKEN_OK;
}

enum token_error token_verify(const keyring_t *ring, const struct token_rules *rules,
                              const char *text, time_t now, struct token_claims *out)
{
    if (text == NULL)
        return TOKEN_MALFORMED;
    size_t len = strnlen(text, TOKEN_MAX_LEN + 1);
    const char *dot1 = memchr(text, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - text)) : NULL;
    if (len > TOKEN_MAX_LEN || dot1 == NULL || dot2 == NULL ||
        memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - text)) != NULL ||
        !is_base64url(text, (size_t)(dot1 - text)) ||
        !is_base64url(dot1 + 1, (size_t)(dot2 - dot1 - 1)) ||
        !is_base64url(dot2 + 1, len - (size_t)(dot2 + 1 - text)) || dot2 + 1 == text + len)
        return TOKEN_MALFORMED; /* an unsigned token ("x.y.") ends here too */

    json_t *header = token_header(text, (size_t)(dot1 - text));
    if (!json_is_object(header)) {
        json_decref(header);
        return TOKEN_MALFORMED;
    }
    const char *alg = json_string_value(json_object_get(header, "alg"));
    const char *kid = json_string_value(json_object_get(header, "kid"));
    enum token_error result = TOKEN_OK;
    const struct jwt_key *key = NULL;
    if (alg == NULL || json_object_get(header, "crit") != NULL)
        result = TOKEN_MALFORMED;
    else if (kid == NULL || (key = keyring_find(ring, kid)) == NULL)
        result = TOKEN_UNKNOWN_KEY;
    else if (strcmp(alg, jwt_alg_str(key->alg)) != 0)
        result = TOKEN_ALG_MISMATCH;
    json_decref(header);
    if (result != TOKEN_OK)
        return result;

    jwt_t *jwt = NULL;
    if (jwt_decode(&jwt, text, key->verify, (int)key->verify_len) != 0 || jwt == NULL) {
        jwt_free(jwt);
        return TOKEN_BAD_SIGNATURE;
    }
    if (jwt_get_alg(jwt) != key->alg)
        result = TOKEN_ALG_MISMATCH; /* belt and braces: what libjwt actually used */
    else
        result = check_claims(jwt, rules, now, out);
    jwt_free(jwt);
    return result;
}
