/*
 * config: a single table describes every setting, so --help, the config
 * file, the environment and validation cannot drift apart.
 */
#include "config.h"

#include "answers_version.h"
#include "keyring.h"
#include "voter.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum setting_kind { KIND_STRING, KIND_UINT, KIND_DURATION, KIND_SIZE, KIND_MODE, KIND_LISTEN };

struct setting {
    const char *name;
    const char *env;
    const char *fallback;
    enum setting_kind kind;
    size_t offset;
    unsigned long min, max;
    const char *help;
};

#define FIELD(f) offsetof(config_t, f)

static const struct setting settings[] = {
    {"config", "PORTAL_CONFIG", "", KIND_STRING, FIELD(config_file), 0, 0,
     "file of 'name = value' lines, re-read on SIGHUP"},
    {"listen", "PORTAL_LISTEN", "unix:/run/portald/portald.sock", KIND_LISTEN, FIELD(listen), 0, 0,
     "socket to accept FastCGI on: unix:/path or HOST:PORT"},
    {"socket-mode", "PORTAL_SOCKET_MODE", "0660", KIND_MODE, FIELD(socket_mode), 0, 0777,
     "permissions of the unix socket (octal)"},
    {"backlog", "PORTAL_BACKLOG", "1024", KIND_UINT, FIELD(backlog), 1, 65535,
     "listen backlog: connections queued while every worker is busy"},
    {"log-file", "PORTAL_LOG_FILE", "", KIND_STRING, FIELD(log_file), 0, 0,
     "file the log lines are appended to, reopened on SIGUSR1 (empty: stderr, the journal)"},
    {"workers", "PORTAL_WORKERS", "8", KIND_UINT, FIELD(workers), 1, 128, "worker processes"},
    {"max-requests", "PORTAL_MAX_REQUESTS", "10000", KIND_UINT, FIELD(max_requests), 0, 1000000000,
     "requests a worker serves before it is recycled (0: never)"},
    {"request-timeout", "PORTAL_REQUEST_TIMEOUT", "30s", KIND_DURATION, FIELD(request_timeout_ms),
     100, 3600000, "a worker busy on one request longer than this is killed and replaced"},
    {"slow-request", "PORTAL_SLOW_REQUEST", "1s", KIND_DURATION, FIELD(slow_request_ms), 1, 3600000,
     "requests slower than this are logged as slow"},
    {"deadline-check", "PORTAL_DEADLINE_CHECK", "20s", KIND_DURATION, FIELD(deadline_check_ms), 100,
     60000, "how often one worker closes the editions whose voting deadline has passed"},
    {"photo-collect", "PORTAL_PHOTO_COLLECT", "10m", KIND_DURATION, FIELD(photo_collect_ms), 100,
     86400000, "how often one idle worker deletes photo bytes that nothing refers to"},
    {"photo-collect-grace", "PORTAL_PHOTO_COLLECT_GRACE", "1h", KIND_DURATION,
     FIELD(photo_collect_grace_ms), 0, 2592000000UL,
     "photo bytes are collected only this long after they were last uploaded"},
    {"shutdown-timeout", "PORTAL_SHUTDOWN_TIMEOUT", "15s", KIND_DURATION,
     FIELD(shutdown_timeout_ms), 100, 600000,
     "on SIGTERM, how long in-flight requests may take to finish"},
    {"max-body", "PORTAL_MAX_BODY", "1m", KIND_SIZE, FIELD(max_body), 1024, 64UL << 20,
     "largest request body accepted (413 past it); suffixes k, m, g"},
    {"max-photo", "PORTAL_MAX_PHOTO", "8m", KIND_SIZE, FIELD(max_photo), 1024, 16UL << 20,
     "largest photo accepted (413 past it); nginx allows this much on the photo routes"},
    {"street-photo-quota", "PORTAL_STREET_PHOTO_QUOTA", "1g", KIND_SIZE, FIELD(street_photo_quota),
     0, 1UL << 40,
     "photo bytes a street's cases and their revisions may hold (507 past it); 0: no cap"},
    {"voter-key", "PORTAL_VOTER_KEY", "", KIND_STRING, FIELD(voter_key_file), 0, 0,
     "file of secret bytes (owner-only) the voter cookie's MAC key is made from; every pool "
     "host shares it; required"},
    {"public-url", "PORTAL_PUBLIC_URL", "", KIND_STRING, FIELD(public_url), 0, 0,
     "the site's address as readers reach it (https://host[:port], no path): votes from "
     "its pages are accepted behind a TLS proxy, and link previews get absolute photo URLs"},
    {"votes-per-address", "PORTAL_VOTES_PER_ADDRESS", "100", KIND_UINT, FIELD(votes_per_address), 1,
     1000000, "votes on one case accepted from one client address (an IPv6 /64)"},
    {"database-url", "PORTAL_DATABASE_URL", "", KIND_STRING, FIELD(database_url), 0, 0,
     "libpq connection string or URI (empty: libpq's PG* environment)"},
    {"db-connect-timeout", "PORTAL_DB_CONNECT_TIMEOUT", "2s", KIND_DURATION,
     FIELD(db_connect_timeout_ms), 1000, 60000, "how long a worker waits to connect to PostgreSQL"},
    {"standby-url", "PORTAL_STANDBY_URL", "", KIND_STRING, FIELD(standby_url), 0, 0,
     "libpq connection string of a streaming read standby for the public's reads (empty: none)"},
    {"standby-max-lag", "PORTAL_STANDBY_MAX_LAG", "5s", KIND_DURATION, FIELD(standby_max_lag_ms), 0,
     3600000, "public reads go to the primary while the standby may be staler than this"},
    {"jwt-keys", "PORTAL_JWT_KEYS", "", KIND_STRING, FIELD(jwt_keys), 0, 0,
     "directory of signing keys <kid>.<alg>.key/.pub (portalctl key generate); required"},
    {"jwt-signing-key", "PORTAL_JWT_SIGNING_KEY", "", KIND_STRING, FIELD(jwt_signing_key), 0, 0,
     "kid of the key new tokens are signed with (empty: the only one that can sign)"},
    {"jwt-issuer", "PORTAL_JWT_ISSUER", "portal", KIND_STRING, FIELD(jwt_issuer), 0, 0,
     "iss claim made and required"},
    {"jwt-audience", "PORTAL_JWT_AUDIENCE", "portal-staff", KIND_STRING, FIELD(jwt_audience), 0, 0,
     "aud claim made and required"},
    {"jwt-leeway", "PORTAL_JWT_LEEWAY", "30s", KIND_DURATION, FIELD(jwt_leeway_ms), 0, 300000,
     "clock skew allowed when checking exp, nbf and iat"},
    {"access-ttl", "PORTAL_ACCESS_TTL", "15m", KIND_DURATION, FIELD(access_ttl_ms), 10000, 86400000,
     "lifetime of an access token"},
    {"refresh-ttl", "PORTAL_REFRESH_TTL", "7d", KIND_DURATION, FIELD(refresh_ttl_ms), 60000,
     2592000000UL, "lifetime of a refresh token (each refresh starts a new one)"},
    {"refresh-grace", "PORTAL_REFRESH_GRACE", "2s", KIND_DURATION, FIELD(refresh_grace_ms), 0,
     30000, "how long the refresh token just rotated still buys an access token (two tabs)"},
    {"refresh-max-age", "PORTAL_REFRESH_MAX_AGE", "30d", KIND_DURATION, FIELD(refresh_max_age_ms),
     1000, 3888000000UL, "a sign-in's refresh tokens end this long after it, however refreshed"},
    {"login-slow-after", "PORTAL_LOGIN_SLOW_AFTER", "5", KIND_UINT, FIELD(login_slow_after), 1,
     1000, "failed sign-ins in a row after which an account's next attempt must wait"},
    {"login-slow-delay", "PORTAL_LOGIN_SLOW_DELAY", "1s", KIND_DURATION, FIELD(login_slow_delay_ms),
     0, 600000, "the first such wait; it doubles with each failure"},
    {"login-lock-after", "PORTAL_LOGIN_LOCK_AFTER", "10", KIND_UINT, FIELD(login_lock_after), 1,
     1000, "failed sign-ins in a row after which an account is locked"},
    {"login-address-lock-after", "PORTAL_LOGIN_ADDRESS_LOCK_AFTER", "50", KIND_UINT,
     FIELD(login_address_lock_after), 1, 100000,
     "failed sign-ins from one client address after which it is locked"},
    {"login-lock-time", "PORTAL_LOGIN_LOCK_TIME", "15m", KIND_DURATION, FIELD(login_lock_time_ms),
     1000, 86400000, "how long a lock lasts (and how long failures are remembered)"},
};

