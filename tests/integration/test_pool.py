"""The worker pool under failure and load: crashes, reloads, timeouts, shutdown."""
import os
import signal
import threading
import time
from contextlib import contextmanager

import psycopg2
import requests

from conftest import (accepting_workers, api, assert_problem, log_events, log_mark, metric,
                      request_log, sql_value, wait_until, wait_workers, worker_pids, wrk)


def wait_for_load(stack, requests_more=200):
    """Waits until the pool has served requests_more requests more than now: the
    load has really started (instead of sleeping and hoping it has)."""
    start = metric(stack, "portal_requests_total") or 0
    wait_until(lambda: (metric(stack, "portal_requests_total") or 0) >= start + requests_more,
               20, f"{requests_more} requests of load")


def test_killed_worker_is_replaced_within_a_second_under_load(stack, pool):
    # no recycling, so the only worker that leaves during the load is the victim
    pool("--max-requests", "0", workers=4)
    before = wait_workers(stack, 4)
    result = {}
    t = threading.Thread(target=lambda: result.update(
        zip(("total", "bad", "errors", "out"), wrk(stack.url + "/healthz", 4))))
    t.start()
    wait_for_load(stack)
    victim = sorted(before)[0]
    os.kill(victim, signal.SIGKILL)
    killed_at = time.time()
    replaced = None
    while time.time() - killed_at < 1.0:
        pids = worker_pids(stack)
        if victim not in pids and len(pids) == 4:
            replaced = time.time() - killed_at
            break
        time.sleep(0.005)
    t.join()
    assert replaced is not None and replaced < 1.0, "worker not replaced within a second"
    assert result["total"] > 1000, result["out"]
    # at most the one request the killed worker held can fail
    assert result["bad"] + result["errors"] <= 1, result["out"]
    exits = [e for e in log_events(stack, "worker_exited") if e["worker_pid"] == victim]
    assert exits and "signal 9" in exits[-1]["reason"]


def test_sighup_under_load_fails_no_request_and_replaces_every_worker(stack, pool, tmp_path,
                                                                    tokens):
    conf = tmp_path / "portald.conf"
    conf.write_text("workers = 3\n")
    pool("--config", str(conf), workers=0)  # no --workers flag: the file decides
    old = wait_workers(stack, 3)
    conf.write_text("workers = 4\nmax-requests = 0\n")
    # the load: the bare worker, a request that asks the database, and a signed-in
    # read (token, account lookup, row security) in flight while workers change
    case_id = sql_value(stack, "SELECT min(id) FROM cases WHERE state = 'voting'")
    assert api(stack, "GET", f"/api/cases/{case_id}", tokens["reviewer"]).status_code == 200
    loads = {"healthz": (stack.url + "/healthz", ()),
             "readyz": (stack.url + "/readyz", ()),
             "case": (stack.url + f"/api/cases/{case_id}",
                      (f"Authorization: Bearer {tokens['reviewer']}",))}
    results = {}
    threads = [threading.Thread(target=lambda name=name, url=url, headers=headers: results.update(
        {name: wrk(url, 5, connections=6, threads=1, headers=headers)}))
        for name, (url, headers) in loads.items()]
    mark = log_mark(stack)
    for t in threads:
        t.start()
    wait_for_load(stack)
    stack.pool.send_signal(signal.SIGHUP)
    for t in threads:
        t.join()
    for name, (total, bad, errors, out) in results.items():
        assert total > 100, (name, out)
        assert bad == 0 and errors == 0, (name, out)
    # (four workers may be counted while the old ones still finish their
    # last requests: what must come is four of which none is old)
    def replaced():
        pids = worker_pids(stack)
        return pids if len(pids) == 4 and not (pids & old) and accepting_workers(stack) >= 4 \
            else None
    new = wait_until(replaced, 15, "four workers, none of them one from before the reload "
                                   "(an old worker survived the reload)")
    reloads = log_events(stack, "reload", since=mark)
    assert len(reloads) == 1 and reloads[0]["workers"] == 4
    # the new workers served the database routes too, not only the old ones
    served = {(l["route"], l["pid"]) for l in log_events(stack, "request", since=mark)
              if l["status"] == 200}
    assert {pid for route, pid in served if route != "/healthz"} & new, served


def test_bad_configuration_on_reload_keeps_the_pool_running(stack, pool, tmp_path):
    conf = tmp_path / "portald.conf"
    conf.write_text("workers = 2\n")
    pool("--config", str(conf), workers=0)
    before = wait_workers(stack, 2)
    conf.write_text("workers = many\n")
    mark = log_mark(stack)
    stack.pool.send_signal(signal.SIGHUP)
    refusals = wait_until(lambda: log_events(stack, "reload_refused", since=mark), 10,
                          "the reload to be refused")
    assert len(refusals) == 1 and "workers" in refusals[0]["message"]
    assert worker_pids(stack) == before
    assert requests.get(stack.url + "/healthz").status_code == 200


@contextmanager
def migrations_table_locked(stack):
    """Holds a lock that makes /readyz wait (a request stuck in the database)
    until the block ends or release() is called; released in any case."""
    conn = psycopg2.connect(stack.dsn("postgres"))
    try:
        conn.cursor().execute("LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE")

        def release():
            if not conn.closed:
                conn.rollback()
                conn.close()
        yield release
    finally:
        release()


