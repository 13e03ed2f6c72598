/* ctl_keys: signing keys from the command line. See ctl_keys.h. */
#include "ctl_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "keyring.h"

extern char **environ;

static int run_openssl(char *const args[])
{
    pid_t pid;
    int rc = posix_spawnp(&pid, "openssl", NULL, NULL, args, environ);
    if (rc != 0) {
        fprintf(stderr, "portalctl: cannot run openssl: %s\n", strerror(rc));
        return -1;
    }
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "portalctl: openssl %s failed\n", args[1]);
        return -1;
    }
    return 0;
}

static int write_secret(const char *path)
{
    unsigned char secret[64];
    randombytes_buf(secret, sizeof(secret));
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    ssize_t n = fd >= 0 ? write(fd, secret, sizeof(secret)) : -1;
    sodium_memzero(secret, sizeof(secret));
    if (fd < 0 || n != (ssize_t)sizeof(secret) || close(fd) != 0) {
        fprintf(stderr, "portalctl: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int write_pair(const char *key_path, const char *pub_path, const char *alg)
{
    /* made empty and private first, so the key is never readable by others */
    int fd = open(key_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || close(fd) != 0) {
        fprintf(stderr, "portalctl: cannot create %s: %s\n", key_path, strerror(errno));
        return -1;
    }
    int rsa = strcmp(alg, "rs256") == 0;
    char *gen[] = {"openssl",    "genpkey",
                   "-algorithm", rsa ? "RSA" : "EC",
                   "-pkeyopt",   rsa ? "rsa_keygen_bits:2048" : "ec_paramgen_curve:P-256",
                   "-out",       (char *)key_path,
                   NULL};
    char *pub[] = {"openssl", "pkey",           "-in", (char *)key_path, "-pubout",
                   "-out",    (char *)pub_path, NULL};
    if (run_openssl(gen) != 0 || run_openssl(pub) != 0) {
        unlink(key_path);
        unlink(pub_path);
        return -1;
    }
    chmod(pub_path, 0644);
    return 0;
}

/* portalctl key voter --file FILE: the secret the voter cookie's MAC key
 * is made from (portald --voter-key FILE). */
static int ctl_key_voter(int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[1], "--file") != 0) {
        fprintf(stderr, "usage: portalctl key voter --file FILE\n");
        return 2;
    }
    return write_secret(argv[2]) == 0 ? 0 : 1;
}

int ctl_keys(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "voter") == 0)
        return ctl_key_voter(argc, argv);
    const char *dir = NULL, *alg = "hs256", *kid = NULL;
    int ok = argc >= 1 && strcmp(argv[0], "generate") == 0 && argc % 2 == 1;
    for (int i = 1; ok && i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--dir") == 0)
            dir = argv[i + 1];
        else if (strcmp(argv[i], "--alg") == 0)
            alg = argv[i + 1];
        else if (strcmp(argv[i], "--kid") == 0)
            kid = argv[i + 1];
        else
            ok = 0;
    }
    if (!ok || dir == NULL ||
        (strcmp(alg, "hs256") != 0 && strcmp(alg, "rs256") != 0 && strcmp(alg, "es256") != 0)) {
        fprintf(stderr, "usage: portalctl key generate --dir DIR [--alg hs256|rs256|es256] "
                        "[--kid KID]\n");
        return 2;
    }
    char made[KEYRING_KID_MAX + 1];
    if (kid == NULL) { /* a date and a random suffix: sortable, never reused */
        unsigned char r[3];
        randombytes_buf(r, sizeof(r));
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        snprintf(made, sizeof(made), "%04d%02d%02d-%02x%02x%02x", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, r[0], r[1], r[2]);
        kid = made;
    }
    if (!keyring_kid_valid(kid, strlen(kid))) {
        fprintf(stderr, "portalctl: a kid is 1-64 of A-Z a-z 0-9 _ -\n");
        return 2;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "portalctl: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    char key_path[4096], pub_path[4096];
    if ((size_t)snprintf(key_path, sizeof(key_path), "%s/%s.%s.key", dir, kid, alg) >=
            sizeof(key_path) ||
        (size_t)snprintf(pub_path, sizeof(pub_path), "%s/%s.%s.pub", dir, kid, alg) >=
            sizeof(pub_path)) {
        fprintf(stderr, "portalctl: path too long\n");
        return 2;
    }
    int rc =
        strcmp(alg, "hs256") == 0 ? write_secret(key_path) : write_pair(key_path, pub_path, alg);
    if (rc != 0)
        return 1;
    printf("%s\n", kid);
    return 0;
}
