"""A private, loopback-only ClickHouse server for the demo lab and the integration tests.

:class:`ClickHouseInstance` runs Debian's ``/usr/sbin/clickhouse-server`` (18.16) from its own
directory with a generated ``config.xml``/``users.xml``: data, tmp, user files, format
schemas and logs all live in that directory; it listens on ONE 127.0.0.0/8 address; there are
no remote servers, no ZooKeeper, no Graphite, no dictionaries, nothing that reaches past
loopback. It runs fine as root (CI) and as an ordinary user.

Two users exist:

* ``default`` - what a scanner sees: empty password or the configured one, the configured
  ``networks``, the ``default`` profile - or with ``readonly_profile`` the ``readonly``
  profile (``readonly=1``) - and ``log_queries=1`` in it with ``log_queries``.
* an admin user (``leakmap_lab_admin``, random password, loopback networks only, its own
  profile without query logging) used by :meth:`ClickHouseInstance.admin_query` to seed and
  inspect OUR OWN lab server. The scanner never uses this client: it is a lab tool, not
  scanner code.

Example::

    with ClickHouseInstance("127.0.9.1", timezone="Asia/Shanghai") as ch:
        ch.admin_query("CREATE DATABASE chatbot")
        print(ch.http_url)          # http://127.0.9.1:8123

``stop()`` ends the server by its pid (checked against ``/proc/<pid>/cmdline`` first), never
by name.
"""

from __future__ import annotations

import ctypes
import hashlib
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import httpx

from leakmap.errors import LabError
from leakmap.lab.addresses import random_loopback, require_loopback
from leakmap.lab.seed import DEFAULT_ROWS, SeedSummary, seed_clickhouse

__all__ = [
    "ADMIN_PROFILE",
    "ADMIN_USER",
    "DEFAULT_SERVER_BINARY",
    "TEMP_PREFIX",
    "ClickHouseInstance",
    "LoggedQuery",
    "ServerStatus",
    "pid_alive",
    "pid_runs_config",
    "server_binary_available",
    "start_on_random_loopback",
    "sweep_stale_dirs",
    "terminate_pid",
]

DEFAULT_SERVER_BINARY = Path("/usr/sbin/clickhouse-server")
ADMIN_USER = "leakmap_lab_admin"
ADMIN_PROFILE = "leakmap_lab_admin"

ServerStatus = Literal["running", "stopped"]

TEMP_PREFIX = "leakmap-ch-"
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class LoggedQuery:
    """One row of ``system.query_log`` (type 1 = start, 2 = finish, 3/4 = exception)."""

    user: str
    type: int
    query: str
    event_time: str
    exception: str


def server_binary_available(binary: Path = DEFAULT_SERVER_BINARY) -> bool:
    """True when the clickhouse-server executable exists and is executable."""
    return binary.is_file() and os.access(binary, os.X_OK)


