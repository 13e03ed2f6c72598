/*
 * keyring: the keys access tokens are signed and checked with, read from a
 * directory of files named <kid>.<alg>.key (a secret or private key, which
 * can sign) and <kid>.<alg>.pub (a public key, which can only verify):
 *
 *   k1.hs256.key    at least 32 random bytes (HS256 signs and verifies)
 *   r1.rs256.key    RSA private key, PEM       r1.rs256.pub  its public key
 *   e1.es256.key    P-256 private key, PEM     e1.es256.pub  its public key
 *
 * Every token names its key by kid and the key fixes the algorithm, so a
 * token can never choose how it is checked. Keeping old keys in the
 * directory while new tokens are signed with a new one rotates keys without
 * signing anyone out. Loaded before the pool forks and again on SIGHUP.
 */
#ifndef PORTAL_KEYRING_H
#define PORTAL_KEYRING_H

#include <jwt.h>
#include <stddef.h>

#define KEYRING_KID_MAX 64
#define KEYRING_HMAC_MIN 32
#define KEYRING_FILE_MAX 16384

struct jwt_key {
    char kid[KEYRING_KID_MAX + 1];
    jwt_alg_t alg;
    unsigned char *sign; /* NULL when this key only verifies */
    size_t sign_len;
    unsigned char *verify;
    size_t verify_len;
};

typedef struct keyring {
    struct jwt_key *keys;
    size_t count;
    const struct jwt_key *signing;
} keyring_t;

/* Reads every key in dir and picks the signing key (signing_kid, or the only
 * key that can sign when it is ""). Returns NULL with a one-line reason in
 * err. Free with keyring_free. */
keyring_t *keyring_load(const char *dir, const char *signing_kid, char *err, size_t errlen);
void keyring_free(keyring_t *ring);

/* The key called kid, or NULL. */
const struct jwt_key *keyring_find(const keyring_t *ring, const char *kid);

/* Whether text is a usable kid: 1-64 of [A-Za-z0-9_-]. */
int keyring_kid_valid(const char *text, size_t len);

#endif
