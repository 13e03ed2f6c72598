/*
 * pages: the public column as HTML: the index (/), an edition
 * (/editions/{number}) laid out as the published column is, and one case
 * (/cases/{id}). The page as sent holds all the text, its <title>,
 * description and Open Graph tags, so a reader without scripts, a crawler
 * or a messaging app's link preview sees the content; /static/portal.js
 * only adds the vote and live counts.
 *
 * Pages are made here, in C, from the same statements as the public JSON
 * (one source of truth, one round trip), and every piece of stored text
 * goes through html_text (html.c). There is no template engine: the markup
 * is small and fixed, and each value is escaped where it is written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "handlers.h"
#include "html.h"
#include "response.h"
#include "static_version.h"
#include "strbuf.h"

#define COLUMN_KICKER "我为群众办实事"
#define COLUMN_NAME "社区“两委”“履新第一事”实践案例展评"
#define COLUMN_ABOUT                                                                                                                           \
    "社区是基层治理、服务群众的第一线。新一届社区“两委”班子履新即赶考、上马就开干,以“第一事”" \
    "撬动“大干事”。专栏陆续刊发各社区“履新第一事”实践案例,接受群众监督评价,并供各单位学习借鉴。"
#define HTML_TYPE "text/html; charset=utf-8"

static const char *text_of(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

/* ① .. ⑳ for an edition's number, as the column writes it; (21) beyond. */
static void edition_mark(strbuf_t *b, json_int_t number)
{
    static const char *const circled[] = {"①", "②", "③", "④", "⑤", "⑥", "⑦", "⑧", "⑨", "⑩",
                                          "⑪", "⑫", "⑬", "⑭", "⑮", "⑯", "⑰", "⑱", "⑲", "⑳"};
    if (number >= 1 && number <= (json_int_t)COUNT(circled))
        strbuf_puts(b, circled[number - 1]);
    else
        strbuf_printf(b, "(%lld)", (long long)number);
}

/* 一 .. 二十: the column numbers its points "一是…", "二是…". */
static void chinese_ordinal(strbuf_t *b, size_t n)
{
    static const char *const digits[] = {"", "一", "二", "三", "四", "五", "六", "七", "八", "九"};
    if (n == 0 || n > 20)
        strbuf_printf(b, "%zu", n);
    else if (n == 20)
        strbuf_puts(b, "二十");
    else if (n >= 10)
        strbuf_printf(b, "十%s", digits[n % 10]);
    else
        strbuf_puts(b, digits[n]);
}

static void json_release(void *value)
{
    json_decref(value);
}

/* "2027-04-16T00:00:00+08:00" as "2027年4月16日 00:00" (already Shanghai time). */
static void shanghai_date(strbuf_t *b, const char *iso)
{
    int y, mo, d, h, mi;
    if (iso == NULL || sscanf(iso, "%4d-%2d-%2dT%2d:%2d", &y, &mo, &d, &h, &mi) != 5) {
        html_text(b, iso);
        return;
    }
    strbuf_printf(b, "%d年%d月%d日 %02d:%02d", y, mo, d, h, mi);
}

/* The head of every page, up to the start of <main>. site is public-url
 * ("" when unknown); description is plain text (escaped and cut here);
 * image is a photo URL or NULL. */
