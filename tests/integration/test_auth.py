"""Sign-in, tokens, refresh, limits: issue 3's "forged and broken tokens"
and "login limiting", on the real stack."""
import http.client
import json
import os
import time

import pytest
import requests

from conftest import (DEMO_PASSWORD, api, assert_problem, b64, claims_of, db_snapshot,
                      header_of, hs256, hs_key, log_events, log_mark, login, make_user, refresh,
                      refresh_cookie, token_for, worker_pids)


def test_login_returns_a_bearer_token_and_a_strict_refresh_cookie(stack):
    r = login(stack, "shajing")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert body["user"]["username"] == "shajing" and body["user"]["role"] == "editor"
    header = header_of(body["access_token"])
    assert header["alg"] == "HS256" and header["kid"] == "hs1"
    c = claims_of(body["access_token"])
    assert c["iss"] == "portal" and c["aud"] == "portal-staff"
    assert c["exp"] - c["iat"] == 900 and c["sub"] == str(body["user"]["id"])
    cookie = r.headers["Set-Cookie"]
    for attr in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/api/auth", "Max-Age=604800"):
        assert attr in cookie
    me = api(stack, "GET", "/api/me", body["access_token"])
    assert me.status_code == 200 and me.json()["street_name"] == "沙井街道"


def test_wrong_password_unknown_user_and_disabled_user_look_the_same(stack, tokens):
    uid, name, pw = make_user(stack, tokens["admin"], role="reviewer")
    assert api(stack, "PATCH", f"/api/users/{uid}", tokens["admin"],
               json={"disabled": True}).status_code == 200
    answers = []
    for user, password in (("reviewer", "not-the-password"), ("nobody-at-all", "whatever-pass"),
                           (name, pw)):
        r = login(stack, user, password)
        assert_problem(r, 401, "unauthorized")
        body = r.json()
        del body["request_id"]
        answers.append(body)
    assert answers[0] == answers[1] == answers[2]


BAD_BODIES = [
    # (what, raw body, content type, status, problem)
    ("malformed JSON", b'{"username": "shajing", ', "application/json", 400, "malformed-json"),
    ("not JSON at all", b"username=shajing&password=x", "application/x-www-form-urlencoded", 415,
     "unsupported-media-type"),
    ("wrong content type", b'{"username":"shajing","password":"portal-demo"}', "text/plain",
     415, "unsupported-media-type"),
    ("non-UTF-8", b'{"username":"\xff\xfe","password":"portal-demo"}', "application/json", 400,
     "invalid-utf8"),
    ("duplicate keys", b'{"username":"shajing","username":"admin","password":"portal-demo"}',
     "application/json", 400, "malformed-json"),
    ("wrong types", b'{"username":5,"password":["portal-demo"]}', "application/json", 422,
     "validation-failed"),
    ("an array", b'["shajing","portal-demo"]', "application/json", 422, "validation-failed"),
    ("unknown field", b'{"username":"shajing","password":"portal-demo","admin":true}',
     "application/json", 422, "validation-failed"),
    ("missing password", b'{"username":"shajing"}', "application/json", 422,
     "validation-failed"),
    ("empty body", b"", "application/json", 400, "body-required"),
    ("NUL escape", b'{"username":"shajing\\u0000","password":"portal-demo"}', "application/json",
     400, "malformed-json"),
]


@pytest.mark.parametrize("what,raw,ctype,status,slug", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_bodies_get_a_clear_4xx_and_change_nothing(stack, what, raw, ctype, status, slug):
    before_pids = worker_pids(stack)
    before = db_snapshot(stack)
    r = requests.post(stack.url + "/api/auth/login", data=raw,
                      headers={"Content-Type": ctype}, timeout=10)
    assert_problem(r, status, slug)
    assert "Set-Cookie" not in r.headers
    # the data is as it was (no failure counted, no token issued) and every worker lives
    assert db_snapshot(stack) == before
    assert worker_pids(stack) == before_pids


def test_validation_problem_lists_every_bad_field(stack):
    r = requests.post(stack.url + "/api/auth/login", json={"username": 5, "extra": 1})
    assert_problem(r, 422, "validation-failed")
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"username", "extra", "password"}


# ---- forged and broken tokens ------------------------------------------

