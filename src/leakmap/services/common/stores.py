"""What the key-value, document and search-store plugins share: from plain facts to a report.

Each of the Redis, memcached, etcd, Elasticsearch/OpenSearch and MongoDB plugins gathers an
:class:`Outcome` (access state and its proof, version, resources with their sampled texts,
capabilities, coverage, notes, an accepted default credential) and :class:`StorePlugin`
turns it into the :class:`~leakmap.services.base.ServiceReport` and its findings, the same
way for all five:

* ``<service>.open-access`` when auth is ``none`` (critical when the sample holds secrets or
  chat history, or when the plugin says the exposure is critical on its own);
* ``<service>.default-credential`` (critical) naming the user, never the password;
* ``<service>.auth-unknown`` (low) when the access state could not be proven either way;
* ``<service>.data.<category>`` per resource whose sample the classifier matched
  (:meth:`~leakmap.services.common.catalogue.Catalogue.data_findings`);
* ``<service>.capability.<name>`` for every declared capability proven usable.

Sampled values are classified in memory; only counts and redacted examples leave.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar, TypeVar

from leakmap.findings import Finding, Severity
from leakmap.net.stream import Conversation
from leakmap.sanitize import sanitize
from leakmap.services.base import (
    AuthState,
    Capabilities,
    Coverage,
    DataCategory,
    DataFinding,
    Endpoint,
    OpenPort,
    PreProbe,
    Resource,
    ScanContext,
    ServiceReport,
    ServiceResult,
)
from leakmap.services.common.catalogue import Catalogue, rule
from leakmap.services.common.sample import classify_sample
from leakmap.services.httpapi import base_url

__all__ = [
    "Outcome",
    "StorePlugin",
    "StoreResource",
    "base_url",
    "group_samples",
    "key_prefix",
    "store_catalogue",
]


C = TypeVar("C", bound=Conversation)


@dataclass(slots=True)
class StoreResource:
    """One keyspace, key prefix, index or collection; ``texts`` is its raw sample (in memory
    only: classified, never reported)."""

    name: str
    kind: str
    database: str | None = None
    rows: int | None = None
    bytes: int | None = None
    sampled: int | None = None
    unsampled: str | None = None
    texts: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Outcome:
    auth: AuthState = AuthState.UNKNOWN
    #: the checkable answer that proved auth ``none`` (required for ``none``)
    proof: str | None = None
    version: str | None = None
    resources: list[StoreResource] = field(default_factory=list)
    capabilities: dict[str, bool | None] = field(default_factory=dict)
    coverage: Coverage | None = None
    notes: list[str] = field(default_factory=list)
    #: label of an accepted default credential (user and source, never the password)
    default_credential: str | None = None
    #: the exposure is critical whatever the sample shows (an open Kubernetes etcd)
    critical: str | None = None


def store_catalogue(
    service: str,
    product: str,
    *,
    remediation: str,
    references: tuple[str, ...],
    noun: str,
    capabilities: Mapping[str, tuple[Severity, str, str]] | None = None,
) -> Catalogue:
    """The catalogue of one store plugin: open access, default credential, unknown auth, the
    four data rules (for ``noun``) and one rule per capability (name -> severity, title,
    remediation)."""
    own = [
        rule(
            f"{service}.open-access",
            Severity.HIGH,
            f"{product} answers without authentication",
            remediation,
            *references,
        ),
        rule(
            f"{service}.default-credential",
            Severity.CRITICAL,
            f"{product} accepts a documented default credential",
            "Change the password now (and rotate anything the store holds); never keep a "
            "shipped or example password.",
            *references,
        ),
        rule(
            f"{service}.auth-unknown",
            Severity.LOW,
            f"{product} is reachable but its authentication state could not be determined",
            "Check by hand whether this endpoint needs credentials; firewall it if it need "
            "not be reachable.",
            *references,
        ),
    ]
    for name, (severity, title, fix) in (capabilities or {}).items():
        own.append(rule(f"{service}.capability.{name}", severity, title, fix, *references))
    return Catalogue(service, own, data_noun=noun, data_references=references)


class StorePlugin:
    """Base of the store plugins: ``_fingerprint``, ``_gather`` and ``accepts`` are theirs."""

    name: ClassVar[str]
    transport: ClassVar[str]
    default_ports: ClassVar[Mapping[int, str]]
    protocols: ClassVar[frozenset[str]]
    url_schemes: ClassVar[Mapping[str, tuple[int, str]]]
    capabilities: ClassVar[Mapping[str, str]] = MappingProxyType({})
    catalogue: ClassVar[Catalogue]

    def accepts(self, pre: PreProbe) -> bool:
        raise NotImplementedError

    async def connect(self, client: type[C], ip: str, port: int, ctx: ScanContext) -> C:
        """A bounded request/reply connection (RESP, memcached text, OP_MSG): each reply at
        most ``max_response_bytes`` within ``read_timeout``, eight replies' worth in all."""
        reader, writer = await ctx.network.open_tcp(ip, port)
        cfg = ctx.config
        return client(
            reader,
            writer,
            reply_limit=cfg.max_response_bytes,
            timeout=cfg.read_timeout,
            total_limit=cfg.max_response_bytes * 8,
        )

    async def fingerprint(self, port: OpenPort, ctx: ScanContext) -> Endpoint | None:
        """Positive evidence only; None for anything else, including any error."""
        try:
            return await self._fingerprint(port, ctx)
        except Exception:
            return None

    async def _fingerprint(self, port: OpenPort, ctx: ScanContext) -> Endpoint | None:
        raise NotImplementedError

    async def _gather(self, endpoint: Endpoint, ctx: ScanContext) -> Outcome:
        raise NotImplementedError

    def endpoint(
        self,
        port: OpenPort,
        evidence: str,
        version: str | None,
        auth: AuthState | None = None,
        transport: str | None = None,
    ) -> Endpoint:
        details = {"auth": auth.value} if auth is not None else {}
        return Endpoint(
            host=port.host,
            ip=port.ip,
            port=port.port,
            service=self.name,
            transport=transport or self.transport,
            evidence=sanitize(evidence, 200),
            version=sanitize(version, 60) if version else None,
            details=details,
        )

    async def assess(self, endpoint: Endpoint, ctx: ScanContext) -> ServiceResult:
        """Never raises for anything the server sends; a failure becomes a note."""
        try:
            outcome = await self._gather(endpoint, ctx)
        except Exception as exc:  # the server's text may be in the message: type only
            outcome = Outcome(notes=[f"assessment stopped: {type(exc).__name__}"])
        report = self.report(endpoint, outcome, ctx)
        return ServiceResult(report=report, findings=tuple(self.findings(report, outcome)))

    def report(self, endpoint: Endpoint, outcome: Outcome, ctx: ScanContext) -> ServiceReport:
        resources = []
        for r in outcome.resources:
            data: tuple[DataFinding, ...] = ()
            if r.texts:
                data = classify_sample([(t,) for t in r.texts], ctx.classifier)
            resources.append(
                Resource(
                    kind=r.kind,
                    name=sanitize(r.name, 200),
                    database=sanitize(r.database, 120) if r.database is not None else None,
                    rows=r.rows,
                    bytes=r.bytes,
                    data_findings=data,
                    sampled_rows=r.sampled,
                    unsampled=r.unsampled,
                )
            )
        declared = {k: v for k, v in outcome.capabilities.items() if k in self.capabilities}
        auth = outcome.auth if outcome.auth is not AuthState.NONE or outcome.proof else None
        return ServiceReport.for_endpoint(
            endpoint,
            service=self.name,
            version=outcome.version or endpoint.version,
            auth=auth or AuthState.UNKNOWN,
            proof=sanitize(outcome.proof, 300)
            if auth is AuthState.NONE and outcome.proof
            else None,
            resources=tuple(resources),
            capabilities=Capabilities.of(**declared),
            coverage=outcome.coverage,
            notes=tuple(sanitize(n, 300) for n in outcome.notes),
        )

    def finding(
        self,
        rule_id: str,
        report: ServiceReport,
        evidence: str,
        *,
        severity: Severity | None = None,
    ) -> Finding:
        return self.catalogue.finding(
            f"{self.name}.{rule_id}",
            host=report.host,
            port=report.port,
            evidence=evidence,
            severity=severity,
        )

    def findings(self, report: ServiceReport, outcome: Outcome) -> list[Finding]:
        out: list[Finding] = []
        categories = {df.category for r in report.resources for df in r.data_findings}
        if report.auth == AuthState.NONE:
            severe = bool({DataCategory.SECRET, DataCategory.CHAT} & categories)
            evidence = f"{len(report.resources)} resources readable without credentials"
            if categories:
                evidence += "; data found: " + ", ".join(sorted(c.value for c in categories))
            if outcome.critical:
                evidence += f"; {outcome.critical}"
            out.append(
                self.finding(
                    "open-access",
                    report,
                    evidence,
                    severity=Severity.CRITICAL if severe or outcome.critical else None,
                )
            )
        elif report.auth == AuthState.UNKNOWN and not outcome.default_credential:
            why = report.notes[0] if report.notes else "no conclusive answer"
            out.append(self.finding("auth-unknown", report, why))
        if outcome.default_credential:
            out.append(
                self.finding(
                    "default-credential",
                    report,
                    f"accepted: {outcome.default_credential}; "
                    f"{len(report.resources)} resources readable with it",
                )
            )
        out.extend(self.catalogue.data_findings(report))
        for name in report.capabilities.usable:
            rid = f"{self.name}.capability.{name}"
            if rid in self.catalogue.rules:
                out.append(
                    self.finding(
                        f"capability.{name}",
                        report,
                        f"{name} permitted to this connection (decided from ACLs/settings; "
                        "never executed)",
                    )
                )
        return out


