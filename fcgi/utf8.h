/*
 * utf8: strict UTF-8 validation (RFC 3629): no overlong forms, no
 * surrogates, nothing above U+10FFFF, and no NUL bytes, since text with NUL
 * cannot be stored in PostgreSQL text columns.
 */
#ifndef PORTAL_UTF8_H
#define PORTAL_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Returns true when data[0..len) is valid; otherwise false and, when
 * bad_offset is not NULL, the offset of the first offending byte. */
bool utf8_validate(const char *data, size_t len, size_t *bad_offset);

#endif
