/* The rules an access token must pass, the keyring that picks its key, and
 * the field rules request bodies are checked with. Tokens that fail are
 * made here with libjwt directly, so each breaks exactly one rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <jwt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyring.h"
#include "token.h"
#include "validate.h"

#define NOW 1800000000L
#define SECRET_A "0123456789abcdef0123456789abcdef-A"
#define SECRET_B "0123456789abcdef0123456789abcdef-B"

static const struct token_rules rules = {"portal", "portal-staff", 30, 900};

struct fixture {
    char dir[64];
    keyring_t *ring;
};

static void write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static void remove_dir(const char *dir)
{
    const char *names[] = {"a1.hs256.key", "b1.hs256.key", "c1.hs256.key"};
    char path[256];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* A keyring of two HS256 keys, a1 (signing) and b1. */
static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/portal-unit-keys-XXXXXX");
    if (f == NULL || mkdtemp(f->dir) == NULL)
        return -1;
    write_file(f->dir, "a1.hs256.key", SECRET_A, 0600);
    write_file(f->dir, "b1.hs256.key", SECRET_B, 0600);
    char err[256];
    f->ring = keyring_load(f->dir, "a1", err, sizeof(err));
    if (f->ring == NULL) {
        fprintf(stderr, "keyring: %s\n", err);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    keyring_free(f->ring);
    remove_dir(f->dir);
    free(f);
    return 0;
}

static struct token_claims editor(void)
{
    struct token_claims c = {.user_id = 7, .street_id = 3, .version = 2};
    snprintf(c.role, sizeof(c.role), "editor");
    snprintf(c.username, sizeof(c.username), "xixiang");
    return c;
}

/* What a token made by hand carries; each test changes one thing. */
struct forged {
    jwt_alg_t alg;
    const char *secret; /* NULL for alg none */
    const char *kid;    /* NULL: no kid header */
    const char *iss, *aud, *sub;
    long iat, nbf, exp, ver;
};

static struct forged good_forgery(void)
{
    return (struct forged){JWT_ALG_HS256, SECRET_A, "a1",     "portal",  "portal-staff",
                           "7",           NOW - 10, NOW - 10, NOW + 600, 2};
}

static char *forge(const struct forged *g)
{
    jwt_t *jwt = NULL;
    assert_int_equal(jwt_new(&jwt), 0);
    if (g->kid != NULL)
        assert_int_equal(jwt_add_header(jwt, "kid", g->kid), 0);
    if (g->iss != NULL)
        assert_int_equal(jwt_add_grant(jwt, "iss", g->iss), 0);
    if (g->aud != NULL)
        assert_int_equal(jwt_add_grant(jwt, "aud", g->aud), 0);
    if (g->sub != NULL)
        assert_int_equal(jwt_add_grant(jwt, "sub", g->sub), 0);
    if (g->iat >= 0)
        assert_int_equal(jwt_add_grant_int(jwt, "iat", g->iat), 0);
    if (g->nbf >= 0)
        assert_int_equal(jwt_add_grant_int(jwt, "nbf", g->nbf), 0);
    if (g->exp >= 0)
        assert_int_equal(jwt_add_grant_int(jwt, "exp", g->exp), 0);
    if (g->ver >= 0)
        assert_int_equal(jwt_add_grant_int(jwt, "ver", g->ver), 0);
    assert_int_equal(jwt_add_grant(jwt, "role", "editor"), 0);
    assert_int_equal(jwt_add_grant(jwt, "name", "xixiang"), 0);
    const unsigned char *key = (const unsigned char *)g->secret;
    assert_int_equal(jwt_set_alg(jwt, g->alg, key, key ? (int)strlen(g->secret) : 0), 0);
    char *text = jwt_encode_str(jwt);
    jwt_free(jwt);
    assert_non_null(text);
    return text;
}

static enum token_error verify_forgery(const struct fixture *f, const struct forged *g)
{
    char *text = forge(g);
    struct token_claims out;
    enum token_error err = token_verify(f->ring, &rules, text, NOW, &out);
    free(text);
    return err;
}

