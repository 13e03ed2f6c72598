/* Router: matching, typed parameters, 404 versus 405 with Allow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "route.h"
#include "stored.h"

static void handler_stub(struct request *req)
{
    (void)req;
}

static const struct route_def table[] = {
    {"GET", "/healthz", handler_stub, ROUTE_BODY_NONE, "h", ROUTE_OPEN},
    {"GET", "/api/cases", handler_stub, ROUTE_BODY_NONE, "list", ROUTE_OPEN},
    {"POST", "/api/cases", handler_stub, ROUTE_BODY_JSON, "create", ROUTE_OPEN},
    {"GET", "/api/cases/{id:int}", handler_stub, ROUTE_BODY_NONE, "get", ROUTE_OPEN},
    {"PATCH", "/api/cases/{id:int}", handler_stub, ROUTE_BODY_JSON, "patch", ROUTE_OPEN},
    {"GET", "/api/cases/{id:int}/revisions/{rev:int}", handler_stub, ROUTE_BODY_NONE, "rev",
     ROUTE_OPEN},
    {"GET", "/api/things/{name:slug}", handler_stub, ROUTE_BODY_NONE, "slug", ROUTE_OPEN},
};

static router_t *make_router(void)
{
    char err[128];
    router_t *r = router_create(table, sizeof(table) / sizeof(table[0]), err, sizeof(err));
    assert_non_null(r);
    return r;
}

static void literal_route_matches_exactly(void **state)
{
    (void)state;
    router_t *r = make_router();
    route_match_t m;
    assert_int_equal(router_match(r, "GET", "/healthz", &m), ROUTE_FOUND);
    assert_string_equal(m.def->pattern, "/healthz");
    assert_int_equal(router_match(r, "GET", "/healthz/", &m), ROUTE_NOT_FOUND);
    assert_int_equal(router_match(r, "GET", "/healthzz", &m), ROUTE_NOT_FOUND);
    assert_int_equal(router_match(r, "GET", "//healthz", &m), ROUTE_NOT_FOUND);
    router_free(r);
}

static void int_parameter_is_parsed_and_range_checked(void **state)
{
    (void)state;
    router_t *r = make_router();
    route_match_t m;
    assert_int_equal(router_match(r, "GET", "/api/cases/42", &m), ROUTE_FOUND);
    assert_int_equal(route_param_int(&m, "id"), 42);
    assert_int_equal(router_match(r, "GET", "/api/cases/9223372036854775807", &m), ROUTE_FOUND);
    assert_int_equal(route_param_int(&m, "id"), INT64_MAX);
    /* overflow, sign, leading zero, zero, letters, empty: all not found */
    const char *bad[] = {"/api/cases/9223372036854775808",
                         "/api/cases/-1",
                         "/api/cases/+1",
                         "/api/cases/007",
                         "/api/cases/0",
                         "/api/cases/1a",
                         "/api/cases/"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(router_match(r, "GET", bad[i], &m), ROUTE_NOT_FOUND);
    router_free(r);
}

static void two_parameters_are_both_captured(void **state)
{
    (void)state;
    router_t *r = make_router();
    route_match_t m;
    assert_int_equal(router_match(r, "GET", "/api/cases/7/revisions/3", &m), ROUTE_FOUND);
    assert_int_equal(route_param_int(&m, "id"), 7);
    assert_int_equal(route_param_int(&m, "rev"), 3);
    assert_int_equal(route_param_int(&m, "missing"), -1);
    router_free(r);
}

static void slug_parameter_accepts_only_slug_characters(void **state)
{
    (void)state;
    router_t *r = make_router();
    route_match_t m;
    assert_int_equal(router_match(r, "GET", "/api/things/edition-13", &m), ROUTE_FOUND);
    assert_int_equal(m.params[0].text_len, strlen("edition-13"));
    assert_int_equal(router_match(r, "GET", "/api/things/Edition", &m), ROUTE_NOT_FOUND);
    assert_int_equal(router_match(r, "GET", "/api/things/a%2Fb", &m), ROUTE_NOT_FOUND);
    router_free(r);
}

