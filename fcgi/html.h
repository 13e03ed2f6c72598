/*
 * html: text into HTML. Every byte a page shows that came from the
 * database or a request goes through html_text, which escapes the five
 * characters that mean something in HTML text and in quoted attribute
 * values (& < > " '), turns bytes that are not UTF-8 into U+FFFD, and drops
 * control characters, so no stored text can open a tag, close an attribute
 * or smuggle an invalid sequence into the page. Template text of our own
 * is appended as it is with strbuf_puts.
 */
#ifndef PORTAL_HTML_H
#define PORTAL_HTML_H

#include <stddef.h>

#include "strbuf.h"

/* Appends text (NUL-terminated; NULL appends nothing), escaped for HTML
 * text or a double- or single-quoted attribute value. */
void html_text(strbuf_t *out, const char *text);

/* The same for len bytes (NUL bytes among them are dropped). */
void html_text_n(strbuf_t *out, const char *text, size_t len);

/* Appends text as paragraphs: each line that is not blank becomes
 * <p>...</p>, escaped. */
void html_paragraphs(strbuf_t *out, const char *text);

/* Appends at most max_chars characters of text, escaped, with "…" when
 * it was cut (for descriptions). Cuts fall between characters. */
void html_text_cut(strbuf_t *out, const char *text, size_t max_chars);

#endif
