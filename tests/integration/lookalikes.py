"""ClickHouse lookalikes for the "open means proven" tests (issue 12 item 1).

:class:`ChLookalike` is an HTTP server on one loopback address that sends ClickHouse's
response headers (``X-ClickHouse-Summary``, ``-Query-Id``, ``-Format``, ``-Timezone``,
``-Server-Display-Name``) on every answer, whatever the request, with a body chosen by
``mode``:

``gzip-bomb``   ``Content-Encoding: gzip`` and 64 MiB of zeros compressed to ~64 KiB
                (the lookalike of the issue: it was called open two runs out of three);
``version``     a plausible answer to the proof query: ``23.8.2.7`` and a random number;
``echo``        the request body reflected back;
``ok``          ``Ok.`` (what ClickHouse's ``/`` and ``/ping`` say);
``cut-short``   a Content-Length of 1 MiB, 40 bytes sent, then the connection closed;
``garbage``     random bytes (a new draw per request).

None of them ever computed anything: a scanner that calls one open is wrong.
"""

from __future__ import annotations

import gzip
import os
from http.server import BaseHTTPRequestHandler
from typing import Literal, Self, get_args

from leakmap.lab.addresses import require_loopback

from .servers import _ReusableThreadingHTTPServer, _Threaded

__all__ = ["LOOKALIKE_MODES", "ChLookalike", "LookalikeMode"]

LookalikeMode = Literal["gzip-bomb", "version", "echo", "ok", "cut-short", "garbage"]
LOOKALIKE_MODES: tuple[LookalikeMode, ...] = get_args(LookalikeMode)

_BOMB = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)


class _Handler(BaseHTTPRequestHandler):
    server_version = "ClickHouse"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    mode: LookalikeMode = "ok"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = self.rfile.read(length) if 0 < length <= 1 << 20 else b""
        mode = self.mode
        declared: int | None = None
        encoding: str | None = None
        if mode == "gzip-bomb":
            body, encoding = _BOMB, "gzip"
        elif mode == "version":
            body = b"23.8.2.7\t%d\n" % int.from_bytes(os.urandom(4), "big")
        elif mode == "echo":
            body = request
        elif mode == "cut-short":
            body, declared = b"23.8.2.7\t" + b"1" * 31, 1 << 20
        elif mode == "garbage":
            body = os.urandom(300)
        else:
            body = b"Ok.\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/tab-separated-values; charset=UTF-8")
        self.send_header("X-ClickHouse-Server-Display-Name", "lookalike")
        self.send_header("X-ClickHouse-Query-Id", "00000000-0000-0000-0000-000000000000")
        self.send_header("X-ClickHouse-Format", "TabSeparated")
        self.send_header("X-ClickHouse-Timezone", "UTC")
        self.send_header("X-ClickHouse-Summary", '{"read_rows":"1","read_bytes":"1"}')
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.send_header("Content-Length", str(declared or len(body)))
        if declared is not None:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            try:
                self.wfile.write(body)
                self.wfile.flush()
            except OSError:
                pass

    do_GET = do_POST = do_HEAD = _answer

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet in test output."""


class ChLookalike(_Threaded):
    """A lookalike on ``ip:port`` answering in ``mode``; start()/stop() or a context manager."""

    def __init__(self, ip: str, mode: LookalikeMode, port: int = 8123) -> None:
        self.ip = require_loopback(ip)
        self.port = port
        self.mode = mode
        self._server = None
        self._thread = None

    def start(self) -> Self:
        handler = type("Handler", (_Handler,), {"mode": self.mode})
        self._serve(_ReusableThreadingHTTPServer((self.ip, self.port), handler))
        return self

    def __enter__(self) -> Self:
        return self.start()

    def __repr__(self) -> str:
        return f"ChLookalike({self.mode} on {self.ip}:{self.port})"
