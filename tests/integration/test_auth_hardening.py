"""Issue 8, items 4 and 5, on the real stack.

A refresh token used twice signs its account out (its access tokens too),
except for two tabs refreshing at once; a refresh family ends at
refresh-max-age however often it is refreshed. A sign-in attempt is counted
before its password is checked, so concurrent guesses cannot outrun the
lock. nginx limits sign-ins per client network (an IPv6 client by its /64),
as production has it, answering problem+json."""
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import (DEMO_PASSWORD, DEMO_USERS, api, assert_problem, log_events, login,
                      make_user, metric, superuser)
import stack as stackmod

GRACE_S = 2.0  # portald's default refresh-grace, which the session stack keeps


def cookie_of(resp):
    return resp.cookies.get("portal_refresh")


def refresh(stack, cookie):
    return requests.post(stack.url + "/api/auth/refresh",
                         headers={"Cookie": f"portal_refresh={cookie}"}, timeout=10)


def me(stack, access):
    return api(stack, "GET", "/api/me", access)


def signed_in(stack, tokens):
    """A fresh account (a reuse signs its account out everywhere), signed in:
    (name, password, access token, refresh cookie)."""
    uid, name, pw = make_user(stack, tokens["admin"], role="reviewer")
    r = login(stack, name, pw)
    assert r.status_code == 200, r.text
    return name, pw, r.json()["access_token"], cookie_of(r)


def db_one(stack, sql, *args):
    conn = superuser(stack)
    try:
        cur = conn.cursor()
        cur.execute(sql, args)
        return cur.fetchone()
    finally:
        conn.close()


# ---- refresh tokens ------------------------------------------------------

def test_two_tabs_refreshing_with_one_cookie_at_once_both_stay_signed_in(stack, tokens):
    name, pw, access, cookie = signed_in(stack, tokens)
    with ThreadPoolExecutor(2) as pool:
        tabs = list(pool.map(lambda _: refresh(stack, cookie), range(2)))
    assert [t.status_code for t in tabs] == [200, 200], [t.text for t in tabs]
    # one of them traded the cookie; the other got an access token and no cookie
    # of its own, so the browser keeps the one successor
    successors = [cookie_of(t) for t in tabs if cookie_of(t)]
    assert len(successors) == 1 and successors[0] != cookie
    for t in tabs:
        assert me(stack, t.json()["access_token"]).status_code == 200
    assert me(stack, access).status_code == 200
    # the family goes on from the successor: nobody was taken for a thief
    nxt = refresh(stack, successors[0])
    assert nxt.status_code == 200, nxt.text
    assert me(stack, nxt.json()["access_token"]).status_code == 200
    assert not [e for e in log_events(stack, "refresh_reused")
                if e["user_id"] == str(tabs[0].json()["user"]["id"])]


def test_a_token_reused_after_the_grace_ends_the_family_and_its_access_tokens(stack, tokens):
    name, pw, first_access, cookie = signed_in(stack, tokens)
    r = refresh(stack, cookie)
    assert r.status_code == 200, r.text
    successor, earlier_access = cookie_of(r), r.json()["access_token"]
    assert me(stack, earlier_access).status_code == 200
    time.sleep(GRACE_S + 0.3)
    replay = refresh(stack, cookie)  # someone else held the first cookie
    assert_problem(replay, 401, "unauthorized")
    assert "Max-Age=0" in replay.headers["Set-Cookie"]
    assert_problem(refresh(stack, successor), 401, "unauthorized")  # the family is revoked
    # and the account is signed out: access tokens issued from the family
    # before the theft was seen no longer work (they had 15 minutes left)
    assert_problem(me(stack, earlier_access), 401, "unauthorized")
    assert_problem(me(stack, first_access), 401, "unauthorized")
    assert [e for e in log_events(stack, "refresh_reused") if e["user_id"] == str(r.json()["user"]["id"])]
    # the owner signs in again; a second replay of the ended family signs no one out
    again = login(stack, name, pw)
    assert again.status_code == 200
    assert_problem(refresh(stack, cookie), 401, "unauthorized")
    assert me(stack, again.json()["access_token"]).status_code == 200
    assert refresh(stack, cookie_of(again)).status_code == 200


def test_the_grace_covers_only_the_token_just_rotated(stack, tokens):
    name, pw, access, first = signed_in(stack, tokens)
    second = cookie_of(refresh(stack, first))
    third = refresh(stack, second)
    assert third.status_code == 200
    # within a second of its rotation, but its successor has been used since
    assert_problem(refresh(stack, first), 401, "unauthorized")
    assert_problem(me(stack, third.json()["access_token"]), 401, "unauthorized")


