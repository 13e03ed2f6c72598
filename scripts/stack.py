#!/usr/bin/python3
"""The local portal stack: a private PostgreSQL cluster, the pool and nginx.

Used three ways:
  scripts/stack run            `make run`: start everything on 127.0.0.1:8080,
                               keep the data under the data folder, stop on
                               Ctrl-C or SIGTERM.
  import stack; Stack(...)     the integration tests and the benchmark: a fresh
                               stack on free loopback ports in a temp folder.

Every process it starts is its own child, stopped by pid; nothing is left
running. PostgreSQL runs as the unprivileged `postgres` user when started as
root (initdb refuses root) and listens only on a unix socket in its folder.
"""
import faulthandler
import hashlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PG_BIN = "/usr/lib/postgresql/15/bin"


def build_dir():
    return os.path.join(ROOT, os.environ.get("PORTAL_BUILD", "build/default"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StackError(RuntimeError):
    pass


class StackStopped(Exception):
    """start() was asked to stop before it was done (and stopped what it had started)."""


# nginx's limit on sign-ins per client network, as production has it (rate,
# burst, Retry-After seconds): see nginx/portal.conf. The tests, which sign in
# far more often from 127.0.0.1, pass a looser one, and test this one.
LOGIN_LIMIT = ("1r/s", 30, 1)
# nginx's limit on votes per client network, as production has it (rate,
# burst): see nginx/portal.conf. Only the benchmark, which floods from
# 127.0.0.1, passes a looser one.
VOTE_LIMIT = ("10r/s", 200)


class Stack:
    def __init__(self, base, http_port=8080, workers=4, durable=True, portald_args=(),
                 quiet=True, key_algs=("hs256",), login_limit=LOGIN_LIMIT, pools=1,
                 tls_port=None, standby=False, vote_limit=VOTE_LIMIT):
        self.base = os.path.abspath(base)
        self.http_port = http_port
        self.workers = workers
        self.durable = durable
        self.portald_args = list(portald_args)
        self.quiet = quiet
        self.pg_dir = os.path.join(self.base, "pg")
        self.pg_data = os.path.join(self.pg_dir, "data")
        self.pg_sock = os.path.join(self.pg_dir, "sock")
        # a streaming read standby of that cluster (standby=True): its own data
        # folder and socket, fed over the primary's local socket only
        self.standby = standby
        self.standby_data = os.path.join(self.pg_dir, "standby")
        self.standby_sock = os.path.join(self.pg_dir, "standby-sock")
        self.run_dir = os.path.join(self.base, "run")
        self.log_dir = os.path.join(self.base, "log")
        # pools: independent pools, each its own master on its own socket, all
        # in nginx's upstream, as separate pool hosts would be. The first is
        # pool_socket / pool_log / pool; the others are numbered from 2.
        self.pools = pools
        self.pool_sockets = [os.path.join(self.run_dir, "portald.sock" if i == 0
                                          else f"portald-{i + 1}.sock") for i in range(pools)]
        self.pool_logs = [os.path.join(self.log_dir, "portald.log" if i == 0
                                       else f"portald-{i + 1}.log") for i in range(pools)]
        self.pool_socket = self.pool_sockets[0]
        self.pool_log = self.pool_logs[0]
        self.pool_procs = [None] * pools
        # tls_port: nginx also serves https there with tls.conf, a self-signed
        # certificate made here (tls_cert, tls_key)
        self.tls_port = tls_port
        self.tls_cert = os.path.join(self.base, "tls", "cert.pem")
        self.tls_key = os.path.join(self.base, "tls", "key.pem")
        self.key_dir = os.path.join(self.base, "keys")
        self.key_algs = key_algs
        self.login_limit = login_limit
        self.vote_limit = vote_limit
        self.nginx = None
        self.as_root = os.geteuid() == 0

    # ---- helpers -------------------------------------------------------
    def say(self, msg):
        if not self.quiet:
            say(msg)

    def _pg_cmd(self, cmd):
        return ["runuser", "-u", "postgres", "--"] + cmd if self.as_root else cmd

    def _owner_to_pg(self, path):
        if self.as_root:
            pw = pwd.getpwnam("postgres")
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def dsn(self, user, db="portal", standby=False):
        return f"host={self.standby_sock if standby else self.pg_sock} dbname={db} user={user}"

    @property
    def url(self):
        return f"http://127.0.0.1:{self.http_port}"

    def psql(self, *args, user="postgres", db="portal", input_text=None, standby=False):
        cmd = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h",
               self.standby_sock if standby else self.pg_sock, "-U", user, "-d", db] + list(args)
        res = subprocess.run(cmd, input=input_text, capture_output=True, text=True)
        if res.returncode != 0:
            raise StackError(f"psql {' '.join(args)} failed: {res.stderr.strip()}")
        return res.stdout

    # ---- PostgreSQL ----------------------------------------------------
    def init_postgres(self):
        if os.path.exists(os.path.join(self.pg_data, "PG_VERSION")):
            return
        for d in (self.pg_dir, self.pg_data, self.pg_sock):
            os.makedirs(d, exist_ok=True)
            os.chmod(d, 0o700)
            self._owner_to_pg(d)
        self.say(f"creating a PostgreSQL cluster in {self.pg_data}")
        subprocess.run(self._pg_cmd([f"{PG_BIN}/initdb", "-D", self.pg_data, "-U", "postgres",
                                     "--auth-local=trust", "--auth-host=reject",
                                     "--encoding=UTF8", "--locale=C.UTF-8"]),
                       check=True, capture_output=True)

    def _pg_start(self, data, sock, log, extra=""):
        opts = (f"-c listen_addresses='' -k {sock} -c unix_socket_permissions=0700 "
                f"-c max_connections=200 -c timezone=UTC" + extra)
        if not self.durable:
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        res = subprocess.run(self._pg_cmd([f"{PG_BIN}/pg_ctl", "-D", data, "-l", log,
                                           "-w", "-t", "60", "-o", opts, "start"]),
                             capture_output=True, text=True)
        if res.returncode != 0:
            raise StackError(f"PostgreSQL did not start: {res.stdout}{res.stderr} (see {log})")

    def _pg_stop(self, data):
        if not os.path.exists(os.path.join(data, "postmaster.pid")):
            return
        subprocess.run(self._pg_cmd([f"{PG_BIN}/pg_ctl", "-D", data, "-m", "fast", "-w",
                                     "-t", "60", "stop"]), capture_output=True)

    def start_postgres(self):
        self._pg_start(self.pg_data, self.pg_sock, os.path.join(self.pg_dir, "postgresql.log"))

    def stop_postgres(self):
        self._pg_stop(self.pg_data)

    # ---- the read standby (standby=True) --------------------------------
    # The primary lets the local socket replicate (initdb's pg_hba.conf:
    # "local replication all trust"; it listens on no TCP address at all),
    # and wal_level is replica by default. The standby is a base backup
    # taken with -R (standby.signal and primary_conninfo written for it),
    # through a physical replication slot, so the primary keeps the WAL a
    # stopped standby has not yet received.
    STANDBY_SLOT = "portal_standby"

    def init_standby(self):
        if os.path.exists(os.path.join(self.standby_data, "PG_VERSION")):
            return
        for d in (self.standby_data, self.standby_sock):
            os.makedirs(d, exist_ok=True)
            os.chmod(d, 0o700)
            self._owner_to_pg(d)
        self.say(f"making a read standby in {self.standby_data}")
        # a slot left by an earlier standby whose folder is gone
        self.psql("-c", "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                  f"WHERE slot_name = '{self.STANDBY_SLOT}'", db="postgres")
        res = subprocess.run(self._pg_cmd([f"{PG_BIN}/pg_basebackup", "-h", self.pg_sock,
                                           "-U", "postgres", "-D", self.standby_data, "-R",
                                           "-X", "stream", "-c", "fast", "-C",
                                           "-S", self.STANDBY_SLOT]),
                             capture_output=True, text=True)
        if res.returncode != 0:
            raise StackError(f"pg_basebackup failed: {res.stderr.strip()}")

    def start_standby(self):
        """Starts the standby; a no-op when it runs."""
        status = subprocess.run(self._pg_cmd([f"{PG_BIN}/pg_ctl", "-D", self.standby_data,
                                              "status"]), capture_output=True)
        if status.returncode == 0:
            return
        # hot_standby_feedback: the primary's vacuum keeps rows a standby
        # read still needs, so reads are not cancelled by recovery conflicts
        self._pg_start(self.standby_data, self.standby_sock,
                       os.path.join(self.pg_dir, "standby.log"),
                       " -c hot_standby=on -c hot_standby_feedback=on")

    def stop_standby(self):
        self._pg_stop(self.standby_data)

    def bootstrap(self):
        with open(os.path.join(ROOT, "scripts", "bootstrap.sql")) as f:
            self.psql(db="postgres", input_text=f.read())

    def migrate(self):
        res = subprocess.run([os.path.join(build_dir(), "portalctl"), "--database-url",
                              self.dsn("portal_owner"), "migrate"],
                             capture_output=True, text=True)
        if res.returncode != 0:
            raise StackError(f"migrate failed: {res.stderr.strip()}")
        self.say(res.stdout.strip())

    def load_demo(self):
        for name in sorted(os.listdir(os.path.join(ROOT, "demo"))):
            if name.endswith(".sql"):
                self.psql("-f", os.path.join(ROOT, "demo", name), user="portal_owner")

    # ---- the pool ------------------------------------------------------
    def ensure_keys(self):
        """Token-signing keys, made once and kept with the data. The first
        algorithm's key signs; any others only verify unless chosen with
        --jwt-signing-key. Kids are the algorithm's name plus 1 (hs1, rs1, es1)."""
        os.makedirs(self.key_dir, mode=0o700, exist_ok=True)
        for alg in self.key_algs:
            kid = alg[:2] + "1"
            if not os.path.exists(os.path.join(self.key_dir, f"{kid}.{alg}.key")):
                subprocess.run([os.path.join(build_dir(), "portalctl"), "key", "generate",
                                "--dir", self.key_dir, "--alg", alg, "--kid", kid],
                               check=True, capture_output=True)
        voter_key = os.path.join(self.base, "voter.secret")  # (jwt-keys holds only jwt keys)
        if not os.path.exists(voter_key):
            subprocess.run([os.path.join(build_dir(), "portalctl"), "key", "voter",
                            "--file", voter_key], check=True, capture_output=True)
        return ["--jwt-keys", self.key_dir, "--jwt-signing-key", self.key_algs[0][:2] + "1",
                "--voter-key", voter_key]

    @property
    def pool(self):
        """The first pool's master (a Popen), or None."""
        return self.pool_procs[0]

    @pool.setter
    def pool(self, proc):
        self.pool_procs[0] = proc

    def start_pool(self, extra_args=(), index=None):
        """Starts every pool (or only pool `index`), each its own session."""
        os.makedirs(self.run_dir, exist_ok=True)
        os.chmod(self.run_dir, 0o755)
        os.makedirs(self.log_dir, exist_ok=True)
        for i in range(self.pools) if index is None else (index,):
            sock = self.pool_sockets[i]
            if os.path.exists(sock):  # left by a pool that was killed
                os.unlink(sock)
            cmd = [os.path.join(build_dir(), "portald"),
                   "--listen", f"unix:{sock}", "--socket-mode", "0666",
                   "--database-url", self.dsn("portal_app")] + self.ensure_keys()
            if self.standby:
                cmd += ["--standby-url", self.dsn("portal_app", standby=True)]
            if self.workers:  # 0: leave it to --config or the environment
                cmd += ["--workers", str(self.workers)]
            cmd += self.portald_args + list(extra_args)
            log = open(self.pool_logs[i], "ab")
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    start_new_session=True)
            log.close()
            self.pool_procs[i] = proc
            deadline = time.time() + 10
            while not os.path.exists(sock):
                if proc.poll() is not None or time.time() > deadline:
                    raise StackError(f"portald did not start (see {self.pool_logs[i]})")
                time.sleep(0.02)

    def stop_pool(self, timeout=30, index=None):
        """Stops every pool (or only pool `index`); returns the first's exit status."""
        rcs = []
        for i in range(self.pools) if index is None else (index,):
            proc = self.pool_procs[i]
            if proc is None:
                rcs.append(None)
                continue
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            rcs.append(proc.returncode)
            self.pool_procs[i] = None
        return rcs[0]

    # ---- nginx ---------------------------------------------------------
    def render_nginx(self, extra=""):
        conf_dir = os.path.join(ROOT, "nginx")
        www = os.path.join(self.run_dir, "www")
        # a copy, so nginx's unprivileged workers can read it wherever the repo lives
        shutil.copytree(os.path.join(conf_dir, "www"), www, dirs_exist_ok=True)
        for sub in ("body", "fastcgi", "proxy", "uwsgi", "scgi"):
            os.makedirs(os.path.join(self.run_dir, "tmp", sub), exist_ok=True)
        os.makedirs(os.path.join(self.run_dir, "cache"), exist_ok=True)
        snippets = os.path.join(self.run_dir, "conf")
        os.makedirs(snippets, exist_ok=True)
        max_body, max_photo, timeout = self._pool_limits()
        tls_conf = "# no TLS: Stack(tls_port=None)\n"
        if self.tls_port:
            self.make_certificate()
            with open(os.path.join(conf_dir, "tls.conf")) as f:
                tls_conf = f.read()
        values = {
            "@TLS_LISTEN@": f"127.0.0.1:{self.tls_port}",
            "@TLS_CERT@": self.tls_cert,
            "@TLS_KEY@": self.tls_key,
            "@POOL@": f"unix:{self.pool_socket}",
            "@LISTEN@": f"127.0.0.1:{self.http_port}",
            "@WWW@": www,
            "@CONF@": snippets,
            "@MAX_BODY@": max_body,
            "@MAX_PHOTO@": max_photo,
            "@CACHE@": os.path.join(self.run_dir, "cache"),
            "@TIMEOUT@": timeout,
            "@RUN@": self.run_dir,
            "@USER@": "user www-data;" if self.as_root else "",
            "@NGINX_WORKERS@": os.environ.get("PORTAL_NGINX_WORKERS", "1"),
            "@ACCESS_LOG@": f"{self.log_dir}/nginx-access.log portal buffer=64k flush=1s",
            "@LOGIN_RATE@": self.login_limit[0],
            "@LOGIN_BURST@": str(self.login_limit[1]),
            "@LOGIN_RETRY_AFTER@": str(self.login_limit[2]),
            "@VOTE_RATE@": self.vote_limit[0],
            "@VOTE_BURST@": str(self.vote_limit[1]),
            "@EXTRA@": extra,
        }

        def fill(src, dst, text=None):
            if text is None:
                with open(src) as f:
                    text = f.read()
            for k, v in values.items():
                text = text.replace(k, v)
            if dst.endswith("/portal.conf") and self.pools > 1:
                # one server line per pool, with the template's parameters
                line = next(l for l in text.splitlines() if l.strip().startswith("server unix:"))
                text = text.replace(line, "\n".join(
                    line.replace(self.pool_socket, sock) for sock in self.pool_sockets))
            with open(dst, "w") as f:
                f.write(text)

        fill(None, os.path.join(snippets, "tls.conf"), tls_conf)

        for name in ("security_headers.conf", "console_headers.conf", "fastcgi_portal.conf",
                     "public_cache.conf"):
            fill(os.path.join(conf_dir, name), os.path.join(snippets, name))
        fill(os.path.join(conf_dir, "portal.conf"), os.path.join(self.run_dir, "portal.conf"))
        fill(os.path.join(conf_dir, "nginx.conf.in"), os.path.join(self.run_dir, "nginx.conf"))
        for d in (self.base, self.run_dir):
            os.chmod(d, 0o755)

    def make_certificate(self):
        """A self-signed certificate for 127.0.0.1 and localhost, made once."""
        if os.path.exists(self.tls_cert):
            return
        os.makedirs(os.path.dirname(self.tls_cert), exist_ok=True)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "30", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                        "-keyout", self.tls_key, "-out", self.tls_cert],
                       check=True, capture_output=True)
        os.chmod(self.tls_key, 0o600)  # nginx's master reads it before dropping privileges

    def _pool_limits(self):
        """nginx's body limit and read timeout follow portald's effective settings."""
        res = subprocess.run([os.path.join(build_dir(), "portald"), "--check-config"]
                             + self.portald_args, capture_output=True, text=True, check=True)
        settings = dict(line.split(" = ", 1) for line in res.stdout.splitlines() if " = " in line)
        max_body = settings["max-body"]
        timeout_ms = int(settings["request-timeout"].rstrip("ms"))
        return max_body, settings["max-photo"], f"{timeout_ms // 1000 + 1}s"

    def start_nginx(self, extra=""):
        self.render_nginx(extra)
        conf = os.path.join(self.run_dir, "nginx.conf")
        check = subprocess.run(["nginx", "-t", "-q", "-p", self.run_dir, "-c", conf,
                                "-e", os.path.join(self.run_dir, "nginx-error.log")],
                               capture_output=True, text=True)
        if check.returncode != 0:
            raise StackError(f"nginx configuration rejected: {check.stderr.strip()}")
        self.nginx = subprocess.Popen(["nginx", "-p", self.run_dir, "-c", conf, "-e",
                                       os.path.join(self.run_dir, "nginx-error.log")],
                                      stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.http_port), timeout=0.2):
                    return
            except OSError:
                if self.nginx.poll() is not None or time.time() > deadline:
                    raise StackError("nginx did not start (see nginx-error.log in "
                                     f"{self.run_dir})")
                time.sleep(0.05)

    def stop_nginx(self):
        if self.nginx is None:
            return
        if self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGQUIT)
            try:
                self.nginx.wait(10)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
                self.nginx.wait()
        self.nginx = None

    # ---- the whole stack -----------------------------------------------
    def wait_ready(self, timeout=20, stopping=lambda: False):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            if stopping():
                raise StackStopped()
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=2) as r:
                    if r.status == 200:
                        return
            except urllib.error.HTTPError as e:
                last = e.code
            except OSError as e:
                last = e
            time.sleep(0.1)
        raise StackError(f"/readyz never answered 200 (last: {last})")

    def start(self, demo=True, stopping=lambda: False):
        """Starts everything; stops what it started when a step fails, or
        when stopping() turns true between steps (StackStopped)."""
        os.makedirs(self.base, exist_ok=True)
        os.chmod(self.base, 0o755)
        os.makedirs(self.log_dir, exist_ok=True)
        steps = [self.init_postgres, self.start_postgres, self.bootstrap, self.migrate]
        steps += [self.load_demo] if demo else []
        steps += [self.init_standby, self.start_standby] if self.standby else []
        steps += [self.start_pool, self.start_nginx,
                  lambda: self.wait_ready(stopping=stopping)]
        try:
            for step in steps:
                if stopping():
                    raise StackStopped()
                step()
        except BaseException:
            self.stop()
            raise

    def stop(self):
        """Stops every part, each even when stopping an earlier one failed."""
        failed = None
        for part in (self.stop_nginx, self.stop_pool, self.stop_standby, self.stop_postgres):
            try:
                part()
            except Exception as e:
                failed = failed or e
        if failed:
            raise failed


