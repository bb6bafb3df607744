"""The pipeline over real loopback listeners, with test-double service plugins.

``BannerServiceDouble`` stands in for a real plugin (the ClickHouse plugin is exercised by
the integration tests): it recognises a server that greets with ``FAKEDB <version>``.
"""

from __future__ import annotations

import asyncio
import io
import json
import socket
import time
from collections.abc import AsyncIterator, Mapping
from typing import ClassVar

import pytest
from rich.console import Console

from leakmap.classify import Classifier
from leakmap.errors import ProbeError
from leakmap.findings import Finding, Severity
from leakmap.net.bounded import read_bounded
from leakmap.pipeline import (
    INCOMPLETE_RULE,
    EndpointFound,
    Note,
    Pipeline,
    PortChecked,
    ScanEvent,
    ScanSummary,
    Unidentified,
    fails,
    sort_findings,
)
from leakmap.services.base import (
    AuthState,
    Endpoint,
    OpenPort,
    PreProbe,
    Resource,
    ScanConfig,
    ScanContext,
    Service,
    ServiceReport,
    ServiceResult,
    Transport,
)
from leakmap.targets import ScanHost, collect_targets

RAW_FAKE_SECRET = "sk-proj-" + "Zq7" * 20


class BannerServiceDouble:
    """Test double of a service plugin: positive evidence = a ``FAKEDB`` greeting."""

    name: ClassVar[str] = "fakedb"
    default_ports: ClassVar[Mapping[int, str]] = {}
    protocols: ClassVar[frozenset[str]] = frozenset({"banner"})
    url_schemes: ClassVar[Mapping[str, tuple[int, str]]] = {}
    capabilities: ClassVar[Mapping[str, str]] = {}

    def __init__(self) -> None:
        self.fingerprinted: list[int] = []

    def accepts(self, pre: PreProbe) -> bool:
        return pre.banner.startswith(b"FAKEDB ")

    async def fingerprint(self, port: OpenPort, ctx: ScanContext) -> Endpoint | None:
        self.fingerprinted.append(port.port)
        try:
            reader, writer = await ctx.network.open_tcp(port.ip, port.port)
        except (OSError, TimeoutError):
            return None
        try:
            data = await read_bounded(reader, 256, ctx.config.read_timeout)
        except (TimeoutError, ProbeError):
            return None
        finally:
            writer.close()
        if not data.startswith(b"FAKEDB "):
            return None
        version = data[7:].strip().decode("ascii", "replace")
        return Endpoint(
            port.host, port.ip, port.port, self.name, Transport.NATIVE, "greeting", version
        )

    async def assess(self, endpoint: Endpoint, ctx: ScanContext) -> ServiceResult:
        report = ServiceReport.for_endpoint(
            endpoint,
            auth=AuthState.NONE,
            proof="the greeting",
            resources=(Resource(database="db", table="t", engine="Log", rows=3),),
        )
        findings = (
            Finding.make(
                rule="fakedb.open",
                severity=Severity.HIGH,
                host=endpoint.host,
                port=endpoint.port,
                service=self.name,
                title="open",
                evidence="no password",
                remediation="set one",
            ),
            Finding.make(
                rule="fakedb.version",
                severity=Severity.INFO,
                host=endpoint.host,
                port=endpoint.port,
                service=self.name,
                title="version",
                evidence=endpoint.version or "?",
                remediation="-",
            ),
        )
        return ServiceResult(report, findings)


class StuckAssessDouble(BannerServiceDouble):
    """Test double whose assessment never returns."""

    async def assess(self, endpoint: Endpoint, ctx: ScanContext) -> ServiceResult:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")


class RaisingAssessDouble(BannerServiceDouble):
    """Test double whose assessment raises with a secret in the message."""

    async def assess(self, endpoint: Endpoint, ctx: ScanContext) -> ServiceResult:
        raise RuntimeError(f"boom {RAW_FAKE_SECRET}")


class RaisingFingerprintDouble(BannerServiceDouble):
    """Test double that breaks its contract and raises from fingerprint."""

    name: ClassVar[str] = "broken"

    async def fingerprint(self, port: OpenPort, ctx: ScanContext) -> Endpoint | None:
        raise ValueError(RAW_FAKE_SECRET)


