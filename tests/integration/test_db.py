"""The database side: restarts, migrations, roles."""
import threading
from contextlib import closing

import psycopg2
import pytest
import requests

from conftest import (assert_problem, portalctl, request_log, wait_until, wait_workers,
                      worker_pids)


def readyz_by_worker(stack, workers, timeout=20):
    """Sends /readyz, a few at a time so that every worker gets some, until each
    of workers has answered at least once; returns {pid: [status, ...]}, each
    answer's worker found by its request id in the log."""
    answered = {}
    lock = threading.Lock()

    def one():
        r = requests.get(stack.url + "/readyz", timeout=10)
        line = request_log(stack, r.headers["X-Request-Id"])
        assert line["status"] == r.status_code
        with lock:
            answered.setdefault(line["pid"], []).append(r.status_code)

    def a_round():
        threads = [threading.Thread(target=one) for _ in range(2 * len(workers))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return set(workers) <= set(answered)

    wait_until(a_round, timeout, f"every worker of {sorted(workers)} to answer", interval=0)
    return answered


def test_postgres_restart_gives_503_then_recovers_without_a_pool_restart(stack):
    pool_pid = stack.pool.pid
    workers = wait_workers(stack, stack.workers)
    before = readyz_by_worker(stack, workers)  # every worker holds a connection now
    assert {s for codes in before.values() for s in codes} == {200}, before
    stack.stop_postgres()
    try:
        # every worker, each holding a dead connection, answers 503
        down = readyz_by_worker(stack, workers)
        assert {s for codes in down.values() for s in codes} == {503}, down
        assert_problem(requests.get(stack.url + "/readyz"), 503, "database-unavailable")
        assert requests.get(stack.url + "/healthz").status_code == 200
    finally:
        stack.start_postgres()
    # once the database is back, every worker serves from it again (a worker may
    # answer 503 for a moment while it waits out its retry delay)
    wait_until(lambda: all(codes[-1] == 200 for codes in
                           readyz_by_worker(stack, workers).values()),
               20, "every worker to answer 200 again")
    after = readyz_by_worker(stack, workers)
    assert {s for codes in after.values() for s in codes} == {200}, after
    # the same pool and the same workers: nothing was restarted to get there
    assert stack.pool.pid == pool_pid and stack.pool.poll() is None
    assert worker_pids(stack) == workers


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
    with closing(psycopg2.connect(stack.dsn("portal_owner"))) as conn:
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
            cur.execute("UPDATE schema_migrations SET checksum = %s WHERE version = 1",
                        (original,))


def test_application_role_owns_nothing_and_cannot_bypass_rls(stack):
    with closing(psycopg2.connect(stack.dsn("postgres"))) as conn, conn.cursor() as cur:
        cur.execute("SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles "
                    "WHERE rolname = 'portal_app'")
        assert cur.fetchone() == (False, False, False, False)
        cur.execute("SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
                    "WHERE r.rolname = 'portal_app'")
        assert cur.fetchone()[0] == 0


def test_application_role_cannot_write_the_places_tables(stack):
    with closing(psycopg2.connect(stack.dsn("portal_app"))) as conn, conn.cursor() as cur:
        with pytest.raises(psycopg2.errors.InsufficientPrivilege) as refused:
            cur.execute("INSERT INTO districts (name) VALUES ('x')")
        assert refused.value.diag.message_primary == "permission denied for table districts"
        conn.rollback()
        cur.execute("SELECT count(*) FROM districts")
        assert cur.fetchone()[0] == 1


def test_demo_data_has_the_district_its_streets_and_the_seed_communities(stack):
    with closing(psycopg2.connect(stack.dsn("portal_app"))) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM streets")
        assert cur.fetchone()[0] == 10
        cur.execute("SELECT count(*) FROM communities")
        assert cur.fetchone()[0] == 26
        cur.execute("SELECT c.committee_elected_on::text, c.committee_size, c.secretary_name, "
                    "s.name FROM communities c JOIN streets s ON s.id = c.street_id "
                    "WHERE c.name = '大王山社区'")
        assert cur.fetchone() == ("2021-01-24", 9, "陈洪发", "沙井街道")
