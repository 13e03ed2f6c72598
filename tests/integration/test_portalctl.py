"""portalctl bootstraps a deployment without SQL by hand: staff accounts and
token-signing keys. Driven against the test stack's database and pool."""
import os
import stat

import pytest

from conftest import api, db_snapshot, header_of, login, portalctl as ctl, sql_rows, street_id


def test_user_add_list_passwd_disable_enable(stack):
    res = ctl(stack, "user", "add", "ctl-editor", "--role", "editor", "--street", "沙井街道",
              "--name", "Ctl Editor", stdin="first-password-1\n")
    assert res.returncode == 0, res.stderr
    assert "added ctl-editor" in res.stdout

    r = login(stack, "ctl-editor", "first-password-1")
    assert r.status_code == 200, r.text
    assert r.json()["user"]["street_id"] == street_id(stack, "沙井街道")
    token = r.json()["access_token"]

    listed = ctl(stack, "user", "list")
    assert listed.returncode == 0, listed.stderr
    line = next(l for l in listed.stdout.splitlines() if " ctl-editor " in l)
    assert "editor" in line and "Ctl Editor" in line and "active" in line

    res = ctl(stack, "user", "passwd", "ctl-editor", stdin="second-password-2\n")
    assert res.returncode == 0, res.stderr
    assert login(stack, "ctl-editor", "first-password-1").status_code == 401
    # a new password signs the account out everywhere: its old access token is refused
    assert api(stack, "GET", "/api/me", token).status_code == 401
    token = login(stack, "ctl-editor", "second-password-2").json()["access_token"]

    res = ctl(stack, "user", "disable", "ctl-editor")
    assert res.returncode == 0 and "disabled ctl-editor" in res.stdout, res.stderr
    assert api(stack, "GET", "/api/me", token).status_code == 401
    assert login(stack, "ctl-editor", "second-password-2").status_code == 401
    assert "disabled" in next(l for l in ctl(stack, "user", "list").stdout.splitlines()
                              if " ctl-editor " in l)

    res = ctl(stack, "user", "enable", "ctl-editor")
    assert res.returncode == 0, res.stderr
    assert login(stack, "ctl-editor", "second-password-2").status_code == 200

    # every change is in the audit trail, made by the command line
    rows = sql_rows(stack, """SELECT action, actor FROM audit_log a
                                JOIN staff_users u ON u.id = a.entity_id
                               WHERE a.entity = 'staff_users' AND u.username = 'ctl-editor'
                               ORDER BY a.id""")
    assert [r[0] for r in rows] == ["create", "update", "update", "update"]
    assert all("portalctl" in (r[1] or "") for r in rows), rows


@pytest.mark.parametrize("args,stdin,why", [
    (("user", "add", "ctl-x", "--role", "editor"), "a-long-password\n", "street"),
    (("user", "add", "ctl-x", "--role", "editor", "--street", "nowhere"), "a-long-password\n",
     "street"),
    (("user", "add", "ctl-x", "--role", "reviewer", "--street", "沙井街道"), "a-long-password\n",
     "street"),
    (("user", "add", "ctl-x", "--role", "boss"), "a-long-password\n", "role"),
    (("user", "add", "admin", "--role", "admin"), "a-long-password\n", "exists"),
    (("user", "add", "ctl-x", "--role", "admin"), "short\n", "password"),
    (("user", "add", "ctl-x", "--role", "admin"), "", "password"),
    (("user", "add", "ctl-x"), "a-long-password\n", "usage"),
    (("user", "passwd", "nobody-here"), "a-long-password\n", "no account"),
    (("user", "disable", "nobody-here"), "", "no account"),
    (("user", "frobnicate"), "", "usage"),
])
def test_bad_user_commands_fail_clearly_and_change_nothing(stack, args, stdin, why):
    before = db_snapshot(stack)
    res = ctl(stack, *args, stdin=stdin)
    assert res.returncode != 0
    assert why in res.stderr.lower(), res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr  # one clear line
    assert db_snapshot(stack) == before


def test_the_application_role_cannot_manage_accounts(stack):
    before = db_snapshot(stack)
    res = ctl(stack, "user", "add", "ctl-app", "--role", "admin", stdin="a-long-password\n",
              user="portal_app")
    assert res.returncode != 0
    assert db_snapshot(stack) == before


@pytest.mark.parametrize("alg", ["hs256", "rs256", "es256"])
def test_key_generate_writes_private_files_the_pool_accepts(stack, pool, tmp_path, alg):
    keys = tmp_path / "keys"
    res = ctl(stack, "key", "generate", "--dir", str(keys), "--alg", alg, "--kid", "new1")
    assert res.returncode == 0, res.stderr
    key = keys / f"new1.{alg}.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    if alg == "hs256":
        assert key.stat().st_size >= 32
    else:
        assert key.read_text().startswith("-----BEGIN")
        pub = keys / f"new1.{alg}.pub"
        assert "PUBLIC KEY" in pub.read_text()
    # the same kid again is refused, and the key on disk is kept
    data = key.read_bytes()
    again = ctl(stack, "key", "generate", "--dir", str(keys), "--alg", alg, "--kid", "new1")
    assert again.returncode != 0 and "exists" in again.stderr, again.stderr
    assert key.read_bytes() == data

    # a pool started on the new directory signs with it
    pool("--jwt-keys", str(keys), "--jwt-signing-key", "new1")
    r = login(stack, "reviewer", "portal-demo")
    assert r.status_code == 200, r.text
    header = header_of(r.json()["access_token"])
    assert header == {"alg": alg.upper(), "kid": "new1", "typ": "JWT"}
    assert api(stack, "GET", "/api/me", r.json()["access_token"]).status_code == 200


@pytest.mark.parametrize("args", [
    ("key", "generate", "--dir", "/tmp/portal-ctl-x", "--alg", "hs512"),
    ("key", "generate", "--dir", "/tmp/portal-ctl-x", "--kid", "bad.kid"),
    ("key", "generate"),
])
def test_bad_key_commands_fail_clearly(stack, args):
    res = ctl(stack, *args)
    assert res.returncode != 0
    assert res.stderr.strip(), "no reason given"
    assert not os.path.exists("/tmp/portal-ctl-x") or not os.listdir("/tmp/portal-ctl-x")
