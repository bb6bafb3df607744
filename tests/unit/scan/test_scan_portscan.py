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


# --- the epoll engine (the default) -------------------------------------------------------


def test_default_engine_is_epoll_and_a_connector_selects_asyncio() -> None:
    async def never(ip: str, port: int, timeout: float) -> tuple[PortState, str]:
        raise AssertionError

    assert PortScanner().engine == "epoll"
    assert PortScanner(connector=never).engine == "asyncio"


@pytest.mark.parametrize("engine", ["epoll", "asyncio"])
async def test_engines_agree_on_open_closed_and_filtered(
    engine: str, listener: tuple[str, int], full_backlog: int
) -> None:
    ip, open_port = listener
    closed = _free_port()
    scanner = PortScanner(concurrency=8, timeout=0.3, engine=engine)
    hosts = [ScanHost("a", ip, (open_port, closed, full_backlog))]
    got = {r.port: (r.state, r.reason) async for r in scanner.scan(hosts)}
    assert got == {
        open_port: (PortState.OPEN, "connected"),
        closed: (PortState.CLOSED, "refused"),
        full_backlog: (PortState.FILTERED, "timeout"),
    }


async def test_epoll_engine_ipv6_loopback() -> None:
    try:
        server = await asyncio.start_server(lambda r, w: w.close(), "::1", 0)
    except OSError:
        pytest.skip("no IPv6 loopback here")
    port = server.sockets[0].getsockname()[1]
    async with server:
        results = [r async for r in PortScanner().scan([ScanHost("::1", "::1", (port,))])]
    assert [(r.ip, r.state) for r in results] == [("::1", PortState.OPEN)]


async def test_epoll_engine_many_refused_ports_each_once() -> None:
    """2,000 probes to 250 loopback addresses: every one reported exactly once."""
    hosts = [
        ScanHost(
            f"127.9.{i // 250}.{i % 250 + 1}", f"127.9.{i // 250}.{i % 250 + 1}", tuple(range(1, 9))
        )
        for i in range(250)
    ]
    scanner = PortScanner(concurrency=64, per_host=2, timeout=2.0)
    results = [r async for r in scanner.scan(hosts)]
    assert len(results) == 2000
    assert len({(r.ip, r.port) for r in results}) == 2000
    assert {r.state for r in results} == {PortState.CLOSED}


async def test_epoll_engine_per_host_bound_with_real_connections(full_backlog: int) -> None:
    """Probes to one port that never answers stay in flight until the timeout; with
    per_host=2, 6 probes to one address take 3 rounds of the timeout (a scanner without
    the bound would take one)."""
    import time

    scanner = PortScanner(concurrency=64, per_host=2, timeout=0.3)
    # the same port six times: six probes, each one held open until its timeout
    hosts = [ScanHost("h", "127.0.0.1", (full_backlog,)) for _ in range(6)]
    started = time.monotonic()
    results = [r async for r in scanner.scan(hosts)]
    elapsed = time.monotonic() - started
    assert [r.state for r in results] == [PortState.FILTERED] * 6
    assert elapsed >= 0.85, elapsed


@pytest.mark.parametrize("engine", ["epoll", "asyncio"])
async def test_rate_caps_new_connections_per_second(engine: str) -> None:
    """--rate 100 over 150 refused probes: at least (150 - burst) / 100 s. Without the
    limiter the same probes take a few milliseconds."""
    import time

    port = _free_port()
    hosts = [ScanHost(f"127.8.0.{i}", f"127.8.0.{i}", (port,)) for i in range(1, 151)]
    scanner = PortScanner(concurrency=64, timeout=1.0, rate=100, engine=engine)
    started = time.monotonic()
    results = [r async for r in scanner.scan(hosts)]
    elapsed = time.monotonic() - started
    assert len(results) == 150
    burst = 64
    assert elapsed >= (150 - burst) / 100 * 0.95, elapsed
    assert elapsed < 5


def test_rate_limiter_tokens() -> None:
    from leakmap.net.portscan import RateLimiter

    limiter = RateLimiter(10, burst=2)
    now = limiter._stamp
    assert limiter.take(now) and limiter.take(now) and not limiter.take(now)
    assert not limiter.take(now + 0.05)
    assert limiter.take(now + 0.16)