# a prefix is shown only when it looks like a name (lower case, short, few digits): key names
# come from the server and may hold values (an upper-case key id, a long hex token)
_PREFIX = re.compile(rb"^([a-z][a-z0-9_-]{0,31})[:/|.]")


def key_prefix(key: bytes) -> str:
    """``session:7f3a`` -> ``session:*``; keys without a name-like prefix -> ``(other keys)``."""
    m = _PREFIX.match(key)
    if m is None or sum(c in b"0123456789" for c in m.group(1)) > 4:
        return "(other keys)"
    return m.group(1).decode("ascii") + ":*"


def group_samples(
    samples: Iterable[tuple[str | None, bytes, Sequence[str]]], kind: str = "key-prefix"
) -> list[StoreResource]:
    """(database, key, texts) samples -> one resource per database and key prefix, holding
    the key names and texts to classify."""
    groups: dict[tuple[str | None, str], StoreResource] = {}
    for database, key, texts in samples:
        prefix = key_prefix(key)
        res = groups.get((database, prefix))
        if res is None:
            res = groups[(database, prefix)] = StoreResource(prefix, kind, database, sampled=0)
        res.sampled = (res.sampled or 0) + 1
        res.texts.append(key.decode("utf-8", "replace"))
        res.texts.extend(texts)
    return list(groups.values())
