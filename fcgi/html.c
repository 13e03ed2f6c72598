/* html: escaping text into HTML. See html.h. */
#include "html.h"

#include <stdbool.h>
#include <string.h>

#include "utf8.h"

/* The length of the UTF-8 sequence at p (at most avail bytes), or 0 when
 * it is not a valid one. */
static size_t sequence_len(const unsigned char *p, size_t avail)
{
    size_t want = p[0] < 0x80             ? 1
                  : (p[0] & 0xe0) == 0xc0 ? 2
                  : (p[0] & 0xf0) == 0xe0 ? 3
                  : (p[0] & 0xf8) == 0xf0 ? 4
                                          : 0;
    if (want == 0 || want > avail)
        return 0;
    return utf8_validate((const char *)p, want, NULL) ? want : 0;
}

/* Appends the sequence at p, escaped; returns how many bytes it took. */
static size_t escape_one(strbuf_t *out, const unsigned char *p, size_t avail)
{
    static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */
    switch (p[0]) {
    case '&':
        strbuf_puts(out, "&amp;");
        return 1;
    case '<':
        strbuf_puts(out, "&lt;");
        return 1;
    case '>':
        strbuf_puts(out, "&gt;");
        return 1;
    case '"':
        strbuf_puts(out, "&quot;");
        return 1;
    case '\'':
        strbuf_puts(out, "&#39;");
        return 1;
    case '\n':
    case '\t':
        strbuf_append(out, (const char *)p, 1);
        return 1;
    default:
        break;
    }
    if (p[0] < 0x20 || p[0] == 0x7f)
        return 1; /* control characters (and NUL) say nothing on a page */
    size_t n = sequence_len(p, avail);
    if (n == 0) {
        strbuf_puts(out, replacement);
        return 1;
    }
    strbuf_append(out, (const char *)p, n);
    return n;
}

void html_text_n(strbuf_t *out, const char *text, size_t len)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        /* copy a run of plain ASCII at once */
        size_t run = i;
        while (run < len && p[run] >= 0x20 && p[run] < 0x7f && p[run] != '&' && p[run] != '<' &&
               p[run] != '>' && p[run] != '"' && p[run] != '\'')
            run++;
        if (run > i) {
            strbuf_append(out, text + i, run - i);
            i = run;
            continue;
        }
        i += escape_one(out, p + i, len - i);
    }
}

void html_text(strbuf_t *out, const char *text)
{
    if (text != NULL)
        html_text_n(out, text, strlen(text));
}

void html_paragraphs(strbuf_t *out, const char *text)
{
    if (text == NULL)
        return;
    const char *p = text;
    while (*p) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        bool blank = true;
        for (size_t i = 0; i < len && blank; i++)
            blank = p[i] == ' ' || p[i] == '\t' || p[i] == '\r';
        if (!blank) {
            strbuf_puts(out, "<p>");
            html_text_n(out, p, len);
            strbuf_puts(out, "</p>");
        }
        p += len;
        if (*p == '\n')
            p++;
    }
}

void html_text_cut(strbuf_t *out, const char *text, size_t max_chars)
{
    if (text == NULL)
        return;
    const unsigned char *p = (const unsigned char *)text;
    size_t len = strlen(text), i = 0, chars = 0;
    while (i < len && chars < max_chars) {
        size_t n = sequence_len(p + i, len - i);
        i += n == 0 ? 1 : n;
        chars++;
    }
    html_text_n(out, text, i);
    if (i < len)
        strbuf_puts(out, "…");
}
