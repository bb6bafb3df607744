"""A bounded session with one HTTP JSON API, and the plugin scaffolding the HTTP JSON service
plugins share (:class:`HttpJsonService`).

:class:`HttpApi` wraps an ``httpx.AsyncClient`` (from :meth:`leakmap.net.bounded.Network.
http_client`) with the limits a plugin keeps against a hostile server: bytes and seconds per
request, a request count and a byte total per endpoint. Every answer goes through
:func:`leakmap.net.httpjson.fetch_json` (nothing decompressed, a body cut at the limit is never
parsed). Transport failures, timeouts and a spent budget are an answer with ``status`` 0 and
no body - the caller's "could not tell", never an exception.

Example::

    api = HttpApi(client, limit=1 << 20, timeout=5.0)
    answer = await api.get("/api/status")
    if answer.status == 200 and isinstance(answer.body, dict): ...
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Generic, Protocol, TypeVar
from urllib.parse import quote

import httpx

from leakmap.categories import DataCategory
from leakmap.errors import ProbeError
from leakmap.findings import Finding, Severity
from leakmap.net.bounded import BoundedResponse, fetch_bounded
from leakmap.net.httpjson import JsonAnswer, fetch_json
from leakmap.sanitize import sanitize
from leakmap.services.base import (
    AuthState,
    Endpoint,
    OpenPort,
    PreProbe,
    ScanContext,
    ServiceReport,
    ServiceResult,
)
from leakmap.services.common.budget import Deadline
from leakmap.services.common.catalogue import Catalogue

__all__ = [
    "FAILED",
    "Facts",
    "HttpApi",
    "HttpJsonService",
    "Identity",
    "as_dict",
    "as_int",
    "as_list",
    "as_str",
    "base_url",
    "deadline_timeout",
    "quote_path",
]

#: the answer for a request that failed, timed out or was not sent (budget spent)
FAILED = JsonAnswer(status=0, body=None)


def quote_path(path: str) -> str:
    """A server-given path made safe for a URL path (``/`` kept, everything else escaped)."""
    return quote(path, safe="/")


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: Any, limit: int = 256) -> str | None:
    """``value`` when it is a string (cut to ``limit`` characters), else None."""
    return value[:limit] if isinstance(value, str) else None


def as_int(value: Any) -> int | None:
    """``value`` when it is an int (not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class HttpApi:
    """GET/POST JSON on one base URL within per-request and per-endpoint bounds.

    ``limit``/``timeout``: bytes and seconds per request; ``max_requests`` and
    ``max_total_bytes``: for the whole session. ``headers`` go with every request.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        limit: int,
        timeout: float,
        max_requests: int = 200,
        max_total_bytes: int = 32 * 1024 * 1024,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.client = client
        self.limit = limit
        self.timeout = timeout
        self.max_requests = max_requests
        self.max_total_bytes = max_total_bytes
        self.headers = dict(headers or {})
        self.requests = 0
        self.bytes_read = 0
        self.failures = 0

    @property
    def exhausted(self) -> bool:
        return self.requests >= self.max_requests or self.bytes_read >= self.max_total_bytes

    def _room(self, limit: int | None) -> int:
        return max(0, min(limit or self.limit, self.max_total_bytes - self.bytes_read))

    async def get(
        self, path: str, params: Mapping[str, str] | None = None, *, limit: int | None = None
    ) -> JsonAnswer:
        return await self.request("GET", path, params=params, limit=limit)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        payload: Any = None,
        limit: int | None = None,
    ) -> JsonAnswer:
        """One JSON exchange; ``FAILED`` on any transport problem or a spent budget."""
        room = self._room(limit)
        if self.exhausted or room <= 0:
            return FAILED
        self.requests += 1
        try:
            answer = await fetch_json(
                self.client,
                method,
                path,
                limit=room,
                timeout=self.timeout,
                payload=payload,
                params=params,
                headers=self.headers,
            )
        except (httpx.HTTPError, TimeoutError, ProbeError, OSError, ValueError):
            self.failures += 1
            return FAILED
        self.bytes_read += answer.size
        return answer

    async def text(
        self, path: str, params: Mapping[str, str] | None = None, *, limit: int | None = None
    ) -> BoundedResponse | None:
        """A raw bounded GET (a page, a plain-text version); None on failure. Cut bodies come
        back with ``truncated`` set."""
        room = self._room(limit)
        if self.exhausted or room <= 0:
            return None
        self.requests += 1
        resp: BoundedResponse | None = None
        with contextlib.suppress(httpx.HTTPError, TimeoutError, ProbeError, OSError, ValueError):
            resp = await fetch_bounded(
                self.client,
                "GET",
                path,
                params=params,
                headers=self.headers,
                limit=room,
                timeout=self.timeout,
                allow_truncate=True,
            )
        if resp is None:
            self.failures += 1
            return None
        self.bytes_read += len(resp.body)
        return resp


def deadline_timeout(deadline: Deadline) -> asyncio.Timeout:
    """``async with deadline_timeout(d):`` - what is left of an endpoint's time budget."""
    return asyncio.timeout(max(0.1, deadline.left()))


def base_url(ip: str, port: int, tls: bool = False) -> str:
    """``http://ip:port`` (``https`` with ``tls``; IPv6 in brackets), for every HTTP plugin."""
    host = f"[{ip}]" if ":" in ip else ip
    return f"{'https' if tls else 'http'}://{host}:{port}"


@dataclass(frozen=True, slots=True)
class Identity:
    """What :meth:`HttpJsonService.identify` proved: the evidence, a version, details."""

    evidence: str
    version: str | None = None
    details: Mapping[str, str] = field(default_factory=dict)


class Facts(Protocol):
    """What a reader gathered: at least a version, the access state and notes."""

    version: str | None
    auth: AuthState
    notes: list[str]


F = TypeVar("F", bound=Facts)


class HttpJsonService(Generic[F]):
    """The scaffolding of a plugin for an HTTP JSON API (Jupyter, MLflow, Chroma, ...).

    A subclass sets the class constants of :class:`~leakmap.services.base.Service` plus
    ``catalogue`` (a usable capability raises the catalogue's ``NAME.capability.CAPABILITY``
    rule; ``capability_rules`` maps a capability to another rule id, e.g. two capabilities
    to one rule), and implements :meth:`accepts`, :meth:`identify` (positive evidence from a few
    GETs), :meth:`new_facts` and :meth:`read` (its reader, filling the facts within the time
    budget) and :meth:`open_report` (the report of a proven-open endpoint; any other access
    state gives a report with the version and notes only, nothing listed). This class owns the
    bounded client, the time budgets (fingerprint and endpoint), the never-raise guarantee and
    the common findings:
    ``NAME.open-access`` (with the proof), ``NAME.auth-unknown``, the data findings and one
    finding per usable capability. Sanitised notes only; a crash becomes a note naming the
    exception's type.
    """

    name: ClassVar[str]
    default_ports: ClassVar[Mapping[int, str]]
    protocols: ClassVar[frozenset[str]] = frozenset({"http", "https"})
    url_schemes: ClassVar[Mapping[str, tuple[int, str]]] = MappingProxyType({})
    capabilities: ClassVar[Mapping[str, str]] = MappingProxyType({})
    catalogue: ClassVar[Catalogue]
    capability_rules: ClassVar[Mapping[str, str]] = MappingProxyType({})
    #: bytes per request (never more than the scan's ``max_response_bytes``)
    request_limit: ClassVar[int] = 1024 * 1024
    #: requests per endpoint
    max_requests: ClassVar[int] = 300

    def accepts(self, pre: PreProbe) -> bool:
        return False

    def _api(self, client: httpx.AsyncClient, ctx: ScanContext) -> HttpApi:
        cfg = ctx.config
        return HttpApi(
            client,
            limit=min(self.request_limit, cfg.max_response_bytes),
            timeout=cfg.connect_timeout + cfg.read_timeout,
            max_requests=self.max_requests,
        )

    async def fingerprint(self, port: OpenPort, ctx: ScanContext) -> Endpoint | None:
        cfg = ctx.config
        try:
            async with asyncio.timeout(cfg.connect_timeout + 3 * cfg.read_timeout):
                pre = await ctx.preprobe(port)
                tls = pre.family == "https"
                url = base_url(port.ip, port.port, tls)
                async with ctx.network.http_client(base_url=url) as client:
                    found = await self.identify(self._api(client, ctx), pre)
        except Exception:
            return None
        if found is None:
            return None
        return Endpoint(
            host=port.host,
            ip=port.ip,
            port=port.port,
            service=self.name,
            transport="https" if tls else "http",
            evidence=found.evidence,
            version=found.version,
            details=dict(found.details),
        )

    async def identify(self, api: HttpApi, pre: PreProbe) -> Identity | None:
        """Positive evidence that this is the service, or None. May raise (caught)."""
        raise NotImplementedError

    async def assess(self, endpoint: Endpoint, ctx: ScanContext) -> ServiceResult:
        url = base_url(endpoint.ip, endpoint.port, endpoint.transport == "https")
        deadline = Deadline.for_endpoint(ctx.config)
        try:
            async with ctx.network.http_client(base_url=url) as client:
                report = await self.examine(self._api(client, ctx), endpoint, ctx, deadline)
        except Exception as exc:  # the report must survive any hostile server
            report = ServiceReport.for_endpoint(
                endpoint,
                auth=AuthState.UNKNOWN,
                notes=(f"assessment stopped: {type(exc).__name__}",),
            )
        return ServiceResult(report=report, findings=tuple(self.findings(report)))

    async def examine(
        self, api: HttpApi, endpoint: Endpoint, ctx: ScanContext, deadline: Deadline
    ) -> ServiceReport:
        facts = self.new_facts()
        try:
            async with deadline_timeout(deadline):
                await self.read(api, ctx, facts)
        except TimeoutError:
            facts.notes.append("time budget reached: reading stopped early")
        version = facts.version or endpoint.version
        if facts.auth is not AuthState.NONE:
            notes = tuple(sanitize(n, 200) for n in facts.notes)
            return ServiceReport.for_endpoint(
                endpoint, version=version, auth=facts.auth, notes=notes
            )
        return self.open_report(endpoint, facts, ctx, version)

    def new_facts(self) -> F:
        raise NotImplementedError

    async def read(self, api: HttpApi, ctx: ScanContext, facts: F) -> None:
        """Fill ``facts`` (may be cut short by the time budget: keep them valid throughout)."""
        raise NotImplementedError

    def open_report(
        self, endpoint: Endpoint, facts: F, ctx: ScanContext, version: str | None
    ) -> ServiceReport:
        raise NotImplementedError

    def open_evidence(self, report: ServiceReport) -> str:
        """The evidence of the open-access finding (override to add counts)."""
        listed = len(report.resources)
        return f"{report.proof or 'open'}; {listed} resources listed"

    def findings(self, report: ServiceReport) -> list[Finding]:
        cat, host, port = self.catalogue, report.host, report.port
        out: list[Finding] = []
        if report.auth is AuthState.NONE:
            data = report.resources and any(r.data_findings for r in report.resources)
            sensitive = any(
                d.category in (DataCategory.SECRET, DataCategory.CHAT)
                for r in report.resources
                for d in r.data_findings
            )
            out.append(
                cat.finding(
                    f"{self.name}.open-access",
                    host=host,
                    port=port,
                    evidence=sanitize(self.open_evidence(report), 400),
                    severity=Severity.CRITICAL if data and sensitive else None,
                )
            )
        elif report.auth is AuthState.UNKNOWN:
            notes = "; ".join(report.notes[:3]) or "no checkable answer"
            out.append(
                cat.finding(
                    f"{self.name}.auth-unknown", host=host, port=port, evidence=sanitize(notes, 300)
                )
            )
        out.extend(cat.data_findings(report))
        for capability, usable in report.capabilities.items():
            rule_id = self.capability_rules.get(capability, f"{self.name}.capability.{capability}")
            if usable is True and rule_id in cat.rules:
                out.append(
                    cat.finding(
                        rule_id,
                        host=host,
                        port=port,
                        evidence=sanitize(self.capability_evidence(report, capability), 400),
                    )
                )
        return out

    def capability_evidence(self, report: ServiceReport, capability: str) -> str:
        return f"{capability}: {self.capabilities.get(capability, 'usable')} (no credential)"
