/*
 * config: portald's settings. Each setting has a flag (--name), an
 * environment variable (PORTAL_NAME), an optional line in the --config file
 * (name = value) and a documented default. Precedence, lowest first:
 * default, file, environment, flag. Everything is validated here, before the
 * first fork; SIGHUP loads a fresh config_t the same way and the pool swaps
 * it in only if it is valid.
 */
#ifndef PORTAL_CONFIG_H
#define PORTAL_CONFIG_H

#include <stddef.h>
#include <stdio.h>

struct keyring;
struct voter_key;

typedef struct {
    char *config_file; /* "" when none */
    char *listen;      /* "unix:/path" or "HOST:PORT" */
    unsigned socket_mode;
    unsigned backlog;
    char *log_file; /* "" when none: stderr */
    unsigned workers;
    unsigned max_requests; /* 0: never recycle */
    unsigned request_timeout_ms;
    unsigned slow_request_ms;
    unsigned deadline_check_ms;
    unsigned photo_collect_ms;       /* how often unreferenced photo bytes are collected */
    unsigned photo_collect_grace_ms; /* kept at least this long after their last upload */
    unsigned shutdown_timeout_ms;
    size_t max_body;
    size_t max_photo;
    size_t street_photo_quota; /* bytes; 0: no cap */
    /* the public vote */
    char *voter_key_file; /* "" when none */
    char *public_url;     /* "https://portal.example": the site's own origin; "" when unknown */
    unsigned votes_per_address;
    char *database_url;
    unsigned db_connect_timeout_ms;
    char *standby_url;           /* "" when there is no read standby */
    unsigned standby_max_lag_ms; /* staler than this, public reads go to the primary */
    /* sign-in */
    char *jwt_keys;        /* directory of <kid>.<alg>.key/.pub files; "" when none */
    char *jwt_signing_key; /* kid; "" picks the only key that can sign */
    char *jwt_issuer;
    char *jwt_audience;
    unsigned jwt_leeway_ms;
    unsigned access_ttl_ms;
    unsigned refresh_ttl_ms;
    unsigned refresh_grace_ms;   /* the token just rotated still buys an access token */
    unsigned refresh_max_age_ms; /* a refresh family ends this long after its sign-in */
    unsigned login_slow_after;
    unsigned login_slow_delay_ms;
    unsigned login_lock_after;
    unsigned login_address_lock_after;
    unsigned login_lock_time_ms;
    struct keyring *keyring;     /* loaded from jwt_keys; NULL when jwt_keys is "" */
    struct voter_key *voter_key; /* loaded from voter_key_file; NULL when that is "" */
    /* what the ready-made public answers are kept under: the build's
     * answers version with the public URL the pages name (see stored.h) */
    char answers_format[17];
} config_t;

enum config_action {
    CONFIG_RUN,
    CONFIG_HELP,
    CONFIG_VERSION,
    CONFIG_CHECK,        /* --check-config: validate, print, exit */
    CONFIG_PRINT_ROUTES, /* --print-routes: the router's table as JSON */
};

/* Fills *out (free it with config_free) from argv, the environment and the
 * config file. Returns 0, or -1 with a one-line reason in err. */
int config_load(config_t *out, int argc, char **argv, enum config_action *action, char *err,
                size_t errlen);
void config_free(config_t *config);

void config_print_help(FILE *out);
/* Writes the effective settings as name = value lines (the config file format). */
void config_print(const config_t *config, FILE *out);

/* Parsers shared with tests; each returns 0 or -1 on malformed or out-of-range input. */
int config_parse_uint(const char *text, unsigned long min, unsigned long max, unsigned long *out);
int config_parse_duration_ms(const char *text, unsigned long min_ms, unsigned long max_ms,
                             unsigned long *out);
int config_parse_size(const char *text, unsigned long min, unsigned long max, unsigned long *out);

#endif