class Servers:
    def __init__(self) -> None:
        self.fakedb = 0
        self.decoy = 0
        self.silent = 0
        self.closed = 0


@pytest.fixture
async def servers() -> AsyncIterator[Servers]:
    """Real loopback servers: a FAKEDB one, an ``Ok.`` decoy, a silent one; a closed port."""

    async def fakedb(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"FAKEDB 1.2.3\n")
        await writer.drain()
        writer.close()

    async def decoy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Length: 4\r\n\r\nOk.\n")
        await writer.drain()
        writer.close()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        writer.close()

    started = [await asyncio.start_server(h, "127.0.0.1", 0) for h in (fakedb, decoy, silent)]
    out = Servers()
    out.fakedb, out.decoy, out.silent = (s.sockets[0].getsockname()[1] for s in started)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        out.closed = sock.getsockname()[1]
    try:
        yield out
    finally:
        for s in started:
            s.close()


def _pipeline(services: list[Service], **kwargs: float) -> Pipeline:
    config = ScanConfig(connect_timeout=1.0, read_timeout=0.3, concurrency=16)
    return Pipeline(services, config, Classifier.load(), **kwargs)  # type: ignore[arg-type]


async def _collect(gen: AsyncIterator[ScanEvent]) -> tuple[list[ScanEvent], ScanSummary]:
    events: list[ScanEvent] = []
    summary = ScanSummary()
    async for event in gen:
        events.append(event)
        summary.add(event)
    summary.finish()
    return events, summary


async def test_pipeline_finds_recognises_and_streams(servers: Servers) -> None:
    plugin = BannerServiceDouble()
    ports = (servers.fakedb, servers.decoy, servers.silent, servers.closed)
    host = ScanHost("127.0.0.1", "127.0.0.1", ports)
    events, summary = await _collect(_pipeline([plugin]).scan_hosts([host]))

    checked = [e for e in events if isinstance(e, PortChecked)]
    assert len(checked) == 4 and checked[-1].done == checked[-1].total == 4
    assert [e.endpoint.port for e in events if isinstance(e, EndpointFound)] == [servers.fakedb]
    assert sorted(e.port.port for e in events if isinstance(e, Unidentified)) == sorted(
        [servers.decoy, servers.silent]
    )
    # the service arrives after its endpoint was announced
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("EndpointFound") < kinds.index("ServiceFound")
    assert [s.port for s in summary.services] == [servers.fakedb]
    report = summary.services[0]
    assert (report.version, report.auth) == ("1.2.3", AuthState.NONE)
    assert [f.severity for f in summary.findings] == [Severity.HIGH, Severity.INFO]
    assert summary.ports_open == 3 and summary.ports_checked == 4
    assert servers.closed not in plugin.fingerprinted


async def test_pipeline_stuck_plugin_is_unknown_never_secure(servers: Servers) -> None:
    host = ScanHost("127.0.0.1", "127.0.0.1", (servers.fakedb, servers.decoy))
    pipeline = _pipeline([StuckAssessDouble()], endpoint_timeout=0.3)
    _, summary = await _collect(pipeline.scan_hosts([host]))
    (report,) = summary.services
    assert report.auth is AuthState.UNKNOWN
    assert any("timed out" in n for n in report.notes)
    assert [f.rule for f in summary.findings] == [INCOMPLETE_RULE]
    assert [p.port for p in summary.unidentified] == [servers.decoy]


async def test_pipeline_contains_plugin_exceptions_without_leaking(servers: Servers) -> None:
    host = ScanHost("127.0.0.1", "127.0.0.1", (servers.fakedb,))
    broken = RaisingFingerprintDouble()
    pipeline = _pipeline([broken, RaisingAssessDouble()])
    events, summary = await _collect(pipeline.scan_hosts([host]))
    errors = [e for e in events if isinstance(e, Note) and e.level == "error"]
    assert errors and "ValueError" in errors[0].message
    (report,) = summary.services  # the second plugin still recognised it
    assert report.auth is AuthState.UNKNOWN
    assert "RuntimeError" in report.notes[0]
    everything = repr(events) + repr(summary)
    assert RAW_FAKE_SECRET not in everything


