"""More than one pool host: two pools, each its own master on its own
socket, both in nginx's upstream. One is killed outright (kill -9 on its
process group) under reads and votes: no read fails, and no vote is counted
twice or lost silently. And `make run` starts a pool that dies again."""
import itertools
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from contextlib import closing

import psycopg2
import pytest
import requests

from conftest import DEFAULT_POOL_ARGS, sql_rows, stackmod, wait_until
from test_make_run import (alive, make_run, postmaster_pid, processes_mentioning,
                           stack_process_report)

READS = ("/api/public/editions/13", "/editions/13", "/", "/readyz", "/healthz")
_clients = itertools.count(1)


def client_address():
    n = next(_clients)
    return f"203.0.{113 + n // 250}.{n % 250 + 1}"  # TEST-NET-3 and on: one network each


@pytest.fixture
def two_pools():
    base = tempfile.mkdtemp(prefix="portal-pools-", dir="/tmp")
    s = stackmod.Stack(base, http_port=stackmod.free_port(), workers=2, durable=False,
                       portald_args=DEFAULT_POOL_ARGS, pools=2)
    try:
        s.start(demo=True)
        # each voter its own network, as nginx sees it through X-Real-IP
        s.stop_nginx()
        s.start_nginx(extra="set_real_ip_from 127.0.0.1; real_ip_header X-Real-IP;")
        yield s
    finally:
        s.stop()
        shutil.rmtree(base, ignore_errors=True)


def request_lines(path):
    with open(path, errors="replace") as f:
        return sum('"event":"request"' in line for line in f)


def test_a_pool_killed_under_load_fails_no_read_and_counts_no_vote_twice(two_pools):
    s = two_pools
    cases = [r[0] for r in sql_rows(s, "SELECT c.id FROM cases c JOIN editions e "
                                       "ON e.id = c.edition_id WHERE e.number = 13 ORDER BY 1")]
    voters = []
    for i in range(160):
        client = client_address()
        r = requests.post(s.url + "/api/public/voter", headers={"X-Real-IP": client}, timeout=10)
        assert r.status_code == 201, r.text
        voters.append((client, r.cookies["portal_voter"], cases[i % len(cases)]))
    assert request_lines(s.pool_logs[1]) > 0, "the second pool served nothing"

    def vote(voter):
        client, cookie, case = voter
        return requests.post(f"{s.url}/api/public/cases/{case}/votes", json={"choice": "满意"},
                             headers={"X-Real-IP": client, "Cookie": f"portal_voter={cookie}"},
                             timeout=30)

    stop = threading.Event()
    bad_reads, reads = [], [0]
    answers = {}  # voter -> the answer to its one vote under load
    todo = queue.Queue()
    for v in voters:
        todo.put(v)

    def reader(offset):
        with requests.Session() as session:
            for path in itertools.islice(itertools.cycle(READS), offset, None):
                if stop.is_set():
                    return
                r = session.get(s.url + path, timeout=30)
                reads[0] += 1
                if r.status_code != 200:
                    bad_reads.append((path, r.status_code, r.text[:200]))

    def voter_thread():
        while not stop.is_set():
            try:
                v = todo.get_nowait()
            except queue.Empty:
                return
            answers[v] = vote(v)
            time.sleep(0.01)  # spread over the kill

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(4)]
    threads += [threading.Thread(target=voter_thread) for _ in range(8)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: len(answers) >= 40, 30, "votes before the kill")
        # Votes held in flight: a lock on the counts stops every vote inside
        # its transaction until all four workers (two per pool) hold one;
        # then the second pool dies with two votes in flight.
        with closing(psycopg2.connect(s.dsn("postgres"))) as lock:
            lock.cursor().execute("LOCK TABLE vote_counts IN EXCLUSIVE MODE")
            wait_until(lambda: sql_rows(s, "SELECT count(*) FROM pg_stat_activity WHERE "
                                           "wait_event_type = 'Lock'")[0][0] >= 4, 20,
                       "a vote in flight in every worker")
            victim = s.pool_procs[1]
            os.killpg(victim.pid, signal.SIGKILL)  # the master and its workers at once
            victim.wait()
            time.sleep(0.3)
            lock.rollback()
        reads_at_kill = reads[0]
        wait_until(lambda: todo.empty() and reads[0] > reads_at_kill + 300, 60,
                   "reads and votes after the kill")
    finally:
        stop.set()
        for t in threads:
            t.join()

    assert not bad_reads, bad_reads[:10]
    # every vote answered: counted (201), or an error (a 5xx problem from
    # nginx, never a 4xx); none answered "already counted" under load
    errors = [v for v, a in answers.items() if a.status_code >= 500]
    for v in errors:  # the pool gone mid-vote: nginx's problem, never its HTML page
        a = answers[v]
        assert a.status_code == 503, a.text
        assert a.headers["Content-Type"].startswith("application/problem+json"), a.headers
    for v, a in answers.items():
        if v not in errors:
            assert a.status_code == 201 and a.json()["counted"] is True, a.text
    assert len(errors) >= 2, "the killed pool's votes in flight were answered as counted"
    # a voter who got an error asks again: its vote counted once in flight
    # (200, counted: false) or not at all (201 now); never two
    receipts = {v: a.json()["receipt"] for v, a in answers.items() if v not in errors}
    for v in errors:
        again = vote(v)
        assert again.status_code in (200, 201), again.text
        receipts[v] = again.json()["receipt"]
    stored = sql_rows(s, "SELECT receipt FROM votes WHERE case_id = ANY(%s)", (cases,))
    assert sorted(r[0] for r in stored) == sorted(receipts.values())
    counts = sql_rows(s, "SELECT sum(n) FROM vote_counts WHERE case_id = ANY(%s)", (cases,))
    assert counts[0][0] == len(voters)
    print(f"{reads[0]} reads, {len(voters)} votes, {len(errors)} answered with an error "
          "while the pool died")