def test_a_refresh_family_ends_at_refresh_max_age_however_often_refreshed(stack, pool, tokens):
    pool("--refresh-max-age", "6s")
    uid, name, pw = make_user(stack, tokens["admin"], role="reviewer")
    started = time.monotonic()
    r = login(stack, name, pw)
    signed_in_by = time.monotonic()
    assert r.status_code == 200
    assert "Max-Age=6;" in r.headers["Set-Cookie"]
    cookie = cookie_of(r)
    for at in (2.0, 4.0):  # refreshed, still inside the six seconds
        time.sleep(max(0.0, started + at - time.monotonic()))
        r = refresh(stack, cookie)
        assert r.status_code == 200, r.text
        max_age = int(r.headers["Set-Cookie"].split("Max-Age=")[1].split(";")[0])
        assert 1 <= max_age <= 6 - at + 0.5  # the cookie ends with the family
        cookie = cookie_of(r)
    time.sleep(max(0.0, signed_in_by + 6.3 - time.monotonic()))
    assert_problem(refresh(stack, cookie), 401, "unauthorized")


# ---- sign-in limits ------------------------------------------------------

def test_concurrent_wrong_passwords_are_checked_at_most_lock_after_times(stack, pool, tokens):
    # no slowing, so only the lock stops guesses; more workers than the lock
    # allows guesses, so every one of them can have a guess in flight
    pool("--login-slow-delay", "0ms", "--login-lock-time", "60s", workers=8)
    uid, name, pw = make_user(stack, tokens["admin"], role="reviewer")
    checks_before = metric(stack, "portal_password_checks_total") or 0
    with ThreadPoolExecutor(24) as ex:
        statuses = list(ex.map(lambda _: login(stack, name, "wrong-password!").status_code,
                               range(24)))
    answered_401 = statuses.count(401)
    assert answered_401 <= 10, statuses  # login-lock-after
    assert answered_401 == 10 and statuses.count(429) == 14, statuses
    # what ran, seen apart from the answers: the pool's count of Argon2 checks,
    # and the failures the database recorded
    assert metric(stack, "portal_password_checks_total") - checks_before == 10
    failures, = db_one(stack, "SELECT failures FROM login_throttle WHERE key = %s",
                       f"user:{name}")
    assert failures == 10
    assert_problem(login(stack, name, pw), 429, "too-many-requests")  # locked


def test_an_ended_lock_locks_again_after_as_many_failures(stack, pool, tokens):
    # failures are remembered for the lock time: long enough for two checks on a busy machine
    pool("--login-lock-after", "2", "--login-slow-after", "100", "--login-lock-time", "3s")
    uid, name, pw = make_user(stack, tokens["admin"], role="reviewer")
    assert [login(stack, name, "wrong-password!").status_code for _ in range(3)] == [401, 401, 429]
    time.sleep(3.2)
    assert [login(stack, name, "wrong-password!").status_code for _ in range(3)] == [401, 401, 429]
    assert_problem(login(stack, name, pw), 429, "too-many-requests")


def test_good_sign_ins_give_their_attempt_back_to_the_address(stack, pool, production_nginx):
    pool("--login-address-lock-after", "3")
    statuses = [login_as(stack, "127.0.0.9", DEMO_USERS[i % 4], DEMO_PASSWORD).status_code
                for i in range(6)]
    assert statuses == [200] * 6
    assert db_one(stack, "SELECT failures FROM login_throttle WHERE key = 'addr:127.0.0.9'") \
        in (None, (0,))


# ---- nginx's limit, as production has it ----------------------------------

def login_as(stack, client, username, password):
    """A sign-in from client: the address the test nginx takes from X-Real-IP
    (ignored elsewhere: without realip, the header is nobody's address)."""
    return requests.post(stack.url + "/api/auth/login", headers={"X-Real-IP": client},
                         json={"username": username, "password": password}, timeout=30)


def empty_login_as(stack, client):
    """The cheapest request the limit counts: the pool refuses it (422) before any Argon2."""
    return requests.post(stack.url + "/api/auth/login", headers={"X-Real-IP": client},
                         json={}, timeout=30).status_code


