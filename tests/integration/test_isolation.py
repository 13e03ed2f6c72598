"""Tenancy, twice: issue 3's role x object matrix through the API, and the
same isolation with the handlers bypassed (SQL as the application role)."""
import itertools
import json
import os
import subprocess

import pytest

import stack as stackmod
from conftest import (api, app_conn, assert_problem, db_snapshot, png_bytes, refused, sql_rows,
                      sql_value, token_for, upload)

MISSING = 999999


_colours = itertools.count(1)


def fresh_png():
    """A photo nobody has uploaded yet (a refused upload must store nothing)."""
    n = next(_colours)
    return png_bytes(colour=(n % 256, n // 256 % 256, 77))


def case_etag(stack, case_id):
    """The case's current ETag, so a request gets past If-Match to the lookup."""
    return f'"{sql_value(stack, "SELECT version FROM cases WHERE id = %s", (case_id,)) or 1}"'


def edition_etag(stack, edition_id):
    v = sql_value(stack, "SELECT version FROM editions WHERE id = %s", (edition_id,))
    return f'"{v or 1}"'


def draft_with_photo(stack, login, comm):
    """A draft of login's street with one photo; returns (case id, photo id)."""
    token = token_for(stack, login)
    r = api(stack, "POST", "/api/cases", token, json={"community_id": comm, "title": "草稿"})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = upload(stack, token, cid, fresh_png(), case_etag(stack, cid), caption="照片")
    assert r.status_code == 201, r.text
    return cid, r.json()["photos"][0]["id"]


@pytest.fixture(scope="module")
def world(stack):
    (a_comm, a_street), = sql_rows(stack, "SELECT id, street_id FROM communities "
                                          "WHERE name = '大王山社区'")
    (b_comm, b_street), = sql_rows(stack, "SELECT id, street_id FROM communities "
                                          "WHERE name = '塘下涌社区'")
    a_user = sql_value(stack, "SELECT id FROM staff_users WHERE username = 'shajing'")
    b_user = sql_value(stack, "SELECT id FROM staff_users WHERE username = 'yanluo'")
    # a draft with a photo of each street (drafts are what isolation is about)
    # and two editions
    cases, photos = {}, {}
    for side, login, comm in (("A", "shajing", a_comm), ("B", "yanluo", b_comm)):
        cases[side], photo = draft_with_photo(stack, login, comm)
        photos[side] = (cases[side], photo)
    reviewer = token_for(stack, "reviewer")
    editions = {}
    for side, number in (("A", 9001), ("B", 9002)):
        r = api(stack, "POST", "/api/editions", reviewer, json={"number": number, "title": "期"})
        assert r.status_code == 201, r.text
        editions[side] = r.json()["id"]
    return {"comm": {"A": a_comm, "B": b_comm, "missing": MISSING},
            "case": dict(cases, missing=MISSING),
            "photo": dict(photos, missing=(MISSING, MISSING)),
            "edition": dict(editions, missing=MISSING),
            "user": {"A": a_user, "B": b_user, "missing": MISSING},
            "street": {"A": a_street, "B": b_street, "missing": MISSING}}


ROLES = ("editor_a", "editor_b", "reviewer", "admin", "none")
LOGIN = {"editor_a": "shajing", "editor_b": "yanluo", "reviewer": "reviewer", "admin": "admin"}


def expect_read_community(role, obj):
    if role == "none":
        return 401
    if obj == "missing":
        return 404
    if role == "editor_a":
        return 200 if obj == "A" else 404
    if role == "editor_b":
        return 200 if obj == "B" else 404
    return 200


def admin_only(ok):
    def rule(role, obj):
        if role == "none":
            return 401
        if role != "admin":
            return 403
        return 404 if obj == "missing" else ok
    return rule


def district_read(role, obj):
    """Reviewers and admins read it; editors may not, whichever object."""
    if role == "none":
        return 401
    if role in ("editor_a", "editor_b"):
        return 403
    return 404 if obj == "missing" else 200


def staff_read(role, obj):
    if role == "none":
        return 401
    return 404 if obj == "missing" else 200


def own_draft(ok):
    """A draft: its street's editor gets ok; everyone else, as if it did not exist."""
    def rule(role, obj):
        if role == "none":
            return 401
        if obj == "missing":
            return 404
        return ok if (role, obj) in (("editor_a", "A"), ("editor_b", "B")) else 404
    return rule


def editors_own_draft(ok):
    """A route for editors only (403 for the district before any lookup); for
    editors, a draft of another street is as if it did not exist."""
    def rule(role, obj):
        if role in ("reviewer", "admin"):
            return 403
        return own_draft(ok)(role, obj)
    return rule


def reviewer_only(status):
    def rule(role, obj):
        if role == "none":
            return 401
        if role != "reviewer":
            return 403
        return 404 if obj == "missing" else status
    return rule


PNG = object()  # the body is a new photo, sent as image/png


def photo_upload_rule(role, obj):
    """Editors upload to their own drafts; a reviewer's upload is a correction
    of a published case, so a draft is as missing to them as to anyone."""
    if role == "reviewer":
        return 404
    return editors_own_draft(201)(role, obj)


# (method, path template, kind of object, body, expected(role, object)). Every
# write sends the object's current ETag and a body the handler accepts, so the
# answer comes from looking the object up, not from a check made before it.
MATRIX = [
    ("GET", "/api/communities/{id}", "comm", None, expect_read_community),
    ("PATCH", "/api/communities/{id}", "comm", {"committee_size": 9}, admin_only(200)),
    ("GET", "/api/streets/{id}", "street", None, staff_read),
    ("PATCH", "/api/streets/{id}", "street", {"name": "__NAME__"}, admin_only(200)),
    ("GET", "/api/users/{id}", "user", None, admin_only(200)),
    ("PATCH", "/api/users/{id}", "user", {"display_name": "__NAME__"}, admin_only(200)),
    ("GET", "/api/cases/{id}", "case", None, own_draft(200)),
    ("PATCH", "/api/cases/{id}", "case", {"title": "改"}, editors_own_draft(200)),
    ("POST", "/api/cases/{id}/transitions", "case", {"action": "withdraw"}, own_draft(409)),
    ("GET", "/api/cases/{id}/events", "case", None, own_draft(200)),
    ("GET", "/api/cases/{id}/revisions", "case", None, own_draft(200)),
    ("GET", "/api/cases/{id}/revisions/1", "case", None, own_draft(200)),
    ("GET", "/api/cases/{id}/diff", "case", None, own_draft(200)),
    ("POST", "/api/cases/{id}/photos", "case", PNG, photo_upload_rule),
    ("PATCH", "/api/cases/{id}/photos/{photo_id}", "photo", {"caption": "x"},
     editors_own_draft(200)),
    ("DELETE", "/api/cases/{id}/photos/{photo_id}", "photo", None, editors_own_draft(200)),
    ("GET", "/api/editions/{id}", "edition", None, staff_read),
    ("PATCH", "/api/editions/{id}", "edition", {"title": "x"}, reviewer_only(200)),
    ("POST", "/api/editions/{id}/transitions", "edition", {"action": "close"},
     reviewer_only(409)),
    ("GET", "/api/editions/{id}/results", "edition", None, district_read),
    ("GET", "/api/editions/{id}/results.csv", "edition", None, district_read),
]

COLLECTION = [
    ("GET", "/api/me", None, {"editor_a": 200, "editor_b": 200, "reviewer": 200, "admin": 200}),
    ("GET", "/api/communities", None,
     {"editor_a": 200, "editor_b": 200, "reviewer": 200, "admin": 200}),
    ("GET", "/api/streets", None, {"editor_a": 200, "editor_b": 200, "reviewer": 200, "admin": 200}),
    ("GET", "/api/users", None, {"editor_a": 403, "editor_b": 403, "reviewer": 403, "admin": 200}),
    ("GET", "/api/audit", None, {"editor_a": 403, "editor_b": 403, "reviewer": 403, "admin": 200}),
    ("POST", "/api/communities", {"street_id": "__B__", "name": "__NEW__"},
     {"editor_a": 403, "editor_b": 403, "reviewer": 403, "admin": 201}),
    ("POST", "/api/streets", {"name": "__NEW__"},
     {"editor_a": 403, "editor_b": 403, "reviewer": 403, "admin": 201}),
    ("POST", "/api/users", {"username": "__NEW__", "display_name": "x", "role": "reviewer",
                            "password": "a-long-password-2"},
     {"editor_a": 403, "editor_b": 403, "reviewer": 403, "admin": 201}),
    ("GET", "/api/cases", None, {"editor_a": 200, "editor_b": 200, "reviewer": 200, "admin": 200}),
    # community A: its editor writes there; B's editor cannot name it (as if missing)
    ("POST", "/api/cases", {"community_id": "__A_COMM__", "title": "__NEW__"},
     {"editor_a": 201, "editor_b": 422, "reviewer": 403, "admin": 403}),
    ("GET", "/api/editions", None,
     {"editor_a": 200, "editor_b": 200, "reviewer": 200, "admin": 200}),
    ("POST", "/api/editions", {"number": "__NUMBER__", "title": "__NEW__"},
     {"editor_a": 403, "editor_b": 403, "reviewer": 201, "admin": 403}),
    ("GET", "/api/workflow", None,
     {"editor_a": 200, "editor_b": 200, "reviewer": 200, "admin": 200}),
    ("GET", "/api/standings", None,
     {"editor_a": 403, "editor_b": 403, "reviewer": 200, "admin": 200}),
    ("GET", "/api/standings.csv", None,
     {"editor_a": 403, "editor_b": 403, "reviewer": 200, "admin": 200}),
]
# Staff routes whose isolation another file proves in detail
ELSEWHERE = {("POST", "/api/auth/logout"), ("POST", "/api/auth/refresh")}


def current_name(stack, kind, ident):
    if kind == "street":
        name = sql_value(stack, "SELECT name FROM streets WHERE id = %s", (ident,))
    else:
        name = sql_value(stack, "SELECT display_name FROM staff_users WHERE id = %s", (ident,))
    return name or "nothing"


def matrix_request(stack, method, template, kind, ident, body, token):
    """One matrix row's request for one object, with its current ETag."""
    case_id, photo_id = ident if kind == "photo" else (ident, None)
    headers = {}
    if method in ("PATCH", "DELETE") or body is PNG:
        headers["If-Match"] = (edition_etag(stack, ident) if kind == "edition"
                               else case_etag(stack, case_id))
    kw = {}
    if body is PNG:
        headers["Content-Type"] = "image/png"
        kw["data"] = fresh_png()
    elif body is not None:
        kw["json"] = {k: (current_name(stack, kind, ident) if v == "__NAME__" else v)
                      for k, v in body.items()}
    return api(stack, method, template.format(id=case_id, photo_id=photo_id), token,
               headers=headers, **kw)


def test_every_staff_endpoint_by_role_and_object(stack, tokens, world):
    failures = []
    serial = [0]
    for method, template, kind, body, rule in MATRIX:
        for obj in ("A", "B", "missing"):
            ident = world[kind][obj]
            # the refusals first: a write that succeeds (an editor deleting its own
            # photo) must not make the object missing for the roles after it
            for role in sorted(ROLES, key=lambda role: rule(role, obj) < 400):
                want = rule(role, obj)
                before = db_snapshot(stack) if want >= 400 else None
                r = matrix_request(stack, method, template, kind, ident, body,
                                   tokens.get(LOGIN.get(role)))
                if r.status_code != want:
                    failures.append(f"{role} {method} {template} [{obj}]: {r.status_code} != {want}")
                    continue
                if want >= 400:
                    assert_problem(r, want)
                    if method != "GET":
                        assert db_snapshot(stack) == before, f"{role} {method} {template} [{obj}]"
    tok = {role: tokens.get(LOGIN.get(role)) for role in ROLES}
    for method, path, body, expected in COLLECTION:
        for role in ROLES:
            want = 401 if role == "none" else expected[role]
            sent = None
            if body is not None:
                serial[0] += 1
                sent = {k: (world["street"]["B"] if v == "__B__"
                            else world["comm"]["A"] if v == "__A_COMM__"
                            else 9100 + serial[0] if v == "__NUMBER__"
                            else f"m{serial[0]}-{role}".replace("_", "-") if v == "__NEW__" else v)
                        for k, v in body.items()}
            before = db_snapshot(stack) if want >= 400 else None
            r = api(stack, method, path, tok[role], json=sent)
            if r.status_code != want:
                failures.append(f"{role} {method} {path}: {r.status_code} != {want} {r.text[:200]}")
                continue
            if want >= 400 and method != "GET":
                assert db_snapshot(stack) == before, f"{role} {method} {path}"
    assert not failures, "\n".join(failures)


def test_the_matrix_covers_every_staff_route():
    routes = json.loads(subprocess.run(
        [os.path.join(stackmod.build_dir(), "portald"), "--print-routes"],
        capture_output=True, text=True, check=True).stdout)

    def shape(method, path):
        """A route's pattern, or a matrix path with sample ids, as one comparable form."""
        path = path.replace(":int}", "}").replace(":slug}", "}")
        path = path.replace("/revisions/1", "/revisions/{version}")
        return method, path

    covered = {shape(m, t) for m, t, *_ in MATRIX} | {shape(m, p) for m, p, *_ in COLLECTION}
    staff = {shape(r["method"], r["pattern"]) for r in routes
             if r["roles"] and r["method"] != "HEAD"}
    assert staff <= covered | ELSEWHERE, sorted(staff - covered - ELSEWHERE)


def test_an_editor_lists_only_its_own_street(stack, tokens, world):
    for role, street in (("shajing", "A"), ("yanluo", "B")):
        rows = api(stack, "GET", "/api/communities", tokens[role]).json()
        assert rows and {c["street_id"] for c in rows} == {world["street"][street]}
        # asking for the other street's communities by filter gives nothing, not an error
        other = "B" if street == "A" else "A"
        r = api(stack, "GET", f"/api/communities?street_id={world['street'][other]}", tokens[role])
        assert r.status_code == 200 and r.json() == []
    everything = api(stack, "GET", "/api/communities", tokens["reviewer"]).json()
    assert len({c["street_id"] for c in everything}) == 10


def test_another_streets_object_is_indistinguishable_from_a_missing_one(stack, tokens, world):
    other = api(stack, "GET", f"/api/communities/{world['comm']['B']}", tokens["shajing"])
    missing = api(stack, "GET", f"/api/communities/{MISSING}", tokens["shajing"])
    assert other.status_code == missing.status_code == 404
    a, b = other.json(), missing.json()
    del a["request_id"], b["request_id"]
    assert a == b
    assert {k.lower() for k in other.headers} == {k.lower() for k in missing.headers}


def test_the_database_alone_keeps_streets_apart(stack, world):
    before = db_snapshot(stack)
    a, b = world["street"]["A"], world["street"]["B"]
    with app_conn(stack, "editor", a, world["user"]["A"]) as (conn, cur):
        cur.execute("SELECT DISTINCT street_id FROM communities")
        assert [r[0] for r in cur.fetchall()] == [a]
        cur.execute("SELECT count(*) FROM community_docs WHERE street_id = %s", (b,))
        assert cur.fetchone()[0] == 0
        # the rows exist (the superuser sees them): row security hides them
        assert sql_value(stack, "SELECT count(*) FROM communities WHERE street_id = %s", (b,)) > 0
        cur.execute("UPDATE communities SET name = name || 'x' WHERE street_id = %s", (b,))
        assert cur.rowcount == 0
        cur.execute("SELECT id, username FROM staff_users")
        assert cur.fetchall() == [(world["user"]["A"], "shajing")]  # only itself
        cur.execute("UPDATE staff_users SET disabled = true WHERE id = %s", (world["user"]["B"],))
        assert cur.rowcount == 0
        cur.execute("SELECT count(*) FROM audit_log")
        assert cur.fetchone()[0] == 0
        # granted to the role, refused by the policies' checks (admins add communities) ...
        for street in (b, a):
            e = refused(cur, "INSERT INTO communities (street_id, name) VALUES (%s, 'x')",
                        (street,))
            assert (e.pgcode, e.diag.message_primary) == (
                "42501", 'new row violates row-level security policy for table "communities"')
        # ... or by the policies' visibility: no street is an editor's to rename
        cur.execute("UPDATE streets SET name = 'x' WHERE id = %s", (a,))
        assert cur.rowcount == 0
        # and never granted at all
        for sql, table in (("SELECT password_hash FROM staff_users", "staff_users"),
                           ("SELECT * FROM refresh_tokens", "refresh_tokens"),
                           ("SELECT * FROM login_throttle", "login_throttle"),
                           ("INSERT INTO audit_log (actor, entity, entity_id, action, changes) "
                            "VALUES ('x', 'x', 1, 'create', '{}')", "audit_log"),
                           ("DELETE FROM communities", "communities")):
            e = refused(cur, sql)
            assert (e.pgcode, e.diag.message_primary) == (
                "42501", f"permission denied for table {table}"), sql
    # with no settings at all (the public), no account is visible
    with app_conn(stack) as (conn, cur):
        cur.execute("SELECT count(*) FROM staff_users")
        assert cur.fetchone()[0] == 0
    assert db_snapshot(stack) == before


def test_settings_do_not_outlive_their_transaction(stack, world):
    with app_conn(stack, "admin") as (conn, cur):
        cur.execute("SELECT count(*) FROM staff_users")
        assert cur.fetchone()[0] >= 4
        conn.commit()
        cur.execute("SELECT count(*) FROM staff_users")
        assert cur.fetchone()[0] == 0


def test_a_photo_is_reached_only_through_its_own_case(stack, tokens, world):
    """Another street's photo id named under one's own case (or one's own photo
    under another street's case) answers as a photo that does not exist."""
    own_case, own_photo = draft_with_photo(stack, "shajing", world["comm"]["A"])
    other_case, other_photo = draft_with_photo(stack, "yanluo", world["comm"]["B"])
    editor = tokens["shajing"]
    before = db_snapshot(stack)
    answers = []
    for method, case_id, photo_id in (("PATCH", own_case, other_photo),
                                      ("PATCH", own_case, MISSING),
                                      ("DELETE", own_case, other_photo),
                                      ("DELETE", own_case, MISSING),
                                      ("PATCH", other_case, own_photo),
                                      ("PATCH", other_case, other_photo),
                                      ("DELETE", other_case, other_photo)):
        r = api(stack, method, f"/api/cases/{case_id}/photos/{photo_id}", editor,
                json={"caption": "改"} if method == "PATCH" else None,
                headers={"If-Match": case_etag(stack, case_id)})
        body = assert_problem(r, 404, "not-found")
        del body["request_id"]
        answers.append((case_id, body))
        assert db_snapshot(stack) == before, (method, case_id, photo_id)
    # under one's own case, another street's photo reads exactly as a missing one
    assert len({json.dumps(b, sort_keys=True) for c, b in answers if c == own_case}) == 1
    # the other street's case is missing altogether, whatever photo is named
    assert len({json.dumps(b, sort_keys=True) for c, b in answers if c == other_case}) == 1
    # and the photos are where they were
    assert sql_rows(stack, "SELECT id, case_id, caption FROM case_photos WHERE id IN (%s, %s) "
                    "ORDER BY id", (own_photo, other_photo)) == [
        (own_photo, own_case, "照片"), (other_photo, other_case, "照片")]


def test_admin_changes_are_audited_with_who_and_what(stack, tokens, world):
    comm = world["comm"]["B"]
    before = api(stack, "GET", f"/api/communities/{comm}", tokens["admin"]).json()
    r = api(stack, "PATCH", f"/api/communities/{comm}", tokens["admin"],
            json={"secretary_post": "社区党委书记"})
    assert r.status_code == 200 and r.json()["secretary_post"] == "社区党委书记"
    log = api(stack, "GET", f"/api/audit?entity=communities&entity_id={comm}&limit=1",
              tokens["admin"]).json()
    assert log[0]["actor"] == "admin" and log[0]["action"] == "update"
    assert log[0]["changes"]["secretary_post"][1] == "社区党委书记"
    assert log[0]["request_id"] == r.headers["X-Request-Id"]
    # the demo data is the seed's: put it back for the tests that compare with it
    assert api(stack, "PATCH", f"/api/communities/{comm}", tokens["admin"],
               json={"secretary_post": before["secretary_post"]}).status_code == 200
