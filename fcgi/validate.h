/*
 * validate: checks a JSON object body against a table of field rules, and
 * says what is wrong with every field at once, as the 422 problem's
 * "errors" list ([{field, message}]). Unknown fields are errors too, so a
 * typo never silently does nothing. Pure: no I/O.
 */
#ifndef PORTAL_VALIDATE_H
#define PORTAL_VALIDATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum field_type {
    FIELD_LINE, /* text on one line: no control characters */
    FIELD_TEXT, /* text that may hold line breaks and tabs */
    FIELD_INT,  /* a whole number in [min, max] */
    FIELD_BOOL,
    FIELD_DATE, /* "YYYY-MM-DD", a real calendar date */
    FIELD_ENUM, /* one of choices */
    FIELD_ANY,  /* checked by the handler (arrays, objects) */
};

enum field_flags {
    FIELD_REQUIRED = 1u << 0, /* must be present (unless the check is partial) */
    FIELD_NULLABLE = 1u << 1, /* null is accepted (clears the value) */
};

/* The number of rules in a rule table (an array, not a pointer). */
#define COUNT(rules) (sizeof(rules) / sizeof((rules)[0]))

struct field_rule {
    const char *name;
    enum field_type type;
    unsigned flags;
    long long min, max;         /* characters for text, value for ints */
    const char *const *choices; /* FIELD_ENUM: NULL-terminated */
};

/* Checks body (which must be an object). partial: for PATCH, required
 * fields may be absent, but at least one field must be present. Returns
 * NULL when the body is fine, else a new array of {field, message}. */
json_t *validate_object(const json_t *body, const struct field_rule *rules, size_t count,
                        bool partial);

/* Adds {field, message} to errors (created when *errors is NULL). */
void validate_add(json_t **errors, const char *field, const char *message);

/* Whether text is a valid "YYYY-MM-DD" calendar date from 1900 to 2999. */
bool validate_date(const char *text);

/* The number of characters (code points) of valid UTF-8 text. */
size_t validate_chars(const char *s);

#endif
