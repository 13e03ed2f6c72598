"""Fixtures that start the real stack: a private PostgreSQL cluster, the
pool and nginx on a free loopback port, in a temp folder, torn down even
when a test fails."""
import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Mapping
from contextlib import closing, contextmanager

import psycopg2
import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import stack as stackmod  # noqa: E402

import openapi_check  # noqa: E402

openapi_check.install()

DEFAULT_POOL_ARGS = ["--request-timeout", "5s", "--slow-request", "1s", "--shutdown-timeout", "10s",
                     # sign-in limits short enough to test: the waits double from 50 ms, a
                     # lock lasts 4 s; every test signs in from 127.0.0.1, so the address
                     # limit is tested from other loopback addresses
                     "--login-slow-delay", "50ms", "--login-lock-time", "4s",
                     "--login-address-lock-after", "1000",
                     # a loaded CI machine (sanitizer builds, 2 cores) can take
                     # more than a second to hand a fresh worker a connection
                     "--db-connect-timeout", "10s"]


@pytest.fixture(scope="session")
def stack():
    base = tempfile.mkdtemp(prefix="portal-test-", dir="/tmp")
    s = stackmod.Stack(base, http_port=stackmod.free_port(), workers=4, durable=False,
                       portald_args=DEFAULT_POOL_ARGS, key_algs=("hs256", "rs256", "es256"),
                       login_limit=("1000r/s", 1000, 1))  # tests sign in often from one address
    s.start(demo=True)
    yield s
    s.stop()
    problems = sanitizer_reports(s.pool_log)
    shutil.rmtree(base, ignore_errors=True)
    assert not problems, "sanitizer reports in portald.log:\n" + "\n".join(problems[:20])


def pytest_configure(config):
    config.addinivalue_line("markers", "openapi_unchecked: the responses this test receives "
                            "are not checked against openapi.json (deliberately out-of-spec "
                            "requests)")


@pytest.fixture(autouse=True)
def openapi_responses(request):
    """Fails a test that received a response openapi.json does not describe
    (see openapi_check.py)."""
    if request.node.get_closest_marker("openapi_unchecked"):
        with openapi_check.unchecked():
            yield
    else:
        yield
    found = openapi_check.take()
    assert not found, "responses openapi.json does not describe:\n" + "\n".join(found[:20])


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


def wait_until(predicate, timeout, what, interval=0.02):
    """Polls predicate until it returns something true, and returns that; fails
    naming what it waited for after timeout seconds. Use it instead of a sleep
    that guesses how long a condition takes on this machine."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        time.sleep(interval)


def wait_workers(stack, count, timeout=10, exclude=()):
    def ready():
        pids = worker_pids(stack) - set(exclude)
        return pids if len(pids) == count and accepting_workers(stack) >= count else None
    return wait_until(ready, timeout, f"{count} accepting workers")


def accepting_workers(stack):
    """Workers past start-up, as the pool's own scoreboard reports them."""
    try:
        text = requests.get(stack.url + "/metrics", timeout=2).text
    except requests.RequestException:
        return 0
    states = dict(re.findall(r'portal_workers\{state="(\w+)"\} (\d+)', text))
    return int(states.get("idle", 0)) + int(states.get("busy", 0))


def wrk(url, seconds, connections=16, threads=2, headers=()):
    """Runs wrk against url; returns (requests, non_2xx_3xx, socket_errors, output)."""
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s"]
    for h in headers:
        args += ["-H", h]
    out = subprocess.run(args + [url], capture_output=True, text=True,
                         timeout=seconds + 30).stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = sum(int(x) for x in sock.groups()) if sock else 0
    return total, int(bad.group(1)) if bad else 0, errors, out


def log_mark(stack):
    """Where the pool's log ends now: log_events(..., since=mark) reads only
    what was written after it, not an earlier test's lines."""
    return os.path.getsize(stack.pool_log)