static void an_issued_token_verifies_and_round_trips_its_claims(void **state)
{
    struct fixture *f = *state;
    struct token_claims in = editor(), out;
    char *text = token_issue(f->ring, &rules, &in, NOW);
    assert_non_null(text);
    assert_int_equal(token_verify(f->ring, &rules, text, NOW + 60, &out), TOKEN_OK);
    assert_int_equal(out.user_id, 7);
    assert_int_equal(out.street_id, 3);
    assert_int_equal(out.version, 2);
    assert_string_equal(out.role, "editor");
    assert_string_equal(out.username, "xixiang");
    assert_int_equal(out.issued_at, NOW);
    assert_int_equal(out.expires_at, NOW + 900);
    free(text);
}

static void expiry_and_start_honour_the_leeway_and_no_more(void **state)
{
    struct fixture *f = *state;
    struct token_claims in = editor(), out;
    char *text = token_issue(f->ring, &rules, &in, NOW);
    assert_int_equal(token_verify(f->ring, &rules, text, NOW + 900 + 29, &out), TOKEN_OK);
    assert_int_equal(token_verify(f->ring, &rules, text, NOW + 900 + 30, &out), TOKEN_EXPIRED);
    assert_int_equal(token_verify(f->ring, &rules, text, NOW - 30, &out), TOKEN_OK);
    assert_int_equal(token_verify(f->ring, &rules, text, NOW - 31, &out), TOKEN_NOT_YET_VALID);
    free(text);
}

static void a_token_signed_with_the_older_key_still_verifies(void **state)
{
    struct fixture *f = *state;
    struct forged g = good_forgery();
    g.kid = "b1";
    g.secret = SECRET_B;
    assert_int_equal(verify_forgery(f, &g), TOKEN_OK);
}

static void forged_tokens_each_fail_their_own_rule(void **state)
{
    struct fixture *f = *state;
    struct forged g;

    g = good_forgery();
    assert_int_equal(verify_forgery(f, &g), TOKEN_OK); /* the baseline the others break */

    g = good_forgery();
    g.alg = JWT_ALG_NONE;
    g.secret = NULL;
    assert_int_equal(verify_forgery(f, &g), TOKEN_MALFORMED); /* no signature part */

    g = good_forgery();
    g.alg = JWT_ALG_HS512;
    assert_int_equal(verify_forgery(f, &g), TOKEN_ALG_MISMATCH);

    g = good_forgery();
    g.secret = SECRET_B; /* kid a1, signed with b1's secret */
    assert_int_equal(verify_forgery(f, &g), TOKEN_BAD_SIGNATURE);

    g = good_forgery();
    g.kid = "zz";
    assert_int_equal(verify_forgery(f, &g), TOKEN_UNKNOWN_KEY);

    g = good_forgery();
    g.kid = NULL;
    assert_int_equal(verify_forgery(f, &g), TOKEN_UNKNOWN_KEY);

    g = good_forgery();
    g.exp = NOW - 31;
    g.iat = g.nbf = NOW - 600;
    assert_int_equal(verify_forgery(f, &g), TOKEN_EXPIRED);

    g = good_forgery();
    g.nbf = NOW + 31;
    assert_int_equal(verify_forgery(f, &g), TOKEN_NOT_YET_VALID);

    g = good_forgery();
    g.iat = NOW + 31;
    g.nbf = -1;
    assert_int_equal(verify_forgery(f, &g), TOKEN_ISSUED_IN_FUTURE);

    g = good_forgery();
    g.iss = "someone-else";
    assert_int_equal(verify_forgery(f, &g), TOKEN_WRONG_ISSUER);

    g = good_forgery();
    g.iss = NULL;
    assert_int_equal(verify_forgery(f, &g), TOKEN_WRONG_ISSUER);

    g = good_forgery();
    g.aud = "portal-public";
    assert_int_equal(verify_forgery(f, &g), TOKEN_WRONG_AUDIENCE);

    g = good_forgery();
    g.exp = NOW + 86400; /* valid signature, but longer-lived than we ever issue */
    assert_int_equal(verify_forgery(f, &g), TOKEN_BAD_CLAIMS);

    g = good_forgery();
    g.sub = "7; drop";
    assert_int_equal(verify_forgery(f, &g), TOKEN_BAD_CLAIMS);

    g = good_forgery();
    g.sub = "0";
    assert_int_equal(verify_forgery(f, &g), TOKEN_BAD_CLAIMS);

    g = good_forgery();
    g.ver = -1;
    assert_int_equal(verify_forgery(f, &g), TOKEN_BAD_CLAIMS);

    g = good_forgery();
    g.exp = -1;
    assert_int_equal(verify_forgery(f, &g), TOKEN_BAD_CLAIMS);
}

