/*
 * users: staff accounts, for the district admin only. Passwords are hashed
 * here and never returned; changing a role, street, password or the
 * disabled flag bumps the account's token version, so its tokens stop
 * working on their next request. An admin cannot lock themselves out.
 */
#include <string.h>

#include "api.h"
#include "handlers.h"
#include "password.h"
#include "response.h"

static const char *const roles[] = {"editor", "reviewer", "admin", NULL};

static const struct field_rule user_rules[] = {
    {"username", FIELD_LINE, FIELD_REQUIRED, 2, 32, NULL},
    {"display_name", FIELD_LINE, FIELD_REQUIRED, 1, 100, NULL},
    {"role", FIELD_ENUM, FIELD_REQUIRED, 0, 0, roles},
    {"street_id", FIELD_INT, FIELD_NULLABLE, 1, INT64_MAX, NULL},
    {"password", FIELD_TEXT, FIELD_REQUIRED, 1, PASSWORD_MAX, NULL},
};

static const struct field_rule user_update_rules[] = {
    {"display_name", FIELD_LINE, 0, 1, 100, NULL},
    {"role", FIELD_ENUM, 0, 0, 0, roles},
    {"street_id", FIELD_INT, FIELD_NULLABLE, 1, INT64_MAX, NULL},
    {"disabled", FIELD_BOOL, 0, 0, 0, NULL},
    {"password", FIELD_TEXT, 0, 1, PASSWORD_MAX, NULL},
};

/* Checks the password field if present and returns its hash (arena-owned),
 * or NULL when absent. On a bad password answers 422 and sets *failed. */
static const char *take_password(request_t *req, int *failed)
{
    json_t *value = json_object_get(req->body, "password");
    if (value == NULL)
        return NULL;
    const char *why = NULL;
    if (!password_acceptable(json_string_value(value), json_string_length(value), &why)) {
        json_t *errors = NULL;
        validate_add(&errors, "password", why);
        response_problem(req, PROBLEM_VALIDATION, NULL, json_pack("{s:o}", "errors", errors));
        *failed = 1;
        return NULL;
    }
    char *hash = arena_alloc(req->arena, crypto_pwhash_STRBYTES);
    if (hash == NULL ||
        password_hash(json_string_value(value), json_string_length(value), hash) != 0) {
        response_problem(req, PROBLEM_INTERNAL, NULL, NULL);
        *failed = 1;
        return NULL;
    }
    json_object_del(req->body, "password");
    return hash;
}

static bool username_ok(const char *name)
{
    if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9')))
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
              *p == '-'))
            return false;
    return true;
}

void users_list(request_t *req)
{
    int bad = 0;
    const char *street = api_query_id(req, "street_id", &bad);
    if (bad)
        return;
    const char *role = request_query_param(req, "role");
    if (role != NULL && strcmp(role, "editor") != 0 && strcmp(role, "reviewer") != 0 &&
        strcmp(role, "admin") != 0) {
        response_problem(req, PROBLEM_BAD_REQUEST, "role must be editor, reviewer or admin",
                         json_pack("{s:s}", "parameter", "role"));
        return;
    }
    const char *values[] = {role, street};
    PGresult *res = api_query(req, SQL_USERS_LIST, values);
    if (res != NULL)
        api_commit_and_send(req, 200, res);
}

void users_get(request_t *req)
{
    const char *values[] = {api_param_text(req, "id")};
    PGresult *res = api_query(req, SQL_USERS_GET, values);
    if (res != NULL)
        api_commit_and_send(req, 200, res);
}

void users_create(request_t *req)
{
    if (api_validate(req, user_rules, COUNT(user_rules), false) != 0)
        return;
    const char *username = json_string_value(json_object_get(req->body, "username"));
    if (!username_ok(username)) {
        json_t *errors = NULL;
        validate_add(&errors, "username",
                     "must be lower-case letters, digits, '.', '_' or '-', starting with a letter "
                     "or digit");
        response_problem(req, PROBLEM_VALIDATION, NULL, json_pack("{s:o}", "errors", errors));
        return;
    }
    int failed = 0;
    const char *hash = take_password(req, &failed);
    if (failed)
        return;
    const char *values[] = {api_body_text(req), hash};
    PGresult *res = api_query(req, SQL_USERS_CREATE, values);
    if (res != NULL)
        api_send_written(req, 201, res, SQL_USERS_GET, "/api/users");
}

void users_update(request_t *req)
{
    if (api_validate(req, user_update_rules, COUNT(user_update_rules), true) != 0)
        return;
    int64_t target = route_param_int(&req->match, "id");
    json_t *role = json_object_get(req->body, "role");
    if (target == req->user.user_id &&
        (json_is_true(json_object_get(req->body, "disabled")) ||
         (role != NULL && strcmp(json_string_value(role), "admin") != 0))) {
        response_problem(req, PROBLEM_CONFLICT,
                         "you cannot disable your own account or give up your own admin role",
                         NULL);
        return;
    }
    int failed = 0;
    const char *hash = take_password(req, &failed);
    if (failed)
        return;
    const char *id = api_param_text(req, "id");
    if (hash != NULL) {
        const char *pw_values[] = {id, hash};
        PGresult *set = api_query(req, SQL_USERS_SET_PASSWORD, pw_values);
        if (set == NULL)
            return;
        if (PQntuples(set) != 1) {
            response_problem(req, PROBLEM_NOT_FOUND, NULL, NULL);
            return;
        }
    }
    const char *values[] = {id, api_body_text(req)};
    PGresult *res = api_query(req, SQL_USERS_UPDATE, values);
    if (res != NULL)
        api_send_written(req, 200, res, SQL_USERS_GET, NULL);
}
