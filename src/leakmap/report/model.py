"""One report model for every writer: what scan, classify, audit, verify and diff produce.

The shared writers (:mod:`~leakmap.report.html`, :mod:`~leakmap.report.markdown`,
:mod:`~leakmap.report.sarif`, registered by format name in :mod:`~leakmap.report.writers`)
are functions over one :class:`Report`: a list of :class:`Item` (one finding each, with
its place: an endpoint ``host:port`` or a file and line), the rule metadata the items
refer to (:class:`RuleInfo`, taken from the rule catalogues) and, for a scan, the service
reports for the per-host and per-resource drill-down.

Every string in an item may come from a scanned server or a file someone else wrote: the
writers escape it for their medium (HTML autoescape, Markdown escapes). Evidence is
already redacted when it gets here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from leakmap.findings import Finding, Severity
from leakmap.services.base import ServiceReport

__all__ = [
    "Item",
    "Report",
    "ReportKind",
    "RuleInfo",
    "endpoint_uri",
    "item_from_finding",
    "scan_report",
    "where",
]

ReportKind = Literal["scan", "classify", "audit", "verify", "diff"]


def where(host: str, port: int) -> str:
    """``host:port``, with an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def endpoint_uri(service: str, host: str, port: int) -> str:
    """The endpoint as a URI (SARIF artifact location): ``clickhouse://host:port``."""
    scheme = "".join(c for c in service.lower() if c.isalnum() or c in "+-.") or "tcp"
    if not scheme[0].isalpha():
        scheme = "x-" + scheme
    return f"{scheme}://{where(host, port)}"


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """A rule's metadata from its catalogue (service rules, classifier rules, audit rules)."""

    id: str
    title: str
    severity: Severity
    remediation: str = ""
    references: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Item:
    """One finding, wherever it came from.

    ``target`` is what a person reads (``db.internal:8123`` or ``deploy/users.xml``),
    ``uri`` the same as a URI (SARIF), ``group`` the drill-down key (a host or a file)."""

    id: str
    rule: str
    severity: Severity
    title: str
    evidence: str
    target: str
    uri: str
    group: str
    remediation: str = ""
    references: tuple[str, ...] = ()
    resource: str | None = None
    service: str | None = None
    line: int | None = None
    column: int | None = None
    end_column: int | None = None
    status: str | None = None  # verify: fixed/open/unknown; diff: new/fixed/unchanged


@dataclass(slots=True)
class Report:
    kind: ReportKind
    title: str
    items: list[Item]
    rules: dict[str, RuleInfo] = field(default_factory=dict)
    services: list[ServiceReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    generated: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: the kind's own JSON document (``--format json``), when it has one
    document: dict[str, Any] | None = None
    #: ordered statuses shown as sections (verify, diff); empty for a plain report
    statuses: tuple[str, ...] = ()
    #: what the report covers, for the header (targets, paths, run ids)
    scope: str = ""

    def severity_counts(self) -> dict[Severity, int]:
        counts = Counter(i.severity for i in self.items)
        return {s: counts.get(s, 0) for s in Severity}

    def status_counts(self) -> dict[str, int]:
        counts = Counter(i.status for i in self.items if i.status)
        return {s: counts.get(s, 0) for s in self.statuses}

    def groups(self) -> dict[str, list[Item]]:
        """Items by drill-down group (host or file), in first-seen order."""
        out: dict[str, list[Item]] = {}
        for item in self.items:
            out.setdefault(item.group, []).append(item)
        return out

    def rule(self, item: Item) -> RuleInfo:
        known = self.rules.get(item.rule)
        if known is not None:
            return known
        return RuleInfo(
            id=item.rule,
            title=item.title,
            severity=item.severity,
            remediation=item.remediation,
            references=item.references,
        )


def item_from_finding(finding: Finding, status: str | None = None) -> Item:
    return Item(
        id=finding.id,
        rule=finding.rule,
        severity=finding.severity,
        title=finding.title,
        evidence=finding.evidence,
        target=where(finding.host, finding.port),
        uri=endpoint_uri(finding.service, finding.host, finding.port),
        group=finding.host,
        remediation=finding.remediation,
        references=tuple(finding.references),
        resource=finding.resource,
        service=finding.service,
        status=status,
    )


def scan_rules(rule_ids: Iterable[str]) -> dict[str, RuleInfo]:
    """Metadata of the scan rules named, from the service plugins' rule catalogues."""
    from leakmap.report.catalogue import scan_catalogue

    catalogue = scan_catalogue()
    return {rid: catalogue[rid] for rid in rule_ids if rid in catalogue}


def scan_report(
    findings: Sequence[Finding],
    services: Sequence[ServiceReport] = (),
    *,
    notes: Sequence[str] = (),
    document: Mapping[str, Any] | None = None,
    generated: datetime | None = None,
    scope: str = "",
) -> Report:
    """The report of one scan (findings most severe first, as the pipeline sorts them)."""
    items = [item_from_finding(f) for f in findings]
    return Report(
        kind="scan",
        title="leakmap scan report",
        items=items,
        rules=scan_rules({i.rule for i in items}),
        services=list(services),
        notes=list(notes),
        generated=generated or datetime.now(UTC),
        document=dict(document) if document is not None else None,
        scope=scope,
    )