def default_data_dir():
    """./var in the repository, unless the postgres user cannot reach it there."""
    wanted = os.environ.get("PORTAL_DATA")
    if wanted:
        return os.path.abspath(wanted)
    local = os.path.join(ROOT, "var")
    if os.geteuid() != 0:
        return local
    probe = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", ROOT])
    if probe.returncode == 0:
        return local
    digest = hashlib.sha256(ROOT.encode()).hexdigest()[:12]
    return os.path.join("/var/tmp", f"portal-{digest}")


class StopSignals:
    """SIGINT, SIGTERM and SIGHUP ask `stack run` to stop: each is only
    noted, and start() and the run loop look at the note between their
    steps. No exception is raised from the handler: one could land anywhere,
    for instance between a child's fork and the line that keeps its Popen,
    and leave that child running with nobody to stop it; and Python runs a
    second signal's handler inside the first (make forwards SIGTERM to its
    child just as the process group's own arrives), which once let both
    calls decide that the other was the first, so the stack never stopped."""

    def __init__(self):
        self.received = []

    def __call__(self, signo, frame):
        self.received.append(signo)

    def __bool__(self):
        return bool(self.received)

    def begin(self):
        """A stop has begun without a signal (nginx or a pool gave up)."""
        self.received.append(0)

    def install(self):
        for signo in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signo, self)


