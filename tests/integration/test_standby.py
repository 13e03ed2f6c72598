"""A read standby (issue 12): the public's reads run on a streaming standby
of the cluster, in read-only transactions; votes, sign-in and staff work on
the primary; a standby that stops or falls behind loses the reads to the
primary without failing one, and gets them back when it is well.

The module runs on a stack of its own with a standby (stack.Stack(...,
standby=True)). Reads are sent to the pool through a second nginx server
without the public cache (nginx's cache answers most reads itself and
serves a stale copy when the pool fails, so through it a read that failed
in the pool would not show). That reads ran on the standby is read from the
standby itself: its pg_stat_database counts the transactions committed
there, which the primary's work cannot move."""
import re
import shutil
import tempfile
import threading
import time
from contextlib import closing

import psycopg2
import pytest
import requests

import stack as stackmod
from conftest import (DEFAULT_POOL_ARGS, api, assert_problem, log_events, log_mark, login, metric,
                      sanitizer_reports, sql_value, wait_until)

MAX_LAG_S = 2


@pytest.fixture(scope="module")
def stack():
    base = tempfile.mkdtemp(prefix="portal-test-", dir="/tmp")
    s = stackmod.Stack(base, http_port=stackmod.free_port(), workers=4, durable=False,
                       standby=True, login_limit=("1000r/s", 1000, 1),
                       portald_args=DEFAULT_POOL_ARGS + ["--standby-max-lag", f"{MAX_LAG_S}s"])
    s.start(demo=True)
    direct_port = stackmod.free_port()
    s.stop_nginx()
    s.start_nginx(extra=f"server {{ listen 127.0.0.1:{direct_port}; location / {{ "
                        f"include {s.run_dir}/conf/fastcgi_portal.conf; }} }}")
    s.direct = f"http://127.0.0.1:{direct_port}"
    yield s
    s.stop()
    problems = sanitizer_reports(s.pool_log)
    shutil.rmtree(base, ignore_errors=True)
    assert not problems, "sanitizer reports in portald.log:\n" + "\n".join(problems[:20])


def reads_go_to(stack):
    """What /readyz says of the reads ("standby", "primary"), or its status
    when not ready (a worker finding its connection to a restarted primary
    gone answers 503 once)."""
    r = requests.get(stack.url + "/readyz", timeout=5)
    return r.json()["reads"] if r.status_code == 200 else r.status_code


@pytest.fixture
def standby_serving(stack):
    """The standby up, caught up and serving reads, before and after the test."""
    stack.start_standby()  # a no-op when it runs
    wait_until(lambda: reads_go_to(stack) == "standby", 20, "reads on the standby")
    yield stack
    stack.start_standby()
    with closing(psycopg2.connect(stack.dsn("postgres", standby=True))) as conn:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT pg_wal_replay_resume()")
    wait_until(lambda: reads_go_to(stack) == "standby", 20, "reads back on the standby")


def standby_reads(stack):
    """(transactions committed, table scans) on the standby, from its own
    statistics: the primary's work never moves them. Its standby check
    commits a transaction a second too, but reads no table."""
    with closing(psycopg2.connect(stack.dsn("postgres", standby=True))) as conn:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = 'portal'),"
                        " (SELECT sum(seq_scan + coalesce(idx_scan, 0))::bigint"
                        "  FROM pg_stat_user_tables)")
            return cur.fetchone()


def public_paths(stack):
    """Every public read the pool answers: the lists, each edition (JSON, page,
    results) and each published case (JSON and page)."""
    editions = requests.get(stack.direct + "/api/public/editions", timeout=10).json()
    paths = ["/", "/api/public/editions"]
    for e in editions:
        n = e["number"]
        paths += [f"/editions/{n}", f"/api/public/editions/{n}",
                  f"/api/public/editions/{n}/results"]
        for c in e["cases"]:
            paths += [f"/cases/{c['id']}", f"/api/public/cases/{c['id']}"]
    return paths


