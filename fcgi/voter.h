/*
 * voter: who a member of the public is, as far as the vote can tell. A
 * voter is a random id carried in a cookie with a MAC (HMAC-SHA-256 under
 * the voter key, which every pool host shares), so a forged or altered
 * cookie is told from a real one without a database lookup. Client
 * addresses are kept only as keyed hashes (an IPv6 address by its /64), so
 * the per-address vote cap never stores an address.
 */
#ifndef PORTAL_VOTER_H
#define PORTAL_VOTER_H

#include <stdbool.h>
#include <stddef.h>

#define VOTER_KEY_BYTES 32
#define VOTER_ID_HEX 32                              /* 16 random bytes */
#define VOTER_COOKIE_LEN (3 + VOTER_ID_HEX + 1 + 64) /* "v1." id "." mac */
#define VOTER_ADDRESS_HEX 32
#define VOTER_RECEIPT_HEX 32

struct voter_key {
    unsigned char bytes[VOTER_KEY_BYTES];
};

/* Reads the key file (32 to 4096 bytes of secret, readable by its owner
 * only) into key. -1 with a message in err when it cannot be used. */
int voter_key_load(const char *path, struct voter_key *key, char *err, size_t errlen);

/* A new voter's cookie value into out (VOTER_COOKIE_LEN + 1 bytes). */
void voter_cookie_make(const struct voter_key *key, char out[VOTER_COOKIE_LEN + 1]);

/* The voter id of a cookie value (into id, VOTER_ID_HEX + 1 bytes) when
 * its MAC is right: true. False for anything else, of any length. */
bool voter_cookie_check(const struct voter_key *key, const char *cookie, char id[VOTER_ID_HEX + 1]);

/* The keyed hash of a client address: IPv4 whole, IPv6 by its /64 (an
 * IPv4-mapped IPv6 address as the IPv4 one); other text as it is. */
void voter_address_key(const struct voter_key *key, const char *address,
                       char out[VOTER_ADDRESS_HEX + 1]);

/* A random receipt. */
void voter_receipt_make(char out[VOTER_RECEIPT_HEX + 1]);

#endif
