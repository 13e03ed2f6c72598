/*
 * problem: the catalog of RFC 9457 problem types. Each has a stable type
 * URI ("/problems/<slug>", documented in the README), a status, and a
 * title in English and Chinese. Responses carry no internals: the log line
 * has the detail, the client gets the type, the titles and a safe detail.
 */
#ifndef PORTAL_PROBLEM_H
#define PORTAL_PROBLEM_H

enum problem_id {
    PROBLEM_BAD_REQUEST,
    PROBLEM_MALFORMED_JSON,
    PROBLEM_INVALID_UTF8,
    PROBLEM_BODY_REQUIRED,
    PROBLEM_BODY_INCOMPLETE,
    PROBLEM_VALIDATION,
    PROBLEM_UNAUTHORIZED,
    PROBLEM_FORBIDDEN,
    PROBLEM_NOT_FOUND,
    PROBLEM_METHOD_NOT_ALLOWED,
    PROBLEM_CONFLICT,
    PROBLEM_LENGTH_REQUIRED,
    PROBLEM_PRECONDITION_FAILED,
    PROBLEM_PRECONDITION_REQUIRED,
    PROBLEM_INVALID_IMAGE,
    PROBLEM_TRANSITION_NOT_ALLOWED,
    PROBLEM_TRANSITION_FORBIDDEN,
    PROBLEM_NOT_EDITABLE,
    PROBLEM_VOTING_CLOSED,
    PROBLEM_BODY_TOO_LARGE,
    PROBLEM_UNSUPPORTED_MEDIA_TYPE,
    PROBLEM_TOO_MANY_REQUESTS,
    PROBLEM_QUOTA_EXCEEDED,
    PROBLEM_INTERNAL,
    PROBLEM_DATABASE_UNAVAILABLE,
    PROBLEM_SCHEMA_NOT_CURRENT,
    PROBLEM_COUNT
};

struct problem_type {
    const char *slug;
    int status;
    const char *title;
    const char *title_zh;
};

const struct problem_type *problem_get(enum problem_id id);

/* The reason phrase for an HTTP status ("Not Found"); "Unknown" if none. */
const char *http_reason(int status);

#endif