def pool_masters(data, socket_name):
    """Pids of the portald masters (session leaders) listening on socket_name."""
    return [p for p in processes_mentioning(f"{data}/run/{socket_name}")
            if "portald" in open(f"/proc/{p}/cmdline").read() and os.getsid(p) == p]


def test_make_run_starts_a_pool_that_dies_again():
    with make_run(PORTAL_POOLS="2") as (run, data, env):
        output = []
        threading.Thread(target=lambda: output.extend(run.stdout), daemon=True).start()
        wait_until(lambda: "Stop with Ctrl-C" in "".join(output) or run.poll() is not None, 120,
                   "make run to start")
        assert "portald-2.log" in "".join(output), "".join(output)
        first = pool_masters(data, "portald-2.sock")
        assert len(first) == 1 and len(pool_masters(data, "portald.sock")) == 1
        os.killpg(first[0], signal.SIGKILL)
        wait_until(lambda: "exited (killed by signal 9); starting it again" in "".join(output),
                   20, "the stack to notice")
        second = wait_until(lambda: [p for p in pool_masters(data, "portald-2.sock")
                                     if p != first[0]], 20, "a new second pool")
        assert len(second) == 1
        assert run.poll() is None, "".join(output)

        def started_twice():
            with open(f"{data}/log/portald-2.log") as f:
                return f.read().count('"event":"started"') == 2
        wait_until(started_twice, 10, "the new second pool's started line")
        for _ in range(20):  # both pools serve
            assert requests.get(f"http://127.0.0.1:{env['PORTAL_HTTP_PORT']}/readyz",
                                timeout=10).status_code == 200
        started = set(processes_mentioning(data))
        postmaster = postmaster_pid(data)
        os.killpg(run.pid, signal.SIGTERM)
        try:
            run.wait(timeout=90)
        except subprocess.TimeoutExpired:
            pytest.fail("make run did not stop:\n" + stack_process_report(run.pid, output))
        wait_until(lambda: not any(alive(p) for p in started) and not alive(postmaster), 15,
                   "everything to stop")