async def test_pipeline_run_resolves_and_notes() -> None:
    async def resolver(name: str) -> list[str]:
        from leakmap.net.dns import ResolutionError

        raise ResolutionError(f"{name}: no address")

    pipeline = Pipeline([BannerServiceDouble()], ScanConfig(), Classifier.load(), resolver=resolver)
    events, _ = await _collect(pipeline.run(collect_targets(["nowhere.internal"]), (9000,)))
    messages = [e.message for e in events if isinstance(e, Note)]
    assert messages == [
        "not resolved: nowhere.internal: no address",
        "nothing to scan: no target resolved to an address",
    ]


async def test_pipeline_bounds_assessments() -> None:
    """At most ``assess_concurrency`` fingerprints/assessments run at once."""
    running = peak = 0

    class CountingDouble(BannerServiceDouble):
        protocols: ClassVar[frozenset[str]] = frozenset({"banner", "reply", "silent"})

        def accepts(self, pre: PreProbe) -> bool:
            return True

        async def fingerprint(self, port: OpenPort, ctx: ScanContext) -> Endpoint | None:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.02)
            running -= 1
            return None

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    servers = [await asyncio.start_server(handler, "127.0.0.1", 0) for _ in range(12)]
    try:
        ports = tuple(s.sockets[0].getsockname()[1] for s in servers)
        pipeline = Pipeline(
            [CountingDouble()],
            ScanConfig(),
            Classifier.load(),
            assess_concurrency=3,
            per_host_assess=8,
        )
        _, summary = await _collect(pipeline.scan_hosts([ScanHost("h", "127.0.0.1", ports)]))
    finally:
        for s in servers:
            s.close()
    assert len(summary.unidentified) == 12
    assert peak == 3


class HangUpDouble(BannerServiceDouble):
    """A plugin for a RESP-like server that hangs up on HTTP: it takes ``silent`` + ``closed``."""

    name: ClassVar[str] = "hangup"
    protocols: ClassVar[frozenset[str]] = frozenset({"silent"})

    def accepts(self, pre: PreProbe) -> bool:
        return pre.family == "silent" and pre.closed

    async def fingerprint(self, port: OpenPort, ctx: ScanContext) -> Endpoint | None:
        self.fingerprinted.append(port.port)
        reader, writer = await ctx.network.open_tcp(port.ip, port.port)
        try:
            writer.write(b"HELLO\r\n")
            data = await read_bounded(reader, 64, ctx.config.read_timeout)
        except (TimeoutError, ProbeError, OSError):
            return None
        finally:
            writer.close()
        if not data.startswith(b"+HANGUP"):
            return None
        return Endpoint(port.host, port.ip, port.port, self.name, Transport.NATIVE, "hello")


async def test_a_port_that_hangs_up_on_http_is_offered_before_the_tls_step() -> None:
    """Like Redis 7: an HTTP ``Host:`` line ends the connection without a byte, a TLS hello
    gets nothing (the client's handshake waits for its timeout). The plugin that accepts a
    hang-up identifies the port from the first look: no TLS hello is ever sent."""
    first_bytes: list[bytes] = []

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.read(1)
            first_bytes.append(head)
            while line := head + await asyncio.wait_for(reader.readline(), 5):
                head = b""
                if line.startswith(b"Host:"):
                    break
                if line == b"HELLO\r\n":
                    writer.write(b"+HANGUP\r\n")
                    await writer.drain()
        except (TimeoutError, OSError, ValueError):
            pass
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    plugin = HangUpDouble()
    pipeline = Pipeline([BannerServiceDouble(), plugin], ScanConfig(), Classifier.load())
    try:
        _, summary = await _collect(pipeline.scan_hosts([ScanHost("h", "127.0.0.1", (port,))]))
    finally:
        server.close()
    assert [r.report.service for r in summary.results] == ["hangup"]
    assert plugin.fingerprinted == [port]
    assert not [b for b in first_bytes if b.startswith(b"\x16")], first_bytes  # no TLS hello
    assert {b"G", b"H"} <= set(first_bytes)  # the plain GET /, the plugin's HELLO


