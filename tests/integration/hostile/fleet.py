"""A fleet of hostile servers on loopback, all served by one asyncio loop in a daemon thread.

Each :class:`~.behaviours.Behaviour` gets its own random 127.x.y.z address (on the port the
real service uses, so the scanner tries the matching plugin first) and counts the connections
it received: a hostile server the scan never reached proves nothing, so the tests check that
every one was contacted. :class:`Recorder` is a listener that only records connections (the
off-host redirect target, the out-of-scope listener of the scope tests).

Handlers run until the client goes away or the fleet stops; every task is cancelled by
:meth:`Fleet.stop`. The fleet never connects anywhere itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import tempfile
import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Self

from leakmap.lab.addresses import random_loopback, require_loopback

from ..ch_tls import self_signed

__all__ = ["Certificates", "Env", "Fleet", "Handler", "Recorder", "Running", "TlsKind"]

TlsKind = Literal["self-signed", "expired", "wrong-name"]


@dataclass(slots=True)
class Recorder:
    """Where a connection must never arrive: counts connections (and their first bytes)."""

    ip: str
    port: int
    connections: int = 0
    first_bytes: list[bytes] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.ip}:{self.port}/"


@dataclass(slots=True)
class Env:
    """What handlers may need from the fleet."""

    sink: Recorder


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, Env], Awaitable[None]]


class Certificates:
    """One certificate per :data:`TlsKind`, made once with ``openssl`` in a temp dir."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="leakmap-hostile-tls-")
        root = Path(self._tmp.name)
        self.contexts: dict[TlsKind, ssl.SSLContext] = {}
        specs: dict[TlsKind, tuple[str, bool]] = {
            "self-signed": ("/CN=leakmap-hostile", False),
            "expired": ("/CN=leakmap-hostile-expired", True),
            "wrong-name": ("/CN=evil.example", False),
        }
        for kind, (subject, expired) in specs.items():
            d = root / kind
            d.mkdir()
            cert, key = self_signed(d, subject=subject, expired=expired)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            self.contexts[kind] = ctx

    def cleanup(self) -> None:
        self._tmp.cleanup()


@dataclass(slots=True)
class Running:
    """A started behaviour: where it listens and how often it was reached."""

    name: str
    ip: str
    port: int
    connections: int = 0

    @property
    def target(self) -> str:
        return f"{self.ip}:{self.port}"


class Fleet:
    """Start with :meth:`start` (or ``with``), stop with :meth:`stop`."""

    def __init__(self, *, certificates: Certificates | None = None) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._certs = certificates
        self.running: dict[str, Running] = {}
        self.sink = Recorder("127.0.0.1", 0)
        self._env = Env(self.sink)

    def start(self) -> Self:
        self._thread.start()
        return self

    def _run(self, coro: Awaitable[object], timeout: float = 30.0) -> object:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)  # type: ignore[arg-type]

    def start_sink(self, port: int = 8123) -> Recorder:
        """The recording listener on its own address (the off-host redirect target)."""
        ip = random_loopback((port,))
        self.sink = Recorder(ip, port)
        self._env.sink = self.sink
        self._run(self._listen_recorder(self.sink))
        return self.sink

    def add_recorder(self, ip: str, port: int) -> Recorder:
        rec = Recorder(require_loopback(ip), port)
        self._run(self._listen_recorder(rec))
        return rec

    def add(
        self,
        name: str,
        port: int,
        handler: Handler,
        *,
        tls: TlsKind | None = None,
        ip: str | None = None,
    ) -> Running:
        ip = require_loopback(ip) if ip else random_loopback((port,))
        run = Running(name, ip, port)
        ctx = None
        if tls is not None:
            if self._certs is None:
                raise RuntimeError("TLS behaviours need certificates")
            ctx = self._certs.contexts[tls]
        self._run(self._listen(run, handler, ctx))
        self.running[name] = run
        return run

    def add_all(self, behaviours: Iterable[tuple[str, int, Handler, TlsKind | None]]) -> None:
        for name, port, handler, tls in behaviours:
            self.add(name, port, handler, tls=tls)

    async def _listen(self, run: Running, handler: Handler, ctx: ssl.SSLContext | None) -> None:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            run.connections += 1
            task = asyncio.current_task()
            assert task is not None
            self._tasks.add(task)
            try:
                await handler(reader, writer, self._env)
            except (
                OSError,
                asyncio.IncompleteReadError,
                asyncio.LimitOverrunError,
                asyncio.CancelledError,
                ssl.SSLError,
            ):
                pass
            finally:
                self._tasks.discard(task)
                writer.transport.abort()

        server = await asyncio.start_server(
            serve, run.ip, run.port, ssl=ctx, ssl_handshake_timeout=10 if ctx else None,
            reuse_address=True,
        )  # fmt: skip
        self._servers.append(server)

    async def _listen_recorder(self, rec: Recorder) -> None:
        async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            rec.connections += 1
            with contextlib.suppress(Exception):
                rec.first_bytes.append(await asyncio.wait_for(reader.read(200), 1.0))
            writer.transport.abort()

        server = await asyncio.start_server(record, rec.ip, rec.port, reuse_address=True)
        self._servers.append(server)

    async def _stop_all(self) -> None:
        for server in self._servers:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.sleep(0.1)

    def stop(self) -> None:
        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                self._run(self._stop_all(), timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        if self._certs is not None:
            self._certs.cleanup()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
