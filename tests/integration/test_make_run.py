"""`make run`, the README's first command, as a person and a supervisor use it."""
import os
import signal
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager

import psycopg2
import pytest
import requests

from conftest import ROOT, stackmod


def processes_mentioning(text):
    """Pids of live processes whose command line names text."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(int(pid))
    return found


def with_children(pids):
    """pids and their children, read before anything is killed."""
    found = list(pids)
    for pid in pids:
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                found += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return found


def postmaster_pid(data):
    try:
        with open(os.path.join(data, "pg", "data", "postmaster.pid")) as f:
            return int(f.readline())
    except (OSError, ValueError):
        return None


def signal_state(pid):
    """The blocked and ignored signal masks of a process, for a failure's message."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return " ".join(l.strip() for l in f if l.startswith(("SigBlk", "SigIgn")))
    except OSError:
        return "gone"


def stack_process_report(make_pid, output):
    """What make's child (the `stack run` Python process) is doing, for a
    failure's message: its state and signal masks, and its threads'
    tracebacks (it prints them on SIGUSR1)."""
    try:
        with open(f"/proc/{make_pid}/task/{make_pid}/children") as f:
            children = [int(c) for c in f.read().split()]
    except OSError:
        return "make is gone"
    lines = []
    for pid in children:
        try:
            with open(f"/proc/{pid}/status") as f:
                lines += [f"{pid}: " + " ".join(
                    l.strip() for l in f if l.startswith(
                        ("Name", "State", "SigBlk", "SigPnd", "ShdPnd", "SigCgt", "SigIgn")))]
            with open(f"/proc/{pid}/wchan") as f:
                lines.append(f"{pid} wchan: {f.read()}")
            os.kill(pid, signal.SIGUSR1)
        except OSError as e:
            lines.append(f"{pid}: {e}")
    time.sleep(1)  # for the tracebacks to reach the output
    return "\n".join(lines) + "\n" + "".join(output)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is gone for our purpose
        return f.read().split(") ")[-1][0] != "Z"


@contextmanager
def make_run(**env):
    """`make run` on a data folder of its own, in a session of its own, its
    output and errors in one pipe: yields (the make process, the folder, its
    environment). Afterwards kills only what it left (what names the folder,
    with children: nginx's workers name none and would outlive a killed
    master) and removes the folder."""
    data = tempfile.mkdtemp(prefix="portal-run-", dir="/tmp")
    os.chmod(data, 0o755)
    env = dict(os.environ, PORTAL_DATA=data, PORTAL_HTTP_PORT=str(stackmod.free_port()),
               PORTAL_WORKERS="2", **env)
    make = ["make", "-s", "--no-print-directory", "run"]
    if os.environ.get("PORTAL_BUILD", "").endswith("sanitize"):
        make.append("SANITIZE=1")
    run = subprocess.Popen(make, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           start_new_session=True)
    try:
        yield run, data, env
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
        for pid in with_children(processes_mentioning(data)):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        pm = postmaster_pid(data)
        if pm and alive(pm):
            os.kill(pm, signal.SIGKILL)
        subprocess.run(["rm", "-rf", data])


def test_a_second_signal_inside_the_first_ones_handler_still_stops():
    """make forwards SIGTERM to its child just as the process group's own
    arrives, and Python runs the second handler inside the first, between
    any two of its statements. The handler once noted the signal and then
    asked whether it was the first, to raise KeyboardInterrupt: both calls
    saw two, neither raised, and `make run` ran on after its SIGTERM (1 CI
    run in 4 failed on it). Now the handler only notes, and the run loop
    looks at the note."""
    code = """
import os, signal, sys, time
sys.path.insert(0, sys.argv[1])
from stack import StopSignals

class SecondSignalOnTheFirstNote(list):
    def append(self, signo):
        super().append(signo)
        if len(self) == 1:
            os.kill(os.getpid(), signal.SIGTERM)

stop = StopSignals()
stop.received = SecondSignalOnTheFirstNote()
stop.install()
os.kill(os.getpid(), signal.SIGTERM)
deadline = time.monotonic() + 10
while not stop and time.monotonic() < deadline:  # as the run loop waits
    time.sleep(0.01)
print("stopping" if stop else "ran on", list(stop.received))
"""
    res = subprocess.run(["/usr/bin/python3", "-c", code, os.path.join(ROOT, "scripts")],
                         capture_output=True, text=True, timeout=30)
    assert res.stdout.strip() == "stopping [15, 15]", res.stdout + res.stderr