def test_candidates_claimants_first() -> None:
    class A(BannerServiceDouble):
        name: ClassVar[str] = "a"
        default_ports: ClassVar[Mapping[int, str]] = {6379: Transport.NATIVE}

    class B(BannerServiceDouble):
        name: ClassVar[str] = "b"
        default_ports: ClassVar[Mapping[int, str]] = {8123: Transport.HTTP}

    pipeline = Pipeline([A(), B()], ScanConfig(), Classifier.load())
    fake = PreProbe("banner", banner=b"FAKEDB 1\n")
    assert [s.name for s in pipeline.candidates(8123, fake)] == ["b", "a"]
    assert [s.name for s in pipeline.candidates(6379, fake)] == ["a", "b"]
    assert [s.name for s in pipeline.candidates(1, fake, Transport.HTTP)] == ["b", "a"]
    # an unrecognised pre-probe: only the port's claimant; a family it does not speak: none
    other = PreProbe("banner", banner=b"SSH-2.0-OpenSSH_9.6\r\n")
    assert [s.name for s in pipeline.candidates(6379, other)] == ["a"]
    assert [s.name for s in pipeline.candidates(1, other)] == []
    assert pipeline.candidates(6379, PreProbe("http")) == []


async def test_unproven_open_claim_becomes_unknown() -> None:
    """A plugin that says auth none without a proof is never reported open."""

    class Unproven(BannerServiceDouble):
        async def assess(self, endpoint: Endpoint, ctx: ScanContext) -> ServiceResult:
            result = await super().assess(endpoint, ctx)
            return ServiceResult(result.report.model_copy(update={"proof": None}), result.findings)

    pipeline = Pipeline([Unproven()], ScanConfig(), Classifier.load())
    endpoint = Endpoint("h", "127.0.0.1", 1, "fakedb", Transport.NATIVE, "greeting", "1")
    result = await pipeline._assess(pipeline.services[0], endpoint)
    assert result.report.auth is AuthState.UNKNOWN
    assert [f.rule for f in result.findings] == [INCOMPLETE_RULE]
    assert "without a checkable proof" in result.report.notes[-1]


def _finding(rule: str, severity: Severity, port: int = 1) -> Finding:
    return Finding.make(
        rule=rule,
        severity=severity,
        host="h",
        port=port,
        service="s",
        title="t",
        evidence="e",
        remediation="r",
    )


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        (None, False),
        (Severity.CRITICAL, False),
        (Severity.HIGH, True),
        (Severity.MEDIUM, True),
        (Severity.INFO, True),
    ],
)
def test_fails(threshold: Severity | None, expected: bool) -> None:
    findings = [_finding("a", Severity.LOW), _finding("b", Severity.HIGH)]
    assert fails(findings, threshold) is expected


def test_fails_nothing_found() -> None:
    assert not fails([], Severity.INFO)


def test_sort_findings_most_severe_first_then_stable() -> None:
    items = [
        _finding("z", Severity.INFO),
        _finding("b", Severity.CRITICAL, 2),
        _finding("a", Severity.CRITICAL, 2),
        _finding("m", Severity.MEDIUM),
        _finding("c", Severity.CRITICAL, 1),
    ]
    assert [f.rule for f in sort_findings(items)] == ["c", "a", "b", "m", "z"]


def test_services_and_open_ports_in_numeric_host_order() -> None:
    summary = ScanSummary()
    for host in ("db.internal", "127.0.0.10", "127.0.0.2", "::1"):
        summary.add(Unidentified(OpenPort(host, "127.0.0.1" if host[0].isalpha() else host, 9000)))
    assert [p.host for p in summary.open_ports] == ["127.0.0.2", "127.0.0.10", "::1", "db.internal"]
    findings = [
        Finding.make(
            rule="r",
            severity=Severity.LOW,
            host=h,
            port=1,
            service="s",
            title="t",
            evidence="e",
            remediation="r",
        )
        for h in ("127.0.0.10", "127.0.0.9")
    ]
    assert [f.host for f in sort_findings(findings)] == ["127.0.0.9", "127.0.0.10"]


class OneStuckDouble(BannerServiceDouble):
    """Test double: assessment of ``stuck_port`` hangs, every other one returns at once."""

    stuck_port = 0

    async def assess(self, endpoint: Endpoint, ctx: ScanContext) -> ServiceResult:
        if endpoint.port == self.stuck_port:
            await asyncio.sleep(3600)
        return await super().assess(endpoint, ctx)


class _TimedStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.stamps: list[tuple[float, str]] = []

    def write(self, s: str) -> int:
        self.stamps.append((time.monotonic(), s))
        return super().write(s)


