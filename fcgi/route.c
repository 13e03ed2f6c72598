/*
 * route: a linear scan over compiled patterns. The table is small (tens of
 * routes) and a scan over pre-split segments costs well under a
 * microsecond, so a trie would buy nothing but code.
 */
#include "route.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct segment {
    bool is_param;
    enum route_param_type type;
    char *text; /* literal text, or the parameter's name */
    size_t len;
};

struct compiled_route {
    const struct route_def *def;
    size_t segment_count;
    struct segment segments[ROUTE_MAX_SEGMENTS];
};

struct router {
    size_t count;
    struct compiled_route *routes;
};

static void router_free_segments(struct compiled_route *r)
{
    for (size_t i = 0; i < r->segment_count; i++)
        free(r->segments[i].text);
    r->segment_count = 0;
}

void router_free(router_t *router)
{
    if (router == NULL)
        return;
    for (size_t i = 0; i < router->count; i++)
        router_free_segments(&router->routes[i]);
    free(router->routes);
    free(router);
}

static int compile_pattern(const struct route_def *def, struct compiled_route *out, char *err,
                           size_t errlen)
{
    const char *p = def->pattern;
    out->def = def;
    out->segment_count = 0;
    if (p[0] != '/') {
        snprintf(err, errlen, "route %s %s: pattern must start with /", def->method, p);
        return -1;
    }
    if (strcmp(p, "/") == 0)
        return 0;
    size_t params = 0;
    while (*p == '/') {
        p++;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0 || out->segment_count == ROUTE_MAX_SEGMENTS) {
            snprintf(err, errlen, "route %s %s: empty segment or too many segments", def->method,
                     def->pattern);
            return -1;
        }
        struct segment *seg = &out->segments[out->segment_count];
        seg->is_param = p[0] == '{';
        if (seg->is_param) {
            const char *colon = memchr(p, ':', len);
            if (p[len - 1] != '}' || colon == NULL || params == ROUTE_MAX_PARAMS) {
                snprintf(err, errlen, "route %s %s: parameters look like {name:int}", def->method,
                         def->pattern);
                return -1;
            }
            const char *type = colon + 1;
            size_t type_len = (size_t)(p + len - 1 - type);
            if (type_len == 3 && strncmp(type, "int", 3) == 0)
                seg->type = ROUTE_PARAM_INT;
            else if (type_len == 4 && strncmp(type, "slug", 4) == 0)
                seg->type = ROUTE_PARAM_SLUG;
            else {
                snprintf(err, errlen, "route %s %s: unknown parameter type", def->method,
                         def->pattern);
                return -1;
            }
            seg->len = (size_t)(colon - p - 1);
            seg->text = strndup(p + 1, seg->len);
            params++;
        } else {
            seg->len = len;
            seg->text = strndup(p, len);
        }
        if (seg->text == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        out->segment_count++;
        p += len;
    }
    if (*p != '\0') {
        snprintf(err, errlen, "route %s %s: trailing characters", def->method, def->pattern);
        return -1;
    }
    return 0;
}

router_t *router_create(const struct route_def *defs, size_t count, char *err, size_t errlen)
{
    router_t *router = calloc(1, sizeof(*router));
    if (router == NULL)
        return NULL;
    router->routes = calloc(count ? count : 1, sizeof(*router->routes));
    if (router->routes == NULL) {
        free(router);
        return NULL;
    }
    for (size_t i = 0; i < count; i++) {
        router->count = i + 1;
        if (compile_pattern(&defs[i], &router->routes[i], err, errlen) != 0) {
            router_free(router);
            return NULL;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(defs[j].method, defs[i].method) == 0 &&
                strcmp(defs[j].pattern, defs[i].pattern) == 0) {
                snprintf(err, errlen, "route %s %s is defined twice", defs[i].method,
                         defs[i].pattern);
                router_free(router);
                return NULL;
            }
        }
    }
    return router;
}

/* A positive int64 in canonical form: no sign, no leading zero. */
static bool parse_int_param(const char *s, size_t len, int64_t *out)
{
    if (len == 0 || len > 19 || s[0] == '0')
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        int digit = s[i] - '0';
        if (v > (INT64_MAX - digit) / 10)
            return false;
        v = v * 10 + digit;
    }
    *out = v;
    return true;
}

static bool is_slug(const char *s, size_t len)
{
    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}

static bool match_path(const struct compiled_route *r, const char *path, route_match_t *out)
{
    const char *p = path;
    out->param_count = 0;
    if (r->segment_count == 0)
        return strcmp(path, "/") == 0;
    for (size_t i = 0; i < r->segment_count; i++) {
        if (*p != '/')
            return false;
        p++;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const struct segment *seg = &r->segments[i];
        if (!seg->is_param) {
            if (len != seg->len || memcmp(p, seg->text, len) != 0)
                return false;
        } else {
            struct route_param *param = &out->params[out->param_count];
            param->name = seg->text;
            param->type = seg->type;
            param->text = p;
            param->text_len = len;
            param->int_value = 0;
            if (seg->type == ROUTE_PARAM_INT && !parse_int_param(p, len, &param->int_value))
                return false;
            if (seg->type == ROUTE_PARAM_SLUG && !is_slug(p, len))
                return false;
            out->param_count++;
        }
        p += len;
    }
    return *p == '\0';
}

/* True when method is one of the ", "-separated entries of allow. */
static bool allow_has(const char *allow, const char *method)
{
    size_t n = strlen(method);
    for (const char *p = allow; *p != '\0';) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && memcmp(p, method, n) == 0)
            return true;
        if (end == NULL)
            break;
        p = end + 2;
    }
    return false;
}

static void allow_add(char *allow, const char *method)
{
    if (allow_has(allow, method))
        return;
    size_t used = strlen(allow);
    size_t need = strlen(method) + (used ? 2 : 0);
    if (used + need >= ROUTE_ALLOW_MAX)
        return;
    snprintf(allow + used, ROUTE_ALLOW_MAX - used, "%s%s", used ? ", " : "", method);
}

enum route_result router_match(const router_t *router, const char *method, const char *path,
                               route_match_t *out)
{
    bool path_known = false;
    out->def = NULL;
    out->allow[0] = '\0';
    const char *effective = strcmp(method, "HEAD") == 0 ? "GET" : method;
    route_match_t candidate;
    for (size_t i = 0; i < router->count; i++) {
        const struct compiled_route *r = &router->routes[i];
        if (!match_path(r, path, &candidate))
            continue;
        path_known = true;
        allow_add(out->allow, r->def->method);
        if (strcmp(r->def->method, "GET") == 0)
            allow_add(out->allow, "HEAD");
        if (out->def == NULL && strcmp(r->def->method, effective) == 0) {
            char allow_so_far[ROUTE_ALLOW_MAX];
            memcpy(allow_so_far, out->allow, sizeof(allow_so_far));
            *out = candidate;
            out->def = r->def;
            memcpy(out->allow, allow_so_far, sizeof(allow_so_far));
        }
    }
    if (out->def != NULL)
        return ROUTE_FOUND;
    return path_known ? ROUTE_METHOD_NOT_ALLOWED : ROUTE_NOT_FOUND;
}

int64_t route_param_int(const route_match_t *match, const char *name)
{
    for (size_t i = 0; i < match->param_count; i++)
        if (match->params[i].type == ROUTE_PARAM_INT && strcmp(match->params[i].name, name) == 0)
            return match->params[i].int_value;
    return -1;
}