static void page_begin(strbuf_t *b, const char *site, const char *title, const char *description,
                       const char *image)
{
    strbuf_puts(b, "<!doctype html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                   "<title>");
    html_text(b, title);
    strbuf_puts(b, "</title>\n<meta name=\"description\" content=\"");
    html_text_cut(b, description, 120);
    strbuf_puts(b, "\">\n<meta property=\"og:type\" content=\"article\">\n"
                   "<meta property=\"og:title\" content=\"");
    html_text(b, title);
    strbuf_puts(b, "\">\n<meta property=\"og:description\" content=\"");
    html_text_cut(b, description, 120);
    strbuf_puts(b, "\">\n");
    if (image != NULL) {
        /* link previews want an absolute URL; without public-url we cannot
         * know the site's name (the Host header is the client's to choose,
         * and the page is cached for everyone) */
        strbuf_puts(b, "<meta property=\"og:image\" content=\"");
        html_text(b, site);
        html_text(b, image);
        strbuf_puts(b, "\">\n");
    }
    /* the assets are cached for a year: their URLs carry the build's version of them */
    strbuf_puts(b, "<link rel=\"icon\" href=\"/static/favicon.svg?v=" PORTAL_STATIC_VERSION
                   "\" type=\"image/svg+xml\">\n"
                   "<link rel=\"stylesheet\" href=\"/static/portal.css?v=" PORTAL_STATIC_VERSION
                   "\">\n"
                   "<script src=\"/static/portal.js?v=" PORTAL_STATIC_VERSION
                   "\" defer></script>\n</head>\n<body>\n"
                   "<a class=\"skip\" href=\"#main\">跳到正文</a>\n"
                   "<header class=\"masthead\"><p class=\"kicker\">" COLUMN_KICKER "</p>"
                   "<p class=\"column\"><a href=\"/\">" COLUMN_NAME "</a></p></header>\n"
                   "<main id=\"main\">\n");
}

static void page_end(strbuf_t *b)
{
    strbuf_puts(b, "</main>\n<footer class=\"colophon\"><p><a href=\"/\">专栏首页</a> · "
                   "<a href=\"/#past\">往期回顾</a></p></footer>\n</body>\n</html>\n");
}

static void send_page(request_t *req, int status, strbuf_t *b)
{
    if (strbuf_failed(b)) {
        response_problem(req, PROBLEM_INTERNAL, NULL, NULL);
        return;
    }
    api_commit_and_send_public(req, status, HTML_TYPE, b->data, b->len);
}

static void send_not_found(request_t *req, const char *what)
{
    strbuf_t b;
    strbuf_init(&b, req->arena, 2048);
    page_begin(&b, req->worker->config->public_url, "未找到", what, NULL);
    strbuf_puts(&b, "<h1>未找到</h1>\n<p>");
    html_text(&b, what);
    strbuf_puts(&b, "</p>\n<p><a href=\"/\">返回专栏首页</a></p>\n");
    page_end(&b);
    send_page(req, 404, &b);
}

/* "沙井街道大王山社区" */
static void case_place(strbuf_t *b, const json_t *c)
{
    html_text(b, text_of(c, "street_name"));
    html_text(b, text_of(c, "community_name"));
}

/* The introduction the column opens each case with, from the committee's
 * facts; shorter when some are not recorded. */
static void case_intro(strbuf_t *b, const json_t *c)
{
    const json_t *m = json_object_get(c, "committee");
    const char *elected = text_of(m, "elected_on");
    json_int_t size = json_integer_value(json_object_get(m, "size"));
    const char *secretary = text_of(m, "secretary_name");
    const char *post = text_of(m, "secretary_post");
    int y, mo, d;
    strbuf_puts(b, "<p class=\"intro\">");
    case_place(b, c);
    if (sscanf(elected, "%4d-%2d-%2d", &y, &mo, &d) == 3 && size > 0 && secretary[0] && post[0]) {
        strbuf_printf(b, "于%d年%d月%d日完成社区“两委”换届选举,由%lld名同志组成社区“两委”班子,", y,
                      mo, d, (long long)size);
        html_text(b, secretary);
        strbuf_puts(b, "同志为");
        html_text(b, post);
        strbuf_puts(b,
                    "。新班子履新以后,坚持“以人民为中心”的理念,积极落实“我为群众办实事”活动,将“");
    } else {
        strbuf_puts(b, "新一届社区“两委”班子将“");
    }
    html_text(b, text_of(c, "title"));
    strbuf_puts(b, "”作为“履新第一事”,着力解决社区群众反映强烈的烦心事、操心事、揪心事。</p>\n");
}

static void case_photos(strbuf_t *b, const json_t *c)
{
    const json_t *photos = json_object_get(c, "photos");
    if (json_array_size(photos) == 0)
        return;
    strbuf_puts(b, "<div class=\"photos\">\n");
    size_t i;
    const json_t *p;
    json_array_foreach(photos, i, p)
    {
        json_int_t w = json_integer_value(json_object_get(p, "width"));
        json_int_t h = json_integer_value(json_object_get(p, "height"));
        strbuf_puts(b, "<figure><img src=\"");
        html_text(b, text_of(p, "url"));
        strbuf_puts(b, "\" alt=\"");
        html_text(b, text_of(p, "caption"));
        strbuf_printf(b, "\" width=\"%lld\" height=\"%lld\" loading=\"%s\" decoding=\"async\">",
                      (long long)w, (long long)h, i == 0 ? "eager" : "lazy");
        strbuf_puts(b, "<figcaption>");
        html_text(b, text_of(p, "caption"));
        strbuf_puts(b, "</figcaption></figure>\n");
    }
    strbuf_puts(b, "</div>\n");
}

/* One case as the column prints it; its heading at level (2 or 1). */
static void render_case(strbuf_t *b, const json_t *c, int level)
{
    json_int_t id = json_integer_value(json_object_get(c, "id"));
    strbuf_printf(b, "<article class=\"case\" id=\"case-%lld\" aria-labelledby=\"case-%lld-h\">\n",
                  (long long)id, (long long)id);
    strbuf_printf(b, "<h%d id=\"case-%lld-h\">", level, (long long)id);
    case_place(b, c);
    strbuf_printf(b, "</h%d>\n", level);
    size_t k;
    const json_t *fix;
    json_array_foreach(json_object_get(c, "corrections"), k, fix)
    {
        strbuf_puts(b, "<p class=\"correction\"><strong>更正</strong>(");
        shanghai_date(b, text_of(fix, "at"));
        strbuf_puts(b, "):");
        html_text(b, text_of(fix, "reason"));
        strbuf_puts(b, "</p>\n");
    }
    case_intro(b, c);
    int sub = level + 1;
    strbuf_printf(b, "<h%d>事项名称</h%d>\n<p class=\"title\">", sub, sub);
    html_text(b, text_of(c, "title"));
    strbuf_printf(b, "</p>\n<h%d>问题困难</h%d>\n", sub, sub);
    html_paragraphs(b, text_of(c, "problem"));
    strbuf_printf(b, "<h%d>干事情况</h%d>\n<ol class=\"actions\">\n", sub, sub);
    size_t i;
    const json_t *a;
    json_array_foreach(json_object_get(c, "actions"), i, a)
    {
        strbuf_puts(b, "<li><strong>");
        chinese_ordinal(b, i + 1);
        strbuf_puts(b, "是");
        html_text(b, text_of(a, "headline"));
        strbuf_puts(b, "。</strong>");
        html_text(b, text_of(a, "body"));
        strbuf_puts(b, "</li>\n");
    }
    strbuf_puts(b, "</ol>\n");
    case_photos(b, c);
    const json_t *t = json_object_get(c, "testimonial");
    if (text_of(t, "text")[0]) {
        strbuf_printf(b, "<h%d>履新感言</h%d>\n<blockquote class=\"testimonial\"><p>", sub, sub);
        html_text(b, text_of(t, "text"));
        strbuf_puts(b, "</p>");
        if (text_of(t, "speaker")[0] || text_of(t, "post")[0]) {
            strbuf_puts(b, "<footer>(");
            html_text(b, text_of(t, "post"));
            strbuf_puts(b, text_of(t, "post")[0] && text_of(t, "speaker")[0] ? " " : "");
            html_text(b, text_of(t, "speaker"));
            strbuf_puts(b, ")</footer>");
        }
        strbuf_puts(b, "</blockquote>\n");
    }
    strbuf_puts(b, "</article>\n");
}

/* The vote on one case: each choice with its count; the buttons work once
 * portal.js runs and the edition takes votes. */
static void render_ballot(strbuf_t *b, const json_t *c, const json_t *choices, bool voting)
{
    json_int_t id = json_integer_value(json_object_get(c, "id"));
    const json_t *votes = json_object_get(c, "votes");
    json_int_t total = 0;
    size_t i;
    const json_t *ch;
    json_array_foreach(choices, i, ch)
    {
        total += json_integer_value(json_object_get(votes, json_string_value(ch)));
    }
    strbuf_printf(b,
                  "<div class=\"ballot\" id=\"ballot-%lld\" data-case=\"%lld\" data-voting=\"%d\" "
                  "role=\"group\" aria-labelledby=\"ballot-%lld-h\">\n",
                  (long long)id, (long long)id, voting ? 1 : 0, (long long)id);
    strbuf_printf(b, "<h3 id=\"ballot-%lld-h\">", (long long)id);
    case_place(b, c);
    strbuf_puts(b, "</h3>\n<ul class=\"choices\">\n");
    json_array_foreach(choices, i, ch)
    {
        const char *name = json_string_value(ch);
        json_int_t n = json_integer_value(json_object_get(votes, name));
        strbuf_puts(b, "<li><button type=\"button\" class=\"choice\" disabled data-choice=\"");
        html_text(b, name);
        strbuf_puts(b, "\">");
        html_text(b, name);
        strbuf_puts(b, "</button> <span class=\"count\" data-choice=\"");
        html_text(b, name);
        strbuf_printf(b, "\">%lld</span>&nbsp;票", (long long)n);
        if (!voting && total > 0) /* the share as text too: the bar is only a picture of it */
            strbuf_printf(b, "<span class=\"share\">(%lld%%)</span>",
                          (long long)((n * 100 + total / 2) / total));
        strbuf_printf(b,
                      " <meter min=\"0\" max=\"%lld\" value=\"%lld\" aria-hidden=\"true\">"
                      "</meter></li>\n",
                      (long long)(total > 0 ? total : 1), (long long)n);
    }
    strbuf_printf(b,
                  "</ul>\n<p class=\"total\">共 <span class=\"total-count\">%lld</span> 票</p>\n",
                  (long long)total);
    strbuf_puts(b, "<p class=\"vote-status\" role=\"status\" aria-live=\"polite\"></p>\n</div>\n");
}

/* The vote section after an edition's (or a case's) text. */
static void render_vote_section(strbuf_t *b, const json_t *edition, const json_t *cases,
                                bool one_case)
{
    const json_t *choices = json_object_get(edition, "choices");
    bool voting = json_is_true(json_object_get(edition, "voting"));
    const char *state = text_of(edition, "state");
    /* a closed edition shows when it closed (by hand, that can be before its deadline) */
    const char *closed_at = text_of(edition, "closed_at");
    const char *closes_at = strcmp(text_of(edition, "state"), "closed") == 0 && closed_at[0]
                                ? closed_at
                                : text_of(edition, "closes_at");
    if (json_array_size(cases) == 0 || json_array_size(choices) == 0)
        return;
    strbuf_puts(b, "<section class=\"vote\" aria-labelledby=\"vote-h\">\n<h2 id=\"vote-h\">");
    if (voting)
        strbuf_puts(b, one_case ? "您觉得这个社区的做法如何?" : "您觉得上述社区的做法如何?");
    else if (strcmp(state, "closed") == 0)
        strbuf_puts(b, "投票结果");
    else
        strbuf_puts(b, "投票尚未开始");
    strbuf_puts(b, "</h2>\n");
    if (voting) {
        strbuf_puts(b, "<p>欢迎参加投票给出您的态度。投票点赞情况将作为各社区“履新第一事”"
                       "实践案例评选的重要参考。</p>\n<noscript><p>投票需要启用浏览器脚本。</p>"
                       "</noscript>\n");
    }
    if (closes_at[0]) {
        strbuf_puts(b, "<p class=\"deadline\">");
        strbuf_puts(b, strcmp(state, "closed") == 0 ? "投票已于 " : "本期投票截止时间为 ");
        strbuf_puts(b, "<time datetime=\"");
        html_text(b, closes_at);
        strbuf_puts(b, "\">");
        shanghai_date(b, closes_at);
        strbuf_puts(b, strcmp(state, "closed") == 0 ? "</time> 截止</p>\n" : "</time></p>\n");
    }
    size_t i;
    const json_t *c;
    json_array_foreach(cases, i, c)
    {
        render_ballot(b, c, choices, voting);
    }
    strbuf_puts(b, "</section>\n");
}

/* Runs statement with the path parameter param and parses its doc;
 * NULL when it answered (an error) or found nothing (*missing set). */
static json_t *load_doc(request_t *req, int statement, const char *param, bool *missing)
{
    const char *values[] = {api_param_text(req, param)};
    PGresult *res = api_query(req, statement, values);
    *missing = false;
    if (res == NULL)
        return NULL;
    const char *text = db_value(res, 0, "doc");
    if (text == NULL) {
        *missing = true;
        return NULL;
    }
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    if (doc == NULL || arena_defer(req->arena, json_release, doc) != 0) {
        response_problem(req, PROBLEM_INTERNAL, NULL, NULL);
        return NULL;
    }
    return doc;
}

/* "我为群众办实事 | 宝安区社区“两委”“履新第一事”实践案例展评⑬" */
static void edition_heading(strbuf_t *b, const json_t *edition)
{
    strbuf_puts(b, COLUMN_KICKER " | ");
    html_text(b, text_of(edition, "district_name"));
    strbuf_puts(b, COLUMN_NAME);
    edition_mark(b, json_integer_value(json_object_get(edition, "number")));
}

static const char *first_photo(const json_t *cases)
{
    size_t i;
    const json_t *c;
    json_array_foreach(cases, i, c)
    {
        const json_t *photos = json_object_get(c, "photos");
        if (json_array_size(photos) > 0)
            return text_of(json_array_get(photos, 0), "url");
    }
    return NULL;
}

/* How a reader checks a closed edition's count: the ballot list, the
 * digest recorded at close, and a search for their own receipt (which
 * portal.js runs over the list; without scripts, the list itself can be
 * searched). */
static void render_tally(strbuf_t *b, const json_t *edition)
{
    const json_t *tally = json_object_get(edition, "tally");
    if (!json_is_object(tally))
        return;
    json_int_t number = json_integer_value(json_object_get(edition, "number"));
    strbuf_puts(b, "<section class=\"tally\" aria-labelledby=\"tally-h\">\n"
                   "<h2 id=\"tally-h\">核对计票</h2>\n<p>本期投票于 ");
    shanghai_date(b, text_of(tally, "closed_at"));
    strbuf_printf(b, " 截止,共 %lld 票。每一张计入的选票都列在",
                  (long long)json_integer_value(json_object_get(tally, "votes")));
    strbuf_printf(b,
                  "<a href=\"/api/public/editions/%lld/ballots.csv\">选票清单 ballots.csv</a>"
                  "中(每行:案例编号、选择、回执码;不含任何投票人或地址信息)。</p>\n",
                  (long long)number);
    strbuf_puts(b, "<p>截止时记录的清单摘要:<code class=\"digest\">");
    html_text(b, text_of(tally, "digest"));
    strbuf_puts(b, "</code>。下载清单后运行 <code>sha256sum ballots.csv</code>,"
                   "得到的值应与此摘要相同;不同则说明清单在截止后被改动过。</p>\n");
    strbuf_printf(b,
                  "<form class=\"receipt-search\" role=\"search\" data-ballots="
                  "\"/api/public/editions/%lld/ballots.csv\">\n"
                  "<label for=\"receipt\">查找我的回执码</label>\n"
                  "<input id=\"receipt\" name=\"receipt\" autocomplete=\"off\" "
                  "spellcheck=\"false\" maxlength=\"32\">\n"
                  "<button type=\"submit\">查找</button>\n"
                  "<p class=\"receipt-result\" role=\"status\" aria-live=\"polite\"></p>\n"
                  "</form>\n</section>\n",
                  (long long)number);
}

void pages_edition(request_t *req)
{
    bool missing;
    json_t *e = load_doc(req, SQL_PUBLIC_EDITION_GET, "number", &missing);
    if (e == NULL) {
        if (missing)
            send_not_found(req, "没有这一期。");
        return;
    }
    const json_t *cases = json_object_get(e, "cases");
    strbuf_t title, about, b;
    strbuf_init(&title, req->arena, 256);
    strbuf_init(&about, req->arena, 512);
    strbuf_init(&b, req->arena, 32768);
    edition_heading(&title, e);
    size_t i;
    const json_t *c;
    if (json_array_size(cases) > 0) {
        strbuf_puts(&about, "本期介绍的案例来自");
        json_array_foreach(cases, i, c)
        {
            strbuf_puts(&about, i ? "、" : "");
            strbuf_puts(&about, text_of(c, "street_name"));
            strbuf_puts(&about, text_of(c, "community_name"));
        }
        strbuf_puts(&about, ":");
        strbuf_puts(&about, text_of(json_array_get(cases, 0), "title"));
        strbuf_puts(&about, "。");
    } else {
        strbuf_puts(&about, text_of(e, "title"));
    }
    /* title and about are raw text: page_begin escapes them */
    page_begin(&b, req->worker->config->public_url, title.data, about.data, first_photo(cases));
    strbuf_puts(&b, "<h1>");
    html_text(&b, title.data);
    strbuf_puts(&b, "</h1>\n<p class=\"subtitle\">");
    html_text(&b, text_of(e, "title"));
    strbuf_puts(&b, "</p>\n");
    if (json_array_size(cases) == 0) {
        strbuf_puts(&b, "<p>本期案例的全文尚未收录在线版本。</p>\n");
    } else {
        strbuf_puts(&b, "<nav class=\"in-edition\" aria-label=\"本期介绍的案例\"><p>本期介绍的案例"
                        "</p><ul>\n");
        json_array_foreach(cases, i, c)
        {
            strbuf_printf(&b, "<li><a href=\"#case-%lld\">",
                          (long long)json_integer_value(json_object_get(c, "id")));
            case_place(&b, c);
            strbuf_puts(&b, "</a></li>\n");
        }
        strbuf_puts(&b, "</ul></nav>\n");
        json_array_foreach(cases, i, c)
        {
            render_case(&b, c, 2);
        }
        render_vote_section(&b, e, cases, false);
        render_tally(&b, e);
    }
    page_end(&b);
    if (strbuf_failed(&title) || strbuf_failed(&about)) {
        response_problem(req, PROBLEM_INTERNAL, NULL, NULL);
        return;
    }
    send_page(req, 200, &b);
}

void pages_case(request_t *req)
{
    bool missing;
    json_t *c = load_doc(req, SQL_PUBLIC_CASE_GET, "id", &missing);
    if (c == NULL) {
        if (missing)
            send_not_found(req, "没有这个案例。");
        return;
    }
    const json_t *edition = json_object_get(c, "edition");
    json_t *one = json_pack("[O]", c);
    json_t *view = json_pack(
        "{s:O?,s:O?,s:O?,s:O?,s:O?}", "choices", json_object_get(c, "choices"), "voting",
        json_object_get(edition, "voting"), "state", json_object_get(edition, "state"), "closes_at",
        json_object_get(edition, "closes_at"), "closed_at", json_object_get(edition, "closed_at"));
    if (one == NULL || view == NULL || arena_defer(req->arena, json_release, one) != 0) {
        json_decref(view);
        response_problem(req, PROBLEM_INTERNAL, NULL, NULL);
        return;
    }
    if (arena_defer(req->arena, json_release, view) != 0) {
        response_problem(req, PROBLEM_INTERNAL, NULL, NULL);
        return;
    }
    strbuf_t title, b;
    strbuf_init(&title, req->arena, 256);
    strbuf_init(&b, req->arena, 16384);
    strbuf_puts(&title, text_of(c, "street_name"));
    strbuf_puts(&title, text_of(c, "community_name"));
    strbuf_puts(&title, ":");
    strbuf_puts(&title, text_of(c, "title"));
    page_begin(&b, req->worker->config->public_url, title.data, text_of(c, "problem"),
               first_photo(one));
    strbuf_puts(&b, "<p class=\"breadcrumb\"><a href=\"/editions/");
    strbuf_printf(&b, "%lld\">", (long long)json_integer_value(json_object_get(edition, "number")));
    edition_heading(&b, edition);
    strbuf_puts(&b, "</a></p>\n");
    render_case(&b, c, 1);
    render_vote_section(&b, view, one, true);
    page_end(&b);
    if (strbuf_failed(&title)) {
        response_problem(req, PROBLEM_INTERNAL, NULL, NULL);
        return;
    }
    send_page(req, 200, &b);
}

/* One edition in the index: its mark and title, linked; the cases in it. */
static void index_entry(strbuf_t *b, const json_t *e, bool with_cases)
{
    json_int_t number = json_integer_value(json_object_get(e, "number"));
    strbuf_printf(b, "<li><a href=\"/editions/%lld\">", (long long)number);
    edition_mark(b, number);
    html_text(b, text_of(e, "title"));
    strbuf_puts(b, "</a>");
    if (with_cases) {
        const json_t *cases = json_object_get(e, "cases");
        size_t i;
        const json_t *c;
        strbuf_puts(b, "<ul class=\"cases\">");
        json_array_foreach(cases, i, c)
        {
            strbuf_printf(b, "<li><a href=\"/cases/%lld\">",
                          (long long)json_integer_value(json_object_get(c, "id")));
            case_place(b, c);
            strbuf_puts(b, ":");
            html_text(b, text_of(c, "title"));
            strbuf_puts(b, "</a></li>");
        }
        strbuf_puts(b, "</ul>");
        if (json_is_true(json_object_get(e, "voting"))) {
            strbuf_puts(b, "<p class=\"voting\">投票进行中,截止时间 ");
            shanghai_date(b, text_of(e, "closes_at"));
            strbuf_puts(b, "</p>");
        }
    }
    strbuf_puts(b, "</li>\n");
}

void pages_index(request_t *req)
{
    PGresult *res = api_query_none(req, SQL_PUBLIC_EDITIONS_LIST);
    if (res == NULL)
        return;
    json_error_t jerr;
    json_t *editions = json_loads(db_value(res, 0, "doc"), 0, &jerr);
    if (editions == NULL || arena_defer(req->arena, json_release, editions) != 0) {
        response_problem(req, PROBLEM_INTERNAL, NULL, NULL);
        return;
    }
    const char *district = text_of(json_array_get(editions, 0), "district_name");
    strbuf_t title, b;
    strbuf_init(&title, req->arena, 256);
    strbuf_init(&b, req->arena, 16384);
    strbuf_puts(&title, district);
    strbuf_puts(&title, COLUMN_NAME);
    page_begin(&b, req->worker->config->public_url, title.data, COLUMN_ABOUT, NULL);
    strbuf_puts(&b, "<h1>");
    html_text(&b, title.data);
    strbuf_puts(
        &b,
        "</h1>\n<section aria-labelledby=\"about\"><h2 id=\"about\">写在前面</h2><p>" COLUMN_ABOUT
        "</p></section>\n");
    size_t i;
    const json_t *e;
    bool any_current = false;
    json_array_foreach(editions, i, e)
    {
        if (strcmp(text_of(e, "state"), "closed") == 0)
            continue;
        if (!any_current)
            strbuf_puts(&b, "<section aria-labelledby=\"current\"><h2 id=\"current\">本期</h2>"
                            "<ul class=\"editions current\">\n");
        any_current = true;
        index_entry(&b, e, true);
    }
    if (any_current)
        strbuf_puts(&b, "</ul></section>\n");
    /* past editions oldest first, as the column lists them */
    strbuf_puts(&b, "<section aria-labelledby=\"past\"><h2 id=\"past\">往期回顾</h2>"
                    "<ul class=\"editions past\">\n");
    for (i = json_array_size(editions); i > 0; i--) {
        e = json_array_get(editions, i - 1);
        if (strcmp(text_of(e, "state"), "closed") == 0)
            index_entry(&b, e, json_array_size(json_object_get(e, "cases")) > 0);
    }
    strbuf_puts(&b, "</ul></section>\n");
    page_end(&b);
    if (strbuf_failed(&title)) {
        response_problem(req, PROBLEM_INTERNAL, NULL, NULL);
        return;
    }
    send_page(req, 200, &b);
}
