"""Ready-made public answers (migration 0012, fcgi/stored.c): what the pool
answered on a public route is kept and served from one row while it is
good, and never once a change to what it was made from has committed.
These read the pool past nginx's cache (a server of their own), where a
stale answer could not hide behind the cache's two seconds."""
import threading
import time
from contextlib import closing
from datetime import datetime, timezone

import pytest
import requests

from conftest import (api, log_events, log_mark, metric, sql_rows, sql_value, superuser,
                      wait_until)
from test_public import Voter, new_case, published_case, voting_case
import stack as stackmod


@pytest.fixture(scope="module")
def direct(stack):
    """The pool without nginx's cache, at its own port (and client
    addresses from X-Real-IP, for Voter)."""
    port = stackmod.free_port()
    stack.stop_nginx()
    stack.start_nginx(extra="set_real_ip_from 127.0.0.1; real_ip_header X-Real-IP;\n"
                            f"server {{ listen 127.0.0.1:{port}; location / {{ "
                            f"include {stack.run_dir}/conf/fastcgi_portal.conf; }} }}")
    yield f"http://127.0.0.1:{port}"
    stack.stop_nginx()
    stack.start_nginx()


def get(direct, path, **kw):
    r = requests.get(direct + path, timeout=10, **kw)
    assert "X-Cache-Status" not in r.headers, "this server must not be nginx's cache"
    return r


FORMAT = r"^[0-9a-f]{16} "  # the build and public URL the answer was made by


def stored_keys(stack, route):
    """The keys under which the answer of route ("/cases/{id:int} 7") is kept."""
    return [r[0] for r in sql_rows(stack, "SELECT key FROM public_documents WHERE key ~ %s "
                                          "AND right(key, length(%s)) = %s ORDER BY key",
                                   (FORMAT, " " + route, " " + route))]


def kept(stack, route, columns="content_type, body, etag"):
    """The kept answer of route; it is kept once the answer has gone, so
    this waits (briefly) for it to be there."""
    keys = wait_until(lambda: stored_keys(stack, route), 5, f"{route} kept")
    assert len(keys) == 1, f"{route}: kept as {keys}"
    return sql_rows(stack, f"SELECT {columns} FROM public_documents WHERE key = %s", (keys[0],))


def version_of(stack, tokens, cid):
    return {"If-Match": api(stack, "GET", f"/api/cases/{cid}", tokens["reviewer"]).headers["ETag"]}


def correct_title(stack, tokens, cid, title):
    r = api(stack, "POST", f"/api/cases/{cid}/transitions", tokens["reviewer"],
            headers=version_of(stack, tokens, cid),
            json={"action": "correct", "note": "更正", "content": {"title": title}})
    assert r.status_code == 200, r.text


def test_the_second_read_is_the_kept_row(stack, tokens, direct):
    cid, _, number = published_case(stack, tokens, title="只做一次的答案")
    paths = {f"/api/public/editions/{number}": "/api/public/editions/{number:int} %d" % number,
             f"/editions/{number}": "/editions/{number:int} %d" % number,
             f"/api/public/cases/{cid}": "/api/public/cases/{id:int} %d" % cid,
             f"/cases/{cid}": "/cases/{id:int} %d" % cid,
             f"/api/public/editions/{number}/results":
                 "/api/public/editions/{number:int}/results %d" % number}
    stored = lambda result: metric(stack, "portal_public_stored_total", result=result)  # noqa
    for path, key in paths.items():
        misses = stored("miss")
        first = get(direct, path)
        assert stored("miss") == misses + 1
        assert first.status_code == 200, first.text
        row = kept(stack, key)
        assert row[0][1] == first.text and first.headers["ETag"] == f'"{row[0][2]}"'
        # what is served next is that row: altered behind the pool's back
        # (no generation moves), the next answer is the altered one
        with closing(superuser(stack)) as conn:
            conn.cursor().execute("UPDATE public_documents SET body = body || ' ', "
                                  "etag = '0123456789abcdef01234567' WHERE key = %s",
                                  (stored_keys(stack, key)[0],))
        hits = stored("hit")
        second = get(direct, path)
        assert stored("hit") == hits + 1
        assert second.status_code == 200 and second.text == first.text + " "
        assert second.headers["ETag"] == '"0123456789abcdef01234567"'
        assert second.headers["Content-Type"] == first.headers["Content-Type"]
        assert second.headers["Cache-Control"] == "public, max-age=2"
        assert get(direct, path, headers={
            "If-None-Match": '"0123456789abcdef01234567"'}).status_code == 304
    # a draft, a missing case: 404s, and nothing kept for them
    draft = new_case(stack, tokens)
    for path in (f"/api/public/cases/{draft}", f"/cases/{draft}", "/cases/99999999"):
        assert get(direct, path).status_code == 404
    time.sleep(0.5)  # a keep would run after the answer: give one the time to show
    for route in (f"/api/public/cases/{{id:int}} {draft}", f"/cases/{{id:int}} {draft}",
                  "/cases/{id:int} 99999999"):
        assert stored_keys(stack, route) == []


