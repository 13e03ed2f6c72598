/*
 * password: Argon2id hashes (libsodium's crypto_pwhash_str), checked in
 * constant time. A sign-in that names no account is checked against a
 * dummy hash of the same cost, so the answer takes as long either way.
 */
#ifndef PORTAL_PASSWORD_H
#define PORTAL_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#include <sodium.h>

#define PASSWORD_MIN 10
#define PASSWORD_MAX 256

/* Hashes password into out (crypto_pwhash_STRBYTES). 0, or -1 when out of memory. */
int password_hash(const char *password, size_t len, char out[crypto_pwhash_STRBYTES]);

/* Checks password against hash; hash NULL means "no such account": the
 * same work is done against a dummy and false is returned. */
bool password_verify(const char *hash, const char *password, size_t len);

/* Whether a new password is acceptable; why says what is wrong. */
bool password_acceptable(const char *password, size_t len, const char **why);

#endif
