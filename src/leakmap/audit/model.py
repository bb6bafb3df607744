"""The auditor's models: a finding at a file and line, the state of each file audited."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum

from leakmap.errors import UsageError
from leakmap.findings import Severity

__all__ = [
    "AuditFinding",
    "AuditInputError",
    "FileResult",
    "FileStatus",
    "ParseError",
    "audit_id",
]


class ParseError(Exception):
    """A config file that does not parse; ``line`` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line

    def where(self, path: str) -> str:
        return f"{path}:{self.line}" if self.line else path


class AuditInputError(UsageError):
    """A path named on the command line that cannot be audited (exit 2)."""


class FileStatus(StrEnum):
    AUDITED = "audited"  # every rule ran
    UNKNOWN = "unknown"  # some rule crashed on it: its result is unknown, never a pass
    ERROR = "error"  # it could not be read or parsed


def audit_id(rule: str, path: str, line: int, key: str = "") -> str:
    """A stable id: the same rule at the same place gives the same id."""
    raw = "\x1f".join((rule, path, str(line), key))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class AuditFinding:
    id: str
    rule: str
    severity: Severity
    path: str
    line: int
    title: str
    remediation: str
    evidence: str = ""
    references: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "rule": self.rule,
            "severity": self.severity.value,
            "path": self.path,
            "line": self.line,
            "title": self.title,
            "remediation": self.remediation,
            "evidence": self.evidence,
            "references": list(self.references),
        }


@dataclass(slots=True)
class FileResult:
    path: str
    parser: str
    status: FileStatus = FileStatus.AUDITED
    reasons: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)  # config.d / users.d files merged in

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"path": self.path, "parser": self.parser, "status": self.status}
        if self.reasons:
            out["reasons"] = list(self.reasons)
        if self.merged:
            out["merged"] = list(self.merged)
        return out
