"""Decoy servers for the integration tests: things that look a bit like ClickHouse but are not.

* :class:`OkHttpDecoy` - an HTTP server that answers ``200 Ok.`` to every request, the way
  ClickHouse's ``/`` and ``/ping`` do (and so do many health-check endpoints). A scanner that
  calls it ClickHouse is wrong.
* :class:`GarbageTcp` - a TCP server (default port 9000) that misbehaves in one of
  :data:`GARBAGE_MODES`:

  ``garbage``  send a few hundred random bytes, then close;
  ``close``    accept and close at once without a byte;
  ``silent``   accept and never answer (until the client or the test gives up);
  ``flood``    stream random bytes until the client stops reading (bounded to 64 MiB);
  ``http400``  answer like an HTTP server with ``400 Bad Request`` (not ClickHouse's text).

Each listens on one loopback address (both are refused anything else), runs in daemon threads,
and is stopped by :meth:`stop` / the context manager. Used by ``tests/integration/conftest.py``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Literal, Self, get_args

from leakmap.lab.addresses import require_loopback

__all__ = ["GARBAGE_MODES", "GarbageMode", "GarbageTcp", "OkHttpDecoy"]

GarbageMode = Literal["garbage", "close", "silent", "flood", "http400"]
GARBAGE_MODES: tuple[GarbageMode, ...] = get_args(GarbageMode)

_FLOOD_LIMIT = 64 * 1024 * 1024


class _OkHandler(BaseHTTPRequestHandler):
    server_version = "nginx"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if 0 < length <= 1 << 20:
            self.rfile.read(length)
        body = b"Ok.\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_HEAD = do_PUT = do_OPTIONS = do_DELETE = _answer

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet in test output."""


class _Threaded:
    """Shared start/stop for the two decoys."""

    _server: socketserver.BaseServer | None
    _thread: threading.Thread | None

    def _serve(self, server: socketserver.BaseServer) -> None:
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class _ReusableThreadingHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class OkHttpDecoy(_Threaded):
    """Answers ``200 Ok.`` to every HTTP request on ``ip:port``."""

    def __init__(self, ip: str, port: int = 8123) -> None:
        self.ip = require_loopback(ip)
        self.port = port
        self.http_port = port
        self._server = None
        self._thread = None

    @property
    def url(self) -> str:
        return f"http://{self.ip}:{self.port}"

    def start(self) -> Self:
        self._serve(_ReusableThreadingHTTPServer((self.ip, self.port), _OkHandler))
        return self

    def __enter__(self) -> Self:
        return self.start()

    def __repr__(self) -> str:
        return f"OkHttpDecoy({self.ip}:{self.port})"


class _GarbageHandler(socketserver.BaseRequestHandler):
    server: _GarbageServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        mode = self.server.mode
        stop = self.server.stopping
        try:
            if mode == "close":
                return
            if mode == "garbage":
                sock.sendall(os.urandom(64 + int.from_bytes(os.urandom(1), "big")))
                return
            if mode == "http400":
                sock.settimeout(2.0)
                with contextlib.suppress(OSError):
                    sock.recv(4096)
                sock.sendall(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\n"
                    b"Connection: close\r\n\r\nBad Request"
                )
                return
            if mode == "flood":
                sent = 0
                chunk = os.urandom(65536)
                while sent < _FLOOD_LIMIT and not stop.is_set():
                    sock.sendall(chunk)
                    sent += len(chunk)
                return
            # silent: hold the connection open, read and drop whatever comes, never answer.
            sock.settimeout(0.2)
            while not stop.is_set():
                try:
                    if not sock.recv(65536):
                        return
                except TimeoutError:
                    continue
        except OSError:
            return


class _GarbageServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, addr: tuple[str, int], mode: GarbageMode) -> None:
        self.mode = mode
        self.stopping = threading.Event()
        super().__init__(addr, _GarbageHandler)


class GarbageTcp(_Threaded):
    """A TCP server on ``ip:port`` (default 9000) misbehaving per ``mode``."""

    def __init__(self, ip: str, mode: GarbageMode = "garbage", port: int = 9000) -> None:
        if mode not in GARBAGE_MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self.ip = require_loopback(ip)
        self.port = port
        self.native_port = port
        self.mode: GarbageMode = mode
        self._server = None
        self._thread = None

    def start(self) -> Self:
        self._serve(_GarbageServer((self.ip, self.port), self.mode))
        return self

    def stop(self) -> None:
        if isinstance(self._server, _GarbageServer):
            self._server.stopping.set()
        super().stop()

    def __enter__(self) -> Self:
        return self.start()

    def __repr__(self) -> str:
        return f"GarbageTcp({self.ip}:{self.port}, {self.mode})"
