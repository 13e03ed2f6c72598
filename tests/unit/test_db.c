/* db: columns read by name, and each statement's placeholder count as the
 * build counted it (comments and quotes skipped). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "db.h"

/* A result as libpq would hand it over: columns outcome, version, detail;
 * one row ("ok", "7", NULL). */
static PGresult *made_result(void)
{
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    assert_non_null(res);
    PGresAttDesc attrs[3];
    memset(attrs, 0, sizeof(attrs));
    attrs[0].name = "outcome";
    attrs[1].name = "version";
    attrs[2].name = "detail";
    for (int i = 0; i < 3; i++)
        attrs[i].typid = 25; /* text */
    assert_int_equal(PQsetResultAttrs(res, 3, attrs), 1);
    assert_int_equal(PQsetvalue(res, 0, 0, "ok", 2), 1);
    assert_int_equal(PQsetvalue(res, 0, 1, "7", 1), 1);
    assert_int_equal(PQsetvalue(res, 0, 2, NULL, -1), 1); /* SQL NULL */
    return res;
}

static void columns_are_read_by_name_whatever_their_position(void **state)
{
    (void)state;
    PGresult *res = made_result();
    assert_string_equal(db_value(res, 0, "outcome"), "ok");
    assert_string_equal(db_value(res, 0, "version"), "7");
    assert_int_equal(db_int(res, 0, "version", -1), 7);
    assert_int_equal(db_length(res, 0, "outcome"), 2);
    PQclear(res);
}

static void null_missing_column_and_missing_row_read_as_null(void **state)
{
    (void)state;
    PGresult *res = made_result();
    assert_null(db_value(res, 0, "detail"));         /* SQL NULL */
    assert_null(db_value(res, 0, "no_such_column")); /* a programming error, logged */
    assert_null(db_value(res, 1, "outcome"));        /* past the last row */
    assert_null(db_value(res, -1, "outcome"));
    assert_int_equal(db_int(res, 0, "detail", 42), 42);
    assert_int_equal(db_int(res, 0, "outcome", 42), 42); /* "ok" is no number */
    assert_false(db_bool(res, 0, "outcome"));
    assert_int_equal(db_length(res, 0, "detail"), 0);
    PQclear(res);
}

static void booleans_are_postgresqls_t_only(void **state)
{
    (void)state;
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc attr;
    memset(&attr, 0, sizeof(attr));
    attr.name = "locked";
    attr.typid = 16;
    assert_int_equal(PQsetResultAttrs(res, 1, &attr), 1);
    assert_int_equal(PQsetvalue(res, 0, 0, "t", 1), 1);
    assert_int_equal(PQsetvalue(res, 1, 0, "f", 1), 1);
    assert_true(db_bool(res, 0, "locked"));
    assert_false(db_bool(res, 1, "locked"));
    PQclear(res);
}

/* Counts written out from the statements' texts by hand, so a miscount in
 * the build's embed tool fails here. */
static void the_build_counts_each_statements_placeholders(void **state)
{
    (void)state;
    assert_int_equal(db_statement_params(SQL_TX_BEGIN), 0);
    assert_int_equal(db_statement_params(SQL_TX_SETTINGS), 2);
    assert_int_equal(db_statement_params(SQL_CASES_TRANSITION), 6);
    assert_int_equal(db_statement_params(SQL_AUTH_LOGIN_RESERVE), 7);
    assert_int_equal(db_statement_params(SQL_AUTH_LOGIN_FAILED), 4);
    assert_int_equal(db_statement_params(SQL_CASES_LIST), 6);
    assert_int_equal(db_statement_params(SQL_WORKFLOW_GET), 0);
    assert_int_equal(db_statement_params(-1), -1);
    assert_int_equal(db_statement_params(SQL_COUNT), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(columns_are_read_by_name_whatever_their_position),
        cmocka_unit_test(null_missing_column_and_missing_row_read_as_null),
        cmocka_unit_test(booleans_are_postgresqls_t_only),
        cmocka_unit_test(the_build_counts_each_statements_placeholders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
