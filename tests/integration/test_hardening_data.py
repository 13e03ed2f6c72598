"""Data that must not be stranded or grow without bound (issue 8, items 3
and 6): a community with cases stays on its street (a move would leave its
cases readable by neither street), photo bytes nothing refers to any more
are collected by the idle workers after a grace, and each street's photos
are capped by a quota.

The module runs on a stack of its own, and each test in streets,
communities and editors of its own made through the admin API: what they
add (streets, photo bytes) would change what other modules count, and what
other tests store never counts here."""
import hashlib
import itertools
import os
import shutil
import struct
import subprocess
import tempfile
import threading
import time
import zlib

import psycopg2
import pytest

import stack as stackmod
from conftest import (DEFAULT_POOL_ARGS, Tokens, api, assert_problem, db_snapshot, log_events,
                      make_user, sanitizer_reports, superuser, token_for)

_serial = itertools.count(1)


@pytest.fixture(scope="module")
def stack():
    """This module's own stack (conftest's pool fixture restarts it too)."""
    base = tempfile.mkdtemp(prefix="portal-test-", dir="/tmp")
    s = stackmod.Stack(base, http_port=stackmod.free_port(), workers=4, durable=False,
                       portald_args=DEFAULT_POOL_ARGS, login_limit=("1000r/s", 1000, 1))
    s.start(demo=True)
    yield s
    s.stop()
    problems = sanitizer_reports(s.pool_log)
    shutil.rmtree(base, ignore_errors=True)
    assert not problems, "sanitizer reports in portald.log:\n" + "\n".join(problems[:20])


@pytest.fixture(scope="module")
def tokens(stack):
    return Tokens(stack)


def fresh_street(stack, tokens):
    """A new street with one editor; returns (street id, editor token, editor id)."""
    name = f"测试街道{os.getpid()}-{next(_serial)}"
    r = api(stack, "POST", "/api/streets", tokens["admin"], json={"name": name})
    assert r.status_code == 201, r.text
    street = r.json()["id"]
    editor_id, username, password = make_user(stack, tokens["admin"], "editor", street)
    return street, token_for(stack, username, password), editor_id


