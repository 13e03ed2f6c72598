"""The public portal through nginx: what readers see, how nginx keeps it,
and the vote: one per voter and case, exact counts, refusals that count
nothing."""
import itertools
import json
import re
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import psycopg2
import pytest
import requests

from conftest import (api, app_conn, assert_problem, log_events, log_mark, refused, sql_rows,
                      sql_value, wait_until)

_numbers = itertools.count(8000)
_clients = itertools.count(1)
SEED_TITLES = ("整治乱贴广告现象,打造整洁有序社区", "深化内涝点治理工作,防辖区安全隐患于未然")


# ---- helpers ----------------------------------------------------------------
def new_case(stack, tokens, title="公开测试案例", **over):
    editor = tokens["shajing"]
    community = next(c["id"] for c in api(stack, "GET", "/api/communities", editor).json())
    body = {"community_id": community, "title": title, "problem": "问题。",
            "actions": [{"headline": "做法", "body": "内容。"}],
            "testimonial": {"text": "感言。", "speaker": "某人", "post": "书记"}}
    body.update(over)
    r = api(stack, "POST", "/api/cases", editor, json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def published_case(stack, tokens, title="公开测试案例", choices=None, **over):
    """A new case approved into a new edition: (case id, edition id, edition number)."""
    cid = new_case(stack, tokens, title, **over)
    r = api(stack, "POST", f"/api/cases/{cid}/transitions", tokens["shajing"],
            json={"action": "submit"})
    assert r.status_code == 200, r.text
    number = next(_numbers)
    body = {"number": number, "title": f"第{number}期"}
    if choices:
        body["choices"] = choices
    r = api(stack, "POST", "/api/editions", tokens["reviewer"], json=body)
    assert r.status_code == 201, r.text
    edition = r.json()["id"]
    r = api(stack, "POST", f"/api/cases/{cid}/transitions", tokens["reviewer"],
            json={"action": "approve", "edition_id": edition})
    assert r.status_code == 200, r.text
    return cid, edition, number


def open_voting(stack, tokens, edition, closes_at="2099-01-01T00:00:00"):
    r = api(stack, "POST", f"/api/editions/{edition}/transitions", tokens["reviewer"],
            json={"action": "open", "closes_at": closes_at})
    assert r.status_code == 200, r.text


def voting_case(stack, tokens, **kw):
    cid, edition, number = published_case(stack, tokens, **kw)
    open_voting(stack, tokens, edition)
    return cid, edition, number


def new_client():
    """An address of its own (TEST-NET-2), as nginx sees it through X-Real-IP."""
    n = next(_clients)
    return f"198.51.{100 + n // 250}.{n % 250 + 1}"


class Voter:
    """A reader with a voter cookie, at a client address of its own."""

    def __init__(self, stack, client=None):
        self.stack = stack
        self.client = client or new_client()
        r = requests.post(stack.url + "/api/public/voter", headers={"X-Real-IP": self.client},
                          timeout=10)
        assert r.status_code == 201, r.text
        self.cookie = re.search(r"portal_voter=([^;]+)", r.headers["Set-Cookie"]).group(1)

    def vote(self, case_id, choice, **headers):
        headers = dict({"X-Real-IP": self.client, "Cookie": f"portal_voter={self.cookie}"},
                       **headers)
        return requests.post(f"{self.stack.url}/api/public/cases/{case_id}/votes",
                             json={"choice": choice}, headers=headers, timeout=30)


def stored_votes(stack, case_id):
    return sql_value(stack, "SELECT count(*) FROM votes WHERE case_id = %s", (case_id,))


def public_counts(stack, case_id):
    r = requests.get(f"{stack.url}/api/public/cases/{case_id}", timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["votes"]


def vote_tables(stack):
    return (sql_rows(stack, "SELECT case_id, choice, voter, receipt FROM votes ORDER BY id"),
            sql_rows(stack, "SELECT * FROM vote_counts ORDER BY 1, 2, 3"),
            sql_rows(stack, "SELECT * FROM vote_addresses ORDER BY 1, 2"))


@pytest.fixture
def voters_nginx(stack):
    """nginx taking each client's address from X-Real-IP, so a test can be
    many readers on many networks (the production vote limits as they are)."""
    stack.stop_nginx()
    stack.start_nginx(extra="set_real_ip_from 127.0.0.1; real_ip_header X-Real-IP;")
    yield stack
    stack.stop_nginx()
    stack.start_nginx()


# ---- reading ------------------------------------------------------------------
def test_the_column_lists_every_edition_newest_first(stack):
    editions = requests.get(stack.url + "/api/public/editions", timeout=10).json()
    numbers = [e["number"] for e in editions]
    assert numbers == sorted(numbers, reverse=True)
    assert set(range(1, 14)) <= set(numbers)
    thirteen = next(e for e in editions if e["number"] == 13)
    assert thirteen["voting"] is True and thirteen["closes_at"].endswith("T00:00:00+08:00")
    assert [c["title"] for c in thirteen["cases"]] == list(SEED_TITLES)
    assert [(c["street_name"], c["community_name"]) for c in thirteen["cases"]] == \
        [("沙井街道", "大王山社区"), ("燕罗街道", "塘下涌社区")]
    first = next(e for e in editions if e["number"] == 1)
    assert first["title"] == "新安街道新乐社区和布心社区" and first["state"] == "closed"


def test_an_edition_and_a_case_carry_choices_and_counts(stack):
    e = requests.get(stack.url + "/api/public/editions/13", timeout=10).json()
    assert e["choices"] == ["满意", "基本满意", "不满意"]
    assert len(e["cases"]) == 2
    for c in e["cases"]:
        assert list(c["votes"]) == e["choices"]
        assert len(c["photos"]) == 3 and all(p["url"].startswith("/api/photos/") for p in c["photos"])
        one = requests.get(f"{stack.url}/api/public/cases/{c['id']}", timeout=10).json()
        assert one["title"] == c["title"] and one["edition"]["number"] == 13


def test_a_drafts_id_answers_exactly_like_a_missing_one(stack, tokens):
    draft = new_case(stack, tokens)
    missing = draft + 100000
    for path in ("/api/public/cases/{}", "/cases/{}"):
        a = requests.get(stack.url + path.format(draft), timeout=10)
        b = requests.get(stack.url + path.format(missing), timeout=10)
        assert a.status_code == b.status_code == 404
        assert a.headers["Content-Type"] == b.headers["Content-Type"]
        strip = (lambda r: r.json() | {"request_id": None}) if path.startswith("/api") else \
            (lambda r: r.text)
        assert strip(a) == strip(b)
    # and a draft in review is no more public
    r = api(stack, "POST", f"/api/cases/{draft}/transitions", tokens["shajing"],
            json={"action": "submit"})
    assert r.status_code == 200
    assert requests.get(f"{stack.url}/api/public/cases/{draft}", timeout=10).status_code == 404


def test_pages_hold_the_text_without_scripts(stack):
    r = requests.get(stack.url + "/editions/13", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    html = r.text
    for title in SEED_TITLES:
        assert title in html
    for heading in ("事项名称", "问题困难", "干事情况", "履新感言", "一是积极回应群众诉求。"):
        assert heading in html
    assert "<title>我为群众办实事 | 宝安区社区“两委”“履新第一事”实践案例展评⑬</title>" in html
    assert re.search(r'<meta property="og:title" content="[^"]+⑬">', html)
    assert re.search(r'<meta property="og:description" content="本期介绍的案例来自沙井街道大王山社区', html)
    assert re.search(r'<meta property="og:image" content="/api/photos/[0-9a-f]{64}">', html)
    assert "沙井街道大王山社区于2021年1月24日完成社区“两委”换届选举" in html
    index = requests.get(stack.url + "/", timeout=10).text
    assert "往期回顾" in index
    # 往期回顾 lists editions 1 to 12 as the column does, oldest first
    past = index[index.index("往期回顾"):]
    marks = re.findall(r'<a href="/editions/(\d+)">', past)
    assert marks[:12] == [str(n) for n in range(1, 13)]
    assert "①新安街道新乐社区和布心社区" in past


def test_stored_text_is_never_markup_on_a_page(stack, tokens):
    hostile = '<script>alert("x")</script> & \'quoted\''
    cid, _, number = published_case(stack, tokens, title=hostile[:200],
                                     problem="<img src=x onerror=alert(1)>\n第二段")
    for path in (f"/cases/{cid}", f"/editions/{number}"):
        html = requests.get(stack.url + path, timeout=10).text
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quoted&#39;" in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html


# ---- nginx keeps public answers briefly ---------------------------------------------
def test_a_burst_for_an_expired_answer_makes_about_one_pool_request(stack):
    path = "/api/public/editions/13"
    requests.get(stack.url + path, timeout=10)
    time.sleep(2.5)  # the entry has expired (max-age 2): the burst finds it stale
    mark = log_mark(stack)
    body = requests.get(stack.url + path, timeout=10).content  # may refresh it
    with ThreadPoolExecutor(32) as ex:
        answers = list(ex.map(lambda _: requests.get(stack.url + path, timeout=10), range(64)))
    assert all(a.status_code == 200 and len(a.content) == len(body) for a in answers)
    time.sleep(0.5)  # (a background refresh writes its log line when done)
    to_pool = [l for l in log_events(stack, "request", since=mark) if l.get("path") == path]
    assert len(to_pool) <= 2, f"{len(to_pool)} of 65 readers reached the pool"
    assert {a.headers["X-Cache-Status"] for a in answers} <= {"HIT", "STALE", "UPDATING"}


def test_phones_revalidate_with_a_304(stack):
    for path in ("/api/public/editions/13", "/editions/13", "/"):
        for _ in range(5):  # (other tests' editions close at their deadlines meanwhile)
            r = requests.get(stack.url + path, timeout=10)
            etag = r.headers["ETag"]
            assert r.headers["Cache-Control"] == "public, max-age=2"
            again = requests.get(stack.url + path, headers={"If-None-Match": etag}, timeout=10)
            if again.status_code == 304:
                break
            # a 200 only when the content changed in between: then a new ETag
            assert again.status_code == 200 and again.headers["ETag"] != etag
        assert again.status_code == 304 and again.content == b""


def test_a_publish_shows_within_seconds_and_reads_set_no_cookie(stack, tokens):
    before = requests.get(stack.url + "/api/public/editions", timeout=10)
    assert "Set-Cookie" not in before.headers
    start = time.time()
    cid, _, number = published_case(stack, tokens, title="刚刚发布的案例")

    def listed():
        r = requests.get(stack.url + "/api/public/editions", timeout=10)
        assert "Set-Cookie" not in r.headers
        return any(e["number"] == number for e in r.json())
    wait_until(listed, 10, "the new edition in the public list")
    assert time.time() - start < 6
    assert requests.get(f"{stack.url}/cases/{cid}", timeout=10).status_code == 200


def test_a_head_on_a_page_never_stores_an_empty_body(stack, tokens):
    cid, _, number = published_case(stack, tokens, title="先HEAD后GET")
    for path in (f"/editions/{number}", f"/api/public/cases/{cid}"):
        head = requests.head(stack.url + path, timeout=10)
        assert head.status_code == 200 and head.content == b""
        for _ in range(2):
            got = requests.get(stack.url + path, timeout=10)
            assert got.status_code == 200
            assert len(got.content) == int(got.headers.get("Content-Length", len(got.content)))
            assert len(got.content) > 200


# ---- the vote -------------------------------------------------------------------------
def test_a_voter_cookie_is_kept_while_valid(stack):
    v = Voter(stack)
    r = requests.post(stack.url + "/api/public/voter",
                      headers={"Cookie": f"portal_voter={v.cookie}"}, timeout=10)
    assert r.status_code == 200 and r.json() == {"issued": False}
    assert "Set-Cookie" not in r.headers
    first = requests.post(stack.url + "/api/public/voter", timeout=10)
    assert first.status_code == 201
    cookie = first.headers["Set-Cookie"]
    for attribute in ("HttpOnly", "Secure", "SameSite=Lax", "Path=/api/public"):
        assert attribute in cookie


def test_200_voters_each_voting_twice_at_once_count_200(stack, tokens, voters_nginx):
    cid, _, _ = voting_case(stack, tokens)
    with ThreadPoolExecutor(32) as ex:
        voters = list(ex.map(lambda _: Voter(stack), range(200)))
    start = threading.Barrier(400)
    choices = ["满意", "基本满意", "不满意"]

    def cast(i):
        voter = voters[i // 2]
        start.wait()
        return voter.vote(cid, choices[(i // 2) % 3] if i % 2 == 0 else choices[(i // 2 + 1) % 3])

    with ThreadPoolExecutor(400) as ex:
        answers = list(ex.map(cast, range(400)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * 200 + [201] * 200, [a.text for a in answers if a.status_code > 201]
    for i in range(0, 400, 2):  # each voter: one 201, one 200 naming the same vote
        pair = sorted((answers[i], answers[i + 1]), key=lambda a: a.status_code)
        assert [a.json()["counted"] for a in pair] == [False, True]
        assert pair[0].json()["choice"] == pair[1].json()["choice"]
        assert pair[0].json()["receipt"] == pair[1].json()["receipt"]
    assert stored_votes(stack, cid) == 200
    counts = public_counts(stack, cid)
    assert sum(counts.values()) == 200
    for choice in choices:
        assert counts[choice] == sql_value(
            stack, "SELECT count(*) FROM votes WHERE case_id = %s AND choice = %s", (cid, choice))
    assert sql_value(stack, "SELECT sum(n) FROM vote_counts WHERE case_id = %s", (cid,)) == 200


def test_a_votes_answer_names_every_choice_in_the_editions_order(stack, tokens, voters_nginx):
    """The database hands a vote's counts over grouped by choice, in its own
    collation, and only for choices with votes (migration 0022); the answer
    names every choice, in the edition's order, zeros too, exactly as the
    case's own JSON and vote_cast (kept for older callers) do."""
    order = ["乙", "甲", "丙"]  # by code point: 丙 < 乙 < 甲
    cid, _, _ = voting_case(stack, tokens, choices=order)
    first = Voter(stack)
    r = first.vote(cid, "甲")
    assert r.status_code == 201, r.text
    assert list(r.json()["votes"].items()) == [("乙", 0), ("甲", 1), ("丙", 0)]
    r = Voter(stack).vote(cid, "丙")
    assert r.status_code == 201, r.text
    assert list(r.json()["votes"].items()) == [("乙", 0), ("甲", 1), ("丙", 1)]
    r = first.vote(cid, "乙")  # a repeat: the first vote, and the counts as they are
    assert r.status_code == 200 and r.json()["choice"] == "甲", r.text
    assert list(r.json()["votes"].items()) == [("乙", 0), ("甲", 1), ("丙", 1)]
    with app_conn(stack) as (conn, cur):
        cur.execute("SELECT outcome, votes::text FROM vote_cast(%s, %s, '乙', %s, %s, 50)",
                    (cid, "voter-" + secrets.token_hex(8), secrets.token_hex(16),
                     secrets.token_hex(16)))
        outcome, votes = cur.fetchone()
        conn.commit()
    assert outcome == "counted"
    assert list(json.loads(votes, object_pairs_hook=list)) == [("乙", 1), ("甲", 1), ("丙", 1)]
    r = requests.get(f"{stack.url}/api/public/cases/{cid}", timeout=10,
                     headers={"Cache-Control": "no-cache"})
    deadline = time.time() + 10
    while list(r.json()["votes"].values()) != [1, 1, 1] and time.time() < deadline:
        time.sleep(0.2)  # nginx's copy of the case lives a second or two
        r = requests.get(f"{stack.url}/api/public/cases/{cid}", timeout=10)
    assert list(r.json()["votes"].items()) == [("乙", 1), ("甲", 1), ("丙", 1)]
    # a choice the edition does not have: its choices, in order, and nothing counted
    r = Voter(stack).vote(cid, "满意")
    assert_problem(r, 422, "validation-failed")
    assert r.json()["choices"] == order
    assert stored_votes(stack, cid) == 3


def test_one_backends_votes_add_to_one_count_row_per_choice(stack, tokens):
    """Concurrent backends do not meet on a count row: each adds to the row
    its own process picks (migration 0017); picked by the voter, twenty
    votes spread over up to sixteen rows of others'."""
    cid, _, _ = voting_case(stack, tokens)
    with app_conn(stack) as (conn, cur):
        for i in range(20):
            cur.execute("SELECT outcome FROM vote_cast(%s, %s, '满意', %s, %s, 50)",
                        (cid, f"voter-of-one-backend-{i:04d}", f"{i:032x}", f"{i + 1:032x}"))
            assert cur.fetchone() == ("counted",)
        cur.execute("SELECT pg_backend_pid() & 15")
        shard = cur.fetchone()[0]
        conn.commit()
    assert sql_rows(stack, "SELECT choice, shard, n FROM vote_counts WHERE case_id = %s",
                    (cid,)) == [("满意", shard, 20)]
    # a connection that names its shard (portald: its worker's place) adds there
    with app_conn(stack) as (conn, cur):
        cur.execute("SELECT set_config('portal.vote_shard', '7', false)")
        cur.execute("SELECT outcome FROM vote_cast(%s, 'voter-of-shard-seven', '不满意', %s, %s, 50)",
                    (cid, "e" * 32, "f" * 32))
        assert cur.fetchone() == ("counted",)
        conn.commit()
    assert sql_rows(stack, "SELECT shard, n FROM vote_counts WHERE case_id = %s "
                           "AND choice = '不满意'", (cid,)) == [(7, 1)]
    assert public_counts(stack, cid) == {"满意": 20, "基本满意": 0, "不满意": 1}


def test_a_shard_setting_that_is_no_place_falls_back_to_the_backend(stack, tokens):
    """portal.vote_shard is only ever a place (0 to 15) or '' when portald
    sets it, but an operator's ALTER ROLE ... SET or a psql session can
    leave anything there: a vote then still counts, in the backend's own
    row, instead of failing on a cast (every vote of that role would)."""
    cid, _, _ = voting_case(stack, tokens)
    bad = ["seven", "99999999999", "7.5", " 7", "-1", "16"]
    with app_conn(stack) as (conn, cur):
        cur.execute("SELECT pg_backend_pid() & 15")
        own = cur.fetchone()[0]
        for i, value in enumerate(bad):
            cur.execute("SELECT set_config('portal.vote_shard', %s, false)", (value,))
            cur.execute("SELECT outcome FROM vote_cast(%s, %s, '基本满意', %s, %s, 50)",
                        (cid, f"voter-of-a-bad-shard-{i:04d}", f"{i + 100:032x}",
                         f"{i + 200:032x}"))
            assert cur.fetchone() == ("counted",), value
        conn.commit()
    assert sql_rows(stack, "SELECT shard, n FROM vote_counts WHERE case_id = %s",
                    (cid,)) == [(own, len(bad))]
    assert public_counts(stack, cid) == {"满意": 0, "基本满意": len(bad), "不满意": 0}


def test_the_pools_votes_add_to_the_rows_of_their_workers_places(stack, tokens, voters_nginx):
    """Through the pool, a vote's count row is its worker's place (the slot
    its log lines name), not the process id's last four bits, which
    recycled or reconnected backends can share."""
    cid, _, _ = voting_case(stack, tokens)
    voters = [Voter(stack) for _ in range(24)]
    mark = log_mark(stack)
    for voter in voters:
        assert voter.vote(cid, "满意").status_code == 201
    places = {line["worker"] & 15 for line in wait_until(
        lambda: (lambda lines: lines if len(lines) == 24 else None)(
            [e for e in log_events(stack, "request", since=mark)
             if e.get("path") == f"/api/public/cases/{cid}/votes"]), 5, "the votes' log lines")}
    shards = {r[0] for r in sql_rows(stack, "SELECT shard FROM vote_counts WHERE case_id = %s",
                                     (cid,))}
    assert shards and shards <= places, (shards, places)
    assert sql_value(stack, "SELECT sum(n) FROM vote_counts WHERE case_id = %s", (cid,)) == 24


def test_a_case_with_votes_is_never_deleted_renumbered_or_truncated(stack, tokens, voters_nginx):
    """The votes name their case without a foreign key (migration 0017):
    not even a superuser, past every row policy, takes a public case from
    under them. Each attempt is refused and leaves the case and its votes
    as they were."""
    cid, _, _ = voting_case(stack, tokens)
    assert Voter(stack).vote(cid, "满意").status_code == 201
    before = (sql_rows(stack, "SELECT * FROM cases WHERE id = %s", (cid,)), vote_tables(stack))
    with closing(psycopg2.connect(stack.dsn("postgres"))) as conn, conn.cursor() as cur:
        for statement, message in (
                ("DELETE FROM cases WHERE id = %s", "a public case is never deleted"),
                ("UPDATE cases SET id = DEFAULT WHERE id = %s", "a case stays with its community"),
                ("TRUNCATE cases CASCADE", "cases are never truncated")):
            err = refused(cur, statement, (cid,) if "%s" in statement else ())
            assert (err.pgcode, err.diag.message_primary.split(":")[0]) == ("42501", message)
        conn.commit()
    assert (sql_rows(stack, "SELECT * FROM cases WHERE id = %s", (cid,)),
            vote_tables(stack)) == before


def test_a_vote_on_no_case_is_refused_and_stores_nothing(stack):
    """Without a foreign key, vote_cast and the guard on votes are what keep
    a vote from naming a case that does not exist."""
    missing = sql_value(stack, "SELECT max(id) + 1000 FROM cases")
    before = vote_tables(stack)
    with app_conn(stack) as (conn, cur):
        cur.execute("SELECT outcome FROM vote_cast(%s, 'voter-of-no-case-0001', '满意', %s, %s, 50)",
                    (missing, "a" * 32, "b" * 32))
        assert cur.fetchone() == ("not_found",)
        conn.commit()
    with app_conn(stack, dsn_user="postgres") as (conn, cur):
        cur.execute("SET ROLE portal_workflow")
        err = refused(cur, "INSERT INTO votes (case_id, choice, voter, receipt) "
                           "VALUES (%s, '满意', 'voter-of-no-case-0002', %s)", (missing, "c" * 32))
        assert err.pgcode == "23514", err
    assert vote_tables(stack) == before


def test_a_votes_columns_keep_their_rules(stack, tokens):
    """Since 0023/0024 the rules on a vote's columns are domains (cheaper for
    PostgreSQL than CHECK constraints); each refuses what its CHECK refused,
    takes what it took, and guards the column it names."""
    domains = {  # domain: (values it takes, values it refuses)
        "vote_choice": (["x", "x" * 50, "基本满意"], ["", "x" * 51]),
        "voter_id": (["v" * 16, "v" * 128], ["v" * 15, "v" * 129]),
        "hex_128": (["0" * 32, "0123456789abcdef" * 2],
                    ["a" * 31, "a" * 33, "A" * 32, "a" * 31 + "g", " " + "a" * 31]),
        "vote_count": (["0", "9223372036854775807"], ["-1"]),
        "vote_place": (["0", "15"], ["-1", "16"]),
        "address_votes": (["0", "2147483647"], ["-1"]),
    }
    with app_conn(stack, dsn_user="postgres") as (conn, cur):
        for domain, (takes, refuses) in domains.items():
            for value in takes:
                cur.execute(f"SELECT %s::{domain}::text", (value,))
                assert cur.fetchone() == (value,), (domain, value)
            cur.execute(f"SELECT NULL::{domain} IS NULL")  # NOT NULL stays on the columns
            assert cur.fetchone() == (True,)
            for value in refuses:
                err = refused(cur, f"SELECT %s::{domain}", (value,))
                assert err.pgcode == "23514", (domain, value, err)
    assert sql_rows(stack, "SELECT c.relname, a.attname, t.typname, a.attnotnull "
                           "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                           "JOIN pg_type t ON t.oid = a.atttypid "
                           "WHERE c.relname IN ('votes', 'vote_counts', 'vote_addresses') "
                           "AND t.typtype = 'd' ORDER BY 1, 2") == [
        ("vote_addresses", "address", "hex_128", True),
        ("vote_addresses", "n", "address_votes", True),
        ("vote_counts", "n", "vote_count", True),
        ("vote_counts", "shard", "vote_place", True),
        ("votes", "choice", "vote_choice", True),
        ("votes", "receipt", "hex_128", False),
        ("votes", "voter", "voter_id", True)]
    # each rule was checked against the rows stored before it (0024)
    assert sql_rows(stack, "SELECT t.typname, c.convalidated FROM pg_constraint c "
                           "JOIN pg_type t ON t.oid = c.contypid WHERE t.typname = ANY(%s) "
                           "ORDER BY 1", (list(domains),)) == \
        [(name, True) for name in sorted(domains)]
    # and writing the tables meets them: refused, nothing stored
    cid, _, _ = voting_case(stack, tokens)
    before = vote_tables(stack)
    with app_conn(stack, dsn_user="postgres") as (conn, cur):
        cur.execute("SET ROLE portal_workflow")
        for voter, receipt in [("short", "a" * 32), ("voter-of-the-rules-01", "A" * 32)]:
            err = refused(cur, "INSERT INTO votes (case_id, choice, voter, receipt) "
                               "VALUES (%s, '满意', %s, %s)", (cid, voter, receipt))
            assert err.pgcode == "23514", (voter, receipt, err)
        for shard, n in [(16, 1), (0, -1)]:
            err = refused(cur, "INSERT INTO vote_counts (case_id, choice, shard, n) "
                               "VALUES (%s, '满意', %s, %s)", (cid, shard, n))
            assert err.pgcode == "23514", (shard, n, err)
        for address, n in [("B" * 32, 1), ("b" * 32, -1)]:
            err = refused(cur, "INSERT INTO vote_addresses (case_id, address, n) "
                               "VALUES (%s, %s, %s)", (cid, address, n))
            assert err.pgcode == "23514", (address, n, err)
        conn.commit()
    assert vote_tables(stack) == before


def test_a_vote_whose_commit_fails_is_a_409_and_counts_nothing(stack, tokens, voters_nginx):
    """A vote runs alone, in a transaction its pipeline's sync ends
    (db_write_alone): a COMMIT that fails there comes after the statement's
    own answer. The voter gets 409, nothing is stored, and the worker keeps
    its connection instead of taking the database for gone."""
    cid, _, _ = voting_case(stack, tokens)
    voter = Voter(stack)  # before the trigger: nothing may fail between it and the try
    before = vote_tables(stack)
    mark = log_mark(stack)
    with app_conn(stack, dsn_user="postgres") as (conn, cur):
        cur.execute("CREATE FUNCTION test_refuse_at_commit() RETURNS trigger LANGUAGE plpgsql "
                    "AS $$ BEGIN RAISE EXCEPTION 'refused at commit' "
                    "USING ERRCODE = 'check_violation'; END $$")
        cur.execute("CREATE CONSTRAINT TRIGGER test_refuse_at_commit AFTER INSERT ON votes "
                    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                    "EXECUTE FUNCTION test_refuse_at_commit()")
        conn.commit()
    try:
        for _ in range(3):  # each of them, on whichever worker takes it
            assert_problem(voter.vote(cid, "满意"), 409, "conflict")
        assert vote_tables(stack) == before
    finally:
        with app_conn(stack, dsn_user="postgres") as (conn, cur):
            cur.execute("DROP TRIGGER test_refuse_at_commit ON votes")
            cur.execute("DROP FUNCTION test_refuse_at_commit()")
            conn.commit()
    r = voter.vote(cid, "满意")
    assert r.status_code == 201 and r.json()["counted"] is True, r.text
    assert stored_votes(stack, cid) == 1
    failed = log_events(stack, "db_statement_failed", since=mark)
    assert [(e["statement"], e["sqlstate"]) for e in failed] == [("tx_commit", "23514")] * 3
    assert log_events(stack, "db_unavailable", since=mark) == []


def test_a_vote_runs_at_read_committed_whatever_the_default(stack, tokens, voters_nginx):
    """A vote sent alone runs at the isolation level its connection finds;
    portald sets read committed on each of its connections (session
    settings). So with a database default of repeatable read, a vote that
    waited for a close holding the edition's lock still sees the close
    once it gets the lock, and is refused: under one snapshot for the whole
    vote it was counted after the close."""
    cid, edition, _ = voting_case(stack, tokens)
    database = sql_value(stack, "SELECT current_database()")
    with closing(psycopg2.connect(stack.dsn("postgres"))) as conn:
        conn.autocommit = True
        conn.cursor().execute(f'ALTER DATABASE "{database}" SET '
                              "default_transaction_isolation = 'repeatable read'")
    try:
        stack.stop_pool()
        stack.start_pool()  # new connections, which would read the new default
        stack.wait_ready()
        voter = Voter(stack)
        with app_conn(stack, dsn_user="postgres") as (conn, cur):
            cur.execute("SHOW transaction_isolation")
            assert cur.fetchone() == ("repeatable read",)
            conn.rollback()
            # a close under way: the edition's lock held, its deadline moved to now
            cur.execute("SELECT pg_advisory_xact_lock(edition_vote_lock_key(%s))", (edition,))
            with ThreadPoolExecutor(1) as ex:
                pending = ex.submit(voter.vote, cid, "满意")
                deadline = time.time() + 20
                while not sql_value(stack, "SELECT count(*) FROM pg_locks "
                                           "WHERE locktype = 'advisory' AND NOT granted"):
                    assert time.time() < deadline and not pending.done(), \
                        "the vote never waited for the edition's lock"
                    time.sleep(0.02)
                # in the lock's transaction: editions_guard compares with its now()
                cur.execute("UPDATE editions SET closes_at = clock_timestamp() WHERE id = %s",
                            (edition,))
                conn.commit()
                answer = pending.result(timeout=30)
        assert_problem(answer, 409, "voting-closed")
        assert stored_votes(stack, cid) == 0
        # and any other caller at another level is refused by vote_cast_counts itself
        other, _, _ = voting_case(stack, tokens)
        with app_conn(stack) as (conn, cur):
            conn.rollback()
            err = refused(cur, "SELECT * FROM vote_cast_counts(%s, %s, '满意', %s, %s, 50)",
                          (other, "voter-" + secrets.token_hex(8), secrets.token_hex(16),
                           secrets.token_hex(16)))
            assert err.pgcode == "25000", err
        assert stored_votes(stack, other) == 0
    finally:
        with closing(psycopg2.connect(stack.dsn("postgres"))) as conn:
            conn.autocommit = True
            conn.cursor().execute(
                f'ALTER DATABASE "{database}" RESET default_transaction_isolation')
        stack.stop_pool()
        stack.start_pool()
        stack.wait_ready()


def test_votes_racing_the_deadline_none_stored_after_it(stack, tokens, voters_nginx):
    cid, edition, _ = published_case(stack, tokens)
    deadline = sql_value(stack, "SELECT clock_timestamp() + interval '3 seconds'")
    open_voting(stack, tokens, edition, deadline.isoformat())
    voters = [Voter(stack) for _ in range(40)]
    stop = time.time() + 6
    answers = []

    def keep_voting(voter):
        while time.time() < stop:
            answers.append(voter.vote(cid, "满意"))
            time.sleep(0.05)
            voter = Voter(stack, voter.client)  # a new voter each time
    with ThreadPoolExecutor(8) as ex:
        list(ex.map(keep_voting, voters[:8]))
    counted = [a for a in answers if a.status_code == 201]
    late = [a for a in answers if a.status_code == 409]
    assert counted and late, "the votes did not straddle the deadline"
    assert {a.status_code for a in answers} <= {201, 409}
    for a in late:
        assert_problem(a, 409, "voting-closed")
    assert stored_votes(stack, cid) == len(counted)
    after = sql_value(stack, "SELECT count(*) FROM votes v JOIN cases c ON c.id = v.case_id "
                             "JOIN editions e ON e.id = c.edition_id "
                             "WHERE v.case_id = %s AND v.at >= e.closes_at", (cid,))
    assert after == 0


def test_bad_votes_get_the_right_4xx_and_count_nothing(stack, tokens, voters_nginx):
    cid, edition, _ = voting_case(stack, tokens)
    closed_case, closed_edition, _ = voting_case(stack, tokens)
    r = api(stack, "POST", f"/api/editions/{closed_edition}/transitions", tokens["reviewer"],
            json={"action": "close"})
    assert r.status_code == 200
    not_open, _, _ = published_case(stack, tokens)
    draft = new_case(stack, tokens)
    voter = Voter(stack)
    forged = "v1." + "0" * 32 + "." + "0" * 64
    altered = voter.cookie[:-1] + ("0" if voter.cookie[-1] != "0" else "1")
    before = vote_tables(stack)
    url = f"{stack.url}/api/public/cases/{cid}/votes"
    plain = {"X-Real-IP": voter.client}
    cases = [
        ("no cookie", requests.post(url, json={"choice": "满意"}, headers=plain, timeout=10),
         401, "unauthorized"),
        ("forged cookie", requests.post(url, json={"choice": "满意"}, timeout=10,
                                        headers=dict(plain, Cookie=f"portal_voter={forged}")),
         403, "forbidden"),
        ("altered cookie", requests.post(url, json={"choice": "满意"}, timeout=10,
                                         headers=dict(plain, Cookie=f"portal_voter={altered}")),
         403, "forbidden"),
        ("another site's page", voter.vote(cid, "满意", Origin="https://evil.example"),
         403, "forbidden"),
        ("a cross-site fetch", voter.vote(cid, "满意", **{"Sec-Fetch-Site": "cross-site"}),
         403, "forbidden"),
        ("a draft's id", voter.vote(draft, "满意"), 404, "not-found"),
        ("a missing case", voter.vote(draft + 100000, "满意"), 404, "not-found"),
        ("a closed case", voter.vote(closed_case, "满意"), 409, "voting-closed"),
        ("a case not yet open", voter.vote(not_open, "满意"), 409, "voting-closed"),
        ("an unknown choice", voter.vote(cid, "很好"), 422, "validation-failed"),
        ("no choice", requests.post(url, json={}, timeout=10, headers=dict(
            plain, Cookie=f"portal_voter={voter.cookie}")), 422, "validation-failed"),
        ("not JSON", requests.post(url, data="choice=满意".encode(), timeout=10, headers=dict(
            plain, Cookie=f"portal_voter={voter.cookie}", **{"Content-Type": "application/json"})),
         400, "malformed-json"),
    ]
    for what, resp, status, slug in cases:
        assert resp.status_code == status, (what, resp.text)
        assert_problem(resp, status, slug)
    unknown = cases[9][1].json()
    assert unknown["choices"] == ["满意", "基本满意", "不满意"]
    assert vote_tables(stack) == before, "a refused vote changed the votes or their counts"
    # the same voter still votes, once
    assert voter.vote(cid, "满意").status_code == 201


def test_votes_per_address_are_capped_and_the_rest_count_nothing(stack, tokens, voters_nginx,
                                                                    pool):
    pool("--votes-per-address", "3")
    cid, _, _ = voting_case(stack, tokens)
    office = new_client()
    voters = [Voter(stack, office) for _ in range(5)]
    answers = [v.vote(cid, "满意") for v in voters]
    assert [a.status_code for a in answers] == [201, 201, 201, 429, 429]
    assert_problem(answers[3], 429, "too-many-requests")
    assert stored_votes(stack, cid) == 3 and sum(public_counts(stack, cid).values()) == 3
    # another network is not held back by this one, and a repeat is still a repeat
    assert Voter(stack).vote(cid, "满意").status_code == 201
    assert voters[0].vote(cid, "不满意").status_code == 200


def test_nginx_turns_a_vote_flood_away_with_problem_json(stack, tokens, voters_nginx):
    cid, _, _ = voting_case(stack, tokens)
    flood = Voter(stack)
    with ThreadPoolExecutor(32) as ex:
        answers = list(ex.map(lambda _: flood.vote(cid, "满意"), range(260)))
    refused = [a for a in answers if a.status_code == 429]
    assert refused, "260 votes at once from one network all reached the pool"
    body = assert_problem(refused[0], 429, "too-many-requests")
    assert "votes" in body["detail"]
    assert stored_votes(stack, cid) == 1  # one voter: one vote, however often it asks


# ---- choices ------------------------------------------------------------------------------
@pytest.mark.parametrize("choices", [["满意"], ["好", "好"], ["好", "x" * 21], ["好", " 坏"],
                                     ["a", "b", "c", "d", "e", "f", "g"], "满意", [1, 2]])
def test_bad_choices_are_refused_and_nothing_is_made(stack, tokens, choices):
    before = sql_value(stack, "SELECT count(*) FROM editions")
    r = api(stack, "POST", "/api/editions", tokens["reviewer"],
            json={"number": next(_numbers), "title": "坏选项", "choices": choices})
    body = assert_problem(r, 422, "validation-failed")
    assert body["errors"][0]["field"] == "choices"
    assert sql_value(stack, "SELECT count(*) FROM editions") == before


def test_an_editions_own_choices_are_fixed_once_voting_opens(stack, tokens):
    cid, edition, number = published_case(stack, tokens, choices=["支持", "反对"])
    assert requests.get(f"{stack.url}/api/public/cases/{cid}", timeout=10).json()["choices"] == \
        ["支持", "反对"]
    r = api(stack, "GET", f"/api/editions/{edition}", tokens["reviewer"])
    r = api(stack, "PATCH", f"/api/editions/{edition}", tokens["reviewer"],
            json={"choices": ["支持", "中立", "反对"]}, headers={"If-Match": r.headers["ETag"]})
    assert r.status_code == 200 and r.json()["choices"] == ["支持", "中立", "反对"]
    open_voting(stack, tokens, edition)
    r = api(stack, "GET", f"/api/editions/{edition}", tokens["reviewer"])
    r = api(stack, "PATCH", f"/api/editions/{edition}", tokens["reviewer"],
            json={"choices": ["好", "坏"]}, headers={"If-Match": r.headers["ETag"]})
    assert_problem(r, 422, "validation-failed")
    assert sql_value(stack, "SELECT choices FROM editions WHERE id = %s", (edition,)) == \
        ["支持", "中立", "反对"]
