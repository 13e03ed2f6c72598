/* voter: the voter cookie, address keys and receipts. See voter.h. */
#include "voter.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COOKIE_PREFIX "v1."
#define MAC_CONTEXT "portal-voter-v1:"

int voter_key_load(const char *path, struct voter_key *key, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errlen, "voter-key %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if ((st.st_mode & 077) != 0) {
        snprintf(err, errlen, "voter-key %s: readable by others (chmod 600 it)", path);
        close(fd);
        return -1;
    }
    unsigned char secret[4096];
    ssize_t n = read(fd, secret, sizeof(secret));
    close(fd);
    if (n < VOTER_KEY_BYTES || n == (ssize_t)sizeof(secret)) {
        snprintf(err, errlen, "voter-key %s: needs 32 to 4095 bytes of secret", path);
        sodium_memzero(secret, sizeof(secret));
        return -1;
    }
    /* whatever the file's length, the key is a hash of it */
    crypto_generichash(key->bytes, sizeof(key->bytes), secret, (size_t)n, NULL, 0);
    sodium_memzero(secret, sizeof(secret));
    return 0;
}

static void cookie_mac(const struct voter_key *key, const char *id, unsigned char mac[32])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key->bytes, sizeof(key->bytes));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)MAC_CONTEXT, strlen(MAC_CONTEXT));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)id, VOTER_ID_HEX);
    crypto_auth_hmacsha256_final(&st, mac);
}

void voter_cookie_make(const struct voter_key *key, char out[VOTER_COOKIE_LEN + 1])
{
    unsigned char raw[VOTER_ID_HEX / 2], mac[32];
    char id[VOTER_ID_HEX + 1];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(id, sizeof(id), raw, sizeof(raw));
    cookie_mac(key, id, mac);
    memcpy(out, COOKIE_PREFIX, 3);
    memcpy(out + 3, id, VOTER_ID_HEX);
    out[3 + VOTER_ID_HEX] = '.';
    sodium_bin2hex(out + 4 + VOTER_ID_HEX, 65, mac, sizeof(mac));
}

static bool lower_hex(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return false;
    return true;
}

bool voter_cookie_check(const struct voter_key *key, const char *cookie, char id[VOTER_ID_HEX + 1])
{
    if (cookie == NULL || strlen(cookie) != VOTER_COOKIE_LEN ||
        memcmp(cookie, COOKIE_PREFIX, 3) != 0 || cookie[3 + VOTER_ID_HEX] != '.' ||
        !lower_hex(cookie + 3, VOTER_ID_HEX) || !lower_hex(cookie + 4 + VOTER_ID_HEX, 64))
        return false;
    unsigned char want[32], given[32];
    memcpy(id, cookie + 3, VOTER_ID_HEX);
    id[VOTER_ID_HEX] = '\0';
    cookie_mac(key, id, want);
    if (sodium_hex2bin(given, sizeof(given), cookie + 4 + VOTER_ID_HEX, 64, NULL, NULL, NULL) != 0)
        return false;
    bool ok = sodium_memcmp(want, given, sizeof(want)) == 0;
    if (!ok)
        id[0] = '\0';
    return ok;
}

void voter_address_key(const struct voter_key *key, const char *address,
                       char out[VOTER_ADDRESS_HEX + 1])
{
    unsigned char v6[16], v4[4];
    char norm[INET6_ADDRSTRLEN + 8];
    const char *text = address ? address : "";
    if (inet_pton(AF_INET6, text, v6) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(v6, mapped, sizeof(mapped)) == 0) {
            inet_ntop(AF_INET, v6 + 12, norm, sizeof(norm));
        } else {
            memset(v6 + 8, 0, 8); /* one household or office: its /64 */
            inet_ntop(AF_INET6, v6, norm, sizeof(norm));
            strncat(norm, "/64", sizeof(norm) - strlen(norm) - 1);
        }
        text = norm;
    } else if (inet_pton(AF_INET, text, v4) == 1) {
        inet_ntop(AF_INET, v4, norm, sizeof(norm));
        text = norm;
    }
    unsigned char hash[VOTER_ADDRESS_HEX / 2];
    static const char context[] = "portal-address-v1:";
    crypto_generichash_state st;
    crypto_generichash_init(&st, key->bytes, sizeof(key->bytes), sizeof(hash));
    crypto_generichash_update(&st, (const unsigned char *)context, sizeof(context) - 1);
    crypto_generichash_update(&st, (const unsigned char *)text, strlen(text));
    crypto_generichash_final(&st, hash, sizeof(hash));
    sodium_bin2hex(out, VOTER_ADDRESS_HEX + 1, hash, sizeof(hash));
}

void voter_receipt_make(char out[VOTER_RECEIPT_HEX + 1])
{
    unsigned char raw[VOTER_RECEIPT_HEX / 2];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(out, VOTER_RECEIPT_HEX + 1, raw, sizeof(raw));
}
