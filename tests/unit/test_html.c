/* html: hostile text never becomes markup, broken UTF-8 never reaches a page. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "arena.h"
#include "html.h"

static arena_t *arena;

static int setup(void **state)
{
    (void)state;
    arena = arena_create(4096);
    return arena == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    arena_free(arena);
    return 0;
}

static const char *escaped(const char *text)
{
    strbuf_t b;
    strbuf_init(&b, arena, 64);
    html_text(&b, text);
    assert_false(strbuf_failed(&b));
    return b.data;
}

static void a_script_tag_is_text(void **state)
{
    (void)state;
    assert_string_equal(escaped("<script>alert(1)</script>"),
                        "&lt;script&gt;alert(1)&lt;/script&gt;");
}

static void quotes_cannot_close_an_attribute(void **state)
{
    (void)state;
    assert_string_equal(escaped("\" onmouseover=\"x' y='"),
                        "&quot; onmouseover=&quot;x&#39; y=&#39;");
}

static void ampersands_and_entities_stay_literal(void **state)
{
    (void)state;
    assert_string_equal(escaped("a & b &amp; &lt;"), "a &amp; b &amp;amp; &amp;lt;");
}

static void chinese_text_passes_unchanged(void **state)
{
    (void)state;
    assert_string_equal(escaped("整治乱贴广告现象,打造整洁有序社区"),
                        "整治乱贴广告现象,打造整洁有序社区");
}

static void broken_utf8_becomes_replacement_characters(void **state)
{
    (void)state;
    /* a lone continuation byte, a cut 3-byte sequence, an overlong "<" */
    assert_string_equal(escaped("a\x80"
                                "b"),
                        "a\xef\xbf\xbd"
                        "b");
    assert_string_equal(escaped("\xe6\x95"), "\xef\xbf\xbd\xef\xbf\xbd");
    assert_string_equal(escaped("\xc0\xbcscript"), "\xef\xbf\xbd\xef\xbf\xbdscript");
    /* a UTF-16 surrogate encoded in UTF-8 is not valid UTF-8 either */
    assert_string_equal(escaped("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

static void control_characters_are_dropped_but_lines_kept(void **state)
{
    (void)state;
    assert_string_equal(escaped("a\x01\x1b[31mb\x7f\nc\td"), "a[31mb\nc\td");
}

static void a_nul_inside_the_length_is_dropped(void **state)
{
    (void)state;
    strbuf_t b;
    strbuf_init(&b, arena, 16);
    html_text_n(&b, "a\0<b", 4);
    assert_string_equal(b.data, "a&lt;b");
}

static void paragraphs_split_on_lines_and_escape(void **state)
{
    (void)state;
    strbuf_t b;
    strbuf_init(&b, arena, 16);
    html_paragraphs(&b, "one <i>\n\n  \ntwo & three");
    assert_string_equal(b.data, "<p>one &lt;i&gt;</p><p>two &amp; three</p>");
}

static void cuts_fall_between_characters(void **state)
{
    (void)state;
    strbuf_t b;
    strbuf_init(&b, arena, 16);
    html_text_cut(&b, "社区是基层治理", 3);
    assert_string_equal(b.data, "社区是…");
    strbuf_init(&b, arena, 16);
    html_text_cut(&b, "<<", 5);
    assert_string_equal(b.data, "&lt;&lt;");
}

static void null_appends_nothing(void **state)
{
    (void)state;
    assert_string_equal(escaped(NULL), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_script_tag_is_text),
        cmocka_unit_test(quotes_cannot_close_an_attribute),
        cmocka_unit_test(ampersands_and_entities_stay_literal),
        cmocka_unit_test(chinese_text_passes_unchanged),
        cmocka_unit_test(broken_utf8_becomes_replacement_characters),
        cmocka_unit_test(control_characters_are_dropped_but_lines_kept),
        cmocka_unit_test(a_nul_inside_the_length_is_dropped),
        cmocka_unit_test(paragraphs_split_on_lines_and_escape),
        cmocka_unit_test(cuts_fall_between_characters),
        cmocka_unit_test(null_appends_nothing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
