/* validate: field rules for JSON bodies. See validate.h. */
#include "validate.h"

#include <stdio.h>
#include <string.h>

void validate_add(json_t **errors, const char *field, const char *message)
{
    if (*errors == NULL)
        *errors = json_array();
    if (*errors != NULL)
        json_array_append_new(*errors, json_pack("{s:s,s:s}", "field", field, "message", message));
}

bool validate_date(const char *text)
{
    int y, m, d;
    char tail;
    if (strlen(text) != 10 || text[4] != '-' || text[7] != '-' ||
        sscanf(text, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (text[i] < '0' || text[i] > '9'))
            return false;
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1)
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= days[m - 1] + (m == 2 && leap);
}

/* Counts code points; the body was already checked to be valid UTF-8. */
size_t validate_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

static const char *check_text(const char *s, const struct field_rule *rule, char *buf, size_t len)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool allowed_space = rule->type == FIELD_TEXT && (*p == '\n' || *p == '\t' || *p == '\r');
        if ((*p < 0x20 || *p == 0x7f) && !allowed_space)
            return rule->type == FIELD_LINE ? "must be one line without control characters"
                                            : "must not hold control characters";
    }
    size_t chars = validate_chars(s);
    if ((long long)chars < rule->min || (long long)chars > rule->max) {
        snprintf(buf, len, "must be %lld to %lld characters long", rule->min, rule->max);
        return buf;
    }
    if (rule->min > 0 && strspn(s, " \t\r\n") == strlen(s))
        return "must not be blank";
    return NULL;
}

static const char *check_value(const json_t *value, const struct field_rule *rule, char *buf,
                               size_t len)
{
    switch (rule->type) {
    case FIELD_LINE:
    case FIELD_TEXT:
        if (!json_is_string(value))
            return "must be a string";
        return check_text(json_string_value(value), rule, buf, len);
    case FIELD_INT:
        if (!json_is_integer(value))
            return "must be a whole number";
        if (json_integer_value(value) < rule->min || json_integer_value(value) > rule->max) {
            snprintf(buf, len, "must be from %lld to %lld", rule->min, rule->max);
            return buf;
        }
        return NULL;
    case FIELD_BOOL:
        return json_is_boolean(value) ? NULL : "must be true or false";
    case FIELD_DATE:
        if (!json_is_string(value) || !validate_date(json_string_value(value)))
            return "must be a date like 2021-01-24";
        return NULL;
    case FIELD_ENUM:
        if (json_is_string(value))
            for (const char *const *c = rule->choices; *c != NULL; c++)
                if (strcmp(*c, json_string_value(value)) == 0)
                    return NULL;
        snprintf(buf, len, "must be one of:");
        for (const char *const *c = rule->choices; *c != NULL; c++) {
            size_t used = strlen(buf);
            snprintf(buf + used, len - used, "%s %s", c == rule->choices ? "" : ",", *c);
        }
        return buf;
    case FIELD_ANY:
        return NULL;
    }
    return "is not acceptable";
}

json_t *validate_object(const json_t *body, const struct field_rule *rules, size_t count,
                        bool partial)
{
    json_t *errors = NULL;
    if (!json_is_object(body)) {
        validate_add(&errors, "", "the body must be a JSON object");
        return errors;
    }
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)body, key, value)
    {
        const struct field_rule *rule = NULL;
        for (size_t i = 0; i < count && rule == NULL; i++)
            if (strcmp(rules[i].name, key) == 0)
                rule = &rules[i];
        if (rule == NULL) {
            validate_add(&errors, key, "is not a field of this resource");
            continue;
        }
        if (json_is_null(value)) {
            if (!(rule->flags & FIELD_NULLABLE))
                validate_add(&errors, key, "must not be null");
            continue;
        }
        char buf[160];
        const char *message = check_value(value, rule, buf, sizeof(buf));
        if (message != NULL)
            validate_add(&errors, key, message);
    }
    for (size_t i = 0; i < count && !partial; i++)
        if ((rules[i].flags & FIELD_REQUIRED) && json_object_get(body, rules[i].name) == NULL)
            validate_add(&errors, rules[i].name, "is required");
    if (partial && json_object_size(body) == 0)
        validate_add(&errors, "", "name at least one field to change");
    return errors;
}