async def test_jsonl_streams_services_as_they_are_found() -> None:
    """A service found early is on the JSONL stream while a stuck one is still running."""
    from leakmap.commands.scan import run_scan
    from leakmap.report.console import ScanProgress
    from leakmap.report.jsonl import JsonlWriter

    async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"FAKEDB 1\n")
        await writer.drain()
        writer.close()

    fast, stuck = [await asyncio.start_server(greet, "127.0.0.1", 0) for _ in range(2)]
    double = OneStuckDouble()
    double.stuck_port = stuck.sockets[0].getsockname()[1]
    fast_port = fast.sockets[0].getsockname()[1]
    stream = _TimedStream()
    pipeline = Pipeline(
        [double], ScanConfig(read_timeout=1.0), Classifier.load(), endpoint_timeout=1.5
    )
    try:
        summary = await run_scan(
            pipeline,
            collect_targets([f"127.0.0.1:{fast_port}", f"127.0.0.1:{double.stuck_port}"]),
            (),
            progress=ScanProgress(Console(file=io.StringIO()), enabled=False),
            jsonl=JsonlWriter(stream),
        )
    finally:
        fast.close()
        stuck.close()
    lines = [(t, json.loads(line)) for t, line in stream.stamps]
    services = [(t, line) for t, line in lines if line["type"] == "service"]
    first_at, first = services[0]
    last_at = stream.stamps[-1][0]
    assert first["port"] == fast_port and first["auth"] == "none"
    assert last_at - first_at > 1.0  # written well before the stuck endpoint gave up
    assert services[1][1]["auth"] == "unknown"
    assert summary.ports_open == 2


class WrongTypesDouble(BannerServiceDouble):
    """Test double breaking the interface: assess returns None instead of a ServiceResult."""

    async def assess(self, endpoint: Endpoint, ctx: ScanContext) -> ServiceResult:
        return None  # type: ignore[return-value]


class WrongEndpointDouble(BannerServiceDouble):
    """Test double breaking the interface: fingerprint returns a string."""

    name: ClassVar[str] = "wrong-endpoint"

    async def fingerprint(self, port: OpenPort, ctx: ScanContext) -> Endpoint | None:
        return "clickhouse!"  # type: ignore[return-value]


async def test_pipeline_contains_malformed_plugin_answers(servers: Servers) -> None:
    host = ScanHost("127.0.0.1", "127.0.0.1", (servers.fakedb,))
    pipeline = _pipeline([WrongEndpointDouble(), WrongTypesDouble()])
    events, summary = await _collect(pipeline.scan_hosts([host]))
    notes = [e.message for e in events if isinstance(e, Note)]
    assert any("returned a str" in n for n in notes)
    (report,) = summary.services
    assert report.auth is AuthState.UNKNOWN and "returned a NoneType" in report.notes[0]


def _linked_report(port: int, transport: str, tz: str, tables: int) -> ServiceReport:
    return ServiceReport(
        host="db",
        ip="127.0.0.9",
        port=port,
        service="clickhouse",
        transport=transport,
        auth=AuthState.NONE,
        proof="p",
        identity={"display_name": "vm", "version": "18.16.1", "timezone": tz},
        resources=tuple(Resource(database="d", table=f"t{i}") for i in range(tables)),
    )


def test_link_same_server_by_evidence_not_ports() -> None:
    from leakmap.pipeline import link_same_server

    http = _linked_report(18123, "http", "UTC", 3)  # unusual ports: identity, not numbers
    native = _linked_report(19000, "native", "UTC", 0)
    other_tz = _linked_report(29000, "native", "Asia/Shanghai", 0)
    no_identity = _linked_report(39000, "native", "UTC", 0).model_copy(update={"identity": {}})
    out = link_same_server([http, native, other_tz, no_identity])
    assert out[0] == http
    assert out[1].resources_at == "db:18123"
    assert "that report carries its 3 resources" in out[1].notes[-1]
    assert out[2].resources_at is None and out[3].resources_at is None
    # two empty reports of one server: nobody carries anything, nothing is linked
    assert link_same_server([native, native.model_copy(update={"port": 19001})])[
        1
    ] == native.model_copy(update={"port": 19001})
