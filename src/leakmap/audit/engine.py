"""Run the audit: find the files, parse each with its parser, run the checks.

* A directory is walked (sorted, symbolic links not followed, ``.git`` and the like
  skipped); a file no parser takes is ignored there, but is an error when named.
* ClickHouse: files under ``config.d/``, ``conf.d/`` and ``users.d/`` are merged into their
  main file and not audited alone (unless named directly); a users file that an audited
  server config points at is audited with that config.
* A file that cannot be read or parsed: :class:`~leakmap.audit.model.AuditInputError`
  when named directly (exit 2), a note and ``status: error`` under a directory.
* A check that raises makes the file ``unknown`` (never a pass); the other checks and
  files go on.
* A ``leakmap:allow`` (or ``leakmap:allow=RULE-GLOB,...``) marker on a finding's line (an
  XML or YAML comment) drops it (:class:`leakmap.classify.suppress.Suppression`, shared
  with ``classify``); the count is in the summary.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from leakmap.audit.checks import load_checks
from leakmap.audit.model import (
    AuditFinding,
    AuditInputError,
    FileResult,
    FileStatus,
    ParseError,
    audit_id,
)
from leakmap.audit.parsers import clickhouse, compose, dotenv, helm, kubernetes, terraform
from leakmap.audit.parsers.common import read_text
from leakmap.audit.rules import RULES
from leakmap.classify.suppress import Baseline, Suppression
from leakmap.files import InputError, expand
from leakmap.findings import Severity

__all__ = ["PARSERS", "AuditResult", "audit_paths", "parser_for"]

#: in the order they are asked; the first that takes a file parses it
PARSERS: tuple[ModuleType, ...] = (clickhouse, compose, helm, dotenv, terraform, kubernetes)
_SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", ".terraform", "__pycache__", ".venv"}
_HEAD = 4096


@dataclass(slots=True)
class AuditResult:
    findings: list[AuditFinding] = field(default_factory=list)
    files: list[FileResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: findings dropped by a ``leakmap:allow`` marker on their line
    suppressed: int = 0

    @property
    def unknown(self) -> list[FileResult]:
        return [f for f in self.files if f.status is FileStatus.UNKNOWN]


def _head(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            return handle.read(_HEAD).decode("utf-8", "replace")
    except OSError:
        return ""


def parser_for(path: Path) -> ModuleType | None:
    head = _head(path)
    return next((p for p in PARSERS if p.takes(path, head)), None)


def _merged_into_main(path: Path) -> bool:
    """A config.d/users.d/conf.d file whose main file sits next to its directory."""
    parent = path.parent
    if parent.name not in clickhouse.MERGE_DIRS:
        return False
    base = parent.parent
    names = (
        clickhouse.MAIN_NAMES if parent.name in ("config.d", "conf.d") else clickhouse.USERS_NAMES
    )
    return any((base / n).is_file() for n in names) or any(
        (base / n).is_file() for n in clickhouse.MAIN_NAMES
    )


def _parse(parser: ModuleType, path: Path, display: str) -> Any:
    if parser is clickhouse:
        return clickhouse.load_clickhouse(path, display)
    return parser.parse(path, display)


def _findings(
    parser: ModuleType, doc: Any, display: str, result: FileResult
) -> Iterator[AuditFinding]:
    for name, check in load_checks().get(parser.NAME, []):
        try:
            hits = list(check(doc))
        except Exception as exc:
            result.status = FileStatus.UNKNOWN
            result.reasons.append(f"check {name} failed ({type(exc).__name__})")
            continue
        for hit in hits:
            meta = RULES[hit.rule]
            path = hit.path or display
            yield AuditFinding(
                id=audit_id(hit.rule, path, hit.line, hit.key),
                rule=hit.rule,
                severity=hit.severity or meta.severity,
                path=path,
                line=hit.line,
                title=meta.title,
                remediation=meta.remediation,
                evidence=hit.evidence,
                references=meta.references,
            )


def _units(paths: Sequence[str]) -> Iterator[tuple[Path, str, bool, ModuleType | None]]:
    """The files to audit, by the walk every file-reading command shares (leakmap.files)."""
    if "-" in paths:
        raise AuditInputError("-: the auditor reads files, not standard input")
    try:
        for name, path, explicit in expand(paths, recursive=True):
            if path is None or (not explicit and _SKIP_DIRS.intersection(path.parts)):
                continue
            yield path, name, explicit, parser_for(path)
    except InputError as exc:
        raise AuditInputError(str(exc)) from None


def _suppress(findings: list[AuditFinding], suppression: Suppression) -> list[AuditFinding]:
    """Findings without a ``leakmap:allow`` marker (for their rule) on their line."""
    lines: dict[str, list[str]] = {}
    kept = []
    for f in findings:
        if f.path not in lines:
            try:
                lines[f.path] = read_text(Path(f.path)).splitlines()
            except ParseError:
                lines[f.path] = []
        text = lines[f.path][f.line - 1] if 0 < f.line <= len(lines[f.path]) else ""
        if suppression.reason(f.path, f.rule, f.evidence, text) is None:
            kept.append(f)
    return kept


def audit_paths(
    paths: Sequence[str],
    *,
    skip_other: bool = False,
    inline_allow: bool = True,
    baseline: Baseline = frozenset(),
) -> AuditResult:
    """Audit files and directories; see the module docstring for what is an error.
    ``skip_other``: a named file no parser takes is ignored (pre-commit passes every
    matching file name) instead of being an error. ``baseline``: the (path, rule, evidence)
    keys of known findings (:func:`leakmap.classify.suppress.load_baseline`), dropped and
    counted as suppressed like those under a ``leakmap:allow`` marker."""
    result = AuditResult()
    seen: set[str] = set()
    # Main ClickHouse configs first: the files they merge or include are then known.
    units = sorted(_units(paths), key=lambda u: u[0].name not in clickhouse.MAIN_NAMES)
    covered: set[Path] = set()
    for path, display, explicit, parser in units:
        if parser is None:
            if explicit and not skip_other:
                raise AuditInputError(f"{display}: not a configuration file leakmap audits")
            continue
        key = str(path.resolve())
        if key in seen or (not explicit and path.resolve() in covered):
            continue
        if parser is clickhouse and not explicit and _merged_into_main(path):
            continue
        seen.add(key)
        file_result = FileResult(path=display, parser=parser.NAME)
        try:
            doc = _parse(parser, path, display)
        except ParseError as exc:
            message = f"{exc.where(display)}: {exc.message}"
            if explicit:
                raise AuditInputError(message) from None
            result.notes.append(f"skipped {message}")
            file_result.status = FileStatus.ERROR
            file_result.reasons.append(exc.message)
            result.files.append(file_result)
            continue
        if isinstance(doc, clickhouse.ClickHouseConfig):
            file_result.merged = [f for f in doc.files if f != display]
            result.notes += doc.notes
            for extra in doc.files[1:]:
                covered.add(_resolve(path, display, extra))
        result.files.append(file_result)
        result.findings += _findings(parser, doc, display, file_result)
    found = _dedupe(result.findings)
    if inline_allow or baseline:
        kept = _suppress(found, Suppression(inline_allow=inline_allow, baseline=baseline))
        result.suppressed = len(found) - len(kept)
        found = kept
    result.findings = _sorted(found)
    return result


def _resolve(path: Path, display: str, extra: str) -> Path:
    relative = os.path.relpath(extra, os.path.dirname(display) or ".")
    return (path.parent / relative).resolve()


def _dedupe(findings: list[AuditFinding]) -> list[AuditFinding]:
    out: dict[str, AuditFinding] = {}
    for f in findings:
        out.setdefault(f.id, f)
    return list(out.values())


def _sorted(findings: list[AuditFinding]) -> list[AuditFinding]:
    return sorted(findings, key=lambda f: (-f.severity.rank, f.path, f.line, f.rule, f.id))


def fails(result: AuditResult, threshold: Severity | None) -> bool:
    if threshold is None:
        return False
    return any(f.severity.at_least(threshold) for f in result.findings)
