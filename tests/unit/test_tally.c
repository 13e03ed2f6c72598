/* tally: counts in the edition's order, zeros filled in, bad shapes refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "tally.h"

/* The tally as compact JSON text (the caller frees it), NULL for NULL. */
static char *tally_text(const char *choices, const char *counts)
{
    json_t *tally = tally_in_order(choices, counts);
    if (tally == NULL)
        return NULL;
    char *text = json_dumps(tally, JSON_COMPACT);
    json_decref(tally);
    return text;
}

static void assert_tally(const char *choices, const char *counts, const char *expected)
{
    char *text = tally_text(choices, counts);
    assert_non_null(text);
    assert_string_equal(text, expected);
    free(text);
}

static void counts_follow_the_editions_order(void **state)
{
    (void)state;
    /* the database hands them over grouped by choice, in its collation */
    assert_tally("[\"满意\",\"基本满意\",\"不满意\"]",
                 "{ \"不满意\" : 3, \"基本满意\" : 2, \"满意\" : 1 }",
                 "{\"满意\":1,\"基本满意\":2,\"不满意\":3}");
}

static void a_choice_nobody_chose_counts_zero(void **state)
{
    (void)state;
    assert_tally("[\"a\",\"b\",\"c\"]", "{\"b\": 7}", "{\"a\":0,\"b\":7,\"c\":0}");
    /* nothing counted yet: SQL's NULL comes as NULL or as "" */
    assert_tally("[\"a\",\"b\"]", NULL, "{\"a\":0,\"b\":0}");
    assert_tally("[\"a\",\"b\"]", "", "{\"a\":0,\"b\":0}");
}

static void choices_with_quotes_and_escapes_keep_their_text(void **state)
{
    (void)state;
    assert_tally("[\"x\\\"y\",\"<b>&\"]", "{\"x\\\"y\": 4}", "{\"x\\\"y\":4,\"<b>&\":0}");
}

static void a_count_of_no_choice_is_left_out(void **state)
{
    (void)state;
    /* as vote_tally leaves it: only a direct insert into vote_counts makes one */
    assert_tally("[\"a\",\"b\"]", "{\"c\": 1, \"b\": 2}", "{\"a\":0,\"b\":2}");
    assert_tally("[\"a\",\"b\"]", "{\"c\": \"x\"}", "{\"a\":0,\"b\":0}");
}

static void big_counts_stay_exact(void **state)
{
    (void)state;
    assert_tally("[\"a\",\"b\"]", "{\"a\": 9007199254740993}", "{\"a\":9007199254740993,\"b\":0}");
}

static void shapes_that_are_not_a_tally_are_refused(void **state)
{
    (void)state;
    const char *choices = "[\"a\",\"b\"]";
    assert_null(tally_in_order(NULL, "{}"));
    assert_null(tally_in_order("", "{}"));
    assert_null(tally_in_order("{\"a\":1}", "{}"));         /* choices not a list */
    assert_null(tally_in_order("[\"a\",1]", "{}"));         /* a choice not text */
    assert_null(tally_in_order("[\"a\",\"a\"]", "{}"));     /* a choice twice */
    assert_null(tally_in_order("[\"a\"", "{}"));            /* broken JSON */
    assert_null(tally_in_order(choices, "[1,2]"));          /* counts not an object */
    assert_null(tally_in_order(choices, "{\"a\": -1}"));    /* a count below zero */
    assert_null(tally_in_order(choices, "{\"a\": 1.5}"));   /* a count not whole */
    assert_null(tally_in_order(choices, "{\"a\": \"1\"}")); /* a count as text */
    assert_null(tally_in_order(choices, "{\"a\": 1"));      /* broken JSON */
    assert_null(tally_in_order("[\"\\u00e9\xff\"]", "{}")); /* not UTF-8 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_follow_the_editions_order),
        cmocka_unit_test(a_choice_nobody_chose_counts_zero),
        cmocka_unit_test(choices_with_quotes_and_escapes_keep_their_text),
        cmocka_unit_test(a_count_of_no_choice_is_left_out),
        cmocka_unit_test(big_counts_stay_exact),
        cmocka_unit_test(shapes_that_are_not_a_tally_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