def voting_case(stack):
    editions = requests.get(stack.direct + "/api/public/editions", timeout=10).json()
    edition = next(e for e in editions if e["voting"])
    case = requests.get(f"{stack.direct}/api/public/cases/{edition['cases'][0]['id']}",
                        timeout=10).json()
    return case


def vote(stack, case_id, choice):
    r = requests.post(stack.url + "/api/public/voter", timeout=10)
    assert r.status_code == 201, r.text
    cookie = re.search(r"portal_voter=([^;]+)", r.headers["Set-Cookie"]).group(1)
    return requests.post(f"{stack.url}/api/public/cases/{case_id}/votes",
                         json={"choice": choice}, headers={"Cookie": f"portal_voter={cookie}"},
                         timeout=10)


def request_lines(stack, since):
    return [l for l in log_events(stack, "request", since) if l.get("route")]


# ---- where reads and writes go -------------------------------------------------
def test_the_public_reads_run_on_the_standby(standby_serving):
    stack = standby_serving
    paths = public_paths(stack)
    assert len(paths) > 40
    commits, scans = standby_reads(stack)
    mark = log_mark(stack)
    for path in paths:
        r = requests.get(stack.direct + path, timeout=10)
        assert r.status_code == 200, (path, r.text)
    # a backend sends its statistics within about ten seconds of going idle
    wait_until(lambda: all(after - before >= len(paths) for before, after
                           in zip((commits, scans), standby_reads(stack))),
               20, f"{len(paths)} transactions reading tables on the standby", interval=0.5)
    lines = [l for l in request_lines(stack, mark) if l["path"] in paths]
    assert len(lines) == len(paths)
    assert {l["db"] for l in lines} == {"standby"}


def test_votes_sign_in_and_staff_work_run_on_the_primary(standby_serving):
    stack = standby_serving
    case = voting_case(stack)
    stored = sql_value(stack, "SELECT count(*) FROM votes WHERE case_id = %s", (case["id"],))
    mark = log_mark(stack)
    r = vote(stack, case["id"], case["choices"][0])
    assert r.status_code == 201, r.text
    counted = r.json()["votes"][case["choices"][0]]
    assert sql_value(stack, "SELECT count(*) FROM votes WHERE case_id = %s",
                     (case["id"],)) == stored + 1
    signed_in = login(stack, "reviewer")
    assert signed_in.status_code == 200, signed_in.text
    r = api(stack, "GET", f"/api/cases/{case['id']}", signed_in.json()["access_token"])
    assert r.status_code == 200, r.text
    lines = request_lines(stack, mark)
    by_route = {l["route"]: l.get("db") for l in lines}
    assert by_route["/api/public/cases/{id:int}/votes"] == "primary"
    assert by_route["/api/cases/{id:int}"] == "primary"
    assert by_route["/api/auth/login"] == "primary"
    # the vote reaches the standby's readers moments later
    wait_until(lambda: requests.get(f"{stack.direct}/api/public/cases/{case['id']}", timeout=10)
               .json()["votes"][case["choices"][0]] >= counted, 5, "the vote on the standby")


# ---- the standby's lag --------------------------------------------------------
def test_an_idle_primary_does_not_make_the_standby_look_behind(standby_serving):
    """The age of the standby's last replayed commit grows while nobody
    writes; the lag compares WAL positions first, so it stays 0."""
    stack = standby_serving
    time.sleep(MAX_LAG_S + 1.5)  # no writes: the last replayed commit is older than the limit
    assert metric(stack, "portal_standby_lag_seconds") < MAX_LAG_S / 2
    assert reads_go_to(stack) == "standby"