async def test_hosts_are_read_lazily() -> None:
    """The scanner reads a window of hosts at a time: a generator of a million hosts is not
    drained when the consumer stops after the first results."""
    from leakmap.net.portscan import WINDOW

    pulled = 0
    port = _free_port()

    def hosts() -> Iterator[ScanHost]:
        nonlocal pulled
        for i in range(1_000_000):
            pulled += 1
            ip = f"127.7.{(i >> 8) & 255}.{(i & 255) or 1}"
            yield ScanHost(ip, ip, (port,))

    gen = PortScanner(concurrency=16).scan(hosts())
    await anext(gen)
    await gen.aclose()
    assert pulled <= 3 * WINDOW


def test_interleave_spreads_ports_across_hosts_within_a_window() -> None:
    from leakmap.net.portscan import interleave

    hosts = [ScanHost(str(i), str(i), (1, 2)) for i in range(3)]
    assert [(h.host, p) for h, p in interleave(hosts, window=2)] == [
        ("0", 1),
        ("1", 1),
        ("0", 2),
        ("1", 2),
        ("2", 1),
        ("2", 2),
    ]


async def test_epoll_engine_stops_when_consumer_breaks(full_backlog: int) -> None:
    """Closing the iterator ends the engine thread and closes its sockets at once."""
    import threading

    scanner = PortScanner(concurrency=8, per_host=8, timeout=30.0)
    listener_port = full_backlog
    gen = scanner.scan(
        [ScanHost("h", "127.0.0.1", (_free_port(),))]
        + [ScanHost("h", "127.0.0.1", (listener_port,)) for _ in range(20)]
    )
    first = await anext(gen)
    assert first.state is PortState.CLOSED
    await asyncio.wait_for(gen.aclose(), 5)
    assert not any(t.name == "leakmap-portscan" for t in threading.enumerate())


@pytest.mark.parametrize("engine", ["epoll", "asyncio"])
async def test_open_only_reports_only_open_ports(
    engine: str, listener: tuple[str, int], full_backlog: int
) -> None:
    ip, open_port = listener
    scanner = PortScanner(timeout=0.3, open_only=True, engine=engine)
    hosts = [ScanHost("a", ip, (open_port, _free_port(), full_backlog))]
    assert [(r.port, r.state) async for r in scanner.scan(hosts)] == [(open_port, PortState.OPEN)]


async def test_network_layer_connections_share_the_rate_budget(listener: tuple[str, int]) -> None:
    """--rate caps plugin connections too: 30 open_tcp calls through a Network holding a
    20/s limiter whose burst was spent by the port scan take about 1.5 s."""
    import time

    from leakmap.net.bounded import Network
    from leakmap.net.rate import RateLimiter

    ip, port = listener
    limiter = RateLimiter(20, burst=1)
    network = Network(limiter=limiter)
    assert limiter.take()  # the port scan took the burst
    started = time.monotonic()
    for _ in range(30):
        _reader, writer = await network.open_tcp(ip, port)
        writer.close()
    elapsed = time.monotonic() - started
    assert elapsed >= 30 / 20 * 0.9, elapsed


def test_scan_shares_one_limiter_between_port_scan_and_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """leakmap scan --rate: the pipeline's network layer gets the port scanner's limiter."""
    from leakmap.commands import scan as scan_command
    from leakmap.pipeline import Pipeline

    seen: list[object] = []
    real_create = Pipeline.create

    def spy(*args: object, **kwargs: object) -> Pipeline:
        pipeline = real_create(*args, **kwargs)  # type: ignore[arg-type]
        seen.append(pipeline)
        return pipeline

    monkeypatch.setattr(Pipeline, "create", staticmethod(spy))
    import typer
    from typer.testing import CliRunner

    app = typer.Typer()
    scan_command.register(app)
    app.command("noop")(lambda: None)
    result = CliRunner().invoke(
        app, ["scan", f"127.0.0.1:{_free_port()}", "--rate", "50", "-q", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    (pipeline,) = seen
    assert isinstance(pipeline, Pipeline)
    limiter = pipeline.context.network.limiter
    assert limiter is not None and limiter is pipeline.scanner.limiter and limiter.rate == 50
