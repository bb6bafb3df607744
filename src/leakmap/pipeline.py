"""The scan pipeline: targets -> resolve -> port scan -> fingerprint -> assess -> events.

:meth:`Pipeline.run` is an async iterator of events, streamed as they happen::

    Note            a resolution warning, an exclusion count, a contained plugin error
    PortChecked     one (host, port) probed (for progress: ``done`` of ``total``)
    EndpointFound   a plugin recognised an open port (assessment starts)
    Unidentified    an open port no plugin recognised
    ServiceFound    a finished :class:`~leakmap.services.base.ServiceResult`

Dispatch does not grow with the number of plugins: every open port gets ONE shared
pre-probe (:mod:`leakmap.net.preprobe`: the banner a server sends first, else one ``GET /``,
plain then TLS), cached in the scan context. A plugin's fingerprint runs only when the
pre-probe's family is one of the plugin's ``protocols`` and the port is one of its
``default_ports`` (or the URL's transport hint) or ``plugin.accepts(pre)`` - a pure check -
says yes. An open port nobody recognises costs the pre-probe and nothing else. A port that
hung up on the plain ``GET /`` (``PreProbe.closed``: Redis 7, binary protocols) is offered to
the plugins that take it as ``silent`` before the TLS step, then to the rest after it; each
fingerprint runs at most once per port.

Open means proven: a report that says auth ``none`` without a ``proof`` is turned into
``unknown`` here, with a note and the "assessment incomplete" finding, whatever the plugin.

Budgets: the port scan has its global and per-host bounds; fingerprinting and assessment
share ``assess_concurrency`` slots (and ``per_host_assess`` per address); every plugin call
has a deadline. A plugin that times out or raises never stops the scan: its endpoint is
reported with auth ``unknown``, a note and a low-severity "assessment incomplete" finding
(never as "secure").

:class:`ScanSummary` collects the events into what the report writers need.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import AsyncGenerator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leakmap.errors import LeakmapError
from leakmap.findings import Finding, Severity
from leakmap.net.bounded import Network
from leakmap.net.dns import Resolver
from leakmap.net.portscan import PortResult, PortScanner, PortState
from leakmap.services.base import (
    AuthState,
    Endpoint,
    OpenPort,
    PreProbe,
    ScanConfig,
    ScanContext,
    Service,
    ServiceReport,
    ServiceResult,
)
from leakmap.services.common.catalogue import INCOMPLETE, make_finding
from leakmap.targets import ScanHost, TargetSet, resolve_targets

if TYPE_CHECKING:
    from leakmap.classify.engine import Classifier

__all__ = [
    "EndpointFound",
    "Note",
    "Pipeline",
    "PortChecked",
    "ScanEvent",
    "ScanSummary",
    "ServiceFound",
    "Unidentified",
    "fails",
    "host_order",
    "link_same_server",
    "sort_findings",
]

INCOMPLETE_RULE = INCOMPLETE.id


@dataclass(frozen=True, slots=True)
class Note:
    message: str
    level: str = "warning"


@dataclass(frozen=True, slots=True)
class PortChecked:
    result: PortResult
    done: int
    total: int


@dataclass(frozen=True, slots=True)
class EndpointFound:
    endpoint: Endpoint


@dataclass(frozen=True, slots=True)
class Unidentified:
    port: OpenPort


@dataclass(frozen=True, slots=True)
class ServiceFound:
    result: ServiceResult


ScanEvent = Note | PortChecked | EndpointFound | Unidentified | ServiceFound


def host_order(host: str) -> tuple[int, int, str]:
    """Sort key: addresses numerically (127.0.0.2 before 127.0.0.10), then names."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return (1, 0, host.lower())
    return (0, address.version * 2**128 + int(address), "")


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Most severe first, then by host, port, rule, resource, id (a stable order)."""
    return sorted(
        findings,
        key=lambda f: (
            -f.severity.rank,
            host_order(f.host),
            f.port,
            f.rule,
            f.resource or "",
            f.id,
        ),
    )


def fails(findings: Iterable[Finding], threshold: Severity | None) -> bool:
    """True when some finding is at least ``threshold`` (``--fail-on``); never for None."""
    if threshold is None:
        return False
    return any(f.severity.at_least(threshold) for f in findings)


@dataclass(slots=True)
class ScanSummary:
    """Everything a scan produced, collected from its events."""

    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished: datetime | None = None
    results: list[ServiceResult] = field(default_factory=list)
    unidentified: list[OpenPort] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ports_checked: int = 0
    ports_open: int = 0
    #: the settings that decide what a re-check must do to compare (``leakmap verify``)
    options: dict[str, Any] = field(default_factory=dict)

    def add(self, event: ScanEvent) -> None:
        if isinstance(event, ServiceFound):
            self.results.append(event.result)
        elif isinstance(event, Unidentified):
            self.unidentified.append(event.port)
        elif isinstance(event, Note):
            self.notes.append(event.message)
        elif isinstance(event, PortChecked):
            self.ports_checked += 1
            if event.result.state is PortState.OPEN:
                self.ports_open += 1

    def finish(self) -> None:
        self.finished = datetime.now(UTC)

    @property
    def services(self) -> list[ServiceReport]:
        """Every service report, in host order, endpoints of one server linked
        (:func:`link_same_server`)."""
        return link_same_server(
            sorted(
                (r.report for r in self.results),
                key=lambda s: (host_order(s.host), host_order(s.ip), s.port, s.service),
            )
        )

    @property
    def open_ports(self) -> list[OpenPort]:
        """Open ports no plugin recognised, in host order."""
        return sorted(
            self.unidentified, key=lambda p: (host_order(p.host), host_order(p.ip), p.port)
        )

    @property
    def findings(self) -> list[Finding]:
        return sort_findings(f for r in self.results for f in r.findings)


_IDENTITY_KEYS = ("display_name", "version", "timezone")


def _where(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def link_same_server(reports: Sequence[ServiceReport]) -> list[ServiceReport]:
    """One server, one enumeration: endpoints of the same server point at the one that
    carries the resources.

    Two reports are one server only on evidence: the same address and service, and the same
    display name, version and timezone in their ``identity`` (all three present) - never
    because of the port numbers. In such a group the report with the most resources is the
    carrier; each other report without resources gets ``resources_at`` (the carrier's
    ``host:port``) and a note. Only scanned endpoints are ever named.
    """
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, r in enumerate(reports):
        ident = [r.identity.get(k) for k in _IDENTITY_KEYS]
        if all(ident) and r.resources_at is None:
            groups.setdefault((r.ip, r.service, *(v or "" for v in ident)), []).append(i)
    out = list(reports)
    for members in groups.values():
        if len(members) < 2:
            continue
        carrier = max(members, key=lambda i: (len(reports[i].resources), -reports[i].port))
        c = reports[carrier]
        if not c.resources:
            continue
        label = _where(c.host, c.port)
        for i in members:
            r = reports[i]
            if i == carrier or r.resources:
                continue
            note = (
                f"same server as {label} ({c.transport}; same address, display name, version "
                f"and timezone): that report carries its {len(c.resources)} resources"
            )
            out[i] = r.model_copy(update={"resources_at": label, "notes": (*r.notes, note)})
    return out


def _incomplete_finding(host: str, port: int, service: str, why: str) -> Finding:
    return make_finding(
        INCOMPLETE,
        service=service,
        host=host,
        port=port,
        title=f"{service} endpoint found but its assessment did not finish",
        evidence=why,
    )


def _incomplete(endpoint: Endpoint, why: str) -> ServiceResult:
    report = ServiceReport.for_endpoint(
        endpoint,
        auth=AuthState.UNKNOWN,
        notes=(f"assessment incomplete: {why}; auth state unknown",),
    )
    return ServiceResult(
        report, (_incomplete_finding(endpoint.host, endpoint.port, endpoint.service, why),)
    )


def _unproven(result: ServiceResult) -> ServiceResult:
    """A plugin said auth ``none`` without saying what proved it: ``unknown`` instead; its
    findings are dropped (they rest on the unproven claim), the resources stay as listed."""
    r = result.report
    why = "the plugin reported open access without a checkable proof"
    report = r.model_copy(
        update={"auth": AuthState.UNKNOWN, "notes": (*r.notes, f"{why}: auth state unknown")}
    )
    return ServiceResult(report, (_incomplete_finding(r.host, r.port, r.service, why),))


def _why(exc: BaseException) -> str:
    # Only leakmap's own errors promise not to carry raw secrets: show their text.
    if isinstance(exc, LeakmapError):
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    return type(exc).__name__


class Pipeline:
    """Runs one scan. Build it with the plugins, the limits and a loaded classifier."""

    def __init__(
        self,
        services: Sequence[Service],
        config: ScanConfig,
        classifier: Classifier,
        *,
        network: Network | None = None,
        resolver: Resolver | None = None,
        scanner: PortScanner | None = None,
        endpoint_timeout: float = 300.0,
        fingerprint_timeout: float | None = None,
        assess_concurrency: int = 16,
        per_host_assess: int = 4,
    ) -> None:
        self.services = tuple(services)
        self.config = config
        self.context = ScanContext(
            config=config,
            network=network
            or Network(
                connect_timeout=config.connect_timeout,
                read_timeout=config.read_timeout,
                max_response_bytes=config.max_response_bytes,
                user_agent=config.user_agent,
            ),
            classifier=classifier,
        )
        #: the (ip, port) pairs the port scan found open among the given targets and ports:
        #: the only places a plugin may connect to (enforced by the network layer)
        self._in_scope: set[tuple[str, int]] = set()
        self.context.network.scope = self._scope
        self.resolver = resolver
        self.scanner = scanner or PortScanner(
            concurrency=config.concurrency,
            per_host=config.per_host_concurrency,
            timeout=config.connect_timeout,
        )
        self.endpoint_timeout = endpoint_timeout
        self.fingerprint_timeout = (
            fingerprint_timeout
            if fingerprint_timeout is not None
            else config.connect_timeout + 2 * config.read_timeout
        )
        self._assess_gate = asyncio.Semaphore(max(1, assess_concurrency))
        self._per_host_assess = max(1, per_host_assess)
        self._host_gates: dict[str, asyncio.Semaphore] = {}

    def _scope(self, ip: str, port: int) -> bool:
        try:
            ip = str(ipaddress.ip_address(ip))
        except ValueError:
            return False  # a host name: DNS could answer anything by now
        return (ip, port) in self._in_scope

    @classmethod
    def create(
        cls,
        services: Sequence[Service],
        config: ScanConfig,
        *,
        rule_files: Sequence[Path] = (),
        disabled: Sequence[str] = (),
        resolver: Resolver | None = None,
        endpoint_timeout: float = 300.0,
        scanner: PortScanner | None = None,
    ) -> Pipeline:
        """Load the classifier once (raises RuleFileError/UsageError for bad rules)."""
        from leakmap.classify.engine import Classifier

        classifier = Classifier.load(extra_rule_files=rule_files, disabled=disabled)
        return cls(
            services,
            config,
            classifier,
            resolver=resolver,
            endpoint_timeout=endpoint_timeout,
            scanner=scanner,
        )

    def candidates(self, port: int, pre: PreProbe, hint: str | None = None) -> list[Service]:
        """Plugins whose fingerprint is worth running on ``port`` after its pre-probe: the
        family must be one the plugin speaks; then the port (or the URL's transport hint)
        must be the plugin's, or its pure ``accepts(pre)`` must say yes. Claimed first."""
        claimed: list[Service] = []
        accepted: list[Service] = []
        for service in self.services:
            protocols = getattr(service, "protocols", None)
            if protocols is not None and pre.family not in protocols:
                continue
            ports: Mapping[int, str] = service.default_ports
            if port in ports or (hint is not None and hint in ports.values()):
                claimed.append(service)
                continue
            accepts = getattr(service, "accepts", None)
            try:
                wanted = accepts is not None and bool(accepts(pre))
            except Exception:  # a plugin's pure check must not end the scan
                wanted = False
            if wanted:
                accepted.append(service)
        return claimed + accepted

    async def _fingerprint(
        self, port: OpenPort, hint: str | None, emit: asyncio.Queue[ScanEvent | None]
    ) -> tuple[Service, Endpoint] | None:
        tried: set[int] = set()
        first = await self.context.first_look(port)
        if first.closed and first.family == "silent":
            # the server hung up on the plain GET /: the plugins that accept such a port
            # (binary protocols: Redis 7 drops "Host:" lines) try before the TLS step, whose
            # handshake timeout is what a look at a binary port would otherwise cost
            found = await self._try(self.candidates(port.port, first, hint), port, tried, emit)
            if found is not None:
                return found
        pre = await self.context.preprobe(port)
        return await self._try(self.candidates(port.port, pre, hint), port, tried, emit)

    async def _try(
        self,
        services: Sequence[Service],
        port: OpenPort,
        tried: set[int],
        emit: asyncio.Queue[ScanEvent | None],
    ) -> tuple[Service, Endpoint] | None:
        """Each plugin's fingerprint in turn (once per port: ``tried``); the first endpoint."""
        for service in services:
            if id(service) in tried:
                continue
            tried.add(id(service))
            try:
                endpoint = await asyncio.wait_for(
                    service.fingerprint(port, self.context), self.fingerprint_timeout
                )
            except TimeoutError:
                await emit.put(
                    Note(
                        f"{service.name}: fingerprint of {port.host}:{port.port} timed out "
                        f"after {self.fingerprint_timeout:g} s"
                    )
                )
                continue
            except Exception as exc:
                await emit.put(
                    Note(
                        f"error: {service.name} fingerprint of {port.host}:{port.port} "
                        f"failed ({_why(exc)})",
                        level="error",
                    )
                )
                continue
            if isinstance(endpoint, Endpoint):
                return service, endpoint
            if endpoint is not None:
                await emit.put(
                    Note(
                        f"error: {service.name} fingerprint of {port.host}:{port.port} returned "
                        f"a {type(endpoint).__name__}, not an Endpoint",
                        level="error",
                    )
                )
        return None

    async def _assess(self, service: Service, endpoint: Endpoint) -> ServiceResult:
        try:
            result = await asyncio.wait_for(
                service.assess(endpoint, self.context), self.endpoint_timeout
            )
        except TimeoutError:
            return _incomplete(endpoint, f"timed out after {self.endpoint_timeout:g} s")
        except Exception as exc:
            return _incomplete(endpoint, f"plugin error ({_why(exc)})")
        if not isinstance(result, ServiceResult):
            return _incomplete(endpoint, f"plugin returned a {type(result).__name__}")
        if result.report.auth is AuthState.NONE and not result.report.proof:
            return _unproven(result)
        return result

    async def _handle_open(
        self, port: OpenPort, hint: str | None, emit: asyncio.Queue[ScanEvent | None]
    ) -> None:
        gate = self._host_gates.setdefault(port.ip, asyncio.Semaphore(self._per_host_assess))
        try:
            async with self._assess_gate, gate:
                found = await self._fingerprint(port, hint, emit)
                if found is None:
                    await emit.put(Unidentified(port))
                    return
                service, endpoint = found
                await emit.put(EndpointFound(endpoint))
                result = await self._assess(service, endpoint)
            await emit.put(ServiceFound(result))
        except Exception as exc:  # a malformed plugin answer must not end the scan
            where = f"{port.host}:{port.port}"
            await emit.put(Note(f"error: {where} could not be handled ({_why(exc)})", "error"))

    async def scan_hosts(self, hosts: Iterable[ScanHost]) -> AsyncGenerator[ScanEvent, None]:
        """Port scan, fingerprint and assess already resolved hosts (a sequence, or a
        :class:`~leakmap.targets.HostStream` read lazily)."""
        emit: asyncio.Queue[ScanEvent | None] = asyncio.Queue()
        total = self.scanner.job_count(hosts)

        async def produce() -> None:
            tasks: set[asyncio.Task[None]] = set()
            done = 0
            try:
                async for result in self.scanner.scan(hosts):
                    done += 1
                    await emit.put(PortChecked(result, done, total))
                    if result.state is PortState.OPEN:
                        self._in_scope.add((str(ipaddress.ip_address(result.ip)), result.port))
                        open_port = result.open_port()
                        tasks.add(
                            asyncio.create_task(self._handle_open(open_port, result.hint, emit))
                        )
                if tasks:
                    await asyncio.gather(*tasks)
            finally:
                for task in tasks:
                    task.cancel()
                await emit.put(None)

        producer = asyncio.create_task(produce())
        try:
            while (event := await emit.get()) is not None:
                yield event
            producer.result()
        finally:
            producer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await producer

    async def run(
        self, targets: TargetSet, ports: Sequence[int]
    ) -> AsyncGenerator[ScanEvent, None]:
        """Resolve ``targets`` and scan them on ``ports`` (explicit target ports win)."""
        resolved = await resolve_targets(targets, ports, resolver=self.resolver)
        for message in resolved.notes:
            yield Note(message)
        if not resolved.hosts:
            yield Note("nothing to scan: no target resolved to an address")
            return
        async for event in self.scan_hosts(resolved.hosts):
            yield event
