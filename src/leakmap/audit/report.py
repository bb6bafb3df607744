"""The audit result as the ``leakmap.audit/1`` JSON document and as a shared
:class:`~leakmap.report.model.Report` (text, jsonl, sarif, md, html writers)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from leakmap.audit.engine import AuditResult
from leakmap.audit.model import AuditFinding
from leakmap.errors import UsageError
from leakmap.findings import Severity
from leakmap.report.model import Item, Report

__all__ = ["SCHEMA", "audit_document", "audit_from_document", "audit_report"]

SCHEMA = "leakmap.audit/1"


def audit_document(result: AuditResult) -> dict[str, Any]:
    counts = {s.value: 0 for s in Severity}
    for f in result.findings:
        counts[f.severity.value] += 1
    return {
        "schema": SCHEMA,
        "findings": [f.as_dict() for f in result.findings],
        "files": [f.as_dict() for f in result.files],
        "notes": list(result.notes),
        "summary": {
            "findings": len(result.findings),
            "severities": counts,
            "files": len(result.files),
            "unknown": len(result.unknown),
            "suppressed": result.suppressed,
        },
    }


def _item(f: AuditFinding) -> Item:
    from leakmap.report.sarif import sarif_uri

    return Item(
        id=f.id,
        rule=f.rule,
        severity=f.severity,
        title=f.title,
        evidence=f.evidence,
        target=f"{f.path}:{f.line}",
        uri=sarif_uri(f.path),
        group=f.path,
        remediation=f.remediation,
        references=f.references,
        line=f.line,
    )


def _report(findings: list[AuditFinding], notes: list[str], document: dict[str, Any]) -> Report:
    from leakmap.report.catalogue import audit_catalogue

    return Report(
        kind="audit",
        title="leakmap configuration audit",
        items=[_item(f) for f in findings],
        rules=audit_catalogue(),
        notes=notes,
        generated=datetime.now(UTC),
        document=document,
    )


def audit_report(result: AuditResult) -> Report:
    notes = list(result.notes)
    notes += [f"{u.path}: unknown ({'; '.join(u.reasons)})" for u in result.unknown]
    return _report(result.findings, notes, audit_document(result))


def audit_from_document(data: dict[str, Any], source: str) -> Report:
    """An audit document read back (``leakmap report audit.json``)."""
    try:
        findings = [
            AuditFinding(
                id=str(f["id"]),
                rule=str(f["rule"]),
                severity=Severity(f["severity"]),
                path=str(f["path"]),
                line=int(f["line"]),
                title=str(f["title"]),
                remediation=str(f["remediation"]),
                evidence=str(f.get("evidence", "")),
                references=tuple(str(r) for r in f.get("references", ())),
            )
            for f in data["findings"]
        ]
    except (KeyError, TypeError, ValueError):
        raise UsageError(f"{source}: not a valid audit report") from None
    notes = [str(n) for n in data.get("notes") or []]
    return _report(findings, notes, data)
