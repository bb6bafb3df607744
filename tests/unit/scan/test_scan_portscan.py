"""The TCP connect scan against real loopback listeners started by the tests."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator

import pytest

from leakmap.net.portscan import PortResult, PortScanner, PortState, fd_budget, tcp_connect
from leakmap.targets import ScanHost


@pytest.fixture
async def listener() -> AsyncIterator[tuple[str, int]]:
    """A real TCP server on 127.0.0.1 that accepts and closes connections."""
    accepted: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield "127.0.0.1", port


def _free_port() -> int:
    """A port with nothing listening (bound then closed: the kernel refuses connections)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A listener whose accept queue is full, so new SYNs are dropped: a 'filtered' port."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(3):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        fillers.append(c)
    try:
        yield port
    finally:
        for c in fillers:
            c.close()
        server.close()


async def test_tcp_connect_open_and_closed(listener: tuple[str, int]) -> None:
    ip, port = listener
    assert (await tcp_connect(ip, port, 1.0))[0] is PortState.OPEN
    assert await tcp_connect(ip, _free_port(), 1.0) == (PortState.CLOSED, "refused")


async def test_tcp_connect_filtered_on_timeout(full_backlog: int) -> None:
    state, reason = await tcp_connect("127.0.0.1", full_backlog, 0.3)
    assert (state, reason) == (PortState.FILTERED, "timeout")


async def test_tcp_connect_ipv6_loopback() -> None:
    try:
        server = await asyncio.start_server(lambda r, w: w.close(), "::1", 0)
    except OSError:
        pytest.skip("no IPv6 loopback here")
    port = server.sockets[0].getsockname()[1]
    async with server:
        assert (await tcp_connect("::1", port, 1.0))[0] is PortState.OPEN


async def test_scan_streams_every_job_once(listener: tuple[str, int]) -> None:
    ip, open_port = listener
    closed = _free_port()
    hosts = [
        ScanHost("a", ip, (open_port, closed)),
        ScanHost("b", "127.0.0.1", (closed,)),
    ]
    scanner = PortScanner(concurrency=2, per_host=1, timeout=1.0)
    results = [r async for r in scanner.scan(hosts)]
    got = sorted((r.host, r.port, r.state) for r in results)
    assert got == sorted(
        [
            ("a", open_port, PortState.OPEN),
            ("a", closed, PortState.CLOSED),
            ("b", closed, PortState.CLOSED),
        ]
    )
    assert results[0].open_port().ip == ip
    assert scanner.job_count(hosts) == 3


async def test_scan_bounds_global_and_per_host_concurrency() -> None:
    """A connector test double records how many probes run at once, overall and per host."""
    running: dict[str, int] = {}
    peak_host: dict[str, int] = {}
    peak = 0

    async def slow(ip: str, port: int, timeout: float) -> tuple[PortState, str]:
        nonlocal peak
        running[ip] = running.get(ip, 0) + 1
        peak_host[ip] = max(peak_host.get(ip, 0), running[ip])
        peak = max(peak, sum(running.values()))
        await asyncio.sleep(0.01)
        running[ip] -= 1
        return PortState.CLOSED, "refused"

    hosts = [ScanHost(f"127.0.0.{i}", f"127.0.0.{i}", tuple(range(1, 21))) for i in range(1, 6)]
    scanner = PortScanner(concurrency=8, per_host=3, timeout=1.0, connector=slow)
    results = [r async for r in scanner.scan(hosts)]
    assert len(results) == 100
    assert len({(r.ip, r.port) for r in results}) == 100
    assert peak == 8
    assert max(peak_host.values()) <= 3


async def test_scan_stops_cleanly_when_consumer_breaks() -> None:
    started = 0

    async def slow(ip: str, port: int, timeout: float) -> tuple[PortState, str]:
        nonlocal started
        started += 1
        await asyncio.sleep(0.01)
        return PortState.CLOSED, "refused"

    scanner = PortScanner(concurrency=4, per_host=4, timeout=1.0, connector=slow)
    gen = scanner.scan([ScanHost("h", "127.0.0.1", tuple(range(1, 1001)))])
    first: PortResult = await anext(gen)
    await gen.aclose()
    assert first is not None
    await asyncio.sleep(0.05)
    assert started < 50


async def test_scan_retries_when_out_of_descriptors() -> None:
    """EMFILE is not a result: the probe is retried after a back-off."""
    from leakmap.net import portscan

    calls = 0

    async def flaky(ip: str, port: int, timeout: float) -> tuple[PortState, str]:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise portscan._OutOfDescriptors
        return PortState.OPEN, "connected"

    scanner = PortScanner(concurrency=1, timeout=1.0, connector=flaky)
    results = [r async for r in scanner.scan([ScanHost("h", "127.0.0.1", (1,))])]
    assert [r.state for r in results] == [PortState.OPEN] and calls == 3


def test_fd_budget_stays_below_the_limit() -> None:
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert fd_budget(10) == min(10, soft - max(64, soft // 4))
    assert fd_budget(10**9) < soft
