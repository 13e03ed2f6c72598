"""The case workflow through the real stack: every (state, action, role), the
same through SQL as the application role, ETags under concurrency,
editions and their deadline, and the seed's edition 13 round-tripping."""
import hashlib
import itertools
import os
import threading
import time

import psycopg2
import pytest
import requests

from conftest import (ROOT, api, app_conn, assert_problem, db_snapshot, log_events, png_bytes,
                      refused, sql_rows, sql_value, street_id, upload, wait_until)

STATES = ("draft", "review", "published", "voting", "closed")
CASE_ACTIONS = ("submit", "withdraw", "reject", "approve")
ROLES = ("shajing", "yanluo", "reviewer", "admin")  # editor of the case's street, of another, ...
# The workflow as DOMAIN.md draws it, written out here independently of the
# database's table, so that a wrong row there fails these tests.
ALLOWED = {("draft", "submit", "editor"), ("review", "withdraw", "editor"),
           ("review", "reject", "reviewer"), ("review", "approve", "reviewer")}
TARGET = {"submit": "review", "withdraw": "draft", "reject": "draft", "approve": "published"}
ROLE_OF = {"shajing": "editor", "yanluo": "editor", "reviewer": "reviewer", "admin": "admin"}
WORKFLOW_TABLES = ("cases", "case_events", "case_revisions", "case_photos", "editions")

_numbers = itertools.count(1000)


def community_id(stack, tokens, street_editor="shajing"):
    r = api(stack, "GET", "/api/communities", tokens[street_editor])
    return next(c["id"] for c in r.json() if c["name"] in ("大王山社区", "塘下涌社区"))


