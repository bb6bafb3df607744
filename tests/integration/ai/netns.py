"""Test servers in their own network namespace, reachable on a random loopback address.

Several AI-stack servers try to reach the internet unless told not to (telemetry, model and
price-list downloads, Ray's DNS probe of a public resolver). Settings alone are a promise; a
namespace is a wall: :class:`NetnsServer` starts the program under ``unshare -n`` where only
``lo`` exists (see ``_inside.py``), and joins a TCP listener on a random 127.x.y.z address in
the test's own namespace to it through a Unix socket. Scanner and tests see an ordinary server
on ``.ip:.port``; the server sees connections from 127.0.0.1 and cannot send a packet
anywhere else.

``stop()`` ends the process group it started and then every process still in that namespace
(the namespace is ours alone), never anything by name. Everything runs as the current user;
``unshare -n`` needs root or user namespaces (CI runs as root).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

from leakmap.lab.addresses import random_loopback, require_loopback

__all__ = ["TEMP_PREFIX", "NetnsServer", "netns_available", "quiet_env"]

TEMP_PREFIX = "leakmap-ai-"
_INSIDE = Path(__file__).resolve().parent / "_inside.py"
_DEAD_PROXY = "http://127.0.0.1:9"


def netns_available() -> bool:
    """True when ``unshare -n`` and ``ip`` work here (root, or user namespaces allowed)."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-n", "--", "ip", "link", "set", "lo", "up"],
        capture_output=True,
        timeout=10,
    )
    return probe.returncode == 0


def quiet_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment for a test server: own HOME, no telemetry, every proxy a dead loopback
    port (a library that ignores the telemetry switch still has nowhere to go)."""
    keep = ("PATH", "LANG", "LC_ALL", "TZ", "SYSTEMROOT")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env |= {
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "HTTP_PROXY": _DEAD_PROXY,
        "HTTPS_PROXY": _DEAD_PROXY,
        "http_proxy": _DEAD_PROXY,
        "https_proxy": _DEAD_PROXY,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "DO_NOT_TRACK": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    return env | dict(extra or {})


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while chunk := src.recv(65536):
            dst.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


class _RelayHandler(socketserver.BaseRequestHandler):
    server: _Relay

    def handle(self) -> None:
        outer: socket.socket = self.request
        inner = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            inner.connect(self.server.unix_path)
        except OSError:
            inner.close()
            return
        back = threading.Thread(target=_pump, args=(inner, outer), daemon=True)
        back.start()
        _pump(outer, inner)
        back.join(timeout=600)
        inner.close()


class _Relay(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, addr: tuple[str, int], unix_path: str) -> None:
        self.unix_path = unix_path
        super().__init__(addr, _RelayHandler)


def _netns_inode(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return None


def _pids_in_netns(inode: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _netns_inode(int(entry.name)) == inode:
            pids.append(int(entry.name))
    return pids


class NetnsServer:
    """``argv`` run in a private network namespace, listening there on 127.0.0.1:``port``;
    reachable from here on ``.ip:.port`` (same port number, random loopback address).

    ``argv`` and ``env`` may use ``{dir}`` (the server's own temp dir), ``{port}`` and ``{ip}``
    (the outside address, e.g. for a Host-header allow-list).
    ``ready`` is an HTTP path polled until it answers with a status below 500.
    ``stop_grace``: seconds between SIGTERM and SIGKILL when stopping.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        port: int,
        env: Mapping[str, str] | None = None,
        ready: str = "/",
        ready_timeout: float = 180.0,
        prepare: Callable[[Path], None] | None = None,
        stop_grace: float = 15.0,
    ) -> None:
        self.name = name
        self.port = port
        self.dir = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{name}-"))
        self.home = self.dir / "home"
        self.home.mkdir()
        self._sock = str(self.dir / "relay.sock")
        # the outside listener is bound here, before anything starts: an address another
        # process took between the free-port check and the bind is simply skipped
        self._relay: _Relay | None = self._bind_relay()
        self.ip = str(self._relay.server_address[0])
        fill = {"dir": str(self.dir), "port": str(port), "ip": self.ip}
        self.argv = [a.format(**fill) for a in argv]
        self.env = quiet_env(self.home, {k: v.format(**fill) for k, v in (env or {}).items()})
        self.ready = ready
        self.ready_timeout = ready_timeout
        self.start_seconds = 0.0
        self._prepare = prepare
        self.stop_grace = stop_grace
        self._proc: subprocess.Popen[bytes] | None = None
        self._relay_thread: threading.Thread | None = None
        self._netns: str | None = None
        self._log = self.dir / "server.log"

    def _bind_relay(self) -> _Relay:
        for _ in range(20):
            ip = require_loopback(random_loopback((self.port,)))
            try:
                return _Relay((ip, self.port), self._sock)
            except OSError:
                continue
        raise RuntimeError(f"no free loopback address for port {self.port}")

    @property
    def url(self) -> str:
        return f"http://{self.ip}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self._log.read_text("utf-8", "replace").splitlines()[-lines:])
        except OSError:
            return ""

    def start(self) -> Self:
        begin = time.monotonic()
        if self._prepare is not None:
            self._prepare(self.dir)
        cmd = ["unshare", "-n", "--", sys.executable, str(_INSIDE), self._sock, str(self.port)]
        cmd.append("--")
        with self._log.open("wb") as log:
            self._proc = subprocess.Popen(
                [*cmd, *self.argv],
                cwd=self.dir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        assert self._relay is not None
        self._relay_thread = threading.Thread(
            target=self._relay.serve_forever, args=(0.05,), daemon=True
        )
        self._relay_thread.start()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - begin
        return self

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self._netns is None:
                self._netns = _netns_inode(self._proc.pid)
            if self._proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
            try:
                resp = httpx.get(self.url + self.ready, timeout=2.0, trust_env=False)
                if resp.status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        waited = f"{self.ready_timeout:.0f} s"
        raise RuntimeError(f"{self.name} not ready in {waited}:\n{self.log_tail()}")

    def run_inside(self, argv: Sequence[str], *, timeout: float = 60.0) -> str:
        """Run ``argv`` inside the server's namespace (same environment); return its stdout."""
        assert self._proc is not None
        proc = subprocess.run(
            ["nsenter", "-t", str(self._proc.pid), "-n", "--", *argv],
            env=self.env,
            cwd=self.dir,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
        return proc.stdout

    def stop(self) -> None:
        if self._relay is not None:
            if self._relay_thread is not None:
                self._relay.shutdown()
            self._relay.server_close()
            self._relay = None
        proc, self._proc = self._proc, None
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=self.stop_grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        if self._netns is not None and self._netns != _netns_inode(os.getpid()):
            for pid in _pids_in_netns(self._netns):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"NetnsServer({self.name} {self.ip}:{self.port})"
