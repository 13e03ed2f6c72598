/* Configuration parsing, the arena, strbuf, problem bodies and the respawn throttle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "config.h"
#include "log.h"
#include "pool.h"
#include "response.h"
#include "scoreboard.h"
#include "strbuf.h"

static void durations_sizes_and_integers_parse_with_range_checks(void **state)
{
    (void)state;
    unsigned long v;
    assert_int_equal(config_parse_duration_ms("30s", 100, 3600000, &v), 0);
    assert_int_equal(v, 30000);
    assert_int_equal(config_parse_duration_ms("250ms", 100, 3600000, &v), 0);
    assert_int_equal(v, 250);
    assert_int_equal(config_parse_duration_ms("2m", 100, 3600000, &v), 0);
    assert_int_equal(v, 120000);
    assert_int_equal(config_parse_duration_ms("50ms", 100, 3600000, &v), -1);
    assert_int_equal(config_parse_duration_ms("30", 100, 3600000, &v), -1);
    assert_int_equal(config_parse_duration_ms("-5s", 100, 3600000, &v), -1);
    assert_int_equal(config_parse_size("64k", 1024, 1 << 26, &v), 0);
    assert_int_equal(v, 65536);
    assert_int_equal(config_parse_size("1g", 1024, 1 << 26, &v), -1);
    assert_int_equal(config_parse_size("2g", 0, 1UL << 40, &v), 0);
    assert_int_equal(v, 2147483648UL);
    assert_int_equal(config_parse_uint("8", 1, 128, &v), 0);
    assert_int_equal(config_parse_uint("0", 1, 128, &v), -1);
    assert_int_equal(config_parse_uint("8x", 1, 128, &v), -1);
    assert_int_equal(config_parse_uint("99999999999999999999999", 1, 128, &v), -1);
}

static void flags_beat_environment_and_bad_values_give_one_line(void **state)
{
    (void)state;
    config_t c;
    enum config_action action;
    char err[256];
    setenv("PORTAL_WORKERS", "3", 1);
    char *argv1[] = {"portald", "--workers", "5", NULL};
    assert_int_equal(config_load(&c, 3, argv1, &action, err, sizeof(err)), 0);
    assert_int_equal(c.workers, 5);
    config_free(&c);
    char *argv2[] = {"portald", NULL};
    assert_int_equal(config_load(&c, 1, argv2, &action, err, sizeof(err)), 0);
    assert_int_equal(c.workers, 3);
    config_free(&c);
    unsetenv("PORTAL_WORKERS");
    char *argv3[] = {"portald", "--max-body=12x", NULL};
    assert_int_equal(config_load(&c, 2, argv3, &action, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "max-body"));
    assert_null(strchr(err, '\n'));
    char *argv4[] = {"portald", "--nope", "1", NULL};
    assert_int_equal(config_load(&c, 3, argv4, &action, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "unknown option"));
    char *argv5[] = {"portald", "--slow-request", "5s", "--request-timeout", "1s", NULL};
    assert_int_equal(config_load(&c, 5, argv5, &action, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "slow-request"));
}

static void config_file_is_read_and_errors_name_the_line(void **state)
{
    (void)state;
    char path[] = "/tmp/portald-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("# comment\nworkers = 6\n\nmax-requests=0\n", f);
    fclose(f);
    config_t c;
    enum config_action action;
    char err[256];
    char *argv[] = {"portald", "--config", path, NULL};
    assert_int_equal(config_load(&c, 3, argv, &action, err, sizeof(err)), 0);
    assert_int_equal(c.workers, 6);
    assert_int_equal(c.max_requests, 0);
    config_free(&c);
    f = fopen(path, "w");
    fputs("workers = 6\nbogus = 1\n", f);
    fclose(f);
    assert_int_equal(config_load(&c, 3, argv, &action, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":2:"));
    unlink(path);
}

static int destroyed;
static void count_destroy(void *p)
{
    (void)p;
    destroyed++;
}

static void arena_reset_runs_cleanups_and_reuses_memory(void **state)
{
    (void)state;
    arena_t *a = arena_create(1024);
    assert_non_null(a);
    void *first = arena_alloc(a, 100);
    assert_non_null(arena_alloc(a, 100000)); /* larger than a chunk */
    destroyed = 0;
    arena_defer(a, count_destroy, NULL);
    arena_defer(a, count_destroy, NULL);
    arena_reset(a);
    assert_int_equal(destroyed, 2);
    assert_int_equal(arena_used(a), 0);
    assert_ptr_equal(arena_alloc(a, 100), first);
    assert_null(arena_calloc(a, SIZE_MAX / 2, 4));
    char *s = arena_printf(a, "%s-%d", "edition", 13);
    assert_string_equal(s, "edition-13");
    arena_free(a);
}

static void strbuf_grows_and_escapes_json(void **state)
{
    (void)state;
    arena_t *a = arena_create(256);
    strbuf_t sb;
    strbuf_init(&sb, a, 8);
    for (int i = 0; i < 1000; i++)
        strbuf_puts(&sb, "x");
    assert_int_equal(sb.len, 1000);
    strbuf_t js;
    strbuf_init(&js, a, 8);
    strbuf_json_string(&js, "a\"b\\c\n\x01社区");
    assert_string_equal(js.data, "\"a\\\"b\\\\c\\n\\u0001社区\"");
    arena_free(a);
}

