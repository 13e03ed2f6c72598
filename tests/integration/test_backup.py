"""Backups that restore: `portalctl backup` of a running portal, `portalctl
restore` into a fresh cluster, and the restored portal the same: every row,
every photo's bytes, and the edition's pages as readers get them."""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from contextlib import closing

import psycopg2
import pytest
import requests

from conftest import DEFAULT_POOL_ARGS, sql_value, stackmod

PAGES = ("/editions/13", "/api/public/editions/13", "/api/public/editions/13/results")


def ctl(stack, *args, user="postgres"):
    return subprocess.run([os.path.join(stackmod.build_dir(), "portalctl"), "--database-url",
                           stack.dsn(user)] + list(args), capture_output=True, text=True,
                          timeout=120)


def every_row(stack):
    """{table: [row as JSON text, sorted]} of every table of the public schema,
    and {sha256: sha256 of the stored bytes} of the photos."""
    with closing(psycopg2.connect(stack.dsn("postgres"))) as conn, conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        tables = [r[0] for r in cur.fetchall()]
        rows = {}
        for t in tables:
            cur.execute(f'SELECT to_jsonb(x)::text FROM "{t}" x ORDER BY 1')
            rows[t] = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT sha256, bytes FROM photo_blobs")
        photos = {name: hashlib.sha256(bytes(data)).hexdigest() for name, data in cur.fetchall()}
    return rows, photos


def pages(stack):
    out = {}
    for path in PAGES:
        r = requests.get(stack.url + path, timeout=10)
        assert r.status_code == 200, (path, r.text)
        out[path] = r.content
    return out


@pytest.fixture
def two_stacks():
    bases = [tempfile.mkdtemp(prefix="portal-backup-", dir="/tmp") for _ in range(2)]
    for b in bases:
        os.chmod(b, 0o755)  # the postgres user makes its cluster inside
    made = [stackmod.Stack(b, http_port=stackmod.free_port(), workers=2, durable=False,
                           portald_args=DEFAULT_POOL_ARGS) for b in bases]
    yield made
    for s in made:
        s.stop()
    for b in bases:
        shutil.rmtree(b, ignore_errors=True)


def test_a_backup_restores_into_a_fresh_cluster_with_the_same_rows_photos_and_pages(two_stacks):
    source, fresh = two_stacks
    source.start(demo=True)
    # a vote, so the backup holds more than the demo (the case found in the
    # database: nginx has kept no public answer from before the vote)
    voter = requests.post(source.url + "/api/public/voter", timeout=10)
    case = sql_value(source, "SELECT min(c.id) FROM cases c JOIN editions e ON e.id = c.edition_id "
                     "WHERE e.number = 13")
    vote = requests.post(f"{source.url}/api/public/cases/{case}/votes",
                         json={"choice": "满意"}, timeout=10,
                         headers={"Cookie": f"portal_voter={voter.cookies['portal_voter']}"})
    assert vote.status_code == 201, vote.text

    dump_dir = os.path.join(source.base, "backups")
    os.makedirs(dump_dir)
    os.chmod(dump_dir, 0o777)  # pg_dump writes as whoever runs portalctl
    refused = ctl(source, "backup", "--dir", dump_dir, user="portal_owner")
    assert refused.returncode != 0 and "superuser" in refused.stderr, refused.stderr
    made = ctl(source, "backup", "--dir", dump_dir, "--keep", "2")
    assert made.returncode == 0, made.stderr
    dumps = sorted(os.listdir(dump_dir))
    assert len(dumps) == 1 and dumps[0].startswith("portal-") and dumps[0].endswith(".dump"), dumps
    dump = os.path.join(dump_dir, dumps[0])
    before_rows, before_photos = every_row(source)
    before_pages = pages(source)
    assert before_photos and before_rows["votes"]
    counted = json.loads(before_pages["/api/public/editions/13"])["cases"]
    assert sum(sum(c["votes"].values()) for c in counted) == 1, counted
    source.stop()

    # a fresh cluster: the roles and the empty database, then the backup
    fresh.init_postgres()
    fresh.start_postgres()
    fresh.bootstrap()
    restored = ctl(fresh, "restore", "--file", dump)
    assert restored.returncode == 0, restored.stderr
    assert "schema version" in restored.stdout, restored.stdout
    again = ctl(fresh, "restore", "--file", dump)
    assert again.returncode != 0 and "not empty" in again.stderr, again.stderr
    status = ctl(fresh, "migrate", "--status", user="portal_owner")
    assert status.returncode == 0 and "pending" not in status.stdout.lower(), status.stdout

    after_rows, after_photos = every_row(fresh)
    assert after_rows.keys() == before_rows.keys()
    for table in before_rows:
        assert after_rows[table] == before_rows[table], table
    assert after_photos == before_photos
    assert all(name == digest for name, digest in after_photos.items()), "photo bytes changed"

    fresh.start_pool()
    fresh.start_nginx()
    fresh.wait_ready()
    assert pages(fresh) == before_pages
    # and the photos as readers fetch them: the bytes their names promise
    edition = requests.get(fresh.url + "/api/public/editions/13", timeout=10).json()
    urls = [p["url"] for c in edition["cases"] for p in c.get("photos", [])]
    assert urls, edition
    for url in urls:
        r = requests.get(fresh.url + url, timeout=10)
        assert r.status_code == 200, url
        assert hashlib.sha256(r.content).hexdigest() == url.rsplit("/", 1)[1]
