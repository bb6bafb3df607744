"""Real PostgreSQL 15 and MariaDB servers from Debian for the integration tests.

Each listens on one random loopback address (TCP, for the scanner) and on a Unix socket in
its own temp dir (for the test's admin statements, which never appear as the scanner's).
The open variant lets in without a password; the protected one needs a random one.
Both log every statement the server receives - PostgreSQL with ``log_statement=all`` (the
``application_name`` in each line's prefix tells the scanner's sessions from the admin's
``psql``), MariaDB in its general log (the scanner connects over TCP, the admin over the
socket) - so a test can prove the scanner only read.

Seed data (from :func:`leakmap.lab.seed.build_dataset`): database/schema ``chatbot`` with
``log_stream`` (the lab's chat log pool: fake secrets, PII, chat, infrastructure) and
``analytics`` with ``page_views`` (plain numbers and paths).
"""

from __future__ import annotations

import contextlib
import pwd
import random
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from leakmap.lab.addresses import random_loopback, require_loopback
from leakmap.lab.clickhouse import _die_with_parent, terminate_pid
from leakmap.lab.seed import Dataset, build_dataset

__all__ = [
    "READS",
    "MariaDbServer",
    "PgServer",
    "assert_only_reads",
    "mariadb_available",
    "postgres_available",
    "start_mariadb",
    "start_postgres",
]

_PG_BIN = Path("/usr/lib/postgresql/15/bin")
_MARIADBD = Path("/usr/sbin/mariadbd")
_PATHS = ("/", "/pricing", "/docs/quickstart", "/blog/launch-week", "/signup", "/about")


def postgres_available() -> bool:
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return False
    return (_PG_BIN / "postgres").is_file() and shutil.which("psql") is not None


def mariadb_available() -> bool:
    return _MARIADBD.is_file() and shutil.which("mariadb-install-db") is not None


def _seed_rows(dataset: Dataset, n: int) -> list[tuple[str, ...]]:
    pool = dataset.rows
    return [
        (r.level, r.service, r.host, r.message, r.request, r.response, r.metadata)
        for r in (pool[i % len(pool)] for i in range(n))
    ]


def _page_views(seed: int, n: int) -> list[tuple[str, int, int]]:
    rng = random.Random(seed)
    statuses = (200, 200, 304, 404)
    return [(rng.choice(_PATHS), rng.randint(5, 900), rng.choice(statuses)) for _ in range(n)]


def _values(rows: list[tuple[str, ...]]) -> str:
    return ",\n".join("(" + ", ".join(_sql_text(v) for v in row) + ")" for row in rows)


def _sql_text(value: str) -> str:
    """A literal both servers read the same way (standard quoting; no backslash escapes)."""
    return "'" + value.replace("'", "''") + "'"