def forged_tokens(stack, real):
    key = hs_key(stack)
    c = claims_of(real)
    now = int(time.time())
    head = {"alg": "HS256", "typ": "JWT", "kid": "hs1"}
    with open(os.path.join(stack.key_dir, "rs1.rs256.pub"), "rb") as f:
        rsa_public = f.read()
    none_token = (b64(json.dumps({"alg": "none", "typ": "JWT", "kid": "hs1"}).encode()) + "." +
                  b64(json.dumps(c).encode()) + ".")
    return {
        "alg none": none_token,
        "alg none with a signature": none_token + "AAAA",
        "HS256 signed with the RS256 public key": hs256(dict(head, kid="rs1"), c, rsa_public),
        "RS256 header on the HMAC key": hs256(dict(head, alg="RS256"), c, key),
        "wrong key": hs256(head, c, b"k" * 64),
        "unknown kid": hs256(dict(head, kid="nope"), c, key),
        "no kid": hs256({"alg": "HS256", "typ": "JWT"}, c, key),
        "expired": hs256(head, dict(c, iat=now - 2000, nbf=now - 2000, exp=now - 1000), key),
        "not yet valid": hs256(head, dict(c, nbf=now + 600), key),
        "issued in the future": hs256(head, dict(c, iat=now + 600, exp=now + 1200), key),
        "wrong iss": hs256(head, dict(c, iss="someone-else"), key),
        "wrong aud": hs256(head, dict(c, aud="portal-public"), key),
        "too long-lived": hs256(head, dict(c, exp=now + 86400 * 30), key),
        "string version": hs256(head, dict(c, ver="1"), key),
        "other user's sub": hs256(head, dict(c, sub="999999"), key),
        "truncated": real[:-10],
        "signature cut off": real.rsplit(".", 1)[0] + ".",
        "garbage": "not-a-token",
        "four parts": real + ".AAAA",
        "bad base64": real.replace(".", ".%%", 1),
    }


def test_forged_and_broken_tokens_get_401_and_nothing_else(stack, tokens):
    real = tokens["admin"]
    assert api(stack, "GET", "/api/users", real).status_code == 200  # the real one works
    # a correctly signed copy with nothing changed is accepted: the forgeries fail for their flaw
    c = claims_of(real)
    assert api(stack, "GET", "/api/me", hs256({"alg": "HS256", "typ": "JWT", "kid": "hs1"}, c,
                                             hs_key(stack))).status_code == 200
    before = db_snapshot(stack)
    for what, token in forged_tokens(stack, real).items():
        r = api(stack, "GET", "/api/users", token)
        assert r.status_code == 401, f"{what}: {r.status_code} {r.text}"
        assert_problem(r, 401, "unauthorized")
        assert r.headers["WWW-Authenticate"].startswith('Bearer realm="portal"'), what
        w = api(stack, "POST", "/api/streets", token, json={"name": "伪造街道"})
        assert w.status_code == 401, what
    assert db_snapshot(stack) == before


def test_missing_or_non_bearer_authorization_is_401(stack):
    assert_problem(api(stack, "GET", "/api/me"), 401, "unauthorized")
    r = requests.get(stack.url + "/api/me", headers={"Authorization": "Basic YWRtaW46eA=="})
    assert_problem(r, 401, "unauthorized")


def test_rs256_and_es256_keys_sign_and_old_tokens_survive_the_rotation(stack, pool, tokens):
    old = token_for(stack, "reviewer")  # signed by hs1
    for kid, alg in (("rs1", "RS256"), ("es1", "ES256")):
        pool("--jwt-signing-key", kid)
        new = token_for(stack, "reviewer")
        header = header_of(new)
        assert header == {"alg": alg, "kid": kid, "typ": "JWT"}
        assert api(stack, "GET", "/api/me", new).status_code == 200
        assert api(stack, "GET", "/api/me", old).status_code == 200  # no one signed out


def test_disabling_a_user_or_changing_their_role_takes_effect_on_the_next_request(stack, tokens):
    admin = tokens["admin"]
    uid, name, pw = make_user(stack, admin, role="editor", street_id=6)
    t = token_for(stack, name, pw)
    assert api(stack, "GET", "/api/me", t).status_code == 200
    assert api(stack, "PATCH", f"/api/users/{uid}", admin,
               json={"role": "reviewer", "street_id": None}).status_code == 200
    assert_problem(api(stack, "GET", "/api/me", t), 401, "unauthorized")
    t = token_for(stack, name, pw)
    assert api(stack, "GET", "/api/me", t).json()["role"] == "reviewer"
    assert api(stack, "PATCH", f"/api/users/{uid}", admin, json={"disabled": True}).status_code == 200
    assert_problem(api(stack, "GET", "/api/me", t), 401, "unauthorized")
    assert_problem(login(stack, name, pw), 401, "unauthorized")
    assert api(stack, "PATCH", f"/api/users/{uid}", admin, json={"disabled": False}).status_code == 200
    assert login(stack, name, pw).status_code == 200


# ---- refresh tokens ------------------------------------------------------

def test_refresh_rotates_and_a_reused_token_revokes_the_whole_chain(stack, tokens):
    # an account of its own: a reuse signs the account out everywhere
    uid, name, pw = make_user(stack, tokens["admin"], role="reviewer")
    first = refresh_cookie(login(stack, name, pw))
    r = refresh(stack, first)
    assert r.status_code == 200, r.text
    second = refresh_cookie(r)
    assert second and second != first
    assert api(stack, "GET", "/api/me", r.json()["access_token"]).status_code == 200
    third = refresh_cookie(refresh(stack, second))  # past the grace a second tab gets
    # someone replays the first one: refused, and the chain it started is revoked
    mark = log_mark(stack)
    replay = refresh(stack, first)
    assert_problem(replay, 401, "unauthorized")
    assert "Max-Age=0" in replay.headers["Set-Cookie"]
    assert_problem(refresh(stack, third), 401, "unauthorized")
    # logged once, by the replay's own request, naming the account
    reused = log_events(stack, "refresh_reused", since=mark)
    assert [e["request_id"] for e in reused] == [replay.headers["X-Request-Id"]]
    assert reused[0]["user_id"] == str(r.json()["user"]["id"])


