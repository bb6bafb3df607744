"""``--format json``: one document, schema ``leakmap.scan/2`` (``schema/scan-2.json``; what
changed from ``leakmap.scan/1``: ``docs/MIGRATION-scan-2.md``).

A document reads back into the same models exactly: :func:`read_document` gives the
:class:`~leakmap.services.base.ServiceReport` and :class:`~leakmap.findings.Finding` objects
that were written (the history of issue 8 relies on it).

The writer serialises only the models (whose examples and evidence are already masked),
through :mod:`json` with ``ensure_ascii=True``: every control or non-ASCII character a
server sent is written as a ``\\uXXXX`` escape, so even ``cat report.json`` is safe on a
terminal. ``-o FILE`` is written atomically (a temporary file in the same directory,
then ``os.replace``).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from leakmap.findings import Finding, Severity
from leakmap.pipeline import ScanSummary
from leakmap.services.base import OpenPort, ServiceReport

__all__ = [
    "SCHEMA",
    "atomic_write_text",
    "build_document",
    "dumps",
    "finding_dict",
    "iso",
    "load_schema",
    "open_port_dict",
    "read_document",
    "service_dict",
    "severity_counts",
    "write_json",
]

SCHEMA = "leakmap.scan/2"


def load_schema() -> dict[str, Any]:
    """The published JSON Schema (draft 2020-12) of the report and of each JSONL line."""
    text = resources.files("leakmap.report").joinpath("schema/scan-2.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def iso(moment: datetime | None) -> str:
    """ISO-8601 in UTC with a ``Z`` (e.g. ``2026-11-26T02:17:21.123Z``)."""
    if moment is None:
        moment = datetime.now(UTC)
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def service_dict(report: ServiceReport) -> dict[str, Any]:
    """One service: every field of the model, the long-standing ones first."""
    data = report.model_dump(mode="json")
    ordered = {k: data.pop(k) for k in ("host", "ip", "port", "service", "transport")}
    ordered.update({k: data.pop(k) for k in ("version", "auth", "resources", "capabilities")})
    ordered.update(data)
    return ordered


def read_document(
    document: dict[str, Any],
) -> tuple[list[ServiceReport], list[Finding], list[OpenPort]]:
    """The models a ``leakmap.scan/2`` document holds (ValueError for another schema)."""
    if document.get("schema") != SCHEMA:
        raise ValueError(f"not a {SCHEMA} document: {str(document.get('schema'))[:40]!r}")
    services = [ServiceReport.model_validate(s) for s in document.get("services", [])]
    findings = [Finding.model_validate(f) for f in document.get("findings", [])]
    ports = [OpenPort(p["host"], p["ip"], int(p["port"])) for p in document.get("open_ports", [])]
    return services, findings, ports


def finding_dict(finding: Finding) -> dict[str, Any]:
    data: dict[str, Any] = finding.model_dump(mode="json")
    data["references"] = list(data.get("references", ()))
    return data


def open_port_dict(port: OpenPort) -> dict[str, Any]:
    return {"host": port.host, "ip": port.ip, "port": port.port}


def severity_counts(findings: list[Finding]) -> dict[str, int]:
    counts = Counter(f.severity.value for f in findings)
    return {s.value: counts.get(s.value, 0) for s in Severity}


def build_document(summary: ScanSummary) -> dict[str, Any]:
    findings = summary.findings
    return {
        "schema": SCHEMA,
        "started": iso(summary.started),
        "finished": iso(summary.finished),
        "services": [service_dict(s) for s in summary.services],
        "findings": [finding_dict(f) for f in findings],
        "open_ports": [open_port_dict(p) for p in summary.open_ports],
        "notes": list(summary.notes),
        "options": dict(summary.options),
        "stats": {
            "ports_checked": summary.ports_checked,
            "ports_open": summary.ports_open,
            "severities": severity_counts(findings),
        },
    }


def dumps(document: dict[str, Any], *, indent: int | None = 2) -> str:
    return json.dumps(document, indent=indent, ensure_ascii=True, allow_nan=False)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the whole new one."""
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(summary: ScanSummary, out: Path | TextIO) -> None:
    """Write the report to a path (atomically) or to an open text stream."""
    text = dumps(build_document(summary)) + "\n"
    if isinstance(out, Path):
        atomic_write_text(out, text)
    else:
        out.write(text)
        out.flush()
