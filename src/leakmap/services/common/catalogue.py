"""The finding catalogue: rule metadata as data, next to the plugin that raises the rules.

Each rule has a stable id (``<service>.<what>``), a default severity, a title, remediation and
references, validated by :class:`RuleMeta`. A plugin builds one :class:`Catalogue` with its
own rules; the catalogue adds the generic data rules every store shares
(``<service>.data.secret|chat|pii|infrastructure``, see :func:`data_rules`) and builds
findings with a deterministic id. A plugin may raise a severity (open access exposing
secrets is critical) but never invents a rule id outside its catalogue.

Example::

    >>> cat = Catalogue("redis", [RuleMeta(id="redis.open-access", severity=Severity.HIGH,
    ...     title="Redis answers without authentication", remediation="Set requirepass.")],
    ...     data_noun="keyspace")
    >>> f = cat.finding("redis.open-access", host="10.0.0.5", port=6379, evidence="INFO ok")
    >>> (f.service, f.severity.value, sorted(cat.rules)[:2])
    ('redis', 'high', ['redis.data.chat', 'redis.data.infrastructure'])
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from leakmap.categories import DataCategory
from leakmap.findings import Finding, Severity
from leakmap.sanitize import sanitize

__all__ = [
    "INCOMPLETE",
    "Catalogue",
    "RuleMeta",
    "data_rule_id",
    "data_rules",
    "make_finding",
    "rule",
]


class RuleMeta(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    severity: Severity
    title: str
    remediation: str
    references: tuple[str, ...] = ()


def rule(id: str, severity: Severity, title: str, remediation: str, *refs: str) -> RuleMeta:
    """Shorthand for a :class:`RuleMeta` with references as trailing arguments."""
    return RuleMeta(id=id, severity=severity, title=title, remediation=remediation, references=refs)


_DATA: dict[DataCategory, tuple[Severity, str, str]] = {
    DataCategory.SECRET: (
        Severity.CRITICAL,
        "Exposed {noun} holds secrets (API keys, tokens, passwords)",
        "Close access first, then rotate every credential found in the {noun} and stop "
        "logging secrets (redact at the source).",
    ),
    DataCategory.CHAT: (
        Severity.CRITICAL,
        "Exposed {noun} holds LLM chat history",
        "Close access, review what users' conversations were exposed and notify as your "
        "obligations require; keep chat logs out of shared analytics stores.",
    ),
    DataCategory.PII: (
        Severity.HIGH,
        "Exposed {noun} holds personal data",
        "Close access, assess the exposure of personal data, minimise what is stored.",
    ),
    DataCategory.INFRASTRUCTURE: (
        Severity.MEDIUM,
        "Exposed {noun} reveals internal infrastructure (hosts, paths, stack traces)",
        "Close access; internal hostnames, addresses and paths help an attacker move on.",
    ),
}


def data_rule_id(service: str, category: DataCategory) -> str:
    return f"{service}.data.{category.value}"


def data_rules(
    service: str, *, noun: str = "data", references: tuple[str, ...] = ()
) -> dict[str, RuleMeta]:
    """The four generic data rules of one service (``noun``: table, keyspace, index, ...)."""
    out: dict[str, RuleMeta] = {}
    for category, (severity, title, remediation) in _DATA.items():
        rid = data_rule_id(service, category)
        out[rid] = RuleMeta(
            id=rid,
            severity=severity,
            title=title.format(noun=noun),
            remediation=remediation.format(noun=noun),
            references=references,
        )
    return out


#: The pipeline's own rule: a plugin found an endpoint but its assessment did not finish.
INCOMPLETE = rule(
    "leakmap.assessment-incomplete",
    Severity.LOW,
    "Endpoint found but its assessment did not finish",
    "Re-run with a longer --endpoint-timeout, or check the endpoint by hand; until then "
    "treat its access state as unknown, not as secure.",
)


def make_finding(
    meta: RuleMeta,
    *,
    service: str,
    host: str,
    port: int,
    evidence: str,
    resource: str | None = None,
    severity: Severity | None = None,
    title: str | None = None,
    extra_references: tuple[str, ...] = (),
) -> Finding:
    """A finding for ``meta``; ``severity``/``title`` override the defaults when given."""
    return Finding.make(
        rule=meta.id,
        severity=severity or meta.severity,
        host=host,
        port=port,
        service=service,
        resource=resource,
        title=title or meta.title,
        evidence=evidence,
        remediation=meta.remediation,
        references=meta.references + extra_references,
    )


class Catalogue:
    """One service's rules (its own plus the generic data rules) and its finding builder."""

    def __init__(
        self,
        service: str,
        rules: Iterable[RuleMeta],
        *,
        data_noun: str = "data",
        data_references: tuple[str, ...] = (),
    ) -> None:
        self.service = service
        own = {r.id: r for r in rules}
        bad = [rid for rid in own if not rid.startswith(f"{service}.")]
        if bad:
            raise ValueError(f"rule ids must start with '{service}.': {bad}")
        self.rules: dict[str, RuleMeta] = own | data_rules(
            service, noun=data_noun, references=data_references
        )

    def finding(
        self,
        rule_id: str,
        *,
        host: str,
        port: int,
        evidence: str,
        resource: str | None = None,
        severity: Severity | None = None,
        title: str | None = None,
        extra_references: tuple[str, ...] = (),
    ) -> Finding:
        """A finding for one of this catalogue's rules (KeyError for an unknown id)."""
        return make_finding(
            self.rules[rule_id],
            service=self.service,
            host=host,
            port=port,
            evidence=evidence,
            resource=resource,
            severity=severity,
            title=title,
            extra_references=extra_references,
        )

    def data_findings(self, report: object) -> list[Finding]:
        """One finding per (resource, category) of a report's data findings (JSON keeps one
        per resource; the console groups them by rule and endpoint)."""
        from leakmap.services.base import DataFinding, ServiceReport

        assert isinstance(report, ServiceReport)
        out: list[Finding] = []
        for r in report.resources:
            by_cat: dict[DataCategory, list[DataFinding]] = {}
            for df in r.data_findings:
                by_cat.setdefault(df.category, []).append(df)
            name = sanitize(r.name, 160)
            for cat, dfs in by_cat.items():
                total = sum(d.count for d in dfs)
                top = sorted(dfs, key=lambda d: -d.count)[:5]
                listed = ", ".join(f"{d.rule} x{d.count} ({d.example})" for d in top)
                out.append(
                    self.finding(
                        data_rule_id(self.service, cat),
                        host=report.host,
                        port=report.port,
                        resource=r.name,
                        evidence=f"{name}: {total} {cat.value} matches in "
                        f"{r.sampled_rows or 0} sampled {'rows' if r.kind == 'table' else 'items'}"
                        f" - {listed}",
                    )
                )
        return out