static void wrong_method_is_405_with_every_allowed_method(void **state)
{
    (void)state;
    router_t *r = make_router();
    route_match_t m;
    assert_int_equal(router_match(r, "DELETE", "/api/cases/5", &m), ROUTE_METHOD_NOT_ALLOWED);
    assert_string_equal(m.allow, "GET, HEAD, PATCH");
    assert_int_equal(router_match(r, "PUT", "/api/cases", &m), ROUTE_METHOD_NOT_ALLOWED);
    assert_string_equal(m.allow, "GET, HEAD, POST");
    router_free(r);
}

static void head_is_served_by_get_routes(void **state)
{
    (void)state;
    router_t *r = make_router();
    route_match_t m;
    assert_int_equal(router_match(r, "HEAD", "/api/cases/5", &m), ROUTE_FOUND);
    assert_string_equal(m.def->method, "GET");
    router_free(r);
}

static void bad_tables_are_refused_at_start_up(void **state)
{
    (void)state;
    char err[128];
    const struct route_def dup[] = {{"GET", "/a", handler_stub, ROUTE_BODY_NONE, "", ROUTE_OPEN},
                                    {"GET", "/a", handler_stub, ROUTE_BODY_NONE, "", ROUTE_OPEN}};
    assert_null(router_create(dup, 2, err, sizeof(err)));
    assert_non_null(strstr(err, "twice"));
    const struct route_def badtype[] = {{"GET", "/a/{x:float}", handler_stub, 0, "", 0}};
    assert_null(router_create(badtype, 1, err, sizeof(err)));
    const struct route_def noslash[] = {{"GET", "a", handler_stub, 0, "", 0}};
    assert_null(router_create(noslash, 1, err, sizeof(err)));
    const struct route_def empty_seg[] = {{"GET", "/a//b", handler_stub, 0, "", 0}};
    assert_null(router_create(empty_seg, 1, err, sizeof(err)));
}

/* A kept public answer's key: the pattern and the parameters' values,
 * integers as numbers (so one answer has one key); a key that does not
 * fit is refused, never cut short (two answers would share it). */
static void stored_keys_name_the_route_and_its_values(void **state)
{
    (void)state;
    router_t *r = make_router();
    route_match_t m;
    char key[STORED_KEY_MAX + 1];
    assert_int_equal(router_match(r, "GET", "/api/cases/42/revisions/7", &m), ROUTE_FOUND);
    assert_int_equal(stored_key("f1", &m, key, sizeof(key)), 47);
    assert_string_equal(key, "f1 /api/cases/{id:int}/revisions/{rev:int} 42 7");
    assert_int_equal(router_match(r, "GET", "/api/things/a-b", &m), ROUTE_FOUND);
    assert_true(stored_key("f1", &m, key, sizeof(key)) > 0);
    assert_string_equal(key, "f1 /api/things/{name:slug} a-b");
    assert_int_equal(router_match(r, "GET", "/healthz", &m), ROUTE_FOUND);
    assert_int_equal(stored_key("0123abcd", &m, key, sizeof(key)), 17);
    assert_string_equal(key, "0123abcd /healthz");
    /* too small for the format and pattern, or for a parameter */
    assert_int_equal(router_match(r, "GET", "/api/cases/123456789", &m), ROUTE_FOUND);
    assert_int_equal(stored_key("f1", &m, key, 20), -1);
    assert_int_equal(stored_key("f1", &m, key, sizeof("f1 /api/cases/{id:int} 1234")), -1);
    assert_int_equal(stored_key("f1", &m, key, sizeof("f1 /api/cases/{id:int} 123456789")), 32);
    assert_int_equal(stored_key("f1", &m, key, 0), -1);
    m.def = NULL;
    assert_int_equal(stored_key("f1", &m, key, sizeof(key)), -1);
    router_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(literal_route_matches_exactly),
        cmocka_unit_test(int_parameter_is_parsed_and_range_checked),
        cmocka_unit_test(two_parameters_are_both_captured),
        cmocka_unit_test(slug_parameter_accepts_only_slug_characters),
        cmocka_unit_test(wrong_method_is_405_with_every_allowed_method),
        cmocka_unit_test(head_is_served_by_get_routes),
        cmocka_unit_test(bad_tables_are_refused_at_start_up),
        cmocka_unit_test(stored_keys_name_the_route_and_its_values),
    };
    return cmocka_run_group_tests_name("route", tests, NULL, NULL);
}