def log_events(stack, event=None, since=0):
    lines = []
    with open(stack.pool_log, errors="replace") as f:
        f.seek(since)
        for raw in f:
            raw = raw.strip()
            if not raw.startswith("{"):
                continue
            rec = json.loads(raw)
            if event is None or rec.get("event") == event:
                lines.append(rec)
    return lines


def request_log(stack, request_id, timeout=5):
    """The log line of the one request nginx gave request_id (its X-Request-Id
    response header; nginx makes the id, a client cannot choose it)."""
    lines = wait_until(lambda: [l for l in log_events(stack, "request")
                                if l.get("request_id") == request_id],
                       timeout, f"the log line of request {request_id}")
    assert len(lines) == 1, lines
    return lines[0]


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


class Tokens(Mapping):
    """An access token per demo account, signed in again once it is older than
    max_age: tokens live 15 minutes and a sanitizer run lasts longer."""

    def __init__(self, stack, names=DEMO_USERS, max_age=600):
        self.stack, self.names, self.max_age = stack, tuple(names), max_age
        self.made = {}

    def __getitem__(self, name):
        if name not in self.names:
            raise KeyError(name)
        token, at = self.made.get(name, (None, 0.0))
        if token is None or time.monotonic() - at > self.max_age:
            token = token_for(self.stack, name)
            self.made[name] = (token, time.monotonic())
        return token

    def __iter__(self):
        return iter(self.names)

    def __len__(self):
        return len(self.names)


@pytest.fixture(scope="session")
def tokens(stack):
    """tokens["shajing"]: a fresh enough access token of a demo account."""
    return Tokens(stack)


# ---- tokens by hand ---------------------------------------------------------

def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hs256(header, claims, key):
    """A token signed with HMAC-SHA256 by the test, to forge variations of."""
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    sig = hmac.new(key, head.encode(), hashlib.sha256).digest()
    return head + "." + b64(sig)


def header_of(token):
    return json.loads(unb64(token.split(".")[0]))


def claims_of(token):
    return json.loads(unb64(token.split(".")[1]))


def hs_key(stack):
    with open(os.path.join(stack.key_dir, "hs1.hs256.key"), "rb") as f:
        return f.read()


def refresh_cookie(resp):
    return resp.cookies.get("portal_refresh")


def refresh(stack, cookie):
    return requests.post(stack.url + "/api/auth/refresh",
                         headers={"Cookie": f"portal_refresh={cookie}"}, timeout=10)


