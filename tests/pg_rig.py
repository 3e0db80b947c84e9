"""A throwaway PostgreSQL cluster for tests: the real server from the machine's binaries, no mocks.

`PgCluster().start()` runs initdb into a temporary directory and starts `postgres` on 127.0.0.1 at a free port,
its unix socket in that directory. The superuser `postgres` logs in without a password over the socket (what
`execute` uses) and with `PgCluster.password` over TCP (scram-sha-256), so a test can see a wrong password
refused. Durability is off (fsync, full_page_writes, synchronous_commit): a crash may lose data, a fast
shutdown or restart does not.

The server refuses to run as root. When the tests run as root, initdb, pg_ctl and the server run as a system
user instead: Debian's `postgres` when it exists, else `opsconsole-pg` (created with useradd when absent).
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql

SUPERUSER = "postgres"
HOST = "127.0.0.1"
SERVICE_USERS = ("postgres", "opsconsole-pg")  # tried in this order when we are root; the last one may be created

# Speed over durability: every setting here is about a test's wall clock, none about what a test can observe.
_SETTINGS = {
    "listen_addresses": HOST,
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "16MB",
    "max_connections": "200",
    "jit": "off",
    "timezone": "UTC",
    "log_timezone": "UTC",
    "log_min_messages": "warning",
}


class PgRigError(RuntimeError):
    """The cluster could not be created, started or stopped (the message carries the server log's tail)."""


class PgUnavailable(PgRigError):
    """This machine cannot run a PostgreSQL server for tests: no binaries, or no non-root user to run them as."""


def find_bindir() -> Path:
    """The directory of initdb, pg_ctl and postgres: `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=30, check=True)
            candidates.append(Path(out.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    versioned = glob.glob("/usr/lib/postgresql/*/bin")
    versioned.sort(key=lambda p: int(v) if (v := Path(p).parent.name).isdigit() else -1, reverse=True)
    candidates += [Path(p) for p in versioned]
    for bindir in candidates:
        if all(os.access(bindir / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    looked = ", ".join(str(c) for c in candidates) or "nothing (no pg_config on PATH, no /usr/lib/postgresql/*/bin)"
    raise PgUnavailable(
        f"no PostgreSQL server binaries (initdb, pg_ctl, postgres); looked in {looked}. "
        "On Debian: apt-get install postgresql"
    )


def service_user() -> pwd.struct_passwd | None:
    """The user the server runs as: None when we are not root (it runs as us), else a system user, made if need be."""
    if os.geteuid() != 0:
        return None
    for name in SERVICE_USERS:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    name = SERVICE_USERS[-1]
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    problem = ""
    for _ in range(5):  # parallel xdist workers may race for /etc/passwd's lock
        try:
            done = subprocess.run(
                [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                capture_output=True, text=True, timeout=30,
            )
            problem = done.stderr.strip()
        except (OSError, subprocess.SubprocessError) as exc:
            problem = str(exc)
        try:
            return pwd.getpwnam(name)
        except KeyError:
            time.sleep(0.2)
    raise PgUnavailable(
        f"PostgreSQL refuses to run as root and there is no user {' or '.join(SERVICE_USERS)} to run it as; "
        f"`useradd --system --no-create-home {name}` failed: {problem or 'no reason given'}"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _base_dir(user: pwd.struct_passwd | None) -> str | None:
    """Where the temp dir goes: the default one, unless the service user cannot get through its parents."""
    if user is None:
        return None
    default = Path(tempfile.gettempdir()).resolve()
    if all(os.stat(p).st_mode & 0o001 for p in [default, *default.parents]):
        return str(default)
    return "/tmp"


class PgCluster:
    """One PostgreSQL server of its own: `start()`, use `url()` / `execute()`, `close()` removes it all."""

    _names = itertools.count(1)

    def __init__(self, *, password: str = "postgres-test-password", settings: dict[str, str] | None = None) -> None:
        self.password = password
        self.superuser = SUPERUSER
        self.host = HOST
        self.port: int | None = None
        self.bindir: Path | None = None
        self.root: Path | None = None  # the temp dir: data/, the unix socket, the log
        self.data_dir: Path | None = None
        self.socket_dir: Path | None = None
        self.log_path: Path | None = None
        self.version: int | None = None  # server_version_num, e.g. 150018
        self._settings = {**_SETTINGS, **(settings or {})}
        self._user: pwd.struct_passwd | None = None
        atexit.register(self.close)  # a worker that dies without teardown still leaves no server behind

    # -- life cycle -------------------------------------------------------------------------------------------

    def start(self) -> PgCluster:
        """Create the cluster on first call (initdb), then start the server; waits until it accepts connections."""
        if self.root is None:
            self._create()
        elif self.running:
            return self
        self._start_server()
        return self

    def _create(self) -> None:
        self.bindir = find_bindir()
        self._user = service_user()
        self.root = Path(tempfile.mkdtemp(prefix="opsconsole-pg-", dir=_base_dir(self._user)))
        self.data_dir = self.root / "data"
        self.socket_dir = self.root
        self.log_path = self.root / "server.log"
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self._user is not None:
            for path in (self.root, pwfile):
                os.chown(path, self._user.pw_uid, self._user.pw_gid)
        self._run(
            "initdb", "-D", str(self.data_dir), "-U", self.superuser, f"--pwfile={pwfile}",
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C",
            "--no-sync", "--no-instructions",
        )
        pwfile.unlink()
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write("\n# tests/pg_rig.py\ninclude = 'rig.conf'\n")

    def _write_rig_conf(self) -> None:
        assert self.data_dir is not None and self.port is not None
        settings = {**self._settings, "port": str(self.port), "unix_socket_directories": str(self.socket_dir)}
        lines = [f"{name} = '{value}'" for name, value in settings.items()]
        (self.data_dir / "rig.conf").write_text("\n".join(lines) + "\n")

    def _start_server(self) -> None:
        # A port picked free can be taken before the server binds it (another xdist worker): then pick again.
        # A restart after stop() keeps the port it had.
        fresh = self.port is None
        for attempt in range(5):
            if fresh or attempt:
                self.port = free_port()
                self._write_rig_conf()
            try:
                self._pg_ctl("start", "-t", "60", "-l", str(self.log_path))
            except PgRigError as exc:
                if "Address already in use" in str(exc) and attempt < 4:
                    continue
                raise
            break
        with self.connect() as conn:
            self.version = conn.info.server_version

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (pg_ctl stop -m smart|fast|immediate); the data stays for `start()`."""
        if self.running:
            self._pg_ctl("stop", "-m", mode, "-t", "60")

    def restart(self, mode: str = "fast") -> None:
        """pg_ctl restart: same port, same data; every connection is cut."""
        if not self.running:
            self._start_server()
            return
        self._pg_ctl("restart", "-m", mode, "-t", "60", "-l", str(self.log_path))

    @property
    def running(self) -> bool:
        pid = self.pid
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # alive, and another user's (the service user's, were we not root)
            pass
        return True

    @property
    def pid(self) -> int | None:
        """The postmaster's pid while the server runs (from postmaster.pid)."""
        if self.data_dir is None:
            return None
        try:
            first = (self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
            return int(first)
        except (OSError, ValueError):
            return None

    def close(self) -> None:
        """Stop the server at once and delete the cluster's directory. Idempotent."""
        if self.root is None:
            return
        try:
            if self.running:
                self._pg_ctl("stop", "-m", "immediate", "-t", "30")
        except PgRigError:
            pid = self.pid
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
            atexit.unregister(self.close)

    def __enter__(self) -> PgCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- using it ---------------------------------------------------------------------------------------------

    def url(
        self,
        user: str = SUPERUSER,
        password: str | None = None,
        dbname: str = "postgres",
        *,
        host: str | None = None,
        port: int | None = None,
    ) -> str:
        """postgresql://user:pw@127.0.0.1:PORT/db over TCP (password checked). The superuser's password is
        filled in when `user` is the superuser and none is given; `port` may point at a proxy instead."""
        if password is None and user == self.superuser:
            password = self.password
        auth = quote(user, safe="") + (f":{quote(password, safe='')}" if password is not None else "")
        return f"postgresql://{auth}@{host or self.host}:{port or self.port}/{quote(dbname, safe='')}"

    def connect(self, dbname: str = "postgres", **kwargs: Any) -> psycopg.Connection[Any]:
        """A superuser connection over the unix socket (no password), autocommit."""
        return psycopg.connect(
            host=str(self.socket_dir), port=self.port, user=self.superuser, dbname=dbname, autocommit=True, **kwargs
        )

    def execute(
        self, query: str | sql.SQL | sql.Composed, params: Sequence[Any] | None = None, *, dbname: str = "postgres"
    ) -> list[tuple[Any, ...]]:
        """Run one statement as the superuser (autocommit) and return its rows ([] when it returns none)."""
        with self.connect(dbname) as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description is not None else []

    def create_database(self, name: str | None = None, *, template: str = "template0") -> str:
        """A new empty database (UTF8, C locale); its name, generated when none is given."""
        name = name or f"test_{os.getpid()}_{next(self._names)}"
        # No STRATEGY clause: FILE_COPY and WAL_LOG (15's default) took the same ~20-120 ms here, and without
        # it the rig runs on servers before 15 too.
        self.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting whoever is still in it."""
        self.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def create_role(self, name: str, password: str | None, *, login: bool = True, in_roles: Iterable[str] = ()
                    ) -> None:
        """Create the role, or bring an existing one to this password and login; then grant it `in_roles`."""
        exists = self.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name])
        verb = "ALTER" if exists else "CREATE"
        statement = sql.SQL("{} ROLE {} {} PASSWORD {}").format(
            sql.SQL(verb), sql.Identifier(name), sql.SQL("LOGIN" if login else "NOLOGIN"),
            sql.Literal(password) if password is not None else sql.SQL("NULL"),
        )
        self.execute(statement)
        for role in in_roles:
            self.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), sql.Identifier(name)))

    def kill_backends(self, dbname: str | None = None) -> int:
        """Terminate every client backend but this call's own (of `dbname` only, when given); waits until they
        are gone. Returns how many there were."""
        query = ("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                 "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'")
        params: list[Any] = []
        if dbname is not None:
            query += " AND datname = %s"
            params.append(dbname)
        return int(self.execute(query, params)[0][0])

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:]) if self.log_path else ""
        except OSError:
            return ""

    # -- running the binaries ---------------------------------------------------------------------------------

    def _pg_ctl(self, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.data_dir), "-w", *args)

    def _run(self, tool: str, *args: str) -> None:
        assert self.bindir is not None and self.root is not None
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C", TZ="UTC")
        as_user: dict[str, Any] = {}
        if self._user is not None:
            env.update(HOME=str(self.root), USER=self._user.pw_name, LOGNAME=self._user.pw_name)
            as_user = {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}
        try:
            # stdin/stdout not inherited: pg_ctl's server keeps the pipes otherwise, and capture would never end
            done = subprocess.run(
                [str(self.bindir / tool), *args], cwd=self.root, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120, **as_user,
            )
        except subprocess.TimeoutExpired as exc:
            raise PgRigError(f"{tool} {' '.join(args)} took over 120 s\n{self.log_tail()}") from exc
        if done.returncode != 0:
            raise PgRigError(
                f"{tool} {' '.join(args)} exited {done.returncode}:\n{done.stdout.strip()}\n"
                f"--- server log ---\n{self.log_tail()}"
            )
