/* password: Argon2id hashing and checking. See password.h. */
#include "password.h"

#include <string.h>

#include "utf8.h"

/* Interactive limits: about 0.1 s and 64 MiB on this class of machine, paid
 * once per sign-in, never per request. */
#define PASSWORD_OPSLIMIT crypto_pwhash_OPSLIMIT_INTERACTIVE
#define PASSWORD_MEMLIMIT crypto_pwhash_MEMLIMIT_INTERACTIVE

int password_hash(const char *password, size_t len, char out[crypto_pwhash_STRBYTES])
{
    return crypto_pwhash_str(out, password, len, PASSWORD_OPSLIMIT, PASSWORD_MEMLIMIT);
}

/* A hash of a random password nobody knows, with the same parameters as
 * password_hash, so checking against it costs what a real check costs. */
static const char dummy_hash[crypto_pwhash_STRBYTES] =
    "$argon2id$v=19$m=65536,t=2,p=1$jZsNLIOV5Vyh5ZHBrvxLsQ$BZ5K8MXlXbFWA/dChBWpduD+st/"
    "dYGGg5Hvdxg6SU8c";

bool password_verify(const char *hash, const char *password, size_t len)
{
    if (hash == NULL) {
        int same = crypto_pwhash_str_verify(dummy_hash, password, len);
        (void)same; /* nobody knows the dummy's password; only the time matters */
        return false;
    }
    return crypto_pwhash_str_verify(hash, password, len) == 0;
}

bool password_acceptable(const char *password, size_t len, const char **why)
{
    if (len < PASSWORD_MIN) {
        *why = "must be at least 10 characters";
        return false;
    }
    if (len > PASSWORD_MAX) {
        *why = "must be at most 256 bytes";
        return false;
    }
    if (!utf8_validate(password, len, NULL)) {
        *why = "must be UTF-8 text";
        return false;
    }
    return true;
}