def requests_waiting_for_the_lock(stack):
    """How many of the pool's statements wait for a lock now."""
    return sql_value(stack, "SELECT count(*) FROM pg_stat_activity WHERE usename = 'portal_app' "
                     "AND wait_event_type = 'Lock'")


def test_stuck_request_is_killed_after_request_timeout_and_logged(stack, pool):
    pool("--request-timeout", "1s", "--slow-request", "500ms")
    timeouts_before = metric(stack, "portal_worker_restarts_total", reason="timeout")
    mark = log_mark(stack)
    with migrations_table_locked(stack):
        started = time.time()
        r = requests.get(stack.url + "/readyz", timeout=10)
        elapsed = time.time() - started
    assert_problem(r, 503)
    assert 0.9 < elapsed < 4, elapsed
    events = log_events(stack, "request_timeout", since=mark)
    assert len(events) == 1, events
    event = events[0]
    assert event["route"] == "/readyz"
    assert event["duration_ms"] >= 1000
    wait_workers(stack, stack.workers)
    assert metric(stack, "portal_worker_restarts_total", reason="timeout") == timeouts_before + 1
    assert requests.get(stack.url + "/readyz").status_code == 200


def test_slow_requests_are_logged_as_slow(stack, pool):
    pool("--request-timeout", "5s", "--slow-request", "200ms")
    result = {}
    with migrations_table_locked(stack):
        t = threading.Thread(target=lambda: result.update(
            r=requests.get(stack.url + "/readyz", timeout=10)))
        started = time.monotonic()
        t.start()
        # held until the request waits for it and has taken more than 200 ms
        wait_until(lambda: requests_waiting_for_the_lock(stack) >= 1, 10,
                   "the request to wait for the lock")
        wait_until(lambda: time.monotonic() - started > 0.4, 1, "400 ms")
    t.join()
    assert result["r"].status_code == 200
    line = request_log(stack, result["r"].headers["X-Request-Id"])
    assert (line["route"], line["slow"], line["level"]) == ("/readyz", "true", "warn")
    assert line["duration_ms"] >= 200
    # and a quick one is not slow
    quick = requests.get(stack.url + "/readyz", timeout=10)
    assert "slow" not in request_log(stack, quick.headers["X-Request-Id"])


def test_sigterm_lets_the_request_in_flight_finish_then_exits_zero(stack, pool):
    pool()
    result = {}
    mark = log_mark(stack)
    with migrations_table_locked(stack) as release:
        t = threading.Thread(target=lambda: result.update(
            r=requests.get(stack.url + "/readyz", timeout=15)))
        t.start()
        wait_until(lambda: requests_waiting_for_the_lock(stack) >= 1, 10,
                   "the request to be in flight")
        stack.pool.send_signal(signal.SIGTERM)
        wait_until(lambda: log_events(stack, "stopping", since=mark), 10,
                   "the pool to start stopping")
        # a pool that did not wait would be gone by now: give it the time to go
        time.sleep(0.5)
        assert stack.pool.poll() is None, "pool exited with a request in flight"
        release()
        t.join()
    assert result["r"].status_code == 200
    assert stack.pool.wait(10) == 0
    assert not os.path.exists(stack.pool_socket)


def test_pool_down_gives_a_503_problem_from_nginx(stack, pool):
    pool()
    stack.stop_pool()
    r = requests.get(stack.url + "/readyz")
    assert_problem(r, 503, "service-unavailable")
    assert "Content-Security-Policy" in r.headers


def test_workers_are_recycled_after_max_requests(stack, pool):
    pool("--max-requests", "20", workers=2)
    before = metric(stack, "portal_worker_restarts_total", reason="recycled")
    session = requests.Session()
    for _ in range(120):
        assert session.get(stack.url + "/healthz").status_code == 200
    # 120 requests over 2 workers recycled every 20: at least 4 recycled (the
    # master counts each when it reaps the worker)
    wait_until(lambda: metric(stack, "portal_worker_restarts_total",
                              reason="recycled") >= before + 4, 10, "4 workers recycled")


def test_crash_loop_is_throttled_and_logged(stack, pool):
    pool(workers=2)
    mark = log_mark(stack)
    deadline = time.time() + 3
    killed = set()
    while time.time() < deadline:
        for pid in worker_pids(stack):
            if pid not in killed:
                os.kill(pid, signal.SIGKILL)  # dies right after start, again and again
                killed.add(pid)
        time.sleep(0.01)
    throttled = log_events(stack, "respawn_throttled", since=mark)
    assert throttled, "no respawn_throttled log line"
    assert throttled[-1]["delay_ms"] >= 100
    # without the throttle, 3 s of instant deaths would be hundreds of forks
    assert len(killed) < 60, len(killed)
    wait_workers(stack, 2, timeout=15)
    assert requests.get(stack.url + "/healthz").status_code == 200


def test_scoreboard_counts_requests_and_worker_memory(stack):
    before = metric(stack, "portal_requests_total")
    for _ in range(10):
        requests.get(stack.url + "/healthz")
    assert metric(stack, "portal_requests_total") >= before + 10
    rss = metric(stack, "portal_worker_resident_bytes")
    assert rss and rss > 0
