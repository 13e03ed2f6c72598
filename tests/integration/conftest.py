"""Fixtures that start the real stack: a private PostgreSQL cluster, the
pool and nginx on a free loopback port, in a temp folder, torn down even
when a test fails."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import psycopg2
import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import stack as stackmod  # noqa: E402

DEFAULT_POOL_ARGS = ["--request-timeout", "5s", "--slow-request", "1s", "--shutdown-timeout", "10s",
                     # sign-in limits short enough to test: the waits double from 50 ms, a
                     # lock lasts 4 s; every test signs in from 127.0.0.1, so the address
                     # limit is tested from other loopback addresses
                     "--login-slow-delay", "50ms", "--login-lock-time", "4s",
                     "--login-address-lock-after", "1000"]


@pytest.fixture(scope="session")
def stack():
    base = tempfile.mkdtemp(prefix="portal-test-", dir="/tmp")
    s = stackmod.Stack(base, http_port=stackmod.free_port(), workers=4, durable=False,
                       portald_args=DEFAULT_POOL_ARGS, key_algs=("hs256", "rs256", "es256"))
    s.start(demo=True)
    yield s
    s.stop()
    problems = sanitizer_reports(s.pool_log)
    shutil.rmtree(base, ignore_errors=True)
    assert not problems, "sanitizer reports in portald.log:\n" + "\n".join(problems[:20])


def sanitizer_reports(path):
    if not os.path.exists(path):
        return []
    with open(path, errors="replace") as f:
        return [l for l in f if "AddressSanitizer" in l or "runtime error:" in l
                or "LeakSanitizer" in l]


@pytest.fixture
def pool(stack):
    """The pool restarted with the given extra arguments for one test, then
    put back as it was."""
    started = []

    def restart(*args, workers=None):
        stack.stop_pool()
        if workers is not None:
            stack.workers = workers
        stack.start_pool(extra_args=list(args))
        started.append(True)
        if stack.workers:
            wait_workers(stack, stack.workers)
        return stack.pool

    yield restart
    if started:
        stack.stop_pool()
        stack.workers = 4
        stack.start_pool()
        wait_workers(stack, 4)


def worker_pids(stack):
    """The pool's live children, from /proc."""
    pid = stack.pool.pid
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return {int(p) for p in f.read().split()}
    except FileNotFoundError:
        return set()


def wait_workers(stack, count, timeout=10, exclude=()):
    deadline = time.time() + timeout
    while time.time() < deadline:
        pids = worker_pids(stack) - set(exclude)
        if len(pids) == count and accepting_workers(stack) >= count:
            return pids
        time.sleep(0.02)
    raise AssertionError(f"pool did not reach {count} workers: {worker_pids(stack)}")


def accepting_workers(stack):
    """Workers past start-up, as the pool's own scoreboard reports them."""
    try:
        text = requests.get(stack.url + "/metrics", timeout=2).text
    except requests.RequestException:
        return 0
    states = dict(re.findall(r'portal_workers\{state="(\w+)"\} (\d+)', text))
    return int(states.get("idle", 0)) + int(states.get("busy", 0))


def wrk(url, seconds, connections=16, threads=2):
    """Runs wrk against url; returns (requests, non_2xx_3xx, socket_errors)."""
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", url],
                         capture_output=True, text=True, timeout=seconds + 30).stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = sum(int(x) for x in sock.groups()) if sock else 0
    return total, int(bad.group(1)) if bad else 0, errors, out


def log_events(stack, event=None):
    lines = []
    with open(stack.pool_log, errors="replace") as f:
        for raw in f:
            raw = raw.strip()
            if not raw.startswith("{"):
                continue
            rec = json.loads(raw)
            if event is None or rec.get("event") == event:
                lines.append(rec)
    return lines


def metric(stack, name, **labels):
    text = requests.get(stack.url + "/metrics", timeout=5).text
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    total = 0.0
    found = False
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"([a-z_]+)(\{[^}]*\})? (\S+)", line)
        if not m or m.group(1) != name:
            continue
        if want and want not in (m.group(2) or ""):
            continue
        total += float(m.group(3))
        found = True
    return total if found else None


def assert_problem(resp, status, type_slug=None):
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].startswith("application/problem+json"), resp.headers
    body = resp.json()
    assert body["status"] == status
    assert body["type"].startswith("/problems/")
    assert body["title"] and body["title_zh"]
    if type_slug:
        assert body["type"] == f"/problems/{type_slug}", body
    return body


# ---- accounts -----------------------------------------------------------
DEMO_PASSWORD = "portal-demo"
DEMO_USERS = ("shajing", "yanluo", "reviewer", "admin")


def login(stack, username, password=DEMO_PASSWORD):
    return requests.post(stack.url + "/api/auth/login",
                         json={"username": username, "password": password}, timeout=10)


def token_for(stack, username, password=DEMO_PASSWORD):
    r = login(stack, username, password)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


@pytest.fixture(scope="session")
def tokens(stack):
    """An access token per demo account (valid for the whole session)."""
    return {name: token_for(stack, name) for name in DEMO_USERS}


def api(stack, method, path, token=None, **kw):
    headers = kw.pop("headers", {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, stack.url + path, headers=headers, timeout=10, **kw)


def superuser(stack):
    conn = psycopg2.connect(stack.dsn("postgres"))
    conn.autocommit = True
    return conn


SNAPSHOT_TABLES = ("districts", "streets", "communities", "staff_users", "audit_log",
                   "refresh_tokens", "login_throttle", "editions", "cases", "case_photos",
                   "photo_blobs", "case_revisions", "case_events")


def db_snapshot(stack, tables=SNAPSHOT_TABLES):
    """Every row of the given tables, as the superuser sees them, to show that
    a refused request changed nothing."""
    conn = superuser(stack)
    cur = conn.cursor()
    snap = {}
    for t in tables:
        cur.execute(f"SELECT to_jsonb(x)::text FROM {t} x ORDER BY 1")
        snap[t] = [r[0] for r in cur.fetchall()]
    conn.close()
    return snap


_made = [0]


def make_user(stack, admin_token, role="editor", street_id=None, password="a-long-password-1"):
    """A fresh staff account made through the admin API; returns (id, username, password)."""
    _made[0] += 1
    name = f"t{os.getpid()}-{_made[0]}-{role}"[:32]
    body = {"username": name, "display_name": name, "role": role, "password": password}
    if role == "editor":
        body["street_id"] = street_id
    r = api(stack, "POST", "/api/users", admin_token, json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"], name, password