def say(text, file=None):
    """A line for the person at the terminal, who may be gone: a closed
    terminal (EIO) or a `| tee` killed by the same Ctrl-C (EPIPE) must not
    keep the stack from stopping."""
    try:
        print(text, file=file or sys.stdout, flush=True)
    except OSError:
        pass


def run():
    port = int(os.environ.get("PORTAL_HTTP_PORT", "8080"))
    base = default_data_dir()
    stack = Stack(base, http_port=port, workers=int(os.environ.get("PORTAL_WORKERS", "4")),
                  quiet=False, pools=int(os.environ.get("PORTAL_POOLS", "1")),
                  tls_port=int(os.environ.get("PORTAL_TLS_PORT", "0")) or None,
                  standby=os.environ.get("PORTAL_STANDBY", "") not in ("", "0"))
    stop = StopSignals()
    stop.install()
    # where a stack that seems stuck is: kill -USR1 <pid> prints every
    # thread's traceback on stderr
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        stack.start(demo=True, stopping=stop.__bool__)
    except StackStopped:
        return 0
    except Exception as e:
        if stop:  # a step whose child the same Ctrl-C stopped (start stopped the rest)
            return 0
        if isinstance(e, StackError):
            say(f"stack: {e}", sys.stderr)
            return 1
        raise
    failed = False
    try:
        tls_line = (f"\n  https:       https://127.0.0.1:{stack.tls_port}/   (self-signed: "
                    f"{stack.tls_cert})" if stack.tls_port else "")
        standby_line = (f"\n  standby:     psql \"{stack.dsn('portal_owner', standby=True)}\""
                        "  (public reads)" if stack.standby else "")
        say(f"""
The district portal is running.
  open:        {stack.url}/
  health:      {stack.url}/healthz   {stack.url}/readyz{tls_line}
  metrics:     {stack.url}/metrics   (loopback only)
  data folder: {base}  (kept between runs)
  logs:        {(chr(10) + "               ").join(stack.pool_logs)}
               {stack.log_dir}/nginx-access.log
  database:    psql "{stack.dsn('portal_owner')}"{standby_line}
  demo staff accounts (password: portal-demo):
               shajing   editor, 沙井街道
               yanluo    editor, 燕罗街道
               reviewer  district reviewer
               admin     district admin
  sign in:     curl -s -X POST {stack.url}/api/auth/login \\
                 -H 'Content-Type: application/json' \\
                 -d '{{"username":"shajing","password":"portal-demo"}}'
Stop with Ctrl-C (or SIGTERM).""")
        # A pool that dies is started again, as systemd's Restart=on-failure
        # does, while nginx sends reads to the other pools; one that keeps
        # dying (5 starts in 30 s, systemd's default start limit) stops the
        # stack.
        starts = []
        while not stop:
            if stack.nginx.poll() is not None:
                stop.begin()
                failed = True
                say("stack: nginx exited; stopping", sys.stderr)
                break
            for i, proc in enumerate(stack.pool_procs):
                if proc is None or proc.poll() is None:
                    continue
                rc = proc.returncode
                how = f"killed by signal {-rc}" if rc < 0 else f"exit status {rc}"
                now = time.monotonic()
                starts = [t for t in starts if now - t < 30] + [now]
                if len(starts) > 5:
                    stop.begin()
                    failed = True
                    say(f"stack: portald ({stack.pool_sockets[i]}) keeps exiting ({how}); "
                        "stopping", sys.stderr)
                    break
                say(f"stack: portald ({stack.pool_sockets[i]}) exited ({how}); starting it "
                    "again", sys.stderr)
                try:
                    stack.start_pool(index=i)
                except StackError as e:
                    say(f"stack: {e}", sys.stderr)
            else:
                time.sleep(0.2)
    finally:
        # whatever ended the loop, even an error of this script's own
        stop.begin()
        say("stopping...")
        stack.stop()
        say("stopped.")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "run":
        sys.exit(run())
    print("usage: scripts/stack run", file=sys.stderr)
    sys.exit(2)