@pytest.fixture
def production_nginx(stack):
    """nginx with the sign-in limit production has (stack.LOGIN_LIMIT, the
    default) and clients' addresses taken from X-Real-IP, so a test can be
    many clients, IPv6 ones too."""
    saved = stack.login_limit
    stack.stop_nginx()
    stack.login_limit = stackmod.LOGIN_LIMIT
    stack.start_nginx(extra="set_real_ip_from 127.0.0.1; real_ip_header X-Real-IP;")
    yield stack
    stack.stop_nginx()
    stack.login_limit = saved
    stack.start_nginx()


def assert_nginx_429(resp):
    body = assert_problem(resp, 429, "too-many-requests")
    assert "retry_after_ms" not in body  # nginx's answer: the pool never saw it
    assert resp.headers["Retry-After"] == str(stackmod.LOGIN_LIMIT[2])


def test_the_production_limit_lets_an_office_sign_in_at_once_and_stops_a_flood(
        stack, production_nginx):
    assert stackmod.Stack("/nonexistent").login_limit == stackmod.LOGIN_LIMIT  # the default
    office = "198.51.100.7"
    with ThreadPoolExecutor(20) as ex:
        signed = list(ex.map(lambda i: login_as(stack, office, DEMO_USERS[i % 4], DEMO_PASSWORD),
                             range(20)))
    assert [r.status_code for r in signed] == [200] * 20, [r.text for r in signed if r.status_code != 200]
    # a flood from another address: the burst (30) and the first one pass, then 429
    started = time.monotonic()
    with ThreadPoolExecutor(40) as ex:
        statuses = list(ex.map(lambda _: empty_login_as(stack, "198.51.100.8"), range(40)))
    elapsed = time.monotonic() - started
    passed = statuses.count(422)
    assert statuses.count(429) + passed == 40
    assert 31 <= passed <= 31 + int(elapsed) + 1, (passed, elapsed)  # 1 r/s refills
    flood = requests.post(stack.url + "/api/auth/login", headers={"X-Real-IP": "198.51.100.8"},
                          json={}, timeout=10)
    assert_nginx_429(flood)


def test_nginx_counts_an_ipv6_client_by_its_64_and_a_mapped_ipv4_one_as_ipv4(stack, production_nginx):
    with ThreadPoolExecutor(40) as ex:
        statuses = list(ex.map(lambda _: empty_login_as(stack, "2001:db8:1:2::a"), range(40)))
    assert 429 in statuses
    # another address of the same /64 is the same client; the next /64 is not
    assert_nginx_429(requests.post(stack.url + "/api/auth/login", json={}, timeout=10,
                                   headers={"X-Real-IP": "2001:db8:1:2:ffff:1:2:3"}))
    assert empty_login_as(stack, "2001:db8:1:3::a") == 422
    # an IPv4-mapped address is its IPv4 client
    with ThreadPoolExecutor(40) as ex:
        statuses = list(ex.map(lambda _: empty_login_as(stack, "::ffff:203.0.113.9"), range(40)))
    assert 429 in statuses
    assert_nginx_429(requests.post(stack.url + "/api/auth/login", json={}, timeout=10,
                                   headers={"X-Real-IP": "203.0.113.9"}))


def test_portald_counts_an_ipv6_clients_failures_by_its_64(stack, pool, production_nginx):
    pool("--login-address-lock-after", "3", "--login-lock-time", "30s")
    for i, client in enumerate(("2001:db8:5:6::1", "2001:db8:5:6::2", "2001:db8:5:6:a:b:c:d")):
        assert_problem(login_as(stack, client, f"nobody{i}", "wrong-password!"), 401)
    failures, = db_one(stack, "SELECT failures FROM login_throttle WHERE key = %s",
                       "addr:2001:db8:5:6::/64")
    assert failures == 3
    locked = login_as(stack, "2001:db8:5:6::99", "shajing", DEMO_PASSWORD)
    body = assert_problem(locked, 429, "too-many-requests")
    assert "retry_after_ms" in body  # the pool's lock, not nginx's limit
    assert login_as(stack, "2001:db8:5:7::1", "shajing", DEMO_PASSWORD).status_code == 200
    # an IPv4 client, and one behind an IPv4-mapped address, are their IPv4 address
    assert_problem(login_as(stack, "192.0.2.1", "nobody", "wrong-password!"), 401)
    assert_problem(login_as(stack, "::ffff:192.0.2.1", "nobody", "wrong-password!"), 401)
    assert db_one(stack, "SELECT failures FROM login_throttle WHERE key = 'addr:192.0.2.1'") \
        == (2,)