def api(stack, method, path, token=None, **kw):
    headers = kw.pop("headers", {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, stack.url + path, headers=headers, timeout=10, **kw)


def superuser(stack):
    """An autocommit connection as the cluster's superuser; the caller closes it
    (or use sql_rows / sql_value, which do)."""
    conn = psycopg2.connect(stack.dsn("postgres"))
    conn.autocommit = True
    return conn


def sql_rows(stack, query, args=(), user="postgres"):
    """Every row of one statement, run in its own connection (closed after)."""
    with closing(psycopg2.connect(stack.dsn(user))) as conn:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(query, args)
            return cur.fetchall()


def sql_value(stack, query, args=(), user="postgres"):
    """The first column of the one row a statement returns (None: no row)."""
    rows = sql_rows(stack, query, args, user)
    assert len(rows) <= 1, rows
    return rows[0][0] if rows else None


@contextmanager
def app_conn(stack, role=None, street=None, user=None, dsn_user="portal_app"):
    """(connection, cursor) as dsn_user with a request's settings in an open
    transaction, as portald makes them; rolled back and closed afterwards."""
    with closing(psycopg2.connect(stack.dsn(dsn_user))) as conn:
        cur = conn.cursor()
        cur.execute("SELECT set_config('portal.role', %s, true), "
                    "set_config('portal.street_id', %s, true), "
                    "set_config('portal.user_id', %s, true)",
                    (role or "", str(street or ""), str(user or "")))
        try:
            yield conn, cur
        finally:
            if not conn.closed:
                conn.rollback()


def refused(cur, statement, args=()):
    """Runs statement in a savepoint; returns the psycopg2 error that refused it
    (rolled back to the savepoint), or fails if it ran."""
    cur.execute("SAVEPOINT refused")
    try:
        cur.execute(statement, args)
    except psycopg2.Error as e:
        cur.execute("ROLLBACK TO SAVEPOINT refused")
        return e
    raise AssertionError(f"not refused ({cur.rowcount} rows): {statement}")


def street_id(stack, name):
    return sql_value(stack, "SELECT id FROM streets WHERE name = %s", (name,))


def portalctl(stack, *args, stdin="", user="portal_owner"):
    return subprocess.run([os.path.join(stackmod.build_dir(), "portalctl"), "--database-url",
                           stack.dsn(user)] + list(args), input=stdin, capture_output=True,
                          text=True, timeout=60)


SNAPSHOT_TABLES = ("districts", "streets", "communities", "staff_users", "audit_log",
                   "refresh_tokens", "login_throttle", "editions", "cases", "case_photos",
                   "photo_blobs", "case_revisions", "case_events")


def db_snapshot(stack, tables=SNAPSHOT_TABLES):
    """Every row of the given tables, as the superuser sees them, to show that
    a refused request changed nothing."""
    snap = {}
    with closing(superuser(stack)) as conn, conn.cursor() as cur:
        for t in tables:
            cur.execute(f"SELECT to_jsonb(x)::text FROM {t} x ORDER BY 1")
            snap[t] = [r[0] for r in cur.fetchall()]
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


# ---- photos -------------------------------------------------------------------

def png_bytes(width=5, height=4, colour=(16, 32, 48)):
    """A valid PNG of one colour (another colour: another photo, another hash)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    raw = b"".join(b"\x00" + bytes(colour) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def upload(stack, token, cid, data, etag, media_type="image/png", caption=None):
    headers = {"Content-Type": media_type}
    if etag is not None:
        headers["If-Match"] = etag
    path = f"/api/cases/{cid}/photos" + (f"?caption={caption}" if caption else "")
    return api(stack, "POST", path, token, data=data, headers=headers)


# ---- browser tests ------------------------------------------------------------
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def run_browser_script(stack, script, output, timeout):
    """Runs tests/browser/<script> (node, playwright-core, Debian's chromium)
    against the stack, its screenshots into <build>/test-output/<output>;
    fails the test with node's output unless it exits 0."""
    import shutil
    path = os.path.join(ROOT, "tests", "browser", script)
    missing = [what for what, ok in (
        ("node", shutil.which("node")),
        (CHROMIUM + " (scripts/install-deps)", os.access(CHROMIUM, os.X_OK)),
        ("node_modules/playwright-core (npm ci)",
         os.path.isdir(os.path.join(ROOT, "node_modules", "playwright-core"))),
        ("node_modules/axe-core (npm ci)",
         os.path.isdir(os.path.join(ROOT, "node_modules", "axe-core"))),
    ) if not ok]
    # make test installs all of these; a missing one is a broken setup, not a skip
    assert not missing, f"{script} needs: " + ", ".join(missing)
    out = os.path.join(stackmod.build_dir(), "test-output", output)
    shutil.rmtree(out, ignore_errors=True)
    try:
        run = subprocess.run(["node", path, stack.url, out], cwd=ROOT, capture_output=True,
                             text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{script} took over {timeout} s; its output so far:\n"
                    f"{(e.stdout or b'').decode(errors='replace')}\n"
                    f"{(e.stderr or b'').decode(errors='replace')}")
    print(run.stdout)
    if run.returncode != 0:
        pytest.fail(f"node tests/browser/{script} exited {run.returncode}:\n"
                    f"{run.stdout}\n{run.stderr}", pytrace=False)