def test_logout_revokes_the_refresh_token(stack):
    cookie = refresh_cookie(login(stack, "yanluo"))
    r = requests.post(stack.url + "/api/auth/logout",
                      headers={"Cookie": f"portal_refresh={cookie}"})
    assert r.status_code == 204 and "Max-Age=0" in r.headers["Set-Cookie"]
    assert_problem(refresh(stack, cookie), 401, "unauthorized")


def test_refresh_without_or_with_a_made_up_cookie_is_401(stack):
    assert_problem(requests.post(stack.url + "/api/auth/refresh"), 401, "unauthorized")
    assert_problem(refresh(stack, "A" * 43), 401, "unauthorized")
    assert_problem(refresh(stack, "short"), 401, "unauthorized")


def test_a_password_change_ends_refresh_chains(stack, tokens):
    uid, name, pw = make_user(stack, tokens["admin"], role="reviewer")
    cookie = refresh_cookie(login(stack, name, pw))
    assert api(stack, "PATCH", f"/api/users/{uid}", tokens["admin"],
               json={"password": "another-long-password"}).status_code == 200
    assert_problem(refresh(stack, cookie), 401, "unauthorized")
    assert login(stack, name, "another-long-password").status_code == 200


# ---- sign-in limits ------------------------------------------------------

def fail_until_counted(stack, name, password="wrong-password!"):
    """One counted failure: waits out the slowing (429 with retry_after_ms) first."""
    for _ in range(50):
        r = login(stack, name, password)
        if r.status_code != 429:
            return r
        time.sleep(r.json()["retry_after_ms"] / 1000 + 0.01)
    raise AssertionError("never got past the slowing")


def test_eleventh_wrong_password_is_429_and_the_right_one_waits_for_the_lock_to_end(stack, tokens):
    uid, name, pw = make_user(stack, tokens["admin"], role="reviewer")
    for i in range(10):
        r = fail_until_counted(stack, name)
        assert_problem(r, 401, "unauthorized")
    eleventh = login(stack, name, "wrong-password!")
    assert_problem(eleventh, 429, "too-many-requests")
    assert int(eleventh.headers["Retry-After"]) >= 1
    right = login(stack, name, pw)
    assert_problem(right, 429, "too-many-requests")  # locked: even the right password
    locked = [e for e in log_events(stack, "login_locked") if e["key"] == f"user:{name}"]
    assert len(locked) == 1 and locked[0]["failures"] == 10
    time.sleep(right.json()["retry_after_ms"] / 1000 + 0.1)
    assert login(stack, name, pw).status_code == 200  # the lock ended (4 s in tests)
    ended = [e for e in log_events(stack, "login_lock_ended") if e["key"] == f"user:{name}"]
    assert len(ended) == 1 and ended[0]["ended_at"] == locked[0]["until"]


def test_slowing_starts_after_five_failures(stack, pool, tokens):
    # long enough that no test machine outruns it (a wait never exceeds the lock time)
    pool("--login-slow-delay", "20s", "--login-lock-time", "60s")
    uid, name, pw = make_user(stack, tokens["admin"], role="reviewer")
    for _ in range(4):
        assert login(stack, name, "wrong-password!").status_code == 401
    assert login(stack, name, pw).status_code == 200  # four failures: no wait yet
    for _ in range(5):
        assert login(stack, name, "wrong-password!").status_code == 401
    r = login(stack, name, pw)  # right after the fifth: must wait, and is not checked
    assert_problem(r, 429, "too-many-requests")
    assert 15000 < r.json()["retry_after_ms"] <= 20000
    assert int(r.headers["Retry-After"]) == 20


def login_from(stack, source, username, password):
    conn = http.client.HTTPConnection("127.0.0.1", stack.http_port, timeout=10,
                                      source_address=(source, 0))
    conn.request("POST", "/api/auth/login",
                 body=json.dumps({"username": username, "password": password}),
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    return r.status


def test_one_address_guessing_many_accounts_is_locked(stack, pool):
    pool("--login-address-lock-after", "3", "--login-lock-time", "3s")
    statuses = [login_from(stack, "127.0.0.3", f"guess{i}", "wrong-password!") for i in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert login_from(stack, "127.0.0.3", "shajing", DEMO_PASSWORD) == 429
    assert login_from(stack, "127.0.0.4", "shajing", DEMO_PASSWORD) == 200  # others unaffected
