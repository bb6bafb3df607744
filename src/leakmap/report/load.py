"""Read a result file back into the models: ``leakmap report``, ``diff`` and ``verify``.

A scan report (``--format json``, schema ``leakmap.scan/N``) becomes a :class:`ScanResult`:
the same :class:`~leakmap.services.base.ServiceReport` and
:class:`~leakmap.findings.Finding` models the scan produced (validated by them, so a
tampered file is refused, not half-read). An audit report (``leakmap.audit/1``) and a
classify report (``leakmap.classify/1``) load as a :class:`~leakmap.report.model.Report`.

A file that cannot be read, is not JSON or is not such a report raises
:class:`ResultFileError` (one line naming the file, and the line where JSON parsing
stopped). Files are bounded (:data:`MAX_BYTES`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from leakmap.errors import UsageError
from leakmap.findings import Finding
from leakmap.report.model import Report, scan_report
from leakmap.services.base import ServiceReport

__all__ = [
    "MAX_BYTES",
    "ResultFileError",
    "ScanResult",
    "load_document",
    "load_report",
    "load_scan",
    "scan_from_document",
]

MAX_BYTES = 256 * 1024 * 1024


class ResultFileError(UsageError):
    """A result file that cannot be read or is not a leakmap report."""


@dataclass(slots=True)
class ScanResult:
    """One scan, read back: what the pipeline's ScanSummary held."""

    started: datetime | None
    finished: datetime | None
    services: list[ServiceReport]
    findings: list[Finding]
    notes: list[str] = field(default_factory=list)
    schema: str = ""
    document: dict[str, Any] = field(default_factory=dict)
    #: the scan's settings (``options``; empty for reports older than the field)
    options: dict[str, Any] = field(default_factory=dict)

    def report(self, scope: str = "") -> Report:
        return scan_report(
            self.findings,
            self.services,
            notes=self.notes,
            document=self.document,
            generated=self.finished or self.started,
            scope=scope,
        )


def load_document(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; ResultFileError for anything else."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ResultFileError(
            f"{path}: cannot read ({exc.strerror or type(exc).__name__})"
        ) from None
    if len(raw) > MAX_BYTES:
        raise ResultFileError(f"{path}: larger than {MAX_BYTES // (1024 * 1024)} MiB")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ResultFileError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ResultFileError(f"{path}: line {exc.lineno}: not JSON ({exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("schema"), str):
        raise ResultFileError(f'{path}: not a leakmap report (no "schema" field)')
    return data


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _service(data: Any) -> ServiceReport:
    if not isinstance(data, dict):
        raise ValueError("a service is not an object")
    data = dict(data)
    # leakmap.scan/2 writes the declared capability names flat; /1 wrote the same keys flat
    # (an older in-memory shape nested extras under "extra")
    caps = dict(data.get("capabilities") or {})
    extra = caps.pop("extra", None)
    if isinstance(extra, dict):
        caps.update(extra)
    data["capabilities"] = caps
    return ServiceReport.model_validate(data)


def scan_from_document(data: dict[str, Any], source: str = "report") -> ScanResult:
    """A scan document (``leakmap.scan/N``) as models; ResultFileError when it does not fit."""
    schema = str(data.get("schema"))
    if not schema.startswith("leakmap.scan/"):
        raise ResultFileError(f"{source}: not a scan report (schema {schema!r})")
    try:
        services = [_service(s) for s in data.get("services") or []]
        findings = [Finding.model_validate(f) for f in data.get("findings") or []]
    except (ValidationError, ValueError, TypeError) as exc:
        first = str(exc).splitlines()[0][:200]
        raise ResultFileError(f"{source}: not a valid scan report ({first})") from None
    notes = [str(n) for n in data.get("notes") or [] if isinstance(n, str)]
    return ScanResult(
        started=_time(data.get("started")),
        finished=_time(data.get("finished")),
        services=services,
        findings=findings,
        notes=notes,
        schema=schema,
        document=data,
        options=dict(data["options"]) if isinstance(data.get("options"), dict) else {},
    )


def load_scan(path: Path) -> ScanResult:
    return scan_from_document(load_document(path), str(path))


def load_report(path: Path) -> Report:
    """Any leakmap JSON report as a :class:`Report` for the shared writers."""
    data = load_document(path)
    schema = str(data["schema"])
    if schema.startswith("leakmap.scan/"):
        return scan_from_document(data, str(path)).report()
    if schema.startswith("leakmap.audit/"):
        from leakmap.audit.report import audit_from_document

        return audit_from_document(data, str(path))
    if schema.startswith("leakmap.classify/"):
        from leakmap.classify.engine import Classifier
        from leakmap.report.sarif import classify_items

        findings = data.get("findings")
        if not isinstance(findings, list) or not all(isinstance(f, dict) for f in findings):
            raise ResultFileError(f"{path}: not a valid classify report")
        try:
            report = classify_items(findings, Classifier.load().rules)
        except (KeyError, ValueError, TypeError):
            raise ResultFileError(f"{path}: not a valid classify report") from None
        report.document = data
        return report
    if schema in ("leakmap.verify/1", "leakmap.diff/1"):
        return _status_report(data, schema, str(path))
    raise ResultFileError(f"{path}: unknown report schema {schema!r}")


def _status_report(data: dict[str, Any], schema: str, source: str) -> Report:
    """A verify or diff document read back: findings with their status."""
    from leakmap.report.model import item_from_finding, scan_rules

    try:
        pairs = [
            (
                str(f["status"]),
                Finding.model_validate({k: v for k, v in f.items() if k != "status"}),
            )
            for f in data.get("findings") or []
        ]
    except (ValidationError, KeyError, TypeError, AttributeError):
        raise ResultFileError(f"{source}: not a valid {schema} report") from None
    if schema == "leakmap.verify/1":
        from leakmap.history.verify import STATUSES as VERIFY

        statuses: tuple[str, ...] = VERIFY
        kind: Literal["verify", "diff"] = "verify"
        title = "leakmap verification"
    else:
        from leakmap.history.diff import STATUSES as DIFF

        statuses = DIFF
        kind = "diff"
        title = f"leakmap diff: {data.get('a')} -> {data.get('b')}"
    items = [item_from_finding(f, status) for status, f in pairs]
    return Report(
        kind=kind,
        title=title,
        items=items,
        rules=scan_rules({i.rule for i in items}),
        document=data,
        statuses=statuses,
    )
