"""An asyncio TCP connect scan that streams results as ports are checked.

:class:`PortScanner` runs a fixed pool of workers (the global concurrency bound, capped
below the process's file-descriptor limit) over the (host, port) jobs, interleaved so that
one host does not take every slot; a per-host semaphore keeps at most ``per_host``
connections open to any one address. Each probe is a plain non-blocking ``connect()``:

* ``open``: the handshake completed (the socket is closed at once, nothing is sent);
* ``closed``: the host refused (RST);
* ``filtered``: no answer before ``timeout``, or the network said unreachable.

Running out of file descriptors (``EMFILE``/``ENFILE``) is not a result: the worker backs
off and retries, so a busy process degrades in speed, not in correctness.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import resource
import socket
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

from leakmap.services.base import OpenPort
from leakmap.targets import ScanHost

__all__ = [
    "Connector",
    "PortResult",
    "PortScanner",
    "PortState",
    "fd_budget",
    "tcp_connect",
]

_FD_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS})


class PortState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    FILTERED = "filtered"


@dataclass(frozen=True, slots=True)
class PortResult:
    host: str
    ip: str
    port: int
    state: PortState
    reason: str = ""

    def open_port(self) -> OpenPort:
        return OpenPort(self.host, self.ip, self.port)


class _OutOfDescriptors(Exception):
    """The process hit its descriptor limit: retry later, do not report a state."""


#: ``async (ip, port, timeout) -> (state, reason)``; the seam tests may swap.
Connector = Callable[[str, int, float], Awaitable[tuple[PortState, str]]]


async def tcp_connect(ip: str, port: int, timeout: float) -> tuple[PortState, str]:
    """One TCP connect probe; nothing is sent on an open port."""
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as exc:
        if exc.errno in _FD_ERRNOS:
            raise _OutOfDescriptors from exc
        return PortState.FILTERED, exc.strerror or type(exc).__name__
    try:
        sock.setblocking(False)
        async with asyncio.timeout(timeout):
            await loop.sock_connect(sock, (ip, port))
    except ConnectionRefusedError:
        return PortState.CLOSED, "refused"
    except TimeoutError:
        return PortState.FILTERED, "timeout"
    except OSError as exc:
        if exc.errno in _FD_ERRNOS:
            raise _OutOfDescriptors from exc
        return PortState.FILTERED, exc.strerror or type(exc).__name__
    finally:
        sock.close()
    return PortState.OPEN, "connected"


def fd_budget(requested: int) -> int:
    """``requested`` capped below the soft descriptor limit (a quarter, at least 64, kept
    free for the probes that follow the scan, the log and the output)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return max(1, requested)
    return max(1, min(requested, soft - max(64, soft // 4)))


def _interleave(hosts: Sequence[ScanHost]) -> Iterator[tuple[ScanHost, int]]:
    """Port i of every host before port i+1 of any, so slots spread across hosts."""
    width = max((len(h.ports) for h in hosts), default=0)
    for index in range(width):
        for host in hosts:
            if index < len(host.ports):
                yield host, host.ports[index]


class PortScanner:
    """A bounded TCP connect scan. Use :meth:`scan` as an async iterator of results."""

    def __init__(
        self,
        *,
        concurrency: int = 256,
        per_host: int = 32,
        timeout: float = 2.0,
        connector: Connector | None = None,
        fd_retries: int = 8,
    ) -> None:
        self.concurrency = fd_budget(max(1, concurrency))
        self.per_host = max(1, per_host)
        self.timeout = timeout
        self._connect = connector or tcp_connect
        self._fd_retries = fd_retries

    @staticmethod
    def job_count(hosts: Sequence[ScanHost]) -> int:
        return sum(len(h.ports) for h in hosts)

    async def _probe(self, ip: str, port: int) -> tuple[PortState, str]:
        delay = 0.05
        for _ in range(self._fd_retries):
            try:
                return await self._connect(ip, port, self.timeout)
            except _OutOfDescriptors:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
        return PortState.FILTERED, "local: out of file descriptors"

    async def scan(self, hosts: Sequence[ScanHost]) -> AsyncGenerator[PortResult, None]:
        """Yield one :class:`PortResult` per (host, port), in completion order."""
        total = self.job_count(hosts)
        if total == 0:
            return
        jobs = _interleave(hosts)
        host_gates: dict[str, asyncio.Semaphore] = {}
        queue: asyncio.Queue[PortResult | None] = asyncio.Queue()

        async def worker() -> None:
            try:
                for host, port in jobs:
                    gate = host_gates.setdefault(host.ip, asyncio.Semaphore(self.per_host))
                    async with gate:
                        state, reason = await self._probe(host.ip, port)
                    await queue.put(PortResult(host.host, host.ip, port, state, reason))
            finally:
                await queue.put(None)

        workers = [asyncio.create_task(worker()) for _ in range(min(self.concurrency, total))]
        running = len(workers)
        try:
            while running:
                item = await queue.get()
                if item is None:
                    running -= 1
                    continue
                yield item
            for task in workers:
                # surface an unexpected error from a worker instead of losing it
                task.result()
        finally:
            for task in workers:
                task.cancel()
            for task in workers:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