static void broken_text_is_malformed_before_any_key_is_used(void **state)
{
    struct fixture *f = *state;
    struct token_claims in = editor(), out;
    char *text = token_issue(f->ring, &rules, &in, NOW);
    size_t len = strlen(text);

    const char *garbage[] = {"",
                             "x",
                             "a.b",
                             "a.b.c.d",
                             "...",
                             "not a token at all",
                             "e30.e30.", /* {}.{}. unsigned */
                             "!!!.e30.c2ln",
                             "e30.e30.c2ln"};
    for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++)
        assert_int_equal(token_verify(f->ring, &rules, garbage[i], NOW, &out), TOKEN_MALFORMED);
    assert_int_equal(token_verify(f->ring, &rules, NULL, NOW, &out), TOKEN_MALFORMED);

    /* cut anywhere in the signature: it no longer verifies */
    text[len - 5] = '\0';
    assert_int_equal(token_verify(f->ring, &rules, text, NOW, &out), TOKEN_BAD_SIGNATURE);
    /* cut at the last dot: unsigned */
    char *dot = strrchr(text, '.');
    dot[1] = '\0';
    assert_int_equal(token_verify(f->ring, &rules, text, NOW, &out), TOKEN_MALFORMED);
    free(text);

    /* one byte past the limit is refused without being parsed */
    char *huge = malloc(TOKEN_MAX_LEN + 2);
    memset(huge, 'a', TOKEN_MAX_LEN + 1);
    huge[10] = huge[20] = '.';
    huge[TOKEN_MAX_LEN + 1] = '\0';
    assert_int_equal(token_verify(f->ring, &rules, huge, NOW, &out), TOKEN_MALFORMED);
    free(huge);
}

static void a_tampered_claim_breaks_the_signature(void **state)
{
    struct fixture *f = *state;
    struct token_claims in = editor(), out;
    char *text = token_issue(f->ring, &rules, &in, NOW);
    char *claims = strchr(text, '.') + 1;
    claims[3] = claims[3] == 'A' ? 'B' : 'A';
    enum token_error err = token_verify(f->ring, &rules, text, NOW, &out);
    assert_true(err == TOKEN_BAD_SIGNATURE || err == TOKEN_MALFORMED);
    free(text);
}

static void the_keyring_refuses_weak_exposed_or_unknown_keys(void **state)
{
    (void)state;
    char dir[] = "/tmp/portal-unit-keys-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char err[256];

    write_file(dir, "c1.hs256.key", "too short", 0600);
    assert_null(keyring_load(dir, "", err, sizeof(err)));
    assert_non_null(strstr(err, "at least 32 bytes"));

    write_file(dir, "c1.hs256.key", SECRET_A, 0644);
    assert_null(keyring_load(dir, "", err, sizeof(err)));
    assert_non_null(strstr(err, "readable by others"));

    write_file(dir, "c1.hs256.key", SECRET_A, 0600);
    assert_null(keyring_load(dir, "nope", err, sizeof(err)));

    keyring_t *ring = keyring_load(dir, "", err, sizeof(err));
    assert_non_null(ring);
    assert_non_null(keyring_find(ring, "c1"));
    assert_null(keyring_find(ring, "c2"));
    assert_string_equal(ring->signing->kid, "c1");
    keyring_free(ring);

    assert_true(keyring_kid_valid("k-1_a", 5));
    assert_false(keyring_kid_valid("k.1", 3));
    assert_false(keyring_kid_valid("", 0));
    remove_dir(dir);
}

/* validate */

static const char *const colours[] = {"red", "green", NULL};
static const struct field_rule sample_rules[] = {
    {"name", FIELD_LINE, FIELD_REQUIRED, 1, 5, NULL},
    {"notes", FIELD_TEXT, FIELD_NULLABLE, 0, 20, NULL},
    {"size", FIELD_INT, 0, 1, 99, NULL},
    {"on", FIELD_DATE, FIELD_NULLABLE, 0, 0, NULL},
    {"colour", FIELD_ENUM, 0, 0, 0, colours},
    {"flag", FIELD_BOOL, 0, 0, 0, NULL},
};
#define NRULES (sizeof(sample_rules) / sizeof(sample_rules[0]))

