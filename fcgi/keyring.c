/* keyring: loading keys from a directory. See keyring.h. */
#include "keyring.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void keyring_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void keyring_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int keyring_kid_valid(const char *text, size_t len)
{
    if (len == 0 || len > KEYRING_KID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* Reads a whole key file (at most KEYRING_FILE_MAX bytes) into a malloc'd,
 * NUL-terminated buffer. Secret files readable by others are refused. */
static unsigned char *read_key_file(int dirfd, const char *name, int secret, size_t *len, char *err,
                                    size_t errlen)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        keyring_err(err, errlen, "cannot read key %s: %s", name, strerror(errno));
        return NULL;
    }
    struct stat st;
    unsigned char *buf = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        st.st_size > KEYRING_FILE_MAX) {
        keyring_err(err, errlen, "key %s is not a regular file of 1 to %d bytes", name,
                    KEYRING_FILE_MAX);
        goto done;
    }
    if (secret && (st.st_mode & 0007) != 0) {
        keyring_err(err, errlen, "key %s is readable by others (chmod 0600 or 0640)", name);
        goto done;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        keyring_err(err, errlen, "out of memory");
        goto done;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n <= 0) {
            keyring_err(err, errlen, "cannot read key %s", name);
            sodium_memzero(buf, (size_t)st.st_size);
            free(buf);
            buf = NULL;
            goto done;
        }
        got += (size_t)n;
    }
    buf[got] = '\0';
    *len = got;
done:
    close(fd);
    return buf;
}

static void key_clear(struct jwt_key *key)
{
    if (key->sign != NULL) {
        sodium_memzero(key->sign, key->sign_len);
        free(key->sign);
    }
    if (key->verify != NULL && key->verify != key->sign) {
        sodium_memzero(key->verify, key->verify_len);
        free(key->verify);
    }
    key->sign = key->verify = NULL;
}

void keyring_free(keyring_t *ring)
{
    if (ring == NULL)
        return;
    for (size_t i = 0; i < ring->count; i++)
        key_clear(&ring->keys[i]);
    free(ring->keys);
    free(ring);
}

const struct jwt_key *keyring_find(const keyring_t *ring, const char *kid)
{
    if (ring == NULL || kid == NULL)
        return NULL;
    for (size_t i = 0; i < ring->count; i++)
        if (strcmp(ring->keys[i].kid, kid) == 0)
            return &ring->keys[i];
    return NULL;
}

static struct jwt_key *key_slot(keyring_t *ring, const char *kid, size_t kid_len, jwt_alg_t alg,
                                char *err, size_t errlen)
{
    for (size_t i = 0; i < ring->count; i++) {
        struct jwt_key *k = &ring->keys[i];
        if (strlen(k->kid) == kid_len && strncmp(k->kid, kid, kid_len) == 0) {
            if (k->alg != alg) {
                keyring_err(err, errlen, "key %.*s has files for two algorithms", (int)kid_len,
                            kid);
                return NULL;
            }
            return k;
        }
    }
    struct jwt_key *grown = realloc(ring->keys, (ring->count + 1) * sizeof(*grown));
    if (grown == NULL) {
        keyring_err(err, errlen, "out of memory");
        return NULL;
    }
    ring->keys = grown;
    struct jwt_key *k = &ring->keys[ring->count++];
    memset(k, 0, sizeof(*k));
    memcpy(k->kid, kid, kid_len);
    k->alg = alg;
    return k;
}

/* Parses "<kid>.<alg>.<key|pub>"; 0 on success. */
static int parse_key_name(const char *name, size_t *kid_len, jwt_alg_t *alg, int *is_private)
{
    const char *first = strchr(name, '.');
    if (first == NULL)
        return -1;
    const char *second = strchr(first + 1, '.');
    if (second == NULL || strchr(second + 1, '.') != NULL)
        return -1;
    *kid_len = (size_t)(first - name);
    if (!keyring_kid_valid(name, *kid_len))
        return -1;
    size_t alg_len = (size_t)(second - first - 1);
    if (alg_len == 5 && strncmp(first + 1, "hs256", 5) == 0)
        *alg = JWT_ALG_HS256;
    else if (alg_len == 5 && strncmp(first + 1, "rs256", 5) == 0)
        *alg = JWT_ALG_RS256;
    else if (alg_len == 5 && strncmp(first + 1, "es256", 5) == 0)
        *alg = JWT_ALG_ES256;
    else
        return -1;
    if (strcmp(second + 1, "key") == 0)
        *is_private = 1;
    else if (strcmp(second + 1, "pub") == 0)
        *is_private = 0;
    else
        return -1;
    if (*alg == JWT_ALG_HS256 && !*is_private)
        return -1; /* an HMAC secret has no public half */
    return 0;
}