def test_a_standby_behind_by_more_than_the_limit_loses_the_reads(standby_serving):
    """Replay paused on the standby while the primary takes a vote: the lag
    passes standby-max-lag, reads go to the primary (and see the vote), and
    come back once the standby has replayed it."""
    stack = standby_serving
    case = voting_case(stack)
    choice = case["choices"][1]
    with closing(psycopg2.connect(stack.dsn("postgres", standby=True))) as conn:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT pg_wal_replay_pause()")
        r = vote(stack, case["id"], choice)
        assert r.status_code == 201, r.text
        counted = r.json()["votes"][choice]
        started = time.monotonic()
        wait_until(lambda: reads_go_to(stack) == "primary", MAX_LAG_S + 5, "reads on the primary")
        assert time.monotonic() - started >= MAX_LAG_S - 1  # not before the lag passed the limit
        assert metric(stack, "portal_standby_lag_seconds") > MAX_LAG_S
        assert metric(stack, "portal_standby_reads") == 0
        mark = log_mark(stack)
        r = requests.get(f"{stack.direct}/api/public/cases/{case['id']}", timeout=10)
        assert r.json()["votes"][choice] == counted  # the primary's count
        assert [l["db"] for l in request_lines(stack, mark)] == ["primary"]
        with conn.cursor() as cur:
            cur.execute("SELECT pg_wal_replay_resume()")
    wait_until(lambda: reads_go_to(stack) == "standby", 10, "reads back on the standby")
    assert metric(stack, "portal_standby_lag_seconds") < MAX_LAG_S


# ---- losing the standby under load ---------------------------------------------
def test_stopping_the_standby_under_reads_fails_none(standby_serving):
    """Threads read the public pages and JSON straight from the pool while
    the standby is stopped (its backends terminated mid-read) and started
    again: every read answers 200; /readyz says primary while it is down
    and standby once it is back; reads run on the standby again."""
    stack = standby_serving
    paths = public_paths(stack)
    failures, done, stop = [], [0], threading.Event()

    def reader(offset):
        session = requests.Session()
        i = offset
        while not stop.is_set():
            path = paths[i % len(paths)]
            i += 1
            try:
                r = session.get(stack.direct + path, timeout=10)
                if r.status_code != 200:
                    failures.append((path, r.status_code, r.text[:200]))
            except requests.RequestException as e:
                failures.append((path, "error", str(e)))
            done[0] += 1

    threads = [threading.Thread(target=reader, args=(k * 7,)) for k in range(6)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.5)
        before_stop = done[0]
        stack.stop_standby()
        wait_until(lambda: reads_go_to(stack) == "primary", 5, "readyz saying primary")
        time.sleep(1.5)  # reads served while the standby is down
        mark = log_mark(stack)
        time.sleep(0.5)
        assert {l.get("db") for l in request_lines(stack, mark)
                if l["path"] in paths} == {"primary"}
        stack.start_standby()
        wait_until(lambda: reads_go_to(stack) == "standby", 15, "readyz saying standby")
        mark = log_mark(stack)
        time.sleep(1.5)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not failures, failures[:10]
    assert done[0] > before_stop > 0
    back = [l for l in request_lines(stack, mark) if l["path"] in paths]
    assert back and {l["db"] for l in back} == {"standby"}


def test_reads_stay_on_the_standby_while_the_primary_is_down(standby_serving):
    """Nothing newer than the standby holds can be read anywhere while the
    primary is down, so the public keeps reading there; a vote is 503."""
    stack = standby_serving
    paths = public_paths(stack)
    case = voting_case(stack)
    stack.stop_postgres()
    try:
        mark = log_mark(stack)
        for path in paths:
            r = requests.get(stack.direct + path, timeout=10)
            assert r.status_code == 200, (path, r.text)
        assert {l.get("db") for l in request_lines(stack, mark)} == {"standby"}
        # the checks that find the primary gone keep the reads where they are
        time.sleep(MAX_LAG_S + 1.5)
        assert metric(stack, "portal_standby_reads") == 1
        for path in paths[:5]:
            assert requests.get(stack.direct + path, timeout=10).status_code == 200
        assert_problem(vote(stack, case["id"], case["choices"][0]), 503, "database-unavailable")
    finally:
        stack.start_postgres()
    wait_until(lambda: requests.get(stack.url + "/readyz", timeout=5).status_code == 200, 20,
               "the primary back")