/* The fields validate_object complains about, comma-joined in order. */
static char *fields_in_error(const char *body_text, bool partial)
{
    json_error_t jerr;
    json_t *body = json_loads(body_text, 0, &jerr);
    assert_non_null(body);
    json_t *errors = validate_object(body, sample_rules, NRULES, partial);
    json_decref(body);
    size_t cap = 256, len = 0;
    char *out = calloc(1, cap);
    if (errors == NULL)
        return out;
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        const char *field = json_string_value(json_object_get(e, "field"));
        assert_non_null(json_string_value(json_object_get(e, "message")));
        int n = snprintf(out + len, cap - len, "%s%s", i > 0 ? "," : "",
                         field && *field ? field : "(body)");
        assert_true(n > 0 && (size_t)n < cap - len);
        len += (size_t)n;
    }
    json_decref(errors);
    return out;
}

static void assert_fields(const char *body, bool partial, const char *expected)
{
    char *got = fields_in_error(body, partial);
    if (strcmp(got, expected) != 0)
        fail_msg("%s: expected errors on [%s], got [%s]", body, expected, got);
    free(got);
}

static void validation_reports_every_bad_field_at_once(void **state)
{
    (void)state;
    assert_fields("{\"name\":\"ab\"}", false, "");
    assert_fields("{\"name\":\"ab\",\"notes\":null,\"on\":null}", false, "");
    assert_fields("{\"name\":\"新安街道\",\"notes\":\"two\\nlines\"}", false, ""); /* 4 chars */
    assert_fields("{}", false, "name");
    assert_fields("{\"name\":\"\"}", false, "name");
    assert_fields("{\"name\":\"abcdef\"}", false, "name");
    assert_fields("{\"name\":\"a\\nb\"}", false, "name"); /* a line has no breaks */
    assert_fields("{\"name\":null}", false, "name");
    assert_fields("{\"name\":5}", false, "name");
    assert_fields(
        "{\"name\":\"a\",\"size\":0,\"colour\":\"blue\",\"flag\":1,\"on\":\"2024-02-30\"}", false,
        "size,colour,flag,on");
    assert_fields("{\"name\":\"a\",\"size\":1.5}", false, "size");
    assert_fields("{\"name\":\"a\",\"size\":\"3\"}", false, "size");
    assert_fields("{\"name\":\"a\",\"nmae\":\"typo\"}", false, "nmae");
}

static void partial_validation_needs_one_field_and_no_required_ones(void **state)
{
    (void)state;
    assert_fields("{\"size\":3}", true, "");
    assert_fields("{\"name\":\"\"}", true, "name");
    assert_fields("{}", true, "(body)"); /* an empty patch is refused, not a silent no-op */
    assert_fields("[]", false, "(body)");
}

static void dates_are_real_calendar_dates(void **state)
{
    (void)state;
    assert_true(validate_date("2024-02-29"));
    assert_true(validate_date("1900-01-01"));
    assert_false(validate_date("2023-02-29"));
    assert_false(validate_date("2024-13-01"));
    assert_false(validate_date("2024-04-31"));
    assert_false(validate_date("2024-4-1"));
    assert_false(validate_date("2024-04-01T00:00"));
    assert_false(validate_date("1899-12-31"));
    assert_false(validate_date(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(an_issued_token_verifies_and_round_trips_its_claims, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(expiry_and_start_honour_the_leeway_and_no_more, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_token_signed_with_the_older_key_still_verifies, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(forged_tokens_each_fail_their_own_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(broken_text_is_malformed_before_any_key_is_used, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_tampered_claim_breaks_the_signature, setup, teardown),
        cmocka_unit_test(the_keyring_refuses_weak_exposed_or_unknown_keys),
        cmocka_unit_test(validation_reports_every_bad_field_at_once),
        cmocka_unit_test(partial_validation_needs_one_field_and_no_required_ones),
        cmocka_unit_test(dates_are_real_calendar_dates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