def test_a_closed_output_does_not_keep_the_stack_from_stopping():
    """`make run | tee run.log` and Ctrl-C: tee dies of the same Ctrl-C
    first, and the stack's "stopping..." line met a closed pipe. The
    BrokenPipeError skipped the stop, and nginx, the pool and PostgreSQL ran
    on with nobody to stop them (a closed terminal, EIO, did the same)."""
    with make_run() as (run, data, env):
        output = []
        for line in run.stdout:  # ends when the stack gives up starting
            output.append(line)
            if "Stop with Ctrl-C" in line:
                break
        assert "Stop with Ctrl-C" in "".join(output), "".join(output)
        started = with_children(processes_mentioning(data))
        postmaster = postmaster_pid(data)
        assert postmaster is not None and alive(postmaster)
        run.stdout.close()  # the reader is gone, as tee is after the Ctrl-C
        os.killpg(run.pid, signal.SIGTERM)
        run.wait(timeout=90)
        deadline = time.time() + 30
        while time.time() < deadline and (any(alive(p) for p in started) or alive(postmaster)):
            time.sleep(0.1)
        left = [open(f"/proc/{p}/cmdline").read() for p in started if alive(p)]
        assert not left, f"still running after the stop: {left}"
        assert not alive(postmaster), "PostgreSQL was left running"


@pytest.mark.parametrize("signals", [(signal.SIGTERM, signal.SIGTERM),
                                     (signal.SIGINT, signal.SIGINT, signal.SIGTERM)])
def test_signals_during_the_stop_still_stop_everything(signals):
    with make_run() as (run, data, env):
        output = []
        reader = threading.Thread(target=lambda: output.extend(run.stdout), daemon=True)
        reader.start()

        def wait_for(text, timeout):
            deadline = time.time() + timeout
            while text not in "".join(output) and time.time() < deadline and run.poll() is None:
                time.sleep(0.02)
            return text in "".join(output)

        assert wait_for("Stop with Ctrl-C", 120), "".join(output)
        started = set(processes_mentioning(data))
        postmaster = postmaster_pid(data)
        assert postmaster is not None and alive(postmaster)
        assert any("nginx" in open(f"/proc/{p}/cmdline").read() for p in started), started
        assert any("portald" in open(f"/proc/{p}/cmdline").read() for p in started), started

        # A request the pool is still serving when the stop begins (held on
        # a row lock), so the stop is surely under way when more signals come.
        url = f"http://127.0.0.1:{env['PORTAL_HTTP_PORT']}"
        token = requests.post(url + "/api/auth/login", timeout=10,
                              json={"username": "shajing", "password": "portal-demo"}
                              ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        community = requests.get(url + "/api/communities", headers=auth, timeout=10).json()[0]
        case = requests.post(url + "/api/cases", headers=auth, timeout=10,
                             json={"community_id": community["id"], "title": "停止测试"})
        assert case.status_code == 201, case.text
        lock = psycopg2.connect(f"host={data}/pg/sock dbname=portal user=postgres")
        try:
            lock.cursor().execute("SELECT 1 FROM cases WHERE id = %s FOR UPDATE",
                                  (case.json()["id"],))
            held = threading.Thread(target=lambda: requests.patch(
                url + f"/api/cases/{case.json()['id']}", json={"title": "x"}, timeout=30,
                headers=dict(auth, **{"If-Match": case.headers["ETag"]})), daemon=True)
            held.start()
            time.sleep(0.5)  # the PATCH is waiting on the lock in a worker

            # the whole group, as a supervisor or a terminal does; then more
            # of the same while the pool waits for its request
            os.killpg(run.pid, signals[0])
            assert wait_for("stopping...", 60), (
                f"this process: {signal_state(os.getpid())}; make: {signal_state(run.pid)}; "
                f"make's exit status: {run.poll()}; still running: "
                f"{[open(f'/proc/{p}/cmdline').read() for p in processes_mentioning(data)]}\n"
                + stack_process_report(run.pid, output))
            time.sleep(0.3)
            for signo in signals[1:]:
                os.killpg(run.pid, signo)
                time.sleep(0.2)
        finally:
            lock.rollback()
            lock.close()
        # (not communicate(): a process left running would hold the pipe open)
        run.wait(timeout=90)
        deadline = time.time() + 10
        while time.time() < deadline and (any(alive(p) for p in started) or alive(postmaster)):
            time.sleep(0.1)
        left = [p for p in started if alive(p)]
        assert not left, f"still running after the stop: {left}\n{''.join(output)}"
        assert not alive(postmaster), "PostgreSQL was left running"