class _SqlServer:
    """A server process in its own temp dir, stopped by the pid this module started."""

    _tmp: Path
    _proc: subprocess.Popen[bytes] | None

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            terminate_pid(self._proc.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(5)
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class PgServer(_SqlServer):
    """``postgres`` on ``ip:port``; ``password`` None = trust for every role over TCP."""

    def __init__(
        self,
        ip: str,
        port: int = 5432,
        *,
        password: str | None = None,
        trust_users: tuple[str, ...] = (),
    ) -> None:
        self.ip = require_loopback(ip)
        self.port = port
        self.password = password
        #: roles trusted over TCP even when the others need a password (made by seed(),
        #: with SELECT on chatbot's log_stream only)
        self.trust_users = trust_users
        self._tmp = Path(tempfile.mkdtemp(prefix="leakmap-pg-"))
        self.data = self._tmp / "data"
        self.sock = self._tmp / "sock"
        self.log = self._tmp / "server.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self.dataset: Dataset | None = None

    def _as_postgres(self, args: list[str], **kw: object) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(  # type: ignore[call-overload, no-any-return]
            args, user="postgres", check=True, capture_output=True, timeout=120, **kw
        )

    def start(self) -> Self:
        self.sock.mkdir()
        shutil.chown(self._tmp, "postgres")
        shutil.chown(self.sock, "postgres")
        args = [str(_PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                "-E", "UTF8", "--no-sync"]  # fmt: skip
        self._as_postgres(args)
        method = "trust" if self.password is None else "scram-sha-256"
        trusted = "".join(f"host all {u} 127.0.0.0/8 trust\n" for u in self.trust_users)
        (self.data / "pg_hba.conf").write_text(
            f"local all all trust\n{trusted}host all all 127.0.0.0/8 {method}\n"
        )
        with self.log.open("wb") as log:
            self._proc = subprocess.Popen(
                [
                    str(_PG_BIN / "postgres"), "-D", str(self.data),
                    "-c", f"listen_addresses={self.ip}", "-c", f"port={self.port}",
                    "-c", f"unix_socket_directories={self.sock}",
                    "-c", "log_statement=all", "-c", "log_line_prefix=%a|",
                    "-c", "logging_collector=off", "-c", "fsync=off",
                    "-c", "shared_buffers=16MB", "-c", "max_connections=40",
                ],
                user="postgres",
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready = subprocess.run(
                ["pg_isready", "-q", "-h", str(self.sock), "-p", str(self.port)], check=False
            )
            if ready.returncode == 0:
                break
            time.sleep(0.1)
        else:
            self.stop()
            raise RuntimeError("postgres did not start")
        if self.password is not None:
            self.admin(f"ALTER ROLE postgres PASSWORD {_sql_text(self.password)}")
        return self

    def admin(self, sql: str, *, db: str = "postgres") -> str:
        """Run SQL as the superuser over the Unix socket (application_name psql)."""
        out = subprocess.run(
            ["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.sock),
             "-p", str(self.port), "-U", "postgres", "-d", db],
            input=sql.encode(),
            check=True,
            capture_output=True,
            timeout=120,
        )  # fmt: skip
        return out.stdout.decode()

    def seed(self, seed: int, rows: int = 300) -> Dataset:
        self.dataset = build_dataset(seed)
        self.admin("CREATE DATABASE chatbot")
        self.admin("CREATE DATABASE analytics")
        values = _values(_seed_rows(self.dataset, rows))
        self.admin(
            "CREATE TABLE log_stream (id serial PRIMARY KEY, level text, service text, host text, "
            "message text, request text, response text, metadata jsonb);\n"
            "INSERT INTO log_stream (level, service, host, message, request, response, metadata) "
            f"VALUES {values};\nANALYZE log_stream;",
            db="chatbot",
        )
        for user in self.trust_users:
            self.admin(
                f'CREATE ROLE "{user}" LOGIN; GRANT SELECT ON log_stream TO "{user}";', db="chatbot"
            )
        views = ",\n".join(f"({_sql_text(p)}, {d}, {s})" for p, d, s in _page_views(seed, rows))
        self.admin(
            "CREATE TABLE page_views (path text, duration_ms int, status int);\n"
            f"INSERT INTO page_views VALUES {views};\nANALYZE page_views;",
            db="analytics",
        )
        return self.dataset

    def scanner_statements(self) -> list[str]:
        """Every statement the server logged for sessions that were not the admin's psql."""
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            app, sep, rest = line.partition("|")
            if not sep or app == "psql":
                continue
            m = re.match(r"\s*LOG:\s+statement:\s?(.*)", rest)
            if m:
                out.append(m.group(1))
        return out


class MariaDbServer(_SqlServer):
    """``mariadbd`` on ``ip:port``; ``root@'%'`` without a password, or with ``password``."""

    def __init__(self, ip: str, port: int = 3306, *, password: str | None = None) -> None:
        self.ip = require_loopback(ip)
        self.port = port
        self.password = password
        self._tmp = Path(tempfile.mkdtemp(prefix="leakmap-mariadb-"))
        self.data = self._tmp / "data"
        self.sock = self._tmp / "mysqld.sock"
        self.general_log = self._tmp / "general.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self.dataset: Dataset | None = None

    def start(self) -> Self:
        subprocess.run(
            ["mariadb-install-db", "--no-defaults", f"--datadir={self.data}", "--user=root",
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        log = (self._tmp / "server.err").open("wb")
        self._proc = subprocess.Popen(
            [
                str(_MARIADBD), "--no-defaults", f"--datadir={self.data}", "--user=root",
                f"--bind-address={self.ip}", f"--port={self.port}", f"--socket={self.sock}",
                f"--pid-file={self._tmp / 'mysqld.pid'}", "--skip-name-resolve",
                "--general-log=1", f"--general-log-file={self.general_log}",
                "--innodb-buffer-pool-size=16M", "--skip-log-bin", "--max-connections=40",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.sock.exists():
                try:
                    self.admin("SELECT 1")
                    break
                except subprocess.CalledProcessError:
                    pass
            time.sleep(0.2)
        else:
            self.stop()
            raise RuntimeError("mariadbd did not start")
        identified = "" if self.password is None else f" IDENTIFIED BY {_sql_text(self.password)}"
        # install-db also makes root@127.0.0.1, root@::1 and root@<hostname> without a
        # password: the scanner, connecting from 127.0.0.1, must meet root@'%' only
        accounts = self.admin("SELECT user, host FROM mysql.user").splitlines()
        others = [
            f"'{u}'@'{h}'"
            for u, h in (r.split("\t") for r in accounts)
            if h != "localhost" and re.fullmatch(r"[\w.:-]*", u + h)
        ]
        if others:
            self.admin(f"DROP USER {', '.join(others)}")
        self.admin(
            f"CREATE USER 'root'@'%'{identified};\n"
            "GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;"
        )
        return self

    def admin(self, sql: str) -> str:
        """Run SQL as root over the Unix socket (never in the scanner's TCP sessions)."""
        out = subprocess.run(
            ["mariadb", "--no-defaults", f"--socket={self.sock}", "-uroot", "-N", "-B"],
            input=sql.encode(),
            check=True,
            capture_output=True,
            timeout=120,
        )
        return out.stdout.decode()

    def seed(self, seed: int, rows: int = 300) -> Dataset:
        self.dataset = build_dataset(seed)
        values = _values(_seed_rows(self.dataset, rows))
        views = ",\n".join(f"({_sql_text(p)}, {d}, {s})" for p, d, s in _page_views(seed, rows))
        self.admin(
            "SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES');\n"
            "CREATE DATABASE chatbot; CREATE DATABASE analytics;\n"
            "CREATE TABLE chatbot.log_stream (id INT AUTO_INCREMENT PRIMARY KEY, level TEXT, "
            "service TEXT, host TEXT, message TEXT, request TEXT, response TEXT, metadata TEXT);\n"
            "INSERT INTO chatbot.log_stream (level, service, host, message, request, response, "
            f"metadata) VALUES {values};\n"
            "CREATE TABLE analytics.page_views (path TEXT, duration_ms INT, status INT);\n"
            f"INSERT INTO analytics.page_views VALUES {views};\n"
            "ANALYZE TABLE chatbot.log_stream, analytics.page_views;"
        )
        return self.dataset

    def scanner_statements(self) -> list[str]:
        """Every Query the general log holds for TCP sessions (the admin uses the socket)."""
        tcp_sessions: set[str] = set()
        out: list[str] = []
        current: str | None = None
        for line in self.general_log.read_text(errors="replace").splitlines():
            m = re.match(r"^(?:\d{6}\s+\d{1,2}:\d{2}:\d{2})?\s+(\d+)\s+(\w[\w ]*?)\t(.*)$", line)
            if m:
                conn, command, arg = m.groups()
                if command == "Connect" and "@localhost" not in arg:
                    tcp_sessions.add(conn)
                current = conn if command == "Query" else None
                if command == "Query" and conn in tcp_sessions:
                    out.append(arg)
            elif current in tcp_sessions and out:
                out[-1] += "\n" + line  # a statement spanning lines
        return out


#: the first word of every statement a read-only scanner may send
READS = ("SELECT", "SHOW")


def assert_only_reads(statements: list[str]) -> None:
    """The server's own record (statement log, general log): every statement a read."""
    assert statements, "the server logged no statement of the scanner"
    for s in statements:
        assert s.lstrip().split(None, 1)[0].upper() in READS, s[:120]


def start_postgres(
    *, password: str | None = None, seed: int | None = None, trust_users: tuple[str, ...] = ()
) -> PgServer:
    server = PgServer(random_loopback((5432,)), password=password, trust_users=trust_users)
    server.start()
    try:
        if seed is not None:
            server.seed(seed)
    except BaseException:
        server.stop()
        raise
    return server


def start_mariadb(*, password: str | None = None, seed: int | None = None) -> MariaDbServer:
    server = MariaDbServer(random_loopback((3306,)), password=password).start()
    try:
        if seed is not None:
            server.seed(seed)
    except BaseException:
        server.stop()
        raise
    return server