static void problem_body_has_type_titles_and_status(void **state)
{
    (void)state;
    arena_t *a = arena_create(1024);
    char *body = response_problem_body(a, PROBLEM_BODY_TOO_LARGE, "too big",
                                       json_pack("{s:i}", "max_bytes", 10), "rid");
    json_t *doc = json_loads(body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(doc, "type")),
                        "/problems/body-too-large");
    assert_int_equal(json_integer_value(json_object_get(doc, "status")), 413);
    assert_string_equal(json_string_value(json_object_get(doc, "title_zh")), "请求体过大");
    assert_int_equal(json_integer_value(json_object_get(doc, "max_bytes")), 10);
    assert_string_equal(json_string_value(json_object_get(doc, "request_id")), "rid");
    json_decref(doc);
    arena_free(a);
}

static void respawn_throttle_backs_off_and_caps(void **state)
{
    (void)state;
    assert_int_equal(pool_respawn_delay_ms(0), 0);
    assert_int_equal(pool_respawn_delay_ms(2), 0);
    assert_int_equal(pool_respawn_delay_ms(3), 100);
    assert_int_equal(pool_respawn_delay_ms(4), 200);
    assert_int_equal(pool_respawn_delay_ms(9), 5000);
    assert_int_equal(pool_respawn_delay_ms(1000), 5000);
}

static void metrics_histogram_is_cumulative(void **state)
{
    (void)state;
    struct scoreboard *board = scoreboard_create();
    scoreboard_request_start(&board->slots[0], "/healthz", 1);
    scoreboard_request_end(&board->slots[0], 200, 200000);      /* 0.2 ms */
    scoreboard_request_end(&board->slots[0], 404, 3000000);     /* 3 ms */
    scoreboard_request_end(&board->slots[1], 503, 20000000000); /* 20 s */
    arena_t *a = arena_create(4096);
    strbuf_t out;
    strbuf_init(&out, a, 4096);
    scoreboard_render(board, &out);
    assert_non_null(strstr(out.data, "portal_request_duration_seconds_bucket{le=\"0.0005\"} 1\n"));
    assert_non_null(strstr(out.data, "portal_request_duration_seconds_bucket{le=\"0.005\"} 2\n"));
    assert_non_null(strstr(out.data, "portal_request_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(out.data, "portal_responses_total{worker=\"0\",class=\"4xx\"} 1\n"));
    assert_non_null(strstr(out.data, "portal_responses_total{worker=\"1\",class=\"5xx\"} 1\n"));
    arena_free(a);
    scoreboard_free(board);
}

/* The line as it stands, closed, parsed as JSON: NULL when it is not. */
static json_t *line_as_json(const logline_t *line)
{
    char text[LOG_LINE_MAX + 2];
    memcpy(text, line->buf, line->len);
    text[line->len] = '}';
    text[line->len + 1] = '\0';
    json_error_t err;
    return json_loads(text, 0, &err);
}

static void log_lines_stay_valid_json_whatever_the_bytes(void **state)
{
    (void)state;
    logline_t line;
    log_begin(&line, "info", "test");
    log_str(&line, "path",
            "/a\xa0"
            "b\xc3\x28\xed\xa0\x80\xf0\x9f\x98\x80\"q\"\n");
    json_t *v = line_as_json(&line);
    assert_non_null(v);
    assert_string_equal(json_string_value(json_object_get(v, "path")),
                        "/a\xef\xbf\xbd"
                        "b\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                        "\xf0\x9f\x98\x80\"q\"\n");
    json_decref(v);

    /* a long value of three-byte characters is cut between characters */
    char big[LOG_LINE_MAX * 2];
    size_t n = 0;
    while (n + 3 < sizeof(big)) {
        memcpy(big + n, "\xe8\xa1\x97", 3); /* 街 */
        n += 3;
    }
    big[n] = '\0';
    for (int shift = 0; shift < 3; shift++) {
        log_begin(&line, "info", "test");
        log_str(&line, "pad", shift == 0 ? "" : shift == 1 ? "x" : "xy");
        log_str(&line, "big", big);
        assert_true(line.truncated);
        v = line_as_json(&line);
        assert_non_null(v);
        json_decref(v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(durations_sizes_and_integers_parse_with_range_checks),
        cmocka_unit_test(log_lines_stay_valid_json_whatever_the_bytes),
        cmocka_unit_test(flags_beat_environment_and_bad_values_give_one_line),
        cmocka_unit_test(config_file_is_read_and_errors_name_the_line),
        cmocka_unit_test(arena_reset_runs_cleanups_and_reuses_memory),
        cmocka_unit_test(strbuf_grows_and_escapes_json),
        cmocka_unit_test(problem_body_has_type_titles_and_status),
        cmocka_unit_test(respawn_throttle_backs_off_and_caps),
        cmocka_unit_test(metrics_histogram_is_cumulative),
    };
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