/* Signs and verifies a probe token, so a mismatched pair or a PEM libjwt
 * cannot use stops start-up instead of every sign-in. */
static int key_probe(const struct jwt_key *key, char *err, size_t errlen)
{
    jwt_t *jwt = NULL;
    jwt_t *back = NULL;
    char *text = NULL;
    int rc = -1;
    if (jwt_new(&jwt) != 0 || jwt_add_grant(jwt, "probe", "1") != 0 ||
        jwt_set_alg(jwt, key->alg, key->sign, (int)key->sign_len) != 0 ||
        (text = jwt_encode_str(jwt)) == NULL) {
        keyring_err(err, errlen, "key %s cannot sign (not a %s key?)", key->kid,
                    jwt_alg_str(key->alg));
        goto done;
    }
    if (jwt_decode(&back, text, key->verify, (int)key->verify_len) != 0) {
        keyring_err(err, errlen, "key %s: its .pub does not verify what its .key signs", key->kid);
        goto done;
    }
    rc = 0;
done:
    jwt_free(back);
    jwt_free(jwt);
    free(text);
    return rc;
}

static int keyring_check(keyring_t *ring, const char *signing_kid, char *err, size_t errlen)
{
    const struct jwt_key *only = NULL;
    size_t signers = 0;
    for (size_t i = 0; i < ring->count; i++) {
        struct jwt_key *k = &ring->keys[i];
        if (k->alg == JWT_ALG_HS256) {
            if (k->sign_len < KEYRING_HMAC_MIN) {
                keyring_err(err, errlen, "key %s: an HS256 secret needs at least %d bytes", k->kid,
                            KEYRING_HMAC_MIN);
                return -1;
            }
            k->verify = k->sign;
            k->verify_len = k->sign_len;
        }
        if (k->verify == NULL) {
            keyring_err(err, errlen, "key %s has no .pub file to verify with", k->kid);
            return -1;
        }
        if (k->sign != NULL) {
            if (key_probe(k, err, errlen) != 0)
                return -1;
            signers++;
            only = k;
        }
    }
    if (signing_kid != NULL && signing_kid[0] != '\0') {
        ring->signing = keyring_find(ring, signing_kid);
        if (ring->signing == NULL || ring->signing->sign == NULL) {
            keyring_err(err, errlen, "jwt-signing-key \"%s\" is not a key that can sign",
                        signing_kid);
            return -1;
        }
        return 0;
    }
    if (signers != 1) {
        keyring_err(err, errlen,
                    signers == 0 ? "no key in the keyring can sign"
                                 : "several keys can sign: name one with jwt-signing-key");
        return -1;
    }
    ring->signing = only;
    return 0;
}

keyring_t *keyring_load(const char *dir, const char *signing_kid, char *err, size_t errlen)
{
    keyring_t *ring = calloc(1, sizeof(*ring));
    DIR *d = opendir(dir);
    if (ring == NULL || d == NULL) {
        keyring_err(err, errlen, "cannot read jwt-keys directory %s: %s", dir,
                    ring ? strerror(errno) : "out of memory");
        if (d != NULL)
            closedir(d);
        free(ring);
        return NULL;
    }
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        const char *name = ent->d_name;
        if (name[0] == '.')
            continue;
        size_t kid_len;
        jwt_alg_t alg;
        int is_private;
        if (parse_key_name(name, &kid_len, &alg, &is_private) != 0) {
            keyring_err(err, errlen,
                        "jwt-keys: unexpected file %s (want <kid>.<hs256|rs256|es256>.<key|pub>)",
                        name);
            goto fail;
        }
        struct jwt_key *k = key_slot(ring, name, kid_len, alg, err, errlen);
        if (k == NULL)
            goto fail;
        size_t len = 0;
        unsigned char *data = read_key_file(dirfd(d), name, is_private, &len, err, errlen);
        if (data == NULL)
            goto fail;
        if (is_private) {
            k->sign = data;
            k->sign_len = len;
        } else {
            k->verify = data;
            k->verify_len = len;
        }
    }
    closedir(d);
    d = NULL;
    if (ring->count == 0) {
        keyring_err(err, errlen, "jwt-keys directory %s holds no keys", dir);
        goto fail;
    }
    if (keyring_check(ring, signing_kid, err, errlen) != 0)
        goto fail;
    return ring;
fail:
    if (d != NULL)
        closedir(d);
    keyring_free(ring);
    return NULL;
}