def test_a_correction_shows_on_the_very_next_read(stack, tokens, direct):
    cid, _, number = published_case(stack, tokens, title="更正之前")
    paths = (f"/api/public/editions/{number}", f"/editions/{number}",
             f"/api/public/cases/{cid}", f"/cases/{cid}", "/api/public/editions", "/")
    for path in paths:
        assert "更正之前" in get(direct, path).text
    correct_title(stack, tokens, cid, "更正之后")
    for path in paths:  # at once: no wait for anything to expire
        text = get(direct, path).text
        assert "更正之后" in text and "更正之前" not in text, path


def test_one_case_is_one_kept_answer_whatever_the_spelling(stack, tokens, direct):
    """Keys are the route and its parameters' values: no spelling of a path
    adds rows (the router answers leading zeros 404, which keeps nothing)."""
    cid, _, number = published_case(stack, tokens, title="前导零")
    assert get(direct, f"/cases/{cid}").status_code == 200
    assert get(direct, f"/cases/000{cid}").status_code == 404
    assert get(direct, f"/cases/{cid}?x=1").status_code == 200
    assert get(direct, f"/cases/{cid}/").status_code == 404
    kept(stack, "/cases/{id:int} %d" % cid)  # one key, whatever the spelling


def test_a_draft_edit_moves_nothing_and_a_publish_does(stack, tokens, direct):
    generation = lambda: sql_value(stack, "SELECT generation FROM public_generation")  # noqa
    before = generation()
    draft = new_case(stack, tokens, title="草稿")
    r = api(stack, "PATCH", f"/api/cases/{draft}", tokens["shajing"],
            headers={"If-Match": api(stack, "GET", f"/api/cases/{draft}",
                                     tokens["shajing"]).headers["ETag"]},
            json={"title": "草稿改过"})
    assert r.status_code == 200, r.text
    assert generation() == before, "a draft's edit outdated every public answer"
    published_case(stack, tokens, title="发布了")
    assert generation() > before


def test_counts_of_an_open_vote_are_at_most_a_second_behind(stack, tokens, direct):
    cid, _, _ = voting_case(stack, tokens, title="计数新鲜")
    path = f"/api/public/cases/{cid}"
    assert get(direct, path).json()["votes"]["满意"] == 0
    fresh_until, built_at = kept(stack, "/api/public/cases/{id:int} %d" % cid,
                                 "fresh_until, built_at")[0]
    assert fresh_until is not None and (fresh_until - built_at).total_seconds() == 1
    assert Voter(stack).vote(cid, "满意").status_code == 201
    # once the kept answer's second is over (by the database's clock), the
    # very next read counts the vote: no read waits for anything else
    wait_until(lambda: sql_value(stack, "SELECT clock_timestamp() > %s", (fresh_until,)), 5,
               "the kept answer's second to pass")
    assert get(direct, path).json()["votes"]["满意"] == 1


def test_readers_racing_corrections_never_keep_the_old_text(stack, tokens, direct):
    """Readers build and keep the case's answer while a reviewer corrects it,
    twenty times: after each correction commits, the next read has it. A
    reader whose snapshot predates the correction may keep its answer only
    under the old generation, which no later read accepts."""
    cid, _, _ = published_case(stack, tokens, title="竞速第0版")
    path = f"/api/public/cases/{cid}"
    stop = threading.Event()
    failures = []

    def reader():
        while not stop.is_set():
            r = requests.get(direct + path, timeout=10)
            if r.status_code != 200:
                failures.append(r.status_code)
    threads = [threading.Thread(target=reader) for _ in range(6)]
    for t in threads:
        t.start()
    try:
        for n in range(1, 21):
            correct_title(stack, tokens, cid, f"竞速第{n}版")
            for _ in range(3):
                assert get(direct, path).json()["title"] == f"竞速第{n}版"
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert failures == []


def test_another_public_url_never_serves_what_the_last_one_made(stack, direct, pool):
    """A page names the public URL (og:image): a pool told another one (or a
    new build: its answers version) keeps its answers apart."""
    route = "/editions/{number:int} 13"
    before = get(direct, "/editions/13").text
    assert '<meta property="og:image" content="/api/photos/' in before
    keys = wait_until(lambda: stored_keys(stack, route), 5, "the page kept")
    pool("--public-url", "https://portal.example")
    page = get(direct, "/editions/13").text
    assert '<meta property="og:image" content="https://portal.example/api/photos/' in page
    after = wait_until(lambda: (lambda a: a if len(a) > len(keys) else None)(
        stored_keys(stack, route)), 5, "the other URL's page kept")
    assert len(after) == len(keys) + 1 and set(keys) < set(after)