def new_edition(stack, tokens):
    r = api(stack, "POST", "/api/editions", tokens["reviewer"],
            json={"number": next(_numbers), "title": "测试期"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def case_body(stack, tokens, **over):
    body = {"community_id": community_id(stack, tokens), "title": "整治乱贴广告",
            "problem": "城中村招租广告乱贴。",
            "actions": [{"headline": "积极回应群众诉求", "body": "多次走访城中村。"}],
            "testimonial": {"text": "民生无小事。", "speaker": "陈洪发", "post": "社区党委书记"}}
    body.update(over)
    return body


def transition(stack, token, case_id, action, **extra):
    return api(stack, "POST", f"/api/cases/{case_id}/transitions", token,
               json=dict({"action": action}, **extra))


def case_in(stack, tokens, state):
    """A fresh case of 沙井街道 in state; returns (case id, edition id or None)."""
    r = api(stack, "POST", "/api/cases", tokens["shajing"], json=case_body(stack, tokens))
    assert r.status_code == 201, r.text
    cid, edition = r.json()["id"], None
    if state == "draft":
        return cid, None
    assert transition(stack, tokens["shajing"], cid, "submit").status_code == 200
    if state == "review":
        return cid, None
    edition = new_edition(stack, tokens)
    r = transition(stack, tokens["reviewer"], cid, "approve", edition_id=edition)
    assert r.status_code == 200, r.text
    if state == "published":
        return cid, edition
    r = api(stack, "POST", f"/api/editions/{edition}/transitions", tokens["reviewer"],
            json={"action": "open", "closes_at": "2099-01-01T00:00:00"})
    assert r.status_code == 200, r.text
    if state == "voting":
        return cid, edition
    r = api(stack, "POST", f"/api/editions/{edition}/transitions", tokens["reviewer"],
            json={"action": "close"})
    assert r.status_code == 200, r.text
    return cid, edition


def events_of(stack, case_id):
    return sql_rows(stack, "SELECT action, from_state, to_state, actor FROM case_events "
                    "WHERE case_id = %s ORDER BY id", (case_id,))


def state_of(stack, case_id):
    rows = sql_rows(stack, "SELECT state, version FROM cases WHERE id = %s", (case_id,))
    return rows[0] if rows else None


def expected_status(state, action, who):
    role = ROLE_OF[who]
    if who == "yanluo" or (role in ("reviewer", "admin") and state == "draft"):
        return 404  # the case is invisible to them: same as a case that does not exist
    if (state, action, role) in ALLOWED:
        return 200
    if any((state, action, r) in ALLOWED for r in ("editor", "reviewer")):
        return 403  # someone else takes this action here
    return 409


def action_extra(action, edition):
    return {"note": "请补充照片"} if action == "reject" else (
        {"edition_id": edition} if action == "approve" else {})


@pytest.mark.parametrize("state", STATES)
def test_every_state_action_role_combination(stack, tokens, state):
    refused_case, edition = case_in(stack, tokens, state)
    approve_edition = edition or new_edition(stack, tokens)
    for action, who in itertools.product(CASE_ACTIONS, ROLES):
        want = expected_status(state, action, who)
        extra = action_extra(action, approve_edition)
        if want == 200:
            cid, _ = case_in(stack, tokens, state)
            before = events_of(stack, cid)
            r = transition(stack, tokens[who], cid, action, **extra)
            assert r.status_code == 200, (state, action, who, r.text)
            assert r.json()["state"] == TARGET[action]
            assert state_of(stack, cid)[0] == TARGET[action]
            after = events_of(stack, cid)
            assert after[:-1] == before and len(after) == len(before) + 1
            assert after[-1][:3] == (action, state, TARGET[action])
            assert after[-1][3] == who
            assert r.headers["ETag"] == f'"{state_of(stack, cid)[1]}"'
        else:
            snap = db_snapshot(stack, WORKFLOW_TABLES)
            r = transition(stack, tokens[who], refused_case, action, **extra)
            slug = {403: "transition-forbidden", 404: "not-found",
                    409: "transition-not-allowed"}[want]
            assert_problem(r, want, slug)
            if want in (403, 409):
                assert r.json()["state"] == state and isinstance(r.json()["allowed"], list)
            # a refused transition changes nothing, anywhere
            assert db_snapshot(stack, WORKFLOW_TABLES) == snap, (state, action, who)


@pytest.mark.parametrize("state", STATES)
def test_the_same_matrix_through_sql_as_the_application_role(stack, tokens, state):
    shajing, yanluo = street_id(stack, "沙井街道"), street_id(stack, "燕罗街道")
    settings = {"shajing": ("editor", shajing), "yanluo": ("editor", yanluo),
                "reviewer": ("reviewer", None), "admin": ("admin", None)}
    edition = new_edition(stack, tokens)
    for action, who in itertools.product(CASE_ACTIONS, ROLES):
        want = expected_status(state, action, who)
        cid, _ = case_in(stack, tokens, state)
        snap = db_snapshot(stack, WORKFLOW_TABLES)
        extra = action_extra(action, edition)
        with app_conn(stack, *settings[who]) as (conn, cur):
            cur.execute("SELECT outcome, state FROM case_transition(%s, %s, %s, %s, NULL)",
                        (cid, action, extra.get("note"), extra.get("edition_id")))
            outcome, new_state = cur.fetchone()
            conn.commit()
        want_outcome = {200: "ok", 403: "forbidden", 404: "not_found", 409: "not_allowed"}[want]
        assert outcome == want_outcome, (state, action, who)
        if want == 200:
            assert new_state == TARGET[action]
            assert len(events_of(stack, cid)) == len(snap_events(snap, cid)) + 1
        else:
            assert db_snapshot(stack, WORKFLOW_TABLES) == snap


def snap_events(snap, cid):
    return [e for e in snap["case_events"] if f'"case_id": {cid},' in e]


def assert_refused_by(err, pgcode, message):
    """The error is the one the layer we mean raises: its SQLSTATE and its words."""
    assert isinstance(err, psycopg2.Error), err
    assert (err.pgcode, message in (err.pgerror or "")) == (pgcode, True), \
        (err.pgcode, err.pgerror)


NO_COLUMN_PRIVILEGE = "permission denied for table"          # 42501, from the grants
STATE_BY_HAND = "a case changes state only through case_transition()"  # 42501, the trigger


@pytest.mark.parametrize("target", STATES)
def test_no_handwritten_update_moves_a_case(stack, tokens, target):
    cid, _ = case_in(stack, tokens, "review")
    snap = db_snapshot(stack, WORKFLOW_TABLES)
    shajing = street_id(stack, "沙井街道")
    for role, street in (("editor", shajing), ("reviewer", None), ("admin", None)):
        with app_conn(stack, role, street) as (conn, cur):
            # no privilege on the column at all: refused before any row is read
            assert_refused_by(refused(cur, "UPDATE cases SET state = %s WHERE id = %s",
                                      (target, cid)), "42501", NO_COLUMN_PRIVILEGE)
    assert db_snapshot(stack, WORKFLOW_TABLES) == snap
    # not even the schema's owner, by hand (it has the privilege, and row security
    # lets it reach every case), on a case that target would really move (a
    # draft, or for target 'draft' one under review): the trigger refuses it
    moved, _ = case_in(stack, tokens, "review" if target == "draft" else "draft")
    snap = db_snapshot(stack, WORKFLOW_TABLES)
    with app_conn(stack, "editor", shajing, dsn_user="portal_owner") as (_, cur):
        cur.execute("SELECT state FROM cases WHERE id = %s", (moved,))
        assert cur.fetchone()[0] != target  # the row is there, and the statement would move it
        assert_refused_by(refused(cur, "UPDATE cases SET state = %s WHERE id = %s",
                                  (target, moved)), "42501", STATE_BY_HAND)
    assert db_snapshot(stack, WORKFLOW_TABLES) == snap


HISTORY_STATEMENTS = (("case_events", "UPDATE case_events SET note = 'x' WHERE case_id = %s"),
                      ("case_events", "DELETE FROM case_events WHERE case_id = %s"),
                      ("case_revisions", "UPDATE case_revisions SET content = '{}' "
                                         "WHERE case_id = %s"),
                      ("case_revisions", "DELETE FROM case_revisions WHERE case_id = %s"))


def test_history_is_append_only_for_every_role(stack, tokens):
    cid, _ = case_in(stack, tokens, "review")
    snap = db_snapshot(stack, WORKFLOW_TABLES)
    assert sql_value(stack, "SELECT count(*) FROM case_events WHERE case_id = %s", (cid,)) == 1
    assert sql_value(stack, "SELECT count(*) FROM case_revisions WHERE case_id = %s", (cid,)) == 1
    for table, statement in HISTORY_STATEMENTS:
        # the application role: no UPDATE or DELETE privilege
        with app_conn(stack, "reviewer") as (_, cur):
            assert_refused_by(refused(cur, statement, (cid,)), "42501", NO_COLUMN_PRIVILEGE)
        # the owner has every privilege and row security lets it reach the row:
        # the trigger refuses it
        with app_conn(stack, "reviewer", dsn_user="portal_owner") as (_, cur):
            cur.execute(f"SELECT count(*) FROM {table} WHERE case_id = %s", (cid,))
            assert cur.fetchone()[0] == 1
            assert_refused_by(refused(cur, statement, (cid,)), "42501",
                              f"{table} is append-only")
    # beneath privileges and row security, a trigger: even a superuser is refused
    with app_conn(stack, dsn_user="postgres") as (_, cur):
        for table, statement in HISTORY_STATEMENTS:
            assert_refused_by(refused(cur, statement, (cid,)), "42501",
                              f"{table} is append-only")
    assert db_snapshot(stack, WORKFLOW_TABLES) == snap


def test_reject_needs_a_reason_and_approve_an_open_edition(stack, tokens):
    cid, _ = case_in(stack, tokens, "review")
    snap = db_snapshot(stack, WORKFLOW_TABLES)
    for extra in ({}, {"note": "   "}):
        r = transition(stack, tokens["reviewer"], cid, "reject", **extra)
        assert_problem(r, 422, "validation-failed")
        assert r.json()["errors"][0]["field"] == "note"
    r = transition(stack, tokens["reviewer"], cid, "approve")
    assert_problem(r, 422, "validation-failed")
    assert r.json()["errors"][0]["field"] == "edition_id"
    _, voting_edition = case_in(stack, tokens, "voting")
    r = transition(stack, tokens["reviewer"], cid, "approve", edition_id=voting_edition)
    assert_problem(r, 422, "validation-failed")  # its vote has opened: no more cases
    r = transition(stack, tokens["reviewer"], cid, "fly")
    assert_problem(r, 422, "validation-failed")
    for bad in ({"action": 5}, {"action": "reject", "note": 1}, {"action": "approve",
                                                                 "edition_id": "x"},
                {"action": "submit", "extra": True}, {}):
        assert_problem(api(stack, "POST", f"/api/cases/{cid}/transitions", tokens["reviewer"],
                           json=bad), 422, "validation-failed")
    snap2 = db_snapshot(stack, WORKFLOW_TABLES)
    snap2["editions"] = snap["editions"] = None  # case_in made an edition meanwhile
    for t in ("cases", "case_events", "case_revisions"):
        assert [x for x in snap2[t] if f'"id": {cid},' in x or f'"case_id": {cid},' in x] == \
            [x for x in snap[t] if f'"id": {cid},' in x or f'"case_id": {cid},' in x]


def test_a_returned_draft_carries_its_reject_in_the_case_and_the_list(stack, tokens):
    """returned (migration 0020): the reject, when it is a draft's latest
    event, in the case and in the list, so the console needs no request per
    draft; null for a draft never sent back, once it is resubmitted, and
    for a withdrawn one."""
    def returned(cid):
        one = api(stack, "GET", f"/api/cases/{cid}", tokens["shajing"]).json()["returned"]
        # the page that starts at cid: earlier tests' drafts may fill the first
        listed = [c["returned"] for c in api(stack, "GET",
                                             f"/api/cases?state=draft&after={cid - 1}&limit=1",
                                             tokens["shajing"]).json()["items"] if c["id"] == cid]
        return one, (listed[0] if listed else "not listed")

    fresh, _ = case_in(stack, tokens, "draft")
    assert returned(fresh) == (None, None)
    cid, _ = case_in(stack, tokens, "review")
    r = transition(stack, tokens["reviewer"], cid, "reject", note="请补充照片<b>&")
    assert r.status_code == 200, r.text
    one, listed = returned(cid)
    assert one == listed and one["note"] == "请补充照片<b>&" and one["actor"] and one["at"]
    # an edit is no event: still the reason it came back with
    etag = api(stack, "GET", f"/api/cases/{cid}", tokens["shajing"]).headers["ETag"]
    assert api(stack, "PATCH", f"/api/cases/{cid}", tokens["shajing"], headers={"If-Match": etag},
               json={"title": "补过照片"}).status_code == 200
    assert returned(cid)[0] == one
    assert transition(stack, tokens["shajing"], cid, "submit").status_code == 200
    assert api(stack, "GET", f"/api/cases/{cid}", tokens["shajing"]).json()["returned"] is None
    assert transition(stack, tokens["shajing"], cid, "withdraw").status_code == 200
    assert returned(cid) == (None, None), "a withdrawn draft was not sent back"


def test_submit_needs_the_whole_case(stack, tokens):
    r = api(stack, "POST", "/api/cases", tokens["shajing"],
            json={"community_id": community_id(stack, tokens), "title": "只有标题"})
    assert r.status_code == 201
    cid = r.json()["id"]
    r = transition(stack, tokens["shajing"], cid, "submit")
    assert_problem(r, 422, "validation-failed")
    assert state_of(stack, cid)[0] == "draft" and events_of(stack, cid) == []


def test_editors_write_only_their_own_streets_drafts(stack, tokens):
    body = case_body(stack, tokens)
    snap = db_snapshot(stack, WORKFLOW_TABLES)
    # yanluo names a community of 沙井街道: as if it did not exist
    r = api(stack, "POST", "/api/cases", tokens["yanluo"], json=body)
    assert_problem(r, 422, "validation-failed")
    r = api(stack, "POST", "/api/cases", tokens["yanluo"], json=dict(body, community_id=999999))
    assert_problem(r, 422, "validation-failed")
    for who in ("reviewer", "admin"):
        assert_problem(api(stack, "POST", "/api/cases", tokens[who], json=body), 403, "forbidden")
    assert db_snapshot(stack, WORKFLOW_TABLES) == snap
    cid, _ = case_in(stack, tokens, "draft")
    snap = db_snapshot(stack, WORKFLOW_TABLES)
    r = api(stack, "PATCH", f"/api/cases/{cid}", tokens["yanluo"], json={"title": "x"},
            headers={"If-Match": '"1"'})
    assert_problem(r, 404, "not-found")
    for who in ("yanluo", "reviewer", "admin"):
        assert api(stack, "GET", f"/api/cases/{cid}", tokens[who]).status_code == 404
        listed = api(stack, "GET", "/api/cases?limit=200", tokens[who]).json()
        assert cid not in [c["id"] for c in listed["items"]]
        for part in ("events", "revisions", "diff", "revisions/1"):
            assert api(stack, "GET", f"/api/cases/{cid}/{part}", tokens[who]).status_code == 404
    assert db_snapshot(stack, WORKFLOW_TABLES) == snap


@pytest.mark.parametrize("bad,field", [
    ({"title": 5}, "title"),
    ({"title": "a\nb"}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"actions": "一是"}, "actions"),
    ({"actions": [{"headline": "a"}]}, "actions[0].body"),
    ({"actions": [{"headline": "a", "body": "b", "extra": 1}]}, "actions[0].extra"),
    ({"actions": [{"headline": "a", "body": "b"}] * 21}, "actions"),
    ({"testimonial": {"text": "t", "speaker": "s\n"}}, "testimonial.speaker"),
    ({"testimonial": "感言"}, "testimonial"),
    ({"community_id": 1}, "community_id"),
    ({"state": "published"}, "state"),
])
def test_bad_case_fields_are_refused_and_change_nothing(stack, tokens, bad, field):
    cid, _ = case_in(stack, tokens, "draft")
    snap = db_snapshot(stack, WORKFLOW_TABLES)
    r = api(stack, "PATCH", f"/api/cases/{cid}", tokens["shajing"], json=bad,
            headers={"If-Match": '"1"'})
    assert_problem(r, 422, "validation-failed")
    assert field in [e["field"] for e in r.json()["errors"]], r.json()
    assert db_snapshot(stack, WORKFLOW_TABLES) == snap


def test_etags_refuse_stale_and_missing_versions(stack, tokens):
    cid, _ = case_in(stack, tokens, "draft")
    r = api(stack, "GET", f"/api/cases/{cid}", tokens["shajing"])
    etag = r.headers["ETag"]
    snap = db_snapshot(stack, WORKFLOW_TABLES)
    assert_problem(api(stack, "PATCH", f"/api/cases/{cid}", tokens["shajing"],
                       json={"title": "新"}), 428, "precondition-required")
    for stale in ('"999"', '"0"', "*", "garbage", 'W/"x"'):
        assert_problem(api(stack, "PATCH", f"/api/cases/{cid}", tokens["shajing"],
                           json={"title": "新"}, headers={"If-Match": stale}),
                       412, "precondition-failed")
    assert db_snapshot(stack, WORKFLOW_TABLES) == snap
    r = api(stack, "PATCH", f"/api/cases/{cid}", tokens["shajing"], json={"title": "新"},
            headers={"If-Match": etag})
    assert r.status_code == 200 and r.headers["ETag"] != etag
    # a transition with an old ETag is refused too
    r = transition(stack, tokens["shajing"], cid, "submit")
    assert r.status_code == 200
    r = api(stack, "POST", f"/api/cases/{cid}/transitions", tokens["shajing"],
            json={"action": "withdraw"}, headers={"If-Match": etag})
    assert_problem(r, 412, "precondition-failed")


def test_a_client_polling_an_unchanged_case_gets_304(stack, tokens):
    cid, _ = case_in(stack, tokens, "draft")
    r = api(stack, "GET", f"/api/cases/{cid}", tokens["shajing"])
    etag = r.headers["ETag"]
    again = api(stack, "GET", f"/api/cases/{cid}", tokens["shajing"],
                headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"].removeprefix("W/") == etag.removeprefix("W/")  # nginx weakens gzipped ones
    assert api(stack, "GET", f"/api/cases/{cid}", tokens["shajing"],
               headers={"If-None-Match": '"999"'}).status_code == 200
    # another street asking with a guessed ETag learns nothing
    assert api(stack, "GET", f"/api/cases/{cid}", tokens["yanluo"],
               headers={"If-None-Match": etag}).status_code == 404
    api(stack, "PATCH", f"/api/cases/{cid}", tokens["shajing"], json={"title": "新标题"},
        headers={"If-Match": etag})
    changed = api(stack, "GET", f"/api/cases/{cid}", tokens["shajing"],
                  headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.json()["title"] == "新标题"


def test_only_drafts_change(stack, tokens):
    for state in ("review", "published"):
        cid, _ = case_in(stack, tokens, state)
        version = state_of(stack, cid)[1]
        snap = db_snapshot(stack, WORKFLOW_TABLES)
        r = api(stack, "PATCH", f"/api/cases/{cid}", tokens["shajing"], json={"title": "改"},
                headers={"If-Match": f'"{version}"'})
        assert_problem(r, 409, "not-editable")
        assert db_snapshot(stack, WORKFLOW_TABLES) == snap


RACE_ROUNDS = 15
RACERS = 4  # as many as the test pool has workers, so all of them can be in flight at once


def race(stack, token, method, path, bodies, headers=None):
    """Sends one request per body at the same moment: each from its own thread
    on a connection opened beforehand, released together by a barrier, so the
    requests overlap in the pool instead of queueing one after the other.
    Returns the responses in the order of bodies."""
    sessions = []
    for _ in bodies:
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {token}"
        assert s.get(stack.url + "/api/me", timeout=10).status_code == 200  # connected, warm
        sessions.append(s)
    barrier = threading.Barrier(len(bodies))
    results = [None] * len(bodies)

    def run(i):
        try:
            barrier.wait(timeout=10)
            results[i] = sessions[i].request(method, stack.url + path, json=bodies[i],
                                             headers=headers or {}, timeout=30)
        except Exception as e:  # noqa: BLE001 -- reported below, not lost in the thread
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in sessions:
        s.close()
    assert not [r for r in results if isinstance(r, Exception)], results
    return results


def test_concurrent_edits_with_one_etag_one_wins_nothing_is_lost(stack, tokens):
    for round_ in range(RACE_ROUNDS):
        cid, _ = case_in(stack, tokens, "draft")
        texts = [f"编辑{i}的问题描述" for i in range(RACERS)]
        answers = race(stack, tokens["shajing"], "PATCH", f"/api/cases/{cid}",
                       [{"problem": t} for t in texts], headers={"If-Match": '"1"'})
        statuses = [r.status_code for r in answers]
        assert sorted(statuses) == [200] + [412] * (RACERS - 1), (round_, statuses)
        winner = texts[statuses.index(200)]
        assert sql_rows(stack, "SELECT problem, version FROM cases WHERE id = %s",
                        (cid,)) == [(winner, 2)]
        # one revision per save: the first one and the winner's
        assert sql_rows(stack, "SELECT version, content->>'problem' FROM case_revisions "
                        "WHERE case_id = %s ORDER BY version", (cid,))[1:] == [(2, winner)], \
            round_


def test_concurrent_transitions_one_wins_one_event(stack, tokens):
    for round_ in range(RACE_ROUNDS):
        # reviewers approve one case into as many editions at once
        cid, _ = case_in(stack, tokens, "review")
        editions = [new_edition(stack, tokens) for _ in range(RACERS)]
        answers = race(stack, tokens["reviewer"], "POST", f"/api/cases/{cid}/transitions",
                       [{"action": "approve", "edition_id": e} for e in editions])
        statuses = [r.status_code for r in answers]
        assert sorted(statuses) == [200] + [409] * (RACERS - 1), (round_, statuses)
        winner = editions[statuses.index(200)]
        assert sql_rows(stack, "SELECT state, edition_id FROM cases WHERE id = %s",
                        (cid,)) == [("published", winner)]
        assert [e[0] for e in events_of(stack, cid)] == ["submit", "approve"], round_
        # an editor's double (quadruple) click on submit
        cid, _ = case_in(stack, tokens, "draft")
        answers = race(stack, tokens["shajing"], "POST", f"/api/cases/{cid}/transitions",
                       [{"action": "submit"}] * RACERS)
        statuses = [r.status_code for r in answers]
        assert sorted(statuses) == [200] + [409] * (RACERS - 1), (round_, statuses)
        assert events_of(stack, cid) == [("submit", "draft", "review", "shajing")], round_


def test_revisions_and_the_diff_since_the_last_submission(stack, tokens):
    cid, _ = case_in(stack, tokens, "review")
    r = transition(stack, tokens["reviewer"], cid, "reject", note="行动写得太简略")
    version = r.json()["version"]
    r = api(stack, "PATCH", f"/api/cases/{cid}", tokens["shajing"],
            json={"actions": [{"headline": "积极回应群众诉求", "body": "多次走访城中村。"},
                              {"headline": "规范张贴焕新颜", "body": "设置4个便民张贴栏。"}]},
            headers={"If-Match": f'"{version}"'})
    assert r.status_code == 200, r.text
    diff = api(stack, "GET", f"/api/cases/{cid}/diff", tokens["shajing"]).json()
    assert list(diff["changes"]) == ["actions"]
    assert diff["changes"]["actions"] == [
        {"index": 1, "from": None, "to": {"headline": "规范张贴焕新颜", "body": "设置4个便民张贴栏。"}}]
    assert transition(stack, tokens["shajing"], cid, "submit").status_code == 200
    # the reviewer sees what changed since the case was last submitted before this one
    revs = api(stack, "GET", f"/api/cases/{cid}/revisions", tokens["reviewer"]).json()
    assert [r["saved_by_name"] for r in revs] == ["shajing", "shajing"]
    first, last = revs[0]["version"], revs[-1]["version"]
    diff = api(stack, "GET", f"/api/cases/{cid}/diff?from={first}&to={last}",
               tokens["reviewer"]).json()
    assert list(diff["changes"]) == ["actions"]
    whole = api(stack, "GET", f"/api/cases/{cid}/revisions/{first}", tokens["reviewer"]).json()
    assert whole["content"]["title"] == "整治乱贴广告"
    events = api(stack, "GET", f"/api/cases/{cid}/events", tokens["shajing"]).json()
    assert [(e["action"], e["actor"]) for e in events] == [
        ("submit", "shajing"), ("reject", "reviewer"), ("submit", "shajing")]
    assert events[1]["note"] == "行动写得太简略"


def test_cases_list_pages_in_a_stable_order_and_filters(stack, tokens):
    for _ in range(3):
        case_in(stack, tokens, "draft")
    seen, after = [], None
    while True:
        q = "/api/cases?state=draft&limit=2" + (f"&after={after}" if after else "")
        page = api(stack, "GET", q, tokens["shajing"]).json()
        seen += [c["id"] for c in page["items"]]
        assert all(c["state"] == "draft" for c in page["items"])
        after = page["next_after"]
        if after is None:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) >= 3
    r = api(stack, "GET", "/api/cases?edition_id=13", tokens["reviewer"]).json()
    assert len(r["items"]) == 2
    for bad in ("limit=0", "limit=x", "after=-1", "community_id=abc", "state=DROP%20TABLE"):
        assert_problem(api(stack, "GET", f"/api/cases?{bad}", tokens["reviewer"]), 400,
                       "bad-request")


def test_editions_open_close_and_their_roles(stack, tokens):
    cid, edition = case_in(stack, tokens, "published")
    snap = db_snapshot(stack, WORKFLOW_TABLES)
    for who in ("shajing", "admin"):
        assert_problem(api(stack, "POST", f"/api/editions/{edition}/transitions", tokens[who],
                           json={"action": "open", "closes_at": "2099-01-01"}), 403, "forbidden")
    for body, status in (({"action": "close"}, 409), ({"action": "open"}, 422),
                         ({"action": "open", "closes_at": "2001-01-01T00:00:00"}, 422),
                         ({"action": "open", "closes_at": "not a time"}, 422),
                         ({"action": "fly"}, 422)):
        r = api(stack, "POST", f"/api/editions/{edition}/transitions", tokens["reviewer"],
                json=body)
        assert r.status_code == status, (body, r.text)
    assert db_snapshot(stack, WORKFLOW_TABLES) == snap
    r = api(stack, "POST", f"/api/editions/{edition}/transitions", tokens["reviewer"],
            json={"action": "open", "closes_at": "2099-04-16T00:00"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "voting"
    assert r.json()["closes_at"] == "2099-04-16T00:00:00+08:00"  # read as Asia/Shanghai
    assert sql_value(stack, "SELECT closes_at = '2099-04-15T16:00:00Z' FROM editions "
                     "WHERE id = %s", (edition,)) is True
    assert state_of(stack, cid)[0] == "voting"
    assert api(stack, "POST", f"/api/editions/{edition}/transitions", tokens["reviewer"],
               json={"action": "open", "closes_at": "2099-05-01"}).status_code == 409
    r = api(stack, "POST", f"/api/editions/{edition}/transitions", tokens["reviewer"],
            json={"action": "close"})
    assert r.status_code == 200 and r.json()["state"] == "closed"
    assert events_of(stack, cid)[-1] == ("close", "voting", "closed", "reviewer")
    # a closed edition keeps its deadline
    etag = api(stack, "GET", f"/api/editions/{edition}", tokens["reviewer"]).headers["ETag"]
    r = api(stack, "PATCH", f"/api/editions/{edition}", tokens["reviewer"],
            json={"closes_at": "2100-01-01"}, headers={"If-Match": etag})
    assert_problem(r, 403, "forbidden")
    # numbers are unique
    r = api(stack, "POST", "/api/editions", tokens["reviewer"], json={"number": 13, "title": "x"})
    assert_problem(r, 409, "conflict")
    # every change to an edition is in the audit trail
    trail = api(stack, "GET", f"/api/audit?entity=editions&entity_id={edition}",
                tokens["admin"]).json()
    assert [e["action"] for e in reversed(trail)] == ["create", "update", "update"]
    assert {e["actor"] for e in trail} == {"reviewer"}
    assert trail[0]["changes"]["state"] == ["voting", "closed"]


def test_a_voting_editions_deadline_moves_only_forward(stack, tokens):
    _, edition = case_in(stack, tokens, "voting")
    etag = api(stack, "GET", f"/api/editions/{edition}", tokens["reviewer"]).headers["ETag"]
    snap = db_snapshot(stack, WORKFLOW_TABLES)
    r = api(stack, "PATCH", f"/api/editions/{edition}", tokens["reviewer"],
            json={"closes_at": "2001-01-01T00:00:00+08:00"}, headers={"If-Match": etag})
    assert_problem(r, 422, "validation-failed")
    assert "future" in r.json()["detail"]
    assert db_snapshot(stack, WORKFLOW_TABLES) == snap
    r = api(stack, "PATCH", f"/api/editions/{edition}", tokens["reviewer"],
            json={"closes_at": "2100-01-01T00:00:00+08:00"}, headers={"If-Match": etag})
    assert r.status_code == 200 and r.json()["closes_at"] == "2100-01-01T00:00:00+08:00"


def test_the_deadline_closes_an_edition_by_itself(stack, tokens, pool):
    pool("--deadline-check", "500ms")
    cid, edition = case_in(stack, tokens, "published")
    r = api(stack, "POST", f"/api/editions/{edition}/transitions", tokens["reviewer"],
            json={"action": "open",
                  "closes_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                             time.gmtime(time.time() + 4))})
    assert r.status_code == 200, r.text
    # 4 s to the deadline, then at most one check interval (500 ms): 30 s is ample
    wait_until(lambda: state_of(stack, cid)[0] == "closed", 30, "the edition to close by itself")
    assert events_of(stack, cid)[-1] == ("close", "voting", "closed", "system")
    e = api(stack, "GET", f"/api/editions/{edition}", tokens["reviewer"]).json()
    assert e["state"] == "closed" and e["closed_at"] >= e["closes_at"]
    assert any(ev["edition_id"] == edition for ev in log_events(stack,
                                                                 "edition_closed_at_deadline"))
    trail = api(stack, "GET", f"/api/audit?entity=editions&entity_id={edition}",
                tokens["admin"]).json()
    assert trail[0]["actor"] == "system" and trail[0]["changes"]["state"] == ["voting", "closed"]


SEED = "demo/seed/000_ba25347e96eaeba6.txt"


def test_the_seeds_edition_13_round_trips_character_for_character(stack, tokens):
    with open(os.path.join(ROOT, SEED), encoding="utf-8") as f:
        seed = [l.strip() for l in f.read().splitlines() if l.strip()]
    edition = next(e for e in api(stack, "GET", "/api/editions", tokens["reviewer"]).json()
                   if e["number"] == 13)
    assert edition["title"] == "沙井街道大王山社区和燕罗街道塘下涌社区"
    assert edition["title"] in seed
    assert edition["closes_at"].endswith("-04-16T00:00:00+08:00")  # 4月16日00:00, Shanghai
    numerals = "一二三四五六七八九十"
    assert len(edition["cases"]) == 2  # 沙井街道大王山社区 and 燕罗街道塘下涌社区
    headings = []
    for summary in edition["cases"]:
        case = api(stack, "GET", f"/api/cases/{summary['id']}", tokens["reviewer"]).json()
        heading = case["street_name"] + case["community_name"]
        headings.append(heading)
        start = seed.index(heading, seed.index("详情请往下看"))
        c = case["committee"]
        y, m, d = (int(x) for x in c["elected_on"].split("-"))
        # the introduction is the committee's facts and the title, as the seed words it
        assert seed[start + 1] == (
            f"{heading}于{y}年{m}月{d}日完成社区“两委”换届选举,由{c['size']}名同志组成社区“两委”"
            f"班子,{c['secretary_name']}同志为{c['secretary_post']}。新班子履新以后,坚持“以人民为中心”"
            f"的理念,积极落实“我为群众办实事”活动,将“{case['title']}”作为“履新第一事”,着力解决社区群众"
            f"反映强烈的烦心事、操心事、揪心事。")
        assert seed[start + 2:start + 7] == ["事项名称", case["title"], "问题困难", case["problem"],
                                             "干事情况"]
        body = seed[start + 7:seed.index("履新感言", start)]
        points = [l for l in body if l[1:2] == "是" and l[0] in numerals]
        assert len(points) >= 2 and len(case["actions"]) == len(points)
        assert points == [f"{numerals[i]}是{a['headline']}。{a['body']}"
                          for i, a in enumerate(case["actions"])]
        captions = [l for l in body if l not in points]
        assert captions and captions == [p["caption"] for p in case["photos"]]
        t = case["testimonial"]
        assert seed[seed.index("履新感言", start) + 1] == f"{t['text']}({t['post']} {t['speaker']})"
        # the public sees the published case's photos; they are cached for a year
        for p in case["photos"]:
            r = api(stack, "GET", p["url"])
            assert r.status_code == 200 and r.headers["Content-Type"] == "image/png"
            assert "public" in r.headers["Cache-Control"] and "31536000" in r.headers["Cache-Control"]
    assert sorted(headings) == sorted(edition["title"].split("和"))
    # editions 1 to 12 as the seed lists them
    listed = {e["number"]: e["title"] for e in api(stack, "GET", "/api/editions",
                                                   tokens["reviewer"]).json()}
    circled = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫"
    earlier = [line for line in seed if line[0] in circled]
    assert [line[0] for line in earlier] == list(circled)
    for line in earlier:
        assert listed[circled.index(line[0]) + 1] == line[1:]


def test_photos_are_checked_by_their_bytes_and_stored_with_the_case(stack, tokens):
    cid, _ = case_in(stack, tokens, "draft")
    data = png_bytes(colour=(1, 2, 3))
    r = upload(stack, tokens["shajing"], cid, data, '"1"', caption="清理乱张贴广告")
    assert r.status_code == 201, r.text
    sha = hashlib.sha256(data).hexdigest()
    assert r.headers["Location"] == f"/api/photos/{sha}"
    assert r.headers["ETag"] == '"2"'
    photo = r.json()["photos"][0]
    assert (photo["caption"], photo["width"], photo["height"], photo["media_type"]) == \
        ("清理乱张贴广告", 5, 4, "image/png")
    # a draft's photo: its editor may fetch it (kept out of shared caches), nobody else
    got = api(stack, "GET", photo["url"], tokens["shajing"])
    assert got.status_code == 200 and got.content == data
    assert got.headers["Cache-Control"].startswith("private")
    assert api(stack, "GET", photo["url"], tokens["yanluo"]).status_code == 404
    assert api(stack, "GET", photo["url"]).status_code == 404
    assert api(stack, "GET", "/api/photos/" + "0" * 64).status_code == 404
    assert api(stack, "GET", "/api/photos/not-a-hash").status_code == 404

    second = upload(stack, tokens["shajing"], cid, png_bytes(colour=(9, 9, 9)), '"2"')
    assert second.status_code == 201
    ids = [p["id"] for p in second.json()["photos"]]
    r = api(stack, "PATCH", f"/api/cases/{cid}/photos/{ids[1]}", tokens["shajing"],
            json={"position": 1, "caption": "设立便民张贴栏"}, headers={"If-Match": '"3"'})
    assert r.status_code == 200, r.text
    assert [(p["id"], p["position"]) for p in r.json()["photos"]] == [(ids[1], 1), (ids[0], 2)]
    r = api(stack, "DELETE", f"/api/cases/{cid}/photos/{ids[1]}", tokens["shajing"],
            headers={"If-Match": '"4"'})
    assert r.status_code == 200
    assert [(p["id"], p["position"]) for p in r.json()["photos"]] == [(ids[0], 1)]
    # each change is a revision the reviewer will see
    revs = api(stack, "GET", f"/api/cases/{cid}/revisions", tokens["shajing"]).json()
    assert [r["version"] for r in revs] == [1, 2, 3, 4, 5]
    # once published, the public may fetch it, cached for a year
    assert transition(stack, tokens["shajing"], cid, "submit").status_code == 200
    edition = new_edition(stack, tokens)
    assert transition(stack, tokens["reviewer"], cid, "approve",
                      edition_id=edition).status_code == 200
    got = api(stack, "GET", photo["url"])
    assert got.status_code == 200 and got.content == data
    assert got.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # (its 404s while it was a draft were not kept) nginx keeps the public answer ...
    again = api(stack, "GET", photo["url"])
    assert again.headers["X-Cache-Status"] == "HIT" and again.content == data
    assert again.headers["X-Request-Id"] != got.headers["X-Request-Id"]
    # ... and never one asked for with a token
    staff = api(stack, "GET", photo["url"], tokens["shajing"])
    assert staff.headers["X-Cache-Status"] == "BYPASS"
    assert staff.headers["Cache-Control"].startswith("private")


def test_bad_photos_get_4xx_and_nothing_is_stored(stack, tokens):
    cid, _ = case_in(stack, tokens, "draft")
    good = png_bytes(colour=(7, 7, 7))
    jpeg_head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    cases = [
        (good, "image/jpeg", '"1"', 415, "unsupported-media-type"),  # lies about its type
        (b"<svg onload=alert(1)>", "image/png", '"1"', 415, "unsupported-media-type"),
        (good[:-20], "image/png", '"1"', 422, "invalid-image"),     # truncated
        (jpeg_head, "image/jpeg", '"1"', 422, "invalid-image"),    # a JPEG's first bytes only
        (good, "application/json", '"1"', 415, "unsupported-media-type"),
        (good, "image/gif", '"1"', 415, "unsupported-media-type"),
        (good, "image/png", None, 428, "precondition-required"),
        (good, "image/png", '"7"', 412, "precondition-failed"),
        (b"", "image/png", '"1"', 400, "body-required"),
    ]
    for data, media_type, etag, status, slug in cases:
        snap = db_snapshot(stack, WORKFLOW_TABLES + ("photo_blobs",))
        r = upload(stack, tokens["shajing"], cid, data, etag, media_type)
        assert_problem(r, status, slug)
        assert db_snapshot(stack, WORKFLOW_TABLES + ("photo_blobs",)) == snap, (media_type, slug)
    rid, _ = case_in(stack, tokens, "review")
    # larger than max-photo (8 MiB): refused before anyone reads it
    snap = db_snapshot(stack, WORKFLOW_TABLES + ("photo_blobs",))
    big = good[:-12] + b"\x00" * (9 << 20)
    r = upload(stack, tokens["shajing"], cid, big, '"1"')
    assert_problem(r, 413)
    # another street's case, a reviewer, a case under review
    assert_problem(upload(stack, tokens["yanluo"], cid, good, '"1"'), 404, "not-found")
    # (a reviewer's upload corrects a published case; a draft is out of its sight)
    assert_problem(upload(stack, tokens["reviewer"], cid, good, '"1"'), 404, "not-found")
    v = state_of(stack, rid)[1]
    assert_problem(upload(stack, tokens["shajing"], rid, good, f'"{v}"'), 409, "not-editable")
    assert_problem(upload(stack, tokens["shajing"], cid, good, '"1"', caption="a%0Ab"), 422,
                   "validation-failed")
    assert db_snapshot(stack, WORKFLOW_TABLES + ("photo_blobs",)) == snap


def test_a_vote_after_the_deadline_is_refused_before_the_edition_closes(stack, tokens):
    cid, edition = case_in(stack, tokens, "published")
    r = api(stack, "POST", f"/api/editions/{edition}/transitions", tokens["reviewer"],
            json={"action": "open", "closes_at": time.strftime(
                "%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 4))})
    assert r.status_code == 200, r.text

    def vote(case, voter):
        """A vote as the application casts it (vote_cast: the only way in)."""
        with app_conn(stack) as (conn, cur):
            try:
                cur.execute("SELECT outcome FROM vote_cast(%s, %s, '满意', NULL, %s, 100)",
                            (case, voter, "a" * 32))
                outcome = cur.fetchone()[0]
                conn.commit()
                return "ok" if outcome == "counted" else outcome
            except psycopg2.Error as e:
                return e.pgcode, e.diag.message_primary

    def insert(case, voter, claim_checked=False):
        with app_conn(stack) as (conn, cur):
            try:
                if claim_checked:  # what vote_cast tells votes_guard (migration 0013)
                    cur.execute("SELECT set_config('portal.vote_checked', %s, false)",
                                (str(case),))
                cur.execute("INSERT INTO votes (case_id, choice, voter) VALUES (%s, '满意', %s)",
                            (case, voter))
                conn.commit()
                return "ok"
            except psycopg2.Error as e:
                return e.pgcode, e.diag.message_primary

    closed = "closed"
    assert vote(cid, "voter-aaaaaaaaaaaaaa") == "ok"
    assert vote(cid, "voter-aaaaaaaaaaaaaa") == "repeat"  # once per voter and case
    # a vote that would skip vote_cast (and its cap per address) is refused outright
    assert insert(cid, "voter-dddddddddddddd") == ("42501", "permission denied for table votes")
    # the deadline passes by the database's clock, the judge of votes
    wait_until(lambda: sql_value(stack, "SELECT clock_timestamp() >= closes_at FROM editions "
                                 "WHERE id = %s", (edition,)), 30, "the deadline to pass")
    # the edition may not have been closed yet (the default check runs every
    # 20 s): the vote is refused either way
    assert vote(cid, "voter-bbbbbbbbbbbbbb") == closed
    # the setting by which vote_cast spares the guard a second look lets the
    # application past nothing: it still may not insert, and vote_cast checks
    assert insert(cid, "voter-eeeeeeeeeeeeee", claim_checked=True) == \
        ("42501", "permission denied for table votes")
    with app_conn(stack) as (conn, cur):
        cur.execute("SELECT set_config('portal.vote_checked', %s, false)", (str(cid),))
        cur.execute("SELECT outcome FROM vote_cast(%s, 'voter-ffffffffffffff', '满意', NULL, "
                    "%s, 100)", (cid, "a" * 32))
        assert cur.fetchone()[0] == closed
    assert sql_value(stack, "SELECT count(*) FROM votes WHERE case_id = %s", (cid,)) == 1
    # and no vote goes to a case that is not open for voting
    draft, _ = case_in(stack, tokens, "draft")
    assert vote(draft, "voter-cccccccccccccc") == "not_found"  # as the public sees a draft


@pytest.mark.parametrize("state", ("published", "voting", "closed"))
def test_every_edition_state_action_role_combination(stack, tokens, state):
    allowed = {("published", "open"), ("voting", "close")}
    target = {"open": "voting", "close": "closed"}
    shajing = street_id(stack, "沙井街道")
    for action, who in itertools.product(("open", "close"), ("shajing", "reviewer", "admin")):
        cid, edition = case_in(stack, tokens, state)
        snap = db_snapshot(stack, WORKFLOW_TABLES)
        body = {"action": action, "closes_at": "2099-01-01T00:00:00"}
        r = api(stack, "POST", f"/api/editions/{edition}/transitions", tokens[who], json=body)
        if who != "reviewer":
            assert_problem(r, 403, "forbidden")
        elif (state, action) in allowed:
            assert r.status_code == 200, r.text
            assert r.json()["state"] == target[action]
            assert state_of(stack, cid)[0] == target[action]
            assert events_of(stack, cid)[-1][:3] == (action, state, target[action])
            continue
        else:
            assert_problem(r, 409, "transition-not-allowed")
        assert db_snapshot(stack, WORKFLOW_TABLES) == snap, (state, action, who)
        # the same through SQL as the application role, with each role's settings
        for role, street in (("editor", shajing), ("admin", None), ("reviewer", None)):
            with app_conn(stack, role, street) as (_, cur):
                cur.execute("SELECT outcome FROM edition_transition(%s, %s, %s, NULL)",
                            (edition, action, "2099-01-01T00:00:00+08:00"))
                outcome = cur.fetchone()[0]
            assert outcome == ("forbidden" if role != "reviewer" and (state, action) in allowed
                               else "not_allowed" if (state, action) not in allowed
                               else "ok"), (state, action, role, outcome)
        assert db_snapshot(stack, WORKFLOW_TABLES) == snap


def test_sql_as_an_editor_writes_only_its_own_streets_drafts_as_itself(stack, tokens):
    shajing, yanluo = street_id(stack, "沙井街道"), street_id(stack, "燕罗街道")
    me = sql_value(stack, "SELECT id FROM staff_users WHERE username = 'shajing'")
    someone_else = sql_value(stack, "SELECT id FROM staff_users WHERE username = 'reviewer'")
    other_comm = sql_rows(stack, "SELECT id FROM communities WHERE street_id = %s LIMIT 1",
                          (yanluo,))[0][0]
    own_comm = community_id(stack, tokens)
    b_case, _ = case_in(stack, tokens, "draft")  # 沙井's; yanluo's settings must not reach it
    snap = db_snapshot(stack, WORKFLOW_TABLES)
    invisible = (None, 0)  # row security hides the row: nothing to change
    attempts = [
        # another street's community: invisible to it, so the trigger finds none
        ("INSERT INTO cases (community_id, title, created_by) VALUES (%s, 'x', %s)",
         (other_comm, me), ("editor", shajing, me), ("23503", "no such community")),
        # claiming to be someone else: the insert policy's check
        ("INSERT INTO cases (community_id, title, created_by) VALUES (%s, 'x', %s)",
         (own_comm, someone_else), ("editor", shajing, me),
         ("42501", 'new row violates row-level security policy for table "cases"')),
        # another street's draft
        ("UPDATE cases SET title = 'x' WHERE id = %s", (b_case,), ("editor", yanluo, None),
         invisible),
        ("UPDATE cases SET updated_at = now() WHERE id = %s", (b_case,), ("editor", yanluo, None),
         invisible),
        # nobody deletes a case: no privilege
        ("DELETE FROM cases WHERE id = %s", (b_case,), ("editor", shajing, me),
         ("42501", "permission denied for table cases")),
    ]
    for sql, args, (role, street, user), want in attempts:
        with app_conn(stack, role, street, user) as (conn, cur):
            try:
                cur.execute(sql, args)
                got = (None, cur.rowcount)
            except psycopg2.Error as e:
                got = (e.pgcode, e.diag.message_primary)
            conn.rollback()
        assert got == want, sql
    assert db_snapshot(stack, WORKFLOW_TABLES) == snap
