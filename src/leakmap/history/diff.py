"""What changed between two scans: ``new``, ``fixed``, ``unchanged`` and ``unknown``.

Findings are matched by their deterministic id (rule, host, port, resource). A finding
of run A that run B does not have is ``fixed`` only when run B assessed its endpoint and
decided its access state (see :class:`leakmap.history.verify.Recheck`); otherwise it is
``unknown`` — never fixed by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from leakmap.findings import Finding
from leakmap.report.json import finding_dict
from leakmap.report.load import ScanResult
from leakmap.report.model import Report, item_from_finding, scan_rules

__all__ = ["SCHEMA", "STATUSES", "Change", "diff_document", "diff_report", "diff_scans"]

SCHEMA = "leakmap.diff/1"
STATUSES = ("new", "fixed", "unknown", "unchanged")


@dataclass(frozen=True, slots=True)
class Change:
    status: str
    finding: Finding


def diff_scans(a: ScanResult, b: ScanResult) -> list[Change]:
    from leakmap.history.verify import Recheck

    before = {f.id: f for f in a.findings}
    after = {f.id: f for f in b.findings}
    recheck = Recheck(b)
    changes = [Change("new", f) for f in b.findings if f.id not in before]
    for f in a.findings:
        if f.id in after:
            changes.append(Change("unchanged", after[f.id]))
        else:
            changes.append(Change(recheck.gone(f), f))
    order = {s: i for i, s in enumerate(STATUSES)}
    return sorted(changes, key=lambda c: (order[c.status], -c.finding.severity.rank))


def diff_document(changes: list[Change], a: str, b: str) -> dict[str, Any]:
    counts = {s: 0 for s in STATUSES}
    for c in changes:
        counts[c.status] += 1
    return {
        "schema": SCHEMA,
        "a": a,
        "b": b,
        "findings": [{**finding_dict(c.finding), "status": c.status} for c in changes],
        "summary": counts,
    }


def diff_report(changes: list[Change], a: str, b: str) -> Report:
    items = [item_from_finding(c.finding, c.status) for c in changes]
    return Report(
        kind="diff",
        title=f"leakmap diff: {a} -> {b}",
        items=items,
        rules=scan_rules({i.rule for i in items}),
        document=diff_document(changes, a, b),
        statuses=STATUSES,
        scope=f"{a} -> {b}",
    )
