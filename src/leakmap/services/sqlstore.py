"""What the SQL-store plugins (PostgreSQL, MySQL/MariaDB) share after the login: the table
inventory, sampling in the order where leaks live first, and the resources and coverage they
report. Each plugin brings its dialect (queries, quoting) as two callables.

Sampling order (issue 9): :func:`~leakmap.services.common.sampling.prioritise` - names that
suggest leaks first, then the largest; at most ``config.max_sampled`` tables and the
endpoint's time budget.
Every table is listed (up to ``config.max_resources``); the report says what was left
unsampled and why.

Example::

    >>> [t.table for t in sampling_order([SqlTable("d", "page_views", rows=10**6),
    ...                                   SqlTable("d", "chat_messages", rows=10)])]
    ['chat_messages', 'page_views']
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from leakmap.errors import ProbeError
from leakmap.findings import Finding, Severity
from leakmap.sanitize import sanitize
from leakmap.services.base import (
    AuthState,
    Column,
    Coverage,
    DataCategory,
    Endpoint,
    Resource,
    ScanContext,
    ServiceReport,
)
from leakmap.services.common.budget import TIME_BUDGET, Deadline, unsampled_notes
from leakmap.services.common.catalogue import Catalogue
from leakmap.services.common.sample import classify_sample
from leakmap.services.common.sampling import SAMPLING_BUDGET, prioritise
from leakmap.services.common.sqlguard import UnsafeStatement

__all__ = [
    "SampleFn",
    "SqlTable",
    "access_findings",
    "assess_guarded",
    "attach_columns",
    "capability_finding",
    "columns_statement",
    "sample_tables",
    "sampling_order",
]

_CELL_CHARS = 16_384
MAX_SAMPLE_COLUMNS = 200


@dataclass(slots=True)
class SqlTable:
    """One table of a SQL store: ``database`` (PostgreSQL: database.schema; MySQL: schema)."""

    database: str
    table: str
    kind: str = "table"
    engine: str | None = None
    rows: int | None = None
    bytes: int | None = None
    sampleable: bool = True
    why_not: str | None = None
    columns: list[Column] = field(default_factory=list)


def sampling_order(tables: Sequence[SqlTable]) -> list[SqlTable]:
    """:func:`~leakmap.services.common.sampling.prioritise` on ``database.table``."""
    return prioritise(tables, name=lambda t: f"{t.database}.{t.table}", size=lambda t: t.rows)


#: (table) -> (column names, rows) or an error text for the note
SampleFn = Callable[
    [SqlTable], Awaitable[tuple[tuple[str, ...], list[tuple[str | None, ...]]] | str]
]


async def sample_tables(
    tables: Sequence[SqlTable], sample: SampleFn, ctx: ScanContext, *, total: int | None = None
) -> tuple[tuple[Resource, ...], Coverage, list[str]]:
    """Sample (in :func:`sampling_order`) and classify; resources in listing order."""
    cfg = ctx.config
    deadline = Deadline.for_endpoint(cfg)
    notes: list[str] = []
    skipped: dict[str, int] = {}
    found: dict[int, tuple[int, tuple[object, ...]]] = {}
    why: dict[int, str] = {}
    sampled = 0
    index = {id(t): i for i, t in enumerate(tables)}
    for t in sampling_order(tables):
        i = index[id(t)]
        if not t.sampleable:
            reason = t.why_not or "not sampleable"
            skipped[reason] = skipped.get(reason, 0) + 1
            why[i] = reason
            continue
        if sampled >= cfg.max_sampled:
            skipped[SAMPLING_BUDGET] = skipped.get(SAMPLING_BUDGET, 0) + 1
            why[i] = SAMPLING_BUDGET
            continue
        if deadline.expired():
            skipped[TIME_BUDGET] = skipped.get(TIME_BUDGET, 0) + 1
            why[i] = TIME_BUDGET
            continue
        label = f"{sanitize(t.database, 60)}.{sanitize(t.table, 60)}"
        try:
            got = await sample(t)
        except (TimeoutError, OSError, ProbeError, UnsafeStatement) as exc:
            notes.append(f"{label}: sample failed ({type(exc).__name__})")
            why[i] = "sample failed"
            continue
        if isinstance(got, str):
            notes.append(f"{label}: sample refused ({sanitize(got, 80)})")
            why[i] = "sample refused"
            continue
        sampled += 1
        _names, rows = got
        found[i] = (len(rows), classify_sample(rows, ctx.classifier))
    resources = []
    for i, t in enumerate(tables):
        n, findings = found.get(i, (None, ()))
        resources.append(
            Resource(
                kind=t.kind,
                database=t.database,
                table=t.table,
                engine=t.engine,
                rows=t.rows,
                bytes=t.bytes,
                columns=tuple(t.columns),
                data_findings=findings,  # type: ignore[arg-type]
                sampled_rows=n,
                unsampled=None if i in found else why.get(i),
            )
        )
    notes.extend(unsampled_notes(skipped, noun="tables"))
    coverage = Coverage(
        listed=len(tables),
        total=total,
        cap=cfg.max_resources,
        sampled=sampled,
        unsampled=skipped,
    )
    return tuple(resources), coverage, notes


def cell_cap() -> int:
    """Characters kept of each sampled cell (cut on the server)."""
    return _CELL_CHARS


async def assess_guarded(
    endpoint: Endpoint, service: str, run: Callable[[], Awaitable[ServiceReport]]
) -> ServiceReport:
    """``run()``, or - for anything a hostile server made it raise - an ``unknown`` report
    whose note names the exception type only (its text may quote the server)."""
    try:
        return await run()
    except Exception as exc:  # the report must survive any hostile server
        return ServiceReport.for_endpoint(
            endpoint,
            service=service,
            auth=AuthState.UNKNOWN,
            notes=(f"assessment stopped: {type(exc).__name__}",),
        )


def access_findings(
    catalogue: Catalogue, report: ServiceReport, *, containers: str, severe: bool = False
) -> list[Finding]:
    """``<service>.open-access`` (critical with secrets, chat history or ``severe``; its
    evidence starts with the report's first note: who logged in), ``<service>.auth-unknown``
    and the data findings of every resource. ``containers``: what ``database`` names
    (databases, schemas)."""
    service = catalogue.service
    out: list[Finding] = []
    host, port = report.host, report.port
    categories = {df.category for r in report.resources for df in r.data_findings}
    if report.auth == AuthState.NONE:
        severe = severe or DataCategory.SECRET in categories or DataCategory.CHAT in categories
        who = report.notes[0] if report.notes else "a login without a password"
        n = len({(r.database or "").split(".", 1)[0] for r in report.resources})
        evidence = f"{who}; {n} {containers}, {len(report.resources)} tables readable"
        if categories:
            evidence += "; data found: " + ", ".join(sorted(c.value for c in categories))
        out.append(
            catalogue.finding(
                f"{service}.open-access",
                host=host,
                port=port,
                evidence=evidence,
                severity=Severity.CRITICAL if severe else Severity.HIGH,
            )
        )
    if report.auth == AuthState.UNKNOWN:
        reason = report.notes[0] if report.notes else "no conclusive answer"
        out.append(
            catalogue.finding(f"{service}.auth-unknown", host=host, port=port, evidence=reason)
        )
    out.extend(catalogue.data_findings(report))
    return out


def capability_finding(
    catalogue: Catalogue, rule_id: str, report: ServiceReport, names: Sequence[str], basis: str
) -> list[Finding]:
    """One finding for the capabilities in ``names`` that are usable (none if none is)."""
    usable = [n for n in names if report.capabilities.get(n)]
    if not usable:
        return []
    return [
        catalogue.finding(
            rule_id,
            host=report.host,
            port=report.port,
            evidence=f"usable: {', '.join(usable)} ({basis})",
        )
    ]


def columns_statement(hidden_schemas: str, limit: int) -> str:
    """information_schema.columns outside ``hidden_schemas`` (a constant SQL list), in order."""
    return (
        "SELECT table_schema, table_name, column_name, data_type "  # noqa: S608 - constants
        f"FROM information_schema.columns WHERE table_schema NOT IN {hidden_schemas} "
        f"ORDER BY table_schema, table_name, ordinal_position LIMIT {limit}"
    )


def attach_columns(
    by_key: dict[tuple[str, str], SqlTable], rows: Sequence[Sequence[str | None]]
) -> None:
    """Rows of :func:`columns_statement` onto the tables they belong to (others ignored)."""
    for row in rows:
        if len(row) == 4 and None not in row:
            owner = by_key.get((row[0] or "", row[1] or ""))
            if owner is not None:
                owner.columns.append(Column(name=row[2] or "", type=row[3] or ""))