def fresh_community(stack, tokens, street):
    r = api(stack, "POST", "/api/communities", tokens["admin"],
            json={"street_id": street, "name": f"测试社区{next(_serial)}"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def new_case(stack, token, community):
    r = api(stack, "POST", "/api/cases", token, json={"community_id": community, "title": "整治"})
    assert r.status_code == 201, r.text
    return r.json()["id"], r.headers["ETag"]


def png_bytes(width=8, height=3):
    """A valid PNG no other test has made: random pixels, so it barely
    compresses and its size follows its width."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    raw = b"".join(b"\x00" + os.urandom(3 * width) for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def upload(stack, token, case, etag, data):
    return api(stack, "POST", f"/api/cases/{case}/photos", token, data=data,
               headers={"Content-Type": "image/png", "If-Match": etag})


def remove_photo(stack, token, case, etag, photo_id):
    r = api(stack, "DELETE", f"/api/cases/{case}/photos/{photo_id}", token,
            headers={"If-Match": etag})
    assert r.status_code == 200, r.text
    return r.headers["ETag"]


def blob_exists(stack, sha):
    cur = superuser(stack).cursor()
    cur.execute("SELECT count(*) FROM photo_blobs WHERE sha256 = %s", (sha,))
    return cur.fetchone()[0] == 1


def stored_at(stack, sha):
    cur = superuser(stack).cursor()
    cur.execute("SELECT stored_at FROM photo_blobs WHERE sha256 = %s", (sha,))
    return cur.fetchone()[0]


def insert_bare_blob(stack, data):
    """Bytes no case photo and no revision names, as the superuser stores
    them: the API cannot leave such a blob behind (every photo it commits
    is in an append-only revision), so this stands for bytes stranded by
    any other way."""
    sha = hashlib.sha256(data).hexdigest()
    cur = superuser(stack).cursor()
    cur.execute("INSERT INTO photo_blobs (sha256, media_type, width, height, bytes) "
                "VALUES (%s, 'image/png', 8, 3, %s)", (sha, psycopg2.Binary(data)))
    return sha


def wait_for(predicate, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def sql_as_app(stack, role, street=None, user=None):
    conn = psycopg2.connect(stack.dsn("portal_app"))
    cur = conn.cursor()
    cur.execute("SELECT set_config('portal.role', %s, true), set_config('portal.street_id', %s, "
                "true), set_config('portal.user_id', %s, true)",
                (role, str(street or ""), str(user or "")))
    return conn, cur


def in_thread(fn):
    """Runs fn in a thread; returns (thread, outcome list: [result] or [exception])."""
    outcome = []

    def run():
        try:
            outcome.append(fn())
        except Exception as e:  # noqa: BLE001 - handed to the test
            outcome.append(e)
    t = threading.Thread(target=run)
    t.start()
    return t, outcome


def orphaned_cases(stack):
    cur = superuser(stack).cursor()
    cur.execute("SELECT count(*) FROM cases c JOIN communities m ON m.id = c.community_id "
                "WHERE c.street_id <> m.street_id")
    return cur.fetchone()[0]


# ---- 3. a community with cases stays on its street ---------------------------

def test_a_community_with_a_draft_is_refused_a_move_and_nothing_changes(stack, tokens):
    old, old_editor, _ = fresh_street(stack, tokens)
    new, new_editor, _ = fresh_street(stack, tokens)
    community = fresh_community(stack, tokens, old)
    # a draft: the admin moving the community cannot see it, and it still counts
    case, etag = new_case(stack, old_editor, community)
    assert upload(stack, old_editor, case, etag, png_bytes()).status_code == 201
    snap = db_snapshot(stack)

    r = api(stack, "PATCH", f"/api/communities/{community}", tokens["admin"],
            json={"street_id": new})
    body = assert_problem(r, 409, "conflict")
    assert "has cases" in body["detail"] and "another street" in body["detail"]
    for leak in ("cases_", "communities", "SQL", "trigger"):
        assert leak not in body["detail"]
    assert db_snapshot(stack) == snap

    # the old street's editor still has the community and its case, the new one neither
    assert api(stack, "GET", f"/api/communities/{community}", old_editor).status_code == 200
    assert api(stack, "GET", f"/api/cases/{case}", old_editor).status_code == 200
    assert api(stack, "GET", f"/api/communities/{community}", new_editor).status_code == 404
    assert api(stack, "GET", f"/api/cases/{case}", new_editor).status_code == 404
    assert orphaned_cases(stack) == 0

    # what does not move it still changes
    r = api(stack, "PATCH", f"/api/communities/{community}", tokens["admin"],
            json={"street_id": old, "secretary_name": "陈洪发"})
    assert r.status_code == 200, r.text
    assert r.json()["secretary_name"] == "陈洪发" and r.json()["street_id"] == old


def test_a_community_without_cases_still_moves(stack, tokens):
    old, old_editor, _ = fresh_street(stack, tokens)
    new, new_editor, _ = fresh_street(stack, tokens)
    community = fresh_community(stack, tokens, old)

    r = api(stack, "PATCH", f"/api/communities/{community}", tokens["admin"],
            json={"street_id": new})
    assert r.status_code == 200, r.text
    assert r.json()["street_id"] == new

    assert api(stack, "GET", f"/api/communities/{community}", old_editor).status_code == 404
    assert community not in [c["id"] for c in
                             api(stack, "GET", "/api/communities", old_editor).json()]
    assert api(stack, "GET", f"/api/communities/{community}", new_editor).status_code == 200
    # its cases are now the new street's to write
    r = api(stack, "POST", "/api/cases", old_editor, json={"community_id": community})
    assert r.status_code in (403, 404, 422), r.text
    case, _ = new_case(stack, new_editor, community)
    assert api(stack, "GET", f"/api/cases/{case}", new_editor).status_code == 200
    assert api(stack, "GET", f"/api/cases/{case}", old_editor).status_code == 404
    # and the move is in the audit trail
    trail = api(stack, "GET", f"/api/audit?entity=communities&entity_id={community}",
                tokens["admin"]).json()
    assert trail[0]["action"] == "update" and trail[0]["changes"]["street_id"] == [old, new]


def test_a_case_created_while_its_community_moves_is_never_orphaned(stack, tokens):
    """The move and a case's creation, as the application role runs them,
    racing both ways round: whichever commits second sees the first."""
    old, _, editor_id = fresh_street(stack, tokens)
    new, _, _ = fresh_street(stack, tokens)

    def move(community):
        conn, cur = sql_as_app(stack, "admin")
        try:
            cur.execute("UPDATE communities SET street_id = %s WHERE id = %s", (new, community))
            conn.commit()
            return "moved"
        finally:
            conn.close()

    # the case first: the move waits for it, then is refused
    community = fresh_community(stack, tokens, old)
    conn, cur = sql_as_app(stack, "editor", old, editor_id)
    cur.execute("INSERT INTO cases (community_id, title, created_by) VALUES (%s, 'x', %s)",
                (community, editor_id))
    t, outcome = in_thread(lambda: move(community))
    t.join(1.0)
    assert t.is_alive(), f"the move did not wait for the case being created: {outcome}"
    conn.commit()
    conn.close()
    t.join(10)
    assert isinstance(outcome[0], psycopg2.Error) and outcome[0].pgcode == "23001", outcome

    # the move first: the case waits for it, then is refused
    community = fresh_community(stack, tokens, old)
    admin_conn, admin_cur = sql_as_app(stack, "admin")
    admin_cur.execute("UPDATE communities SET street_id = %s WHERE id = %s", (new, community))

    def create():
        c, k = sql_as_app(stack, "editor", old, editor_id)
        try:
            k.execute("INSERT INTO cases (community_id, title, created_by) VALUES (%s, 'x', %s)",
                      (community, editor_id))
            c.commit()
            return "created"
        finally:
            c.close()
    t, outcome = in_thread(create)
    t.join(1.0)
    assert t.is_alive(), f"the case did not wait for its community's move: {outcome}"
    admin_conn.commit()
    admin_conn.close()
    t.join(10)
    assert isinstance(outcome[0], psycopg2.Error), outcome
    assert orphaned_cases(stack) == 0


# ---- 6. photo bytes: collected when nothing names them, capped per street ----

def test_an_upload_of_bytes_being_collected_stores_them_again(stack, tokens):
    """The collector and an upload of the same bytes, both ways round, as
    the application role runs them: the bytes end up stored either way."""
    street, _, editor_id = fresh_street(stack, tokens)
    data = png_bytes()
    sha = hashlib.sha256(data).hexdigest()

    def store():
        conn, cur = sql_as_app(stack, "editor", street, editor_id)
        try:
            cur.execute("SELECT photo_blob_store(%s, 'image/png', 8, 3, %s) AS created",
                        (sha, psycopg2.Binary(data)))
            created = cur.fetchone()[0]
            conn.commit()
            return created
        finally:
            conn.close()

    # the collector first: the upload waits for it, then stores the bytes anew
    insert_bare_blob(stack, data)
    conn, cur = sql_as_app(stack, "public")
    cur.execute("SELECT collected FROM photo_blobs_collect(0, 1000)")
    assert cur.fetchone()[0] >= 1
    t, outcome = in_thread(store)
    t.join(1.0)
    assert t.is_alive(), f"the upload did not wait for the collector: {outcome}"
    conn.commit()
    conn.close()
    t.join(10)
    assert outcome == [True] and blob_exists(stack, sha)

    # the upload first: the collector leaves the row it holds alone
    before = stored_at(stack, sha)
    up_conn, up_cur = sql_as_app(stack, "editor", street, editor_id)
    up_cur.execute("SELECT photo_blob_store(%s, 'image/png', 8, 3, %s) AS created",
                   (sha, psycopg2.Binary(data)))
    assert up_cur.fetchone()[0] is False  # already there: touched, and locked
    conn, cur = sql_as_app(stack, "public")
    cur.execute("SELECT collected FROM photo_blobs_collect(0, 1000)")
    conn.commit()
    conn.close()
    up_conn.commit()
    up_conn.close()
    assert blob_exists(stack, sha)
    # and stored again, its grace starts again
    assert stored_at(stack, sha) > before
    conn, cur = sql_as_app(stack, "public")
    cur.execute("SELECT collected FROM photo_blobs_collect(3600000, 1000)")
    conn.commit()
    conn.close()
    assert blob_exists(stack, sha)


def test_quota_and_collection_settings_are_validated(stack):
    portald = os.path.join(os.environ.get("PORTAL_BUILD", "build/default"), "portald")
    for args in (["--street-photo-quota", "2t"], ["--photo-collect", "0ms"],
                 ["--photo-collect-grace", "soon"]):
        r = subprocess.run([portald, "--check-config", *args],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode != 0 and args[0][2:] in r.stderr, (args, r.stderr)
    r = subprocess.run([portald, "--check-config", "--street-photo-quota", "2g",
                        "--photo-collect", "5m", "--photo-collect-grace", "0s"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    assert "street-photo-quota = 2147483648" in r.stdout
    assert "photo-collect = 300000ms" in r.stdout and "photo-collect-grace = 0ms" in r.stdout


def test_bytes_nothing_names_are_collected_after_the_grace_and_logged(stack, pool):
    pool("--photo-collect", "200ms", "--photo-collect-grace", "3s")
    data = png_bytes(width=20)
    stored = time.time()
    sha = insert_bare_blob(stack, data)
    time.sleep(1.0)
    assert blob_exists(stack, sha), "collected within its grace"
    assert wait_for(lambda: not blob_exists(stack, sha), 10), "never collected"
    assert time.time() - stored >= 3.0
    runs = log_events(stack, "photos_collected")
    assert any(e["count"] >= 1 and e["bytes"] >= len(data) for e in runs), runs


def test_bytes_a_case_photo_or_a_revision_names_are_kept(stack, tokens, pool):
    street, editor, _ = fresh_street(stack, tokens)
    community = fresh_community(stack, tokens, street)
    # named only by a revision: uploaded, then removed from the draft
    case, etag = new_case(stack, editor, community)
    in_history = png_bytes()
    r = upload(stack, editor, case, etag, in_history)
    assert r.status_code == 201, r.text
    remove_photo(stack, editor, case, r.headers["ETag"], r.json()["photos"][0]["id"])
    # named by a photo of another case, though removed from this one
    other, other_etag = new_case(stack, editor, community)
    shared = png_bytes()
    r = upload(stack, editor, case, api(stack, "GET", f"/api/cases/{case}", editor)
               .headers["ETag"], shared)
    assert r.status_code == 201, r.text
    remove_photo(stack, editor, case, r.headers["ETag"], r.json()["photos"][0]["id"])
    assert upload(stack, editor, other, other_etag, shared).status_code == 201
    # named only by a case photo (no revision): put there by hand
    by_photo_only = insert_bare_blob(stack, png_bytes())
    cur = superuser(stack).cursor()
    cur.execute("INSERT INTO case_photos (case_id, street_id, sha256, position) "
                "VALUES (%s, %s, %s, 50)", (other, street, by_photo_only))
    # named by nothing: the sign that collection has run since
    canary = insert_bare_blob(stack, png_bytes())

    pool("--photo-collect", "200ms", "--photo-collect-grace", "0ms")
    assert wait_for(lambda: not blob_exists(stack, canary), 10), "collection never ran"
    time.sleep(0.5)
    for sha in (hashlib.sha256(in_history).hexdigest(), hashlib.sha256(shared).hexdigest(),
                by_photo_only):
        assert blob_exists(stack, sha), sha
    cur.execute("DELETE FROM case_photos WHERE sha256 = %s", (by_photo_only,))
    assert wait_for(lambda: not blob_exists(stack, by_photo_only), 10)


def test_a_street_past_its_photo_quota_is_refused_and_nothing_is_stored(stack, tokens, pool):
    street, editor, _ = fresh_street(stack, tokens)
    other_street, other_editor, _ = fresh_street(stack, tokens)
    community = fresh_community(stack, tokens, street)
    first, second, third = png_bytes(width=40), png_bytes(width=40), png_bytes(width=40)
    quota = len(first) + len(second) + len(third) // 2
    pool("--street-photo-quota", str(quota))

    case, etag = new_case(stack, editor, community)
    r = upload(stack, editor, case, etag, first)
    assert r.status_code == 201, r.text
    r = upload(stack, editor, case, r.headers["ETag"], second)
    assert r.status_code == 201, r.text
    etag, second_id = r.headers["ETag"], r.json()["photos"][1]["id"]

    snap = db_snapshot(stack)
    r = upload(stack, editor, case, etag, third)
    body = assert_problem(r, 507, "quota-exceeded")
    assert body["used_bytes"] == len(first) + len(second)
    assert body["photo_bytes"] == len(third) and body["quota_bytes"] == quota
    assert body["title_zh"] == "本街道的照片存储空间已满"
    assert db_snapshot(stack) == snap
    assert not blob_exists(stack, hashlib.sha256(third).hexdigest())

    # bytes the street already holds cost nothing
    other_case, other_etag = new_case(stack, editor, community)
    assert upload(stack, editor, other_case, other_etag, first).status_code == 201
    # a photo removed from a draft stays in its history, and still counts
    etag = remove_photo(stack, editor, case, etag, second_id)
    assert_problem(upload(stack, editor, case, etag, third), 507, "quota-exceeded")
    # the quota is each street's own
    other_community = fresh_community(stack, tokens, other_street)
    other_case, other_etag = new_case(stack, other_editor, other_community)
    assert upload(stack, other_editor, other_case, other_etag, third).status_code == 201
