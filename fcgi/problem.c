/* problem: the problem-type catalog and HTTP reason phrases. */
#include "problem.h"

static const struct problem_type problems[PROBLEM_COUNT] = {
    [PROBLEM_BAD_REQUEST] = {"bad-request", 400, "Bad request", "请求无效"},
    [PROBLEM_MALFORMED_JSON] = {"malformed-json", 400, "The body is not valid JSON",
                                "请求体不是有效的 JSON"},
    [PROBLEM_INVALID_UTF8] = {"invalid-utf8", 400, "The body is not valid UTF-8",
                              "请求体不是有效的 UTF-8 编码"},
    [PROBLEM_BODY_REQUIRED] = {"body-required", 400, "A JSON body is required", "缺少请求体"},
    [PROBLEM_BODY_INCOMPLETE] = {"body-incomplete", 400,
                                 "The body is shorter than its Content-Length", "请求体不完整"},
    [PROBLEM_VALIDATION] = {"validation-failed", 422, "The request has invalid fields",
                            "请求字段无效"},
    [PROBLEM_UNAUTHORIZED] = {"unauthorized", 401, "Sign-in required", "需要登录"},
    [PROBLEM_FORBIDDEN] = {"forbidden", 403, "Not allowed", "无权执行此操作"},
    [PROBLEM_NOT_FOUND] = {"not-found", 404, "Not found", "未找到"},
    [PROBLEM_METHOD_NOT_ALLOWED] = {"method-not-allowed", 405, "Method not allowed",
                                    "不支持该请求方法"},
    [PROBLEM_CONFLICT] = {"conflict", 409, "Conflict with the current state", "与当前状态冲突"},
    [PROBLEM_LENGTH_REQUIRED] = {"length-required", 411, "Content-Length is required",
                                 "需要 Content-Length"},
    [PROBLEM_PRECONDITION_FAILED] = {"precondition-failed", 412,
                                     "The resource changed since it was read",
                                     "资源已被修改,请刷新后重试"},
    [PROBLEM_PRECONDITION_REQUIRED] = {"precondition-required", 428,
                                       "Send If-Match with the ETag you last read",
                                       "请附带 If-Match(最近读取的 ETag)"},
    [PROBLEM_INVALID_IMAGE] = {"invalid-image", 422, "The image is damaged or impossible",
                               "图片已损坏或尺寸无效"},
    [PROBLEM_TRANSITION_NOT_ALLOWED] = {"transition-not-allowed", 409,
                                        "That action is not possible in the current state",
                                        "当前状态下不能执行该操作"},
    [PROBLEM_TRANSITION_FORBIDDEN] = {"transition-forbidden", 403,
                                      "Your role may not take that action",
                                      "您的角色无权执行该操作"},
    [PROBLEM_NOT_EDITABLE] = {"not-editable", 409, "Only a draft can be changed",
                              "只有草稿可以修改"},
    [PROBLEM_VOTING_CLOSED] = {"voting-closed", 409, "This case is not open for votes",
                               "该案例不在投票期内"},
    [PROBLEM_BODY_TOO_LARGE] = {"body-too-large", 413, "The body is too large", "请求体过大"},
    [PROBLEM_UNSUPPORTED_MEDIA_TYPE] = {"unsupported-media-type", 415,
                                        "The body's media type is not accepted here",
                                        "不接受该请求体类型"},
    [PROBLEM_TOO_MANY_REQUESTS] = {"too-many-requests", 429, "Too many requests", "请求过于频繁"},
    [PROBLEM_QUOTA_EXCEEDED] = {"quota-exceeded", 507, "The street's photo storage is full",
                                "本街道的照片存储空间已满"},
    [PROBLEM_INTERNAL] = {"internal-error", 500, "Internal error", "服务器内部错误"},
    [PROBLEM_DATABASE_UNAVAILABLE] = {"database-unavailable", 503, "The database is unavailable",
                                      "数据库暂时不可用"},
    [PROBLEM_SCHEMA_NOT_CURRENT] = {"schema-not-current", 503,
                                    "The database schema is older than this service",
                                    "数据库结构版本过旧"},
};

const struct problem_type *problem_get(enum problem_id id)
{
    if ((unsigned)id >= PROBLEM_COUNT)
        id = PROBLEM_INTERNAL;
    return &problems[id];
}

const char *http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 428:
        return "Precondition Required";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 507:
        return "Insufficient Storage";
    default:
        return "Unknown";
    }
}
