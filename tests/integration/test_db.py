"""The database side: restarts, migrations, roles."""
import os
import subprocess
import time

import psycopg2
import requests

from conftest import ROOT, assert_problem, stackmod


def test_postgres_restart_gives_503_then_recovers_without_a_pool_restart(stack):
    pool_pid = stack.pool.pid
    assert requests.get(stack.url + "/readyz").status_code == 200
    stack.stop_postgres()
    try:
        for _ in range(8):  # every worker, including ones holding a dead connection
            assert_problem(requests.get(stack.url + "/readyz"), 503, "database-unavailable")
        assert requests.get(stack.url + "/healthz").status_code == 200
    finally:
        stack.start_postgres()
    deadline = time.time() + 5
    codes = []
    while time.time() < deadline:
        codes = [requests.get(stack.url + "/readyz").status_code for _ in range(8)]
        if codes == [200] * 8:
            break
        time.sleep(0.1)
    assert codes == [200] * 8
    assert stack.pool.pid == pool_pid and stack.pool.poll() is None


def portalctl(stack, *args):
    return subprocess.run([os.path.join(stackmod.build_dir(), "portalctl"), "--database-url",
                           stack.dsn("portal_owner"), *args], capture_output=True, text=True)


def test_migrate_status_lists_applied_migrations(stack):
    res = portalctl(stack, "migrate", "--status")
    assert res.returncode == 0, res.stderr
    assert "0001_places" in res.stdout and "applied" in res.stdout
    assert "pending" not in res.stdout


def test_migrate_again_applies_nothing(stack):
    res = portalctl(stack, "migrate")
    assert res.returncode == 0
    assert "0 migrations applied" in res.stdout


def test_migrate_refuses_when_an_applied_file_was_edited(stack):
    conn = psycopg2.connect(stack.dsn("portal_owner"))
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SELECT checksum FROM schema_migrations WHERE version = 1")
    original = cur.fetchone()[0]
    cur.execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
    try:
        res = portalctl(stack, "migrate")
        assert res.returncode == 1
        assert "edited" in res.stderr and res.stderr.count("\n") == 1
        status = portalctl(stack, "migrate", "--status")
        assert status.returncode == 1 and "EDITED" in status.stdout
    finally:
        cur.execute("UPDATE schema_migrations SET checksum = %s WHERE version = 1", (original,))
        conn.close()


def test_application_role_owns_nothing_and_cannot_bypass_rls(stack):
    conn = psycopg2.connect(stack.dsn("postgres"))
    cur = conn.cursor()
    cur.execute("SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles "
                "WHERE rolname = 'portal_app'")
    assert cur.fetchone() == (False, False, False, False)
    cur.execute("SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
                "WHERE r.rolname = 'portal_app'")
    assert cur.fetchone()[0] == 0
    conn.close()


def test_application_role_cannot_write_the_places_tables(stack):
    conn = psycopg2.connect(stack.dsn("portal_app"))
    cur = conn.cursor()
    try:
        cur.execute("INSERT INTO districts (name) VALUES ('x')")
        raise AssertionError("portal_app could insert into districts")
    except psycopg2.errors.InsufficientPrivilege:
        conn.rollback()
    cur.execute("SELECT count(*) FROM districts")
    assert cur.fetchone()[0] == 1
    conn.close()


def test_demo_data_has_the_district_its_streets_and_the_seed_communities(stack):
    conn = psycopg2.connect(stack.dsn("portal_app"))
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM streets")
    assert cur.fetchone()[0] == 10
    cur.execute("SELECT count(*) FROM communities")
    assert cur.fetchone()[0] == 26
    cur.execute("SELECT c.committee_elected_on::text, c.committee_size, c.secretary_name, s.name "
                "FROM communities c JOIN streets s ON s.id = c.street_id "
                "WHERE c.name = '大王山社区'")
    assert cur.fetchone() == ("2021-01-24", 9, "陈洪发", "沙井街道")
    conn.close()