def test_a_session_cannot_talk_the_generation_out_of_moving(stack):
    """The marker by which one transaction moves the generation once names
    that transaction: set by a session for itself, it does nothing."""
    generation = "SELECT generation FROM public_generation"
    with closing(superuser(stack)) as conn:
        cur = conn.cursor()
        cur.execute("SELECT txid_current()")
        earlier_tx = cur.fetchone()[0]  # a transaction that has ended
        for marker in ("yes", str(earlier_tx)):
            cur.execute("SELECT set_config('portal.public_outdated', %s, false)", (marker,))
            cur.execute(generation)
            before = cur.fetchone()[0]
            cur.execute("UPDATE streets SET name = name WHERE id = (SELECT min(id) FROM streets)")
            cur.execute(generation)
            assert cur.fetchone()[0] == before + 1, f"a session's {marker!r} kept it still"


def test_answers_no_one_can_be_served_again_are_collected(stack, tokens, direct, pool):
    """The idle collection deletes answers made from an earlier generation
    (and so, after the next change, those of another build or URL)."""
    pool("--photo-collect", "200ms")
    cid, _, _ = published_case(stack, tokens, title="会被清理的答案")
    route = "/api/public/cases/{id:int} %d" % cid
    get(direct, f"/api/public/cases/{cid}")
    kept(stack, route)
    published_case(stack, tokens, title="又一次发布")  # the generation moves
    wait_until(lambda: stored_keys(stack, route) == [], 10, "the outdated answer collected")
    assert sql_value(stack, "SELECT count(*) FROM public_documents WHERE generation < "
                            "(SELECT generation FROM public_generation)") == 0
    assert get(direct, f"/api/public/cases/{cid}").json()["title"] == "会被清理的答案"
    kept(stack, route)


def test_keeping_an_answer_does_not_wait_on_a_row_someone_holds(stack, tokens, direct):
    """Keeping an answer runs outside the read's transaction, which set its
    statement timeout for itself only. Once it waited on a row someone held
    (here a superuser's open transaction) until the pool killed the worker,
    and the reader got a 502. Now the keep is a transaction of its own with
    a quarter second's statement timeout, run once the answer has gone: the
    reader's request is over (its log line written) before the keep gives
    up, where it used to wait for it."""
    cid, _, _ = published_case(stack, tokens, title="被锁住的答案")
    path, route = f"/api/public/cases/{cid}", "/api/public/cases/{id:int} %d" % cid
    assert get(direct, path).status_code == 200
    key = wait_until(lambda: stored_keys(stack, route), 5, "the first answer kept")[0]
    with closing(superuser(stack)) as holder:
        cur = holder.cursor()
        # outdated, so the next read makes the answer again and keeps it
        cur.execute("UPDATE public_documents SET fresh_until = now() - interval '1 hour', "
                    "built_at = built_at - interval '1 hour' WHERE key = %s", (key,))
        cur.execute("BEGIN")
        cur.execute("SELECT built_at FROM public_documents WHERE key = %s FOR UPDATE", (key,))
        held = cur.fetchone()[0]
        mark = log_mark(stack)
        try:
            # when the answer's head arrived, however long this process
            # stalls afterwards: the send's start (prepared beforehand, so
            # nothing comes between) plus what requests measured from there
            with requests.Session() as session:
                ready = session.prepare_request(requests.Request("GET", direct + path))
                sent = datetime.now(timezone.utc)
                r = session.send(ready, timeout=10)
            received = sent + r.elapsed
            # the row stays held until the keep, after the answer, gave up
            failed = wait_until(lambda: log_events(stack, "stored_keep_failed", since=mark), 10,
                                "the keep giving up on the held row")
        finally:
            cur.execute("ROLLBACK")
    # the reader had the whole answer before the keep gave up (a quarter
    # second after it began): it did not wait for it
    gave_up = datetime.fromisoformat(failed[0]["time"].replace("Z", "+00:00"))
    assert received < gave_up, f"answer received {received}, keep gave up {gave_up}"
    assert r.status_code == 200, r.text
    assert r.json()["id"] == cid
    assert not log_events(stack, "request_timeout", since=mark), "the worker was killed"
    order = [e["event"] for e in log_events(stack, since=mark)
             if (e.get("event") == "request" and e.get("path") == path)
             or (e.get("event") == "stored_keep_failed" and e.get("key", "").endswith(" " + route))]
    assert order == ["request", "stored_keep_failed"], f"the reader waited for the keep: {order}"
    # a keep would have moved built_at to the new answer's snapshot
    assert kept(stack, route, "built_at") == [(held,)], "the held row changed"
