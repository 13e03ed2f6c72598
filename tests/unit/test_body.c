/* Request bodies: media type, length, UTF-8 and JSON rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "request.h"
#include "utf8.h"

static void json_media_type_accepts_only_utf8_json(void **state)
{
    (void)state;
    assert_true(request_is_json_type("application/json"));
    assert_true(request_is_json_type("Application/JSON; charset=UTF-8"));
    assert_true(request_is_json_type("application/json;charset=\"utf-8\""));
    assert_false(request_is_json_type(NULL));
    assert_false(request_is_json_type("text/plain"));
    assert_false(request_is_json_type("application/jsonp"));
    assert_false(request_is_json_type("application/json; charset=latin1"));
    assert_false(request_is_json_type("application/x-www-form-urlencoded"));
}

static void content_length_must_be_plain_digits(void **state)
{
    (void)state;
    size_t n;
    assert_int_equal(request_parse_length("123", &n), 0);
    assert_int_equal(n, 123);
    assert_int_equal(request_parse_length("", &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(request_parse_length("-1", &n), -1);
    assert_int_equal(request_parse_length("12a", &n), -1);
    assert_int_equal(request_parse_length("99999999999999999999", &n), -1);
}

static void a_query_parameter_is_counted_however_it_is_written(void **state)
{
    (void)state;
    request_t req;
    memset(&req, 0, sizeof(req));
    assert_int_equal(request_query_count(&req, "replaces"), 0); /* no query at all */
    req.query = "replaces=5";
    assert_int_equal(request_query_count(&req, "replaces"), 1);
    /* without a value, empty, undecodable, repeated: each counts once */
    req.query = "replaces&caption=x&replaces=&replaces=%zz&replaces=6";
    assert_int_equal(request_query_count(&req, "replaces"), 4);
    /* a longer name, or the name as a value, is another parameter */
    req.query = "replacesx=1&x=replaces&areplaces=2&&";
    assert_int_equal(request_query_count(&req, "replaces"), 0);
}

static void utf8_validator_rejects_every_malformed_class(void **state)
{
    (void)state;
    size_t at;
    assert_true(utf8_validate("履新第一事", strlen("履新第一事"), NULL));
    assert_true(utf8_validate("\xF0\x9F\x98\x80", 4, NULL)); /* emoji */
    struct {
        const char *bytes;
        size_t len;
        size_t at;
    } bad[] = {
        {"ab\xC0\xAF", 4, 2},       /* overlong slash */
        {"\xE0\x80\xAF", 3, 0},     /* overlong 3-byte */
        {"\xED\xA0\x80", 3, 0},     /* surrogate */
        {"\xF4\x90\x80\x80", 4, 0}, /* above U+10FFFF */
        {"x\xE5\xB1", 3, 1},        /* truncated */
        {"\xFF", 1, 0},             /* never valid */
        {"a\0b", 3, 1},             /* NUL */
        {"\x80", 1, 0},             /* lone continuation */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(utf8_validate(bad[i].bytes, bad[i].len, &at));
        assert_int_equal(at, bad[i].at);
    }
}

static void malformed_json_reports_where(void **state)
{
    (void)state;
    json_t *value, *where;
    char detail[256];
    const char *text = "{\"a\": 1,\n \"b\": }";
    enum problem_id p =
        request_parse_json(text, strlen(text), &value, &where, detail, sizeof(detail));
    assert_int_equal(p, PROBLEM_MALFORMED_JSON);
    assert_null(value);
    assert_int_equal(json_integer_value(json_object_get(where, "line")), 2);
    assert_non_null(strstr(detail, "line 2"));
    json_decref(where);
}

static void duplicate_keys_and_nul_escapes_are_refused(void **state)
{
    (void)state;
    json_t *value, *where;
    char detail[256];
    const char *dup = "{\"role\": \"editor\", \"role\": \"admin\"}";
    assert_int_equal(request_parse_json(dup, strlen(dup), &value, &where, detail, sizeof(detail)),
                     PROBLEM_MALFORMED_JSON);
    json_decref(where);
    const char *nul = "{\"a\": \"x\\u0000y\"}";
    assert_int_equal(request_parse_json(nul, strlen(nul), &value, &where, detail, sizeof(detail)),
                     PROBLEM_MALFORMED_JSON);
    json_decref(where);
}

static void invalid_utf8_is_its_own_problem(void **state)
{
    (void)state;
    json_t *value, *where;
    char detail[256];
    const char *text = "{\"title\": \"\xC3\x28\"}";
    assert_int_equal(request_parse_json(text, strlen(text), &value, &where, detail, sizeof(detail)),
                     PROBLEM_INVALID_UTF8);
    assert_int_equal(json_integer_value(json_object_get(where, "position")), 11);
    json_decref(where);
}

static void valid_json_is_returned(void **state)
{
    (void)state;
    json_t *value, *where;
    char detail[256];
    const char *text = "{\"title\": \"整治乱贴广告现象\"}";
    assert_int_equal(request_parse_json(text, strlen(text), &value, &where, detail, sizeof(detail)),
                     REQUEST_PARSE_OK);
    assert_string_equal(json_string_value(json_object_get(value, "title")), "整治乱贴广告现象");
    json_decref(value);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_media_type_accepts_only_utf8_json),
        cmocka_unit_test(content_length_must_be_plain_digits),
        cmocka_unit_test(a_query_parameter_is_counted_however_it_is_written),
        cmocka_unit_test(utf8_validator_rejects_every_malformed_class),
        cmocka_unit_test(malformed_json_reports_where),
        cmocka_unit_test(duplicate_keys_and_nul_escapes_are_refused),
        cmocka_unit_test(invalid_utf8_is_its_own_problem),
        cmocka_unit_test(valid_json_is_returned),
    };
    return cmocka_run_group_tests_name("body", tests, NULL, NULL);
}
