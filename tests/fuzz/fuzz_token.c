/* libFuzzer target for token_verify: any text in the Authorization header
 * must be refused or accepted without a crash, and only a token signed
 * with the fuzzer's own key may ever be accepted. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyring.h"
#include "token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static keyring_t *ring;

static keyring_t *make_ring(void)
{
    char dir[] = "/tmp/portal-fuzz-keys-XXXXXX";
    if (mkdtemp(dir) == NULL)
        abort();
    char path[128];
    snprintf(path, sizeof(path), "%s/f1.hs256.key", dir);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        abort();
    fputs("fuzzing-key-0123456789abcdef0123456789", f);
    fclose(f);
    chmod(path, 0600);
    char err[256];
    keyring_t *r = keyring_load(dir, "f1", err, sizeof(err));
    unlink(path);
    rmdir(dir);
    if (r == NULL)
        abort();
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (ring == NULL)
        ring = make_ring();
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    static const struct token_rules rules = {"portal", "portal-staff", 30, 900};
    struct token_claims claims;
    enum token_error err = token_verify(ring, &rules, text, 1800000000, &claims);
    /* the fuzzer does not know the key: it cannot forge a valid token */
    if (err == TOKEN_OK)
        abort();
    free(text);
    return 0;
}
