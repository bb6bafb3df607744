"""Findings: frozen, with a deterministic id built from stable fields.

A finding's ``evidence`` never holds a raw secret: build it from masked values
(:func:`leakmap.classify.redact.redact`) only.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict

__all__ = ["Finding", "Severity", "finding_id"]


class Severity(StrEnum):
    """Severity of a finding, ordered: ``Severity.CRITICAL.rank > Severity.HIGH.rank``."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: Severity) -> bool:
        return self.rank >= other.rank


_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


def finding_id(rule: str, host: str, port: int, resource: str | None) -> str:
    """A stable id: the same rule on the same host, port and resource gives the same id."""
    key = "\x1f".join((rule, host.lower(), str(port), resource or ""))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


class Finding(BaseModel):
    """One reportable problem on one endpoint (and optionally one resource on it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    rule: str
    severity: Severity
    host: str
    port: int
    service: str
    resource: str | None = None
    title: str
    evidence: str
    remediation: str
    references: tuple[str, ...] = ()

    @classmethod
    def make(
        cls,
        *,
        rule: str,
        severity: Severity,
        host: str,
        port: int,
        service: str,
        title: str,
        evidence: str,
        remediation: str,
        resource: str | None = None,
        references: tuple[str, ...] = (),
    ) -> Self:
        return cls(
            id=finding_id(rule, host, port, resource),
            rule=rule,
            severity=severity,
            host=host,
            port=port,
            service=service,
            resource=resource,
            title=title,
            evidence=evidence,
            remediation=remediation,
            references=references,
        )