def pid_alive(pid: int) -> bool:
    """True when a process with ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    # The state letter follows the ")" that closes the command name.
    state = stat.rpartition(")")[2].strip()[:1]
    return state not in ("Z", "X", "")


def pid_runs_config(pid: int, config_file: Path) -> bool:
    """True when ``pid`` is a clickhouse-server started with ``config_file``.

    Guards :func:`terminate_pid` against a recycled pid: we only ever signal our own server.
    """
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    args = [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a]
    if not args or "clickhouse" not in Path(args[0]).name:
        return False
    return f"--config-file={config_file}" in args


def terminate_pid(pid: int, *, timeout: float = 15.0) -> None:
    """SIGTERM ``pid``, wait up to ``timeout`` seconds, then SIGKILL. Returns once it is gone."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 5.0
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGTERM the server when the process that started it dies (tests only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _sub(parent: ET.Element, tag: str, text: str | int | Path | None = None) -> ET.Element:
    el = ET.SubElement(parent, tag)
    if text is not None:
        el.text = str(text)
    return el


def _validate_networks(networks: Sequence[str]) -> tuple[str, ...]:
    out: list[str] = []
    for net in networks:
        try:
            out.append(str(ipaddress.ip_network(net.strip(), strict=False)))
        except ValueError:
            raise LabError(f"not an IP network: {net!r}") from None
    if not out:
        raise LabError("networks must not be empty")
    return tuple(out)


class ClickHouseInstance:
    """One private clickhouse-server on a loopback address.

    ``base_dir`` is where config, data and logs go; without it a temp dir is created and
    removed again by :meth:`stop` (``keep_dir`` keeps it). ``password=None`` leaves the
    ``default`` user without a password, the way the shipped ``users.xml`` does; otherwise it
    is stored in plaintext, or as ``password_sha256_hex`` with ``password_sha256``.
    """

    def __init__(
        self,
        ip: str,
        *,
        http_port: int = 8123,
        native_port: int = 9000,
        interserver_port: int = 9009,
        timezone: str | None = "Asia/Shanghai",
        password: str | None = None,
        password_sha256: bool = False,
        readonly_profile: bool = False,
        log_queries: bool = True,
        networks: Sequence[str] = ("::/0",),
        base_dir: Path | None = None,
        keep_dir: bool = False,
        server_binary: Path = DEFAULT_SERVER_BINARY,
        startup_timeout: float = 30.0,
        die_with_parent: bool = True,
        admin_password: str | None = None,
        query_log_flush_ms: int = 500,
    ) -> None:
        self.ip = require_loopback(ip)
        for port in (http_port, native_port, interserver_port):
            if not 0 < port < 65536:
                raise LabError(f"bad port {port}")
        if len({http_port, native_port, interserver_port}) != 3:
            raise LabError("the HTTP, native and interserver ports must differ")
        if password is not None and password == "":
            raise LabError("use password=None for an empty password")
        self.http_port = http_port
        self.native_port = native_port
        self.interserver_port = interserver_port
        self.timezone = timezone
        self.password = password
        self.password_sha256 = password_sha256
        self.readonly_profile = readonly_profile
        self.log_queries = log_queries
        self.networks = _validate_networks(networks)
        self.server_binary = server_binary
        self.startup_timeout = startup_timeout
        self.die_with_parent = die_with_parent
        self.query_log_flush_ms = query_log_flush_ms
        self.admin_user = ADMIN_USER
        self.admin_password = admin_password or secrets.token_hex(16)
        self._base_dir = base_dir
        self._owns_dir = base_dir is None and not keep_dir
        self._dir: Path | None = base_dir
        self._proc: subprocess.Popen[bytes] | None = None
        self._pid: int | None = None
        self.summary: SeedSummary | None = None
        """What :meth:`seed` wrote (None before)."""

    # -- facts -------------------------------------------------------------------------------

    @property
    def dir(self) -> Path:
        """The instance directory (created by :meth:`start` when none was given)."""
        if self._dir is None:
            raise LabError("the instance has no directory yet: call start() first")
        return self._dir

    @property
    def config_file(self) -> Path:
        return self.dir / "config.xml"

    @property
    def users_file(self) -> Path:
        return self.dir / "users.xml"

    @property
    def pid(self) -> int | None:
        return self._pid

    @property
    def http_url(self) -> str:
        return f"http://{self.ip}:{self.http_port}"

    @property
    def ports(self) -> tuple[int, int, int]:
        """(HTTP, native, interserver)."""
        return (self.http_port, self.native_port, self.interserver_port)

    def __repr__(self) -> str:
        return (
            f"ClickHouseInstance(ip={self.ip!r}, http={self.http_port}, native={self.native_port}, "
            f"pid={self._pid}, auth={'password' if self.password else 'none'})"
        )

    # -- config ------------------------------------------------------------------------------

    def config_xml(self) -> str:
        """The generated config.xml (paths relative to :attr:`dir`)."""
        d = self.dir
        root = ET.Element("yandex")
        logger = _sub(root, "logger")
        _sub(logger, "level", "warning")
        _sub(logger, "log", d / "log" / "clickhouse-server.log")
        _sub(logger, "errorlog", d / "log" / "clickhouse-server.err.log")
        _sub(logger, "size", "10M")
        _sub(logger, "count", 1)
        _sub(logger, "console", 0)
        _sub(root, "http_port", self.http_port)
        _sub(root, "tcp_port", self.native_port)
        _sub(root, "interserver_http_port", self.interserver_port)
        _sub(root, "interserver_http_host", self.ip)
        _sub(root, "listen_host", self.ip)
        _sub(root, "listen_try", 0)
        _sub(root, "max_connections", 1024)
        _sub(root, "keep_alive_timeout", 3)
        _sub(root, "max_concurrent_queries", 64)
        _sub(root, "uncompressed_cache_size", 64 * 1024 * 1024)
        _sub(root, "mark_cache_size", 64 * 1024 * 1024)
        _sub(root, "path", f"{d / 'data'}/")
        _sub(root, "tmp_path", f"{d / 'tmp'}/")
        _sub(root, "user_files_path", f"{d / 'user_files'}/")
        _sub(root, "format_schema_path", f"{d / 'format_schemas'}/")
        _sub(root, "users_config", self.users_file)
        _sub(root, "default_profile", "default")
        _sub(root, "system_profile", ADMIN_PROFILE)
        _sub(root, "default_database", "default")
        if self.timezone:
            _sub(root, "timezone", self.timezone)
        _sub(root, "mlock_executable", "false")
        _sub(root, "builtin_dictionaries_reload_interval", 3600)
        _sub(root, "max_session_timeout", 3600)
        _sub(root, "default_session_timeout", 60)
        _sub(root, "dictionaries_config", f"{d / 'dictionaries'}/*_dictionary.xml")
        qlog = _sub(root, "query_log")
        _sub(qlog, "database", "system")
        _sub(qlog, "table", "query_log")
        _sub(qlog, "partition_by", "toYYYYMM(event_date)")
        _sub(qlog, "flush_interval_milliseconds", self.query_log_flush_ms)
        ET.indent(root)
        return '<?xml version="1.0"?>\n' + ET.tostring(root, encoding="unicode") + "\n"

    def users_xml(self) -> str:
        """The generated users.xml (holds the admin password: written with mode 0600)."""
        root = ET.Element("yandex")
        profiles = _sub(root, "profiles")
        # The server-wide ``default`` profile also drives internal work (writing query_log):
        # on 18.16 readonly=1 there silently stops query logging, so the read-only variant is
        # the shipped pattern instead: the ``default`` user gets the ``readonly`` profile.
        for name, readonly_level in (("default", 0), ("readonly", 1)):
            prof = _sub(profiles, name)
            _sub(prof, "max_memory_usage", 2_000_000_000)
            _sub(prof, "use_uncompressed_cache", 0)
            _sub(prof, "load_balancing", "random")
            if self.log_queries:
                _sub(prof, "log_queries", 1)
            if readonly_level:
                _sub(prof, "readonly", readonly_level)
        admin = _sub(profiles, ADMIN_PROFILE)
        # Settings of the default profile apply to every user on 18.x: override them.
        _sub(admin, "readonly", 0)
        _sub(admin, "max_memory_usage", 4_000_000_000)
        _sub(admin, "log_queries", 0)

        users = _sub(root, "users")
        user = _sub(users, "default")
        if self.password is None:
            _sub(user, "password", "")
        elif self.password_sha256:
            digest = hashlib.sha256(self.password.encode()).hexdigest()
            _sub(user, "password_sha256_hex", digest)
        else:
            _sub(user, "password", self.password)
        nets = _sub(user, "networks")
        for net in self.networks:
            _sub(nets, "ip", net)
        _sub(user, "profile", "readonly" if self.readonly_profile else "default")
        _sub(user, "quota", "default")

        adm = _sub(users, self.admin_user)
        _sub(adm, "password_sha256_hex", hashlib.sha256(self.admin_password.encode()).hexdigest())
        adm_nets = _sub(adm, "networks")
        _sub(adm_nets, "ip", "127.0.0.0/8")
        _sub(adm, "profile", ADMIN_PROFILE)
        _sub(adm, "quota", "default")

        quotas = _sub(root, "quotas")
        interval = _sub(_sub(quotas, "default"), "interval")
        for tag, value in (
            ("duration", 3600),
            ("queries", 0),
            ("errors", 0),
            ("result_rows", 0),
            ("read_rows", 0),
            ("execution_time", 0),
        ):
            _sub(interval, tag, value)
        ET.indent(root)
        return '<?xml version="1.0"?>\n' + ET.tostring(root, encoding="unicode") + "\n"

    def _write_files(self) -> None:
        d = self.dir
        for sub in ("data", "tmp", "user_files", "format_schemas", "log", "dictionaries"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(self.config_xml(), encoding="utf-8")
        fd = os.open(self.users_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(self.users_xml())
        os.chmod(self.users_file, 0o600)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        """Write the config, start the server and wait until it answers. Raises LabError."""
        if self._pid is not None and pid_alive(self._pid):
            return self
        if not server_binary_available(self.server_binary):
            raise LabError(
                f"{self.server_binary} not found: install Debian's clickhouse-server "
                "(scripts/bootstrap does)"
            )
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
        else:
            self._dir.mkdir(parents=True, exist_ok=True)
        self._write_files()
        out = (self.dir / "log" / "stdout.log").open("ab")
        try:
            self._proc = subprocess.Popen(
                [str(self.server_binary), f"--config-file={self.config_file}"],
                cwd=self.dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if self.die_with_parent else None,
            )
        except OSError as exc:
            raise LabError(f"cannot start {self.server_binary}: {exc.strerror}") from None
        finally:
            out.close()
        self._pid = self._proc.pid
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _startup_failure(self) -> str:
        for name in ("clickhouse-server.err.log", "stdout.log"):
            try:
                lines = (self.dir / "log" / name).read_text("utf-8", "replace").splitlines()
            except OSError:
                continue
            for line in reversed(lines):
                if "Exception" in line or "Address already in use" in line:
                    # drop "2025.01.29 10:00:00.123 [ 1 ] {} <Error> " before the message
                    return re.sub(r"^[\d.: ]+\[ *\d+ *\] \{[^}]*\} <\w+> ", "", line.strip())[-300:]
        return "no error logged"

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        with httpx.Client(timeout=1.0, trust_env=False) as client:
            while time.monotonic() < deadline:
                if self._proc is not None and self._proc.poll() is not None:
                    raise LabError(
                        f"clickhouse-server on {self.ip} exited during start-up "
                        f"(code {self._proc.returncode}): {self._startup_failure()}"
                    )
                try:
                    resp = client.get(f"{self.http_url}/ping")
                    if resp.status_code == 200 and resp.text.startswith("Ok."):
                        # /ping alone could be someone else's server: prove it is ours.
                        resp = client.post(
                            self.http_url, content=b"SELECT 1", headers=self._admin_headers()
                        )
                        if resp.status_code == 200 and resp.text.strip() == "1":
                            return
                        raise LabError(
                            f"{self.ip}:{self.http_port} answers, but it is not this lab server"
                        )
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        raise LabError(
            f"clickhouse-server on {self.ip} not ready after {self.startup_timeout:.0f}s: "
            f"{self._startup_failure()}"
        )

    def stop(self) -> None:
        """Stop the server (by pid) and remove the directory if this object created it."""
        pid = self._pid
        if pid is not None:
            if self._proc is not None:
                if self._proc.poll() is None:
                    self._proc.terminate()
                    try:
                        self._proc.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        self._proc.kill()
                        self._proc.wait(timeout=5)
            elif pid_runs_config(pid, self.config_file):
                terminate_pid(pid)
        self._proc = None
        self._pid = None
        if self._owns_dir and self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def status(self) -> ServerStatus:
        """``running`` when our process is alive and answers /ping, else ``stopped``."""
        if self._pid is None or not pid_alive(self._pid):
            return "stopped"
        try:
            with httpx.Client(timeout=2.0, trust_env=False) as client:
                resp = client.get(f"{self.http_url}/ping")
        except httpx.TransportError:
            return "stopped"
        return "running" if resp.status_code == 200 else "stopped"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- admin client (lab seeding and test inspection only; never the scanner) -------------

    def _admin_headers(self) -> dict[str, str]:
        return {"X-ClickHouse-User": self.admin_user, "X-ClickHouse-Key": self.admin_password}

    def admin_query(self, sql: str, *, timeout: float = 120.0) -> str:
        """Run ``sql`` as the lab admin on THIS instance over HTTP and return the body.

        For seeding and for tests that inspect the server (``system.query_log``). Raises
        LabError with the server's message on a non-200 answer.
        """
        try:
            with httpx.Client(timeout=timeout, trust_env=False) as client:
                resp = client.post(
                    self.http_url, content=sql.encode("utf-8"), headers=self._admin_headers()
                )
        except httpx.TransportError as exc:
            raise LabError(f"lab admin query to {self.ip}:{self.http_port} failed: {exc}") from None
        if resp.status_code != 200:
            first = resp.text.strip().splitlines()[0][:300] if resp.text.strip() else ""
            raise LabError(f"lab admin query failed (HTTP {resp.status_code}): {first}")
        return resp.text

    def attach_tables(
        self, database: str, tables: Sequence[str], *, columns: str = "x String"
    ) -> None:
        """Create ``database`` with many empty ``Memory`` tables at once (for inventory tests).

        One ``CREATE TABLE`` takes ~90 ms on 18.16 (2,000 tables: 3 minutes); writing the
        ``ATTACH`` definitions into the server's metadata directory and attaching the whole
        database takes under a second. Names must be plain identifiers.
        """
        for name in (database, *tables):
            if not name.isidentifier():
                raise LabError(f"not a plain identifier: {name[:40]!r}")
        meta = self.dir / "data" / "metadata" / database
        meta.mkdir(parents=True, exist_ok=False)
        for table in tables:
            (meta / f"{table}.sql").write_text(
                f"ATTACH TABLE {table}\n(\n    {columns}\n)\nENGINE = Memory\n", encoding="utf-8"
            )
        self.admin_query(f"ATTACH DATABASE {database}")

    def admin_rows(self, sql: str, *, timeout: float = 120.0) -> list[list[str]]:
        """:meth:`admin_query` in TabSeparated, split into rows of (unescaped-as-is) fields."""
        body = self.admin_query(f"{sql.rstrip().rstrip(';')} FORMAT TabSeparated", timeout=timeout)
        return [line.split("\t") for line in body.splitlines()]

    def flush_logs(self) -> None:
        """``SYSTEM FLUSH LOGS`` so ``system.query_log`` holds every finished query."""
        self.admin_query("SYSTEM FLUSH LOGS")

    def seed(self, *, rows: int = DEFAULT_ROWS, seed: int | None = None) -> SeedSummary:
        """Write the demo data (:func:`leakmap.lab.seed.seed_clickhouse`) into THIS instance.

        ``seed=None`` draws a random seed; the summary (with every planted fake) is kept in
        :attr:`summary`.
        """
        chosen = secrets.randbits(31) if seed is None else seed
        timeout = 120.0 + rows / 20_000  # 10 million rows take ~40 s here; leave room

        def query(sql: str) -> str:
            return self.admin_query(sql, timeout=timeout)

        self.summary = seed_clickhouse(query, rows=rows, seed=chosen)
        return self.summary

    def logged_queries(self, *, user: str = "default", since: float = 0.0) -> list[LoggedQuery]:
        """Flush and read ``system.query_log`` for ``user`` from unix time ``since`` on.

        Needs ``log_queries=True``. The admin's own statements are never logged.
        """
        self.flush_logs()
        if not user.replace("_", "").isalnum():
            raise LabError("bad user name")
        body = self.admin_query(
            "SELECT user, toUInt8(type) AS kind, query, toString(event_time) AS at, "  # noqa: S608
            "exception FROM system.query_log "
            f"WHERE user = '{user}' AND event_time >= toDateTime({int(since)}) "
            "ORDER BY event_time, query_start_time FORMAT JSONEachRow"
        )
        out: list[LoggedQuery] = []
        for line in body.splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            out.append(
                LoggedQuery(
                    user=str(row["user"]),
                    type=int(row["kind"]),
                    query=str(row["query"]),
                    event_time=str(row["at"]),
                    exception=str(row["exception"]),
                )
            )
        return out


def start_on_random_loopback(
    *,
    seed_rows: int | None = None,
    seed: int | None = None,
    attempts: int = 4,
    **options: Any,
) -> ClickHouseInstance:
    """Start a :class:`ClickHouseInstance` on a random free 127.64-250.x.y address (and seed it).

    ``options`` go to the constructor (ports, timezone, password, ...). A fresh address is
    tried when another process grabbed the ports between the check and the start. The caller
    stops the instance.
    """
    ports = (
        int(options.get("http_port", 8123)),
        int(options.get("native_port", 9000)),
        int(options.get("interserver_port", 9009)),
    )
    last: LabError | None = None
    for _ in range(attempts):
        ch = ClickHouseInstance(random_loopback(ports), **options)
        try:
            ch.start()
        except LabError as exc:
            last = exc
            continue
        try:
            if seed_rows:
                ch.seed(rows=seed_rows, seed=seed)
        except BaseException:
            ch.stop()
            raise
        return ch
    raise LabError(f"could not start a lab ClickHouse: {last}")


def _configs_in_use() -> set[str]:
    used: set[str] = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            raw = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        for arg in raw.split(b"\0"):
            if arg.startswith(b"--config-file="):
                used.add(arg[len(b"--config-file=") :].decode("utf-8", "replace"))
    return used


def sweep_stale_dirs(root: Path | None = None, *, min_age: float = 600.0) -> list[Path]:
    """Remove temp instance dirs (``leakmap-ch-*``) left by a killed run; return what went.

    Only dirs of this user, holding a leakmap lab ``users.xml``, untouched for ``min_age``
    seconds and whose ``config.xml`` no live process uses. (A killed test run's servers die
    with it - they are started with PR_SET_PDEATHSIG - but their directories stay.)
    """
    root = root or Path(tempfile.gettempdir())
    in_use = _configs_in_use()
    now = time.time()
    removed: list[Path] = []
    for d in root.glob(f"{TEMP_PREFIX}*"):
        try:
            st = d.stat()
            if not d.is_dir() or d.is_symlink() or st.st_uid != os.getuid():
                continue
            if now - st.st_mtime < min_age or str(d / "config.xml") in in_use:
                continue
            if ADMIN_USER not in (d / "users.xml").read_text("utf-8", "replace"):
                continue
        except OSError:
            continue
        shutil.rmtree(d, ignore_errors=True)
        removed.append(d)
    return removed