#define SETTINGS_COUNT (sizeof(settings) / sizeof(settings[0]))

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int config_parse_uint(const char *text, unsigned long min, unsigned long max, unsigned long *out)
{
    if (text == NULL || !isdigit((unsigned char)text[0]))
        return -1;
    errno = 0;
    char *end;
    unsigned long v = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Parses digits followed by a unit from units[]; multiplies by its factor. */
static int parse_with_unit(const char *text, const char *const *units, const unsigned long *factors,
                           size_t nunits, unsigned long min, unsigned long max, unsigned long *out)
{
    if (text == NULL || !isdigit((unsigned char)text[0]))
        return -1;
    errno = 0;
    char *end;
    unsigned long v = strtoul(text, &end, 10);
    if (errno != 0)
        return -1;
    for (size_t i = 0; i < nunits; i++) {
        if (strcmp(end, units[i]) != 0)
            continue;
        if (factors[i] != 0 && v > ULONG_MAX / factors[i])
            return -1;
        v *= factors[i];
        if (v < min || v > max)
            return -1;
        *out = v;
        return 0;
    }
    return -1;
}

int config_parse_duration_ms(const char *text, unsigned long min_ms, unsigned long max_ms,
                             unsigned long *out)
{
    static const char *const units[] = {"ms", "s", "m", "h", "d"};
    static const unsigned long factors[] = {1, 1000, 60000, 3600000, 86400000};
    return parse_with_unit(text, units, factors, 5, min_ms, max_ms, out);
}

int config_parse_size(const char *text, unsigned long min, unsigned long max, unsigned long *out)
{
    static const char *const units[] = {"", "k", "m", "g"};
    static const unsigned long factors[] = {1, 1024, 1024 * 1024, 1024UL * 1024 * 1024};
    return parse_with_unit(text, units, factors, 4, min, max, out);
}

static int parse_mode(const char *text, unsigned long *out)
{
    if (text == NULL || text[0] == '\0')
        return -1;
    for (const char *p = text; *p; p++)
        if (*p < '0' || *p > '7')
            return -1;
    unsigned long v = strtoul(text, NULL, 8);
    if (v > 0777)
        return -1;
    *out = v;
    return 0;
}

/* Accepts unix:/absolute/path (fits sockaddr_un) or HOST:PORT with a port 1-65535. */
static int parse_listen(const char *text, char *why, size_t whylen)
{
    if (strncmp(text, "unix:", 5) == 0) {
        const char *path = text + 5;
        if (path[0] == '\0') {
            snprintf(why, whylen, "unix: needs a path");
            return -1;
        }
        if (strlen(path) >= 108) {
            snprintf(why, whylen, "unix socket path longer than 107 bytes");
            return -1;
        }
        return 0;
    }
    const char *colon = strrchr(text, ':');
    unsigned long port;
    if (colon == NULL || colon == text || config_parse_uint(colon + 1, 1, 65535, &port) != 0) {
        snprintf(why, whylen, "expected unix:/path or HOST:PORT");
        return -1;
    }
    return 0;
}

static const char *kind_expectation(const struct setting *s, char *buf, size_t len)
{
    switch (s->kind) {
    case KIND_UINT:
        snprintf(buf, len, "an integer from %lu to %lu", s->min, s->max);
        break;
    case KIND_DURATION:
        snprintf(buf, len, "a duration like 500ms, 30s, 2m, 1h or 7d, from %lums to %lums", s->min,
                 s->max);
        break;
    case KIND_SIZE:
        snprintf(buf, len, "a size like 65536, 64k, 1m or 1g, from %lu to %lu bytes", s->min,
                 s->max);
        break;
    case KIND_MODE:
        snprintf(buf, len, "octal permissions like 0660");
        break;
    default:
        snprintf(buf, len, "a string");
    }
    return buf;
}

/* Stores one value into config; origin says where it came from, for the error line. */
static int setting_apply(config_t *config, const struct setting *s, const char *value,
                         const char *origin, char *err, size_t errlen)
{
    char *field = (char *)config + s->offset;
    unsigned long v = 0;
    int rc = 0;
    char why[128] = "";
    switch (s->kind) {
    case KIND_LISTEN:
        if (parse_listen(value, why, sizeof(why)) != 0) {
            set_err(err, errlen, "invalid %s \"%s\" (%s): %s", s->name, value, origin, why);
            return -1;
        }
        /* fall through */
    case KIND_STRING: {
        char *copy = strdup(value);
        if (copy == NULL) {
            set_err(err, errlen, "out of memory");
            return -1;
        }
        free(*(char **)field);
        *(char **)field = copy;
        return 0;
    }
    case KIND_UINT:
        rc = config_parse_uint(value, s->min, s->max, &v);
        break;
    case KIND_DURATION:
        rc = config_parse_duration_ms(value, s->min, s->max, &v);
        break;
    case KIND_SIZE:
        rc = config_parse_size(value, s->min, s->max, &v);
        break;
    case KIND_MODE:
        rc = parse_mode(value, &v);
        break;
    }
    if (rc != 0) {
        char expect[128];
        set_err(err, errlen, "invalid %s \"%s\" (%s): expected %s", s->name, value, origin,
                kind_expectation(s, expect, sizeof(expect)));
        return -1;
    }
    if (s->kind == KIND_SIZE)
        *(size_t *)field = v;
    else
        *(unsigned *)field = (unsigned)v;
    return 0;
}

static const struct setting *setting_find(const char *name, size_t len)
{
    for (size_t i = 0; i < SETTINGS_COUNT; i++)
        if (strlen(settings[i].name) == len && strncmp(settings[i].name, name, len) == 0)
            return &settings[i];
    return NULL;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static int config_read_file(config_t *config, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        set_err(err, errlen, "cannot read config file %s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    unsigned lineno = 0;
    int rc = 0;
    while (getline(&line, &cap, f) != -1) {
        lineno++;
        char *text = trim(line);
        if (text[0] == '\0' || text[0] == '#')
            continue;
        char *eq = strchr(text, '=');
        char origin[64];
        snprintf(origin, sizeof(origin), "line %u of the config file", lineno);
        if (eq == NULL) {
            set_err(err, errlen, "%s:%u: expected 'name = value'", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *name = trim(text);
        char *value = trim(eq + 1);
        const struct setting *s = setting_find(name, strlen(name));
        if (s == NULL || strcmp(s->name, "config") == 0) {
            set_err(err, errlen, "%s:%u: unknown setting \"%s\"", path, lineno, name);
            rc = -1;
            break;
        }
        if (setting_apply(config, s, value, origin, err, errlen) != 0) {
            rc = -1;
            break;
        }
    }
    free(line);
    fclose(f);
    return rc;
}

/* Checks the shape of argv (known flags, values present) and picks the action. */
static int scan_flags(int argc, char **argv, enum config_action *action, char *err, size_t errlen)
{
    *action = CONFIG_RUN;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            *action = CONFIG_HELP;
            continue;
        }
        if (strcmp(arg, "--version") == 0) {
            *action = CONFIG_VERSION;
            continue;
        }
        if (strcmp(arg, "--check-config") == 0) {
            *action = CONFIG_CHECK;
            continue;
        }
        if (strcmp(arg, "--print-routes") == 0) {
            *action = CONFIG_PRINT_ROUTES;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0) {
            set_err(err, errlen, "unexpected argument \"%s\" (see --help)", arg);
            return -1;
        }
        const char *eq = strchr(arg, '=');
        size_t namelen = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        if (setting_find(arg + 2, namelen) == NULL) {
            set_err(err, errlen, "unknown option \"%s\" (see --help)", arg);
            return -1;
        }
        if (eq == NULL) {
            if (i + 1 >= argc) {
                set_err(err, errlen, "option %s needs a value", arg);
                return -1;
            }
            i++;
        }
    }
    return 0;
}

static int apply_flags(config_t *config, int argc, char **argv, bool only_config, char *err,
                       size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0)
            continue;
        const char *eq = strchr(arg, '=');
        size_t namelen = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        const struct setting *s = setting_find(arg + 2, namelen);
        if (s == NULL)
            continue; /* --help and friends */
        const char *value = eq ? eq + 1 : argv[++i];
        if (only_config != (strcmp(s->name, "config") == 0))
            continue;
        char origin[80];
        snprintf(origin, sizeof(origin), "flag --%s", s->name);
        if (setting_apply(config, s, value, origin, err, errlen) != 0)
            return -1;
    }
    return 0;
}

static int apply_env(config_t *config, bool only_config, char *err, size_t errlen)
{
    for (size_t i = 0; i < SETTINGS_COUNT; i++) {
        const struct setting *s = &settings[i];
        if (only_config != (strcmp(s->name, "config") == 0))
            continue;
        const char *value = getenv(s->env);
        if (value == NULL)
            continue;
        char origin[80];
        snprintf(origin, sizeof(origin), "environment %s", s->env);
        if (setting_apply(config, s, value, origin, err, errlen) != 0)
            return -1;
    }
    return 0;
}

int config_load(config_t *out, int argc, char **argv, enum config_action *action, char *err,
                size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (scan_flags(argc, argv, action, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < SETTINGS_COUNT; i++)
        if (setting_apply(out, &settings[i], settings[i].fallback, "default", err, errlen) != 0)
            goto fail;
    /* The file is located first (env, then flag), then read, then env and
     * flags are applied over it so they win. */
    if (apply_env(out, true, err, errlen) != 0 || apply_flags(out, argc, argv, true, err, errlen))
        goto fail;
    if (out->config_file[0] != '\0' && config_read_file(out, out->config_file, err, errlen) != 0)
        goto fail;
    if (apply_env(out, false, err, errlen) != 0 ||
        apply_flags(out, argc, argv, false, err, errlen) != 0)
        goto fail;
    if (out->slow_request_ms > out->request_timeout_ms) {
        set_err(err, errlen, "slow-request (%ums) is longer than request-timeout (%ums)",
                out->slow_request_ms, out->request_timeout_ms);
        goto fail;
    }
    if (out->jwt_keys[0] != '\0') {
        out->keyring = keyring_load(out->jwt_keys, out->jwt_signing_key, err, errlen);
        if (out->keyring == NULL)
            goto fail;
    }
    if (out->voter_key_file[0] != '\0') {
        out->voter_key = malloc(sizeof(*out->voter_key));
        if (out->voter_key == NULL) {
            set_err(err, errlen, "out of memory");
            goto fail;
        }
        if (voter_key_load(out->voter_key_file, out->voter_key, err, errlen) != 0)
            goto fail;
    }
    unsigned char format[8];
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, sizeof(format));
    crypto_generichash_update(&h, (const unsigned char *)PORTAL_ANSWERS_VERSION,
                              sizeof(PORTAL_ANSWERS_VERSION));
    crypto_generichash_update(&h, (const unsigned char *)out->public_url, strlen(out->public_url));
    crypto_generichash_final(&h, format, sizeof(format));
    sodium_bin2hex(out->answers_format, sizeof(out->answers_format), format, sizeof(format));
    return 0;
fail:
    config_free(out);
    return -1;
}

void config_free(config_t *config)
{
    keyring_free(config->keyring);
    config->keyring = NULL;
    if (config->voter_key != NULL)
        sodium_memzero(config->voter_key, sizeof(*config->voter_key));
    free(config->voter_key);
    config->voter_key = NULL;
    for (size_t i = 0; i < SETTINGS_COUNT; i++) {
        const struct setting *s = &settings[i];
        if (s->kind == KIND_STRING || s->kind == KIND_LISTEN) {
            char **field = (char **)((char *)config + s->offset);
            free(*field);
            *field = NULL;
        }
    }
}

void config_print_help(FILE *out)
{
    fprintf(out, "usage: portald [--name value | --name=value ...]\n"
                 "       portald --check-config | --print-routes | --help | --version\n\n"
                 "The FastCGI worker pool of the district portal. Each setting can also be\n"
                 "given in the environment or in the --config file; flags win over the\n"
                 "environment, which wins over the file, which wins over the default.\n\n");
    fprintf(out, "  %-22s %-26s %-32s %s\n", "flag", "environment", "default", "meaning");
    for (size_t i = 0; i < SETTINGS_COUNT; i++) {
        const struct setting *s = &settings[i];
        char flag[64];
        snprintf(flag, sizeof(flag), "--%s", s->name);
        fprintf(out, "  %-22s %-26s %-32s %s\n", flag, s->env,
                s->fallback[0] ? s->fallback : "(empty)", s->help);
    }
    fprintf(out, "\nSignals: SIGTERM/SIGINT stop gracefully; SIGHUP re-reads the config file\n"
                 "and replaces workers one at a time; SIGUSR1 reopens the log file.\n");
}

void config_print(const config_t *config, FILE *out)
{
    for (size_t i = 0; i < SETTINGS_COUNT; i++) {
        const struct setting *s = &settings[i];
        const char *field = (const char *)config + s->offset;
        switch (s->kind) {
        case KIND_STRING:
        case KIND_LISTEN:
            fprintf(out, "%s = %s\n", s->name, *(char *const *)field);
            break;
        case KIND_MODE:
            fprintf(out, "%s = %04o\n", s->name, *(const unsigned *)field);
            break;
        case KIND_SIZE:
            fprintf(out, "%s = %zu\n", s->name, *(const size_t *)field);
            break;
        case KIND_DURATION:
            fprintf(out, "%s = %ums\n", s->name, *(const unsigned *)field);
            break;
        case KIND_UINT:
            fprintf(out, "%s = %u\n", s->name, *(const unsigned *)field);
            break;
        }
    }
}
