"""The worker pool under failure and load: crashes, reloads, timeouts, shutdown."""
import os
import signal
import threading
import time

import psycopg2
import requests

from conftest import (assert_problem, log_events, metric, wait_workers, worker_pids, wrk)


def test_killed_worker_is_replaced_within_a_second_under_load(stack, pool):
    # no recycling, so the only worker that leaves during the load is the victim
    pool("--max-requests", "0", workers=4)
    before = wait_workers(stack, 4)
    result = {}
    t = threading.Thread(target=lambda: result.update(
        zip(("total", "bad", "errors", "out"), wrk(stack.url + "/healthz", 4))))
    t.start()
    time.sleep(1.5)
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


def test_sighup_under_load_fails_no_request_and_replaces_every_worker(stack, pool, tmp_path):
    conf = tmp_path / "portald.conf"
    conf.write_text("workers = 3\n")
    pool("--config", str(conf), workers=0)  # no --workers flag: the file decides
    old = wait_workers(stack, 3)
    conf.write_text("workers = 4\nmax-requests = 0\n")
    result = {}
    t = threading.Thread(target=lambda: result.update(
        zip(("total", "bad", "errors", "out"), wrk(stack.url + "/healthz", 5))))
    t.start()
    time.sleep(1.5)
    stack.pool.send_signal(signal.SIGHUP)
    t.join()
    assert result["total"] > 3000, result["out"]
    assert result["bad"] == 0 and result["errors"] == 0, result["out"]
    new = wait_workers(stack, 4)
    assert not (new & old), "an old worker survived the reload"
    assert log_events(stack, "reload")[-1]["workers"] == 4


def test_bad_configuration_on_reload_keeps_the_pool_running(stack, pool, tmp_path):
    conf = tmp_path / "portald.conf"
    conf.write_text("workers = 2\n")
    pool("--config", str(conf), workers=0)
    before = wait_workers(stack, 2)
    conf.write_text("workers = many\n")
    stack.pool.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    assert worker_pids(stack) == before
    assert "workers" in log_events(stack, "reload_refused")[-1]["message"]
    assert requests.get(stack.url + "/healthz").status_code == 200


def lock_migrations_table(stack):
    """Holds a lock that makes /readyz wait: a request stuck in the database."""
    conn = psycopg2.connect(stack.dsn("postgres"))
    cur = conn.cursor()
    cur.execute("LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE")
    return conn


def test_stuck_request_is_killed_after_request_timeout_and_logged(stack, pool):
    pool("--request-timeout", "1s", "--slow-request", "500ms")
    timeouts_before = metric(stack, "portal_worker_restarts_total", reason="timeout")
    lock = lock_migrations_table(stack)
    try:
        started = time.time()
        r = requests.get(stack.url + "/readyz", timeout=10)
        elapsed = time.time() - started
    finally:
        lock.rollback()
        lock.close()
    assert_problem(r, 503)
    assert 0.9 < elapsed < 4, elapsed
    event = log_events(stack, "request_timeout")[-1]
    assert event["route"] == "/readyz"
    assert event["duration_ms"] >= 1000
    wait_workers(stack, stack.workers)
    assert metric(stack, "portal_worker_restarts_total", reason="timeout") == timeouts_before + 1
    assert requests.get(stack.url + "/readyz").status_code == 200


def test_slow_requests_are_logged_as_slow(stack, pool):
    pool("--request-timeout", "5s", "--slow-request", "200ms")
    lock = lock_migrations_table(stack)
    threading.Timer(0.5, lambda: (lock.rollback(), lock.close())).start()
    assert requests.get(stack.url + "/readyz", timeout=10).status_code == 200
    slow = [e for e in log_events(stack, "request") if e.get("slow") == "true"]
    assert slow and slow[-1]["route"] == "/readyz" and slow[-1]["level"] == "warn"


def test_sigterm_lets_the_request_in_flight_finish_then_exits_zero(stack, pool):
    pool()
    lock = lock_migrations_table(stack)
    result = {}
    t = threading.Thread(target=lambda: result.update(
        r=requests.get(stack.url + "/readyz", timeout=15)))
    t.start()
    time.sleep(0.5)
    stack.pool.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert stack.pool.poll() is None, "pool exited with a request in flight"
    lock.rollback()
    lock.close()
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
    time.sleep(0.3)
    assert metric(stack, "portal_worker_restarts_total", reason="recycled") >= before + 4


def test_crash_loop_is_throttled_and_logged(stack, pool):
    pool(workers=2)
    deadline = time.time() + 3
    killed = set()
    while time.time() < deadline:
        for pid in worker_pids(stack):
            if pid not in killed:
                os.kill(pid, signal.SIGKILL)  # dies right after start, again and again
                killed.add(pid)
        time.sleep(0.01)
    throttled = log_events(stack, "respawn_throttled")
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
