"""Running it for real: what `make install` puts on a server (systemd units
that systemd-analyze finds clean and hardened, the samples), log files that
rotate without losing or splitting a line, and nginx's TLS listener."""
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading

import pytest
import requests

from conftest import ROOT, stackmod, wait_until

UNITS = ("portald.service", "portal-backup.service", "portal-backup.timer")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """`make install DESTDIR=…` of this build, with what systemd-analyze
    needs to judge the units inside it as a root: the system's targets and
    /bin/sh (the unit's ExecReload)."""
    dest = tmp_path_factory.mktemp("destdir")
    build = os.environ.get("PORTAL_BUILD", "build/default")
    res = subprocess.run(["make", "-s", "--no-print-directory", "install", f"DESTDIR={dest}",
                          f"BUILD={build}"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    units = dest / "lib/systemd/system"
    for target in glob.glob("/lib/systemd/system/*.target"):
        shutil.copy(target, units)
    (dest / "bin").mkdir(exist_ok=True)
    shutil.copy("/bin/sh", dest / "bin/sh")
    return dest


def test_make_install_puts_the_units_samples_and_nginx_include_in_place(installed):
    share = installed / "usr/local/share/portal"
    for path in ("usr/local/bin/portald", "usr/local/bin/portalctl",
                 "usr/lib/sysusers.d/portal.conf") + tuple(f"lib/systemd/system/{u}"
                                                           for u in UNITS):
        assert (installed / path).is_file(), path
    for name in ("portald.conf", "logrotate.conf", "bootstrap.sql", "openapi.json",
                 "nginx/portal.conf", "nginx/tls.conf", "nginx/portal-tls.conf"):
        assert (share / name).is_file(), name
    unit = (installed / "lib/systemd/system/portald.service").read_text()
    assert "ExecStart=/usr/local/bin/portald --config /etc/portal/portald.conf" in unit
    assert re.search(r"^User=portal$", unit, re.M)
    assert "@" not in unit.replace("@system-service", "").replace("@privileged", "") \
        .replace("@resources", ""), "a placeholder left in the unit"
    # the stop waits longer than portald's own shutdown-timeout (15s)
    stop = int(re.search(r"^TimeoutStopSec=(\d+)s$", unit, re.M).group(1))
    assert stop > 15
    # the sample is a valid configuration (with keys of its own)
    keys = installed / "keys"
    keys.mkdir()
    ctl = str(installed / "usr/local/bin/portalctl")
    subprocess.run([ctl, "key", "generate", "--dir", str(keys)], check=True, capture_output=True)
    subprocess.run([ctl, "key", "voter", "--file", str(installed / "voter.secret")], check=True,
                   capture_output=True)
    check = subprocess.run([str(installed / "usr/local/bin/portald"), "--check-config",
                            "--config", str(share / "portald.conf"), "--jwt-keys", str(keys),
                            "--voter-key", str(installed / "voter.secret")],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    assert "listen = unix:/run/portald/portald.sock" in check.stdout


def test_systemd_analyze_verify_finds_nothing_wrong(installed):
    res = subprocess.run(["systemd-analyze", "verify", f"--root={installed}"] + list(UNITS),
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stderr.strip() == "" and res.stdout.strip() == "", \
        res.stdout + res.stderr


@pytest.mark.parametrize("unit", ["portald.service", "portal-backup.service"])
def test_the_services_are_hardened_to_an_exposure_of_2_or_less(installed, unit):
    res = subprocess.run(["systemd-analyze", "security", "--offline=true", f"--root={installed}",
                          "--threshold=20", "--no-pager", unit],
                         capture_output=True, text=True, timeout=60)
    score = re.search(rf"Overall exposure level for {re.escape(unit)}: ([0-9.]+)", res.stdout)
    assert score, res.stdout + res.stderr
    assert float(score.group(1)) <= 2.0, res.stdout
    assert res.returncode == 0, res.stdout + res.stderr  # --threshold=20 is 2.0


# ---- log files --------------------------------------------------------------
def read_lines(path):
    with open(path, "rb") as f:
        return f.read().decode().splitlines()


def test_a_rotated_log_loses_and_splits_no_line(stack, pool, tmp_path):
    log = tmp_path / "portald.log"
    rotated = tmp_path / "portald.log.1"
    master = pool("--log-file", str(log), workers=4)
    wait_until(lambda: log.exists() and "worker_started" in log.read_text(), 5, "the log file")

    ids, failures, stop = [], [], threading.Event()

    def load():
        with requests.Session() as s:
            while not stop.is_set():
                r = s.get(stack.url + "/healthz", timeout=10)
                if r.status_code != 200:
                    failures.append(r.status_code)
                ids.append(r.headers["X-Request-Id"])

    threads = [threading.Thread(target=load) for _ in range(6)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: len(ids) > 200, 20, "requests before the rotation")
        os.rename(log, rotated)  # as logrotate does, then its postrotate:
        os.kill(master.pid, signal.SIGUSR1)
        wait_until(lambda: log.exists() and "log_reopened" in log.read_text(), 5,
                   "the master's first line in the new file")
        before = len(ids)
        wait_until(lambda: len(ids) > before + 200, 20, "requests after the rotation")
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not failures

    # every line whole (one JSON object), every request's line exactly once
    old, new = read_lines(rotated), read_lines(log)
    records = [json.loads(line) for line in old + new]
    logged = [r["request_id"] for r in records
              if r.get("event") == "request" and r["path"] == "/healthz"]
    assert sorted(logged) == sorted(ids)
    assert any(r.get("event") == "request" for r in map(json.loads, new)), "nothing in the new file"

    # once every worker has taken the signal, everything goes to the new file
    after = [requests.get(stack.url + "/healthz", timeout=10).headers["X-Request-Id"]
             for _ in range(40)]
    in_new = {json.loads(line).get("request_id") for line in read_lines(log)}
    in_old = {json.loads(line).get("request_id") for line in read_lines(rotated)}
    assert set(after) <= in_new and not set(after) & in_old


def test_a_log_file_that_cannot_be_opened_stops_the_start_with_one_line(stack, tmp_path):
    res = subprocess.run([os.path.join(stackmod.build_dir(), "portald"), "--listen",
                          f"unix:{tmp_path}/x.sock", "--log-file", str(tmp_path / "no/such/x.log"),
                          "--database-url", stack.dsn("portal_app")] + stack.ensure_keys(),
                         capture_output=True, text=True, timeout=10)
    assert res.returncode != 0
    assert res.stderr.count("\n") == 1 and "log-file" in res.stderr, res.stderr


# ---- TLS ------------------------------------------------------------------------
@pytest.fixture
def tls_nginx(stack):
    """The shared stack's nginx with tls.conf on a free loopback port and a
    self-signed certificate made by openssl."""
    stack.stop_nginx()
    stack.tls_port = stackmod.free_port()
    try:
        stack.start_nginx()
        yield f"https://127.0.0.1:{stack.tls_port}"
    finally:
        stack.stop_nginx()
        stack.tls_port = None
        stack.start_nginx()


def test_tls_serves_the_site_with_strict_transport_security(stack, tls_nginx):
    hsts = "max-age=63072000; includeSubDomains"
    for path, status in (("/", 200), ("/api/public/editions/13", 200), ("/healthz", 200),
                         ("/console/", 200),
                         ("/static/no-such-file.css", 404), ("/api/public/cases/999999999", 404)):
        r = requests.get(tls_nginx + path, verify=stack.tls_cert, timeout=10)
        assert r.status_code == status, (path, r.text)
        assert r.headers.get("Strict-Transport-Security") == hsts, (path, r.headers)
        assert r.headers.get("X-Content-Type-Options") == "nosniff", path
        plain = requests.get(stack.url + path, timeout=10)
        assert plain.status_code == status
        assert "Strict-Transport-Security" not in plain.headers, path  # never over plain HTTP
    # nothing older than TLS 1.2
    old = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{stack.tls_port}",
                          "-tls1_1"], input="", capture_output=True, text=True, timeout=10)
    assert old.returncode != 0


# ---- the unit's system call filter, against what portald really calls ----------
def unit_setting(unit_text, name):
    return [line.split("=", 1)[1] for line in unit_text.splitlines()
            if line.startswith(name + "=")]


def syscall_set(entries):
    """The system calls a list of names and @groups stands for (groups expanded
    by systemd-analyze, nested ones too)."""
    names = set()
    for entry in entries:
        if not entry.startswith("@"):
            names.add(entry)
            continue
        out = subprocess.run(["systemd-analyze", "syscall-filter", entry], capture_output=True,
                             text=True, check=True).stdout
        nested = [l.strip() for l in out.splitlines()[1:]
                  if l.strip() and not l.strip().startswith("#")]
        names |= syscall_set(nested)
    return names


def test_the_unit_allows_every_system_call_portald_makes(installed, tmp_path, monkeypatch):
    """portald under strace (a build folder whose portald runs the real one
    under it) through start, requests of every kind, a reload, a log
    reopening and a stop: each call is one SystemCallFilter= allows, each
    socket of a family RestrictAddressFamilies= allows. (The units do not run
    here: no systemd as PID 1.)"""
    unit = (installed / "lib/systemd/system/portald.service").read_text()
    allowed, denied = set(), set()
    for value in unit_setting(unit, "SystemCallFilter"):
        if value.startswith("~"):
            denied |= syscall_set(value[1:].split())
        else:
            allowed |= syscall_set(value.split())
    families = set(unit_setting(unit, "RestrictAddressFamilies")[0].split())

    real = os.path.join(stackmod.build_dir(), "portald")
    build = tmp_path / "build"
    build.mkdir()
    trace = tmp_path / "trace"
    (build / "portald").write_text(
        "#!/bin/sh\n"
        f'case " $* " in *" --check-config "*) exec {real} "$@";; esac\n'
        f'exec strace -f -qq -o {trace} {real} "$@"\n')
    (build / "portald").chmod(0o755)
    os.symlink(os.path.join(stackmod.build_dir(), "portalctl"), build / "portalctl")
    monkeypatch.setenv("PORTAL_BUILD", str(build))
    base = tempfile.mkdtemp(prefix="portal-strace-", dir="/tmp")
    os.chmod(base, 0o755)  # the postgres user makes its cluster inside
    s = stackmod.Stack(base, http_port=stackmod.free_port(), workers=2, durable=False,
                       portald_args=["--log-file", str(tmp_path / "portald.log")])
    masters = []
    try:
        s.start(demo=True)
        for path in ("/readyz", "/", "/editions/13", "/api/public/editions/13", "/metrics"):
            assert requests.get(s.url + path, timeout=30).status_code == 200, path
        login = requests.post(s.url + "/api/auth/login", timeout=30,
                              json={"username": "shajing", "password": "portal-demo"})
        assert login.status_code == 200
        auth = {"Authorization": "Bearer " + login.json()["access_token"]}
        assert requests.get(s.url + "/api/cases", headers=auth, timeout=30).status_code == 200
        voter = requests.post(s.url + "/api/public/voter", timeout=30).cookies["portal_voter"]
        case = requests.get(s.url + "/api/public/editions/13", timeout=30).json()["cases"][0]
        vote = requests.post(f"{s.url}/api/public/cases/{case['id']}/votes", timeout=30,
                             json={"choice": "满意"}, headers={"Cookie": f"portal_voter={voter}"})
        assert vote.status_code == 201, vote.text
        log_text = lambda: (tmp_path / "portald.log").read_text()  # noqa: E731
        with open(f"/proc/{s.pool.pid}/task/{s.pool.pid}/children") as f:
            master = int(f.read().split()[0])  # strace's child
        masters.append(master)
        os.kill(master, signal.SIGHUP)
        wait_until(lambda: log_text().count('"event":"worker_started"') >= 4, 20, "a reload")
        os.kill(master, signal.SIGUSR1)
        wait_until(lambda: "log_reopened" in log_text(), 10, "a reopening")
        assert requests.get(s.url + "/readyz", timeout=30).status_code == 200
        os.kill(master, signal.SIGTERM)
        s.pool.wait(30)  # strace ends with the pool
        assert '"event":"stopped"' in log_text()
    finally:
        if masters and s.pool is not None and s.pool.poll() is None:
            os.kill(masters[0], signal.SIGTERM)  # SIGTERM to strace would leave it running
            s.pool.wait(30)
        s.stop()
        shutil.rmtree(base, ignore_errors=True)
    calls = set(re.findall(r"^\d+ +([a-z0-9_]+)\(", trace.read_text(), re.M))
    assert {"epoll_pwait", "accept", "rt_sigtimedwait", "dup2", "clone"} <= calls, calls
    assert not calls - allowed, f"not allowed by SystemCallFilter: {calls - allowed}"
    assert not calls & denied, f"denied by SystemCallFilter: {calls & denied}"
    used = set(re.findall(r"socket\((AF_[A-Z0-9]+)", trace.read_text()))
    assert used and used <= families, used
