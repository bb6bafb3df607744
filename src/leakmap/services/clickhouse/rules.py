"""The ClickHouse finding rules: metadata as data, next to the code that raises them.

Each rule has a stable id, a default severity, a title template, remediation and references,
validated by :class:`RuleMeta`. :func:`make_finding` builds a
:class:`~leakmap.findings.Finding` with a deterministic id; the plugin may raise the severity
(open access exposing secrets or chat history is critical) but never invents a rule.

What the plugin reports, for example against the lab::

    critical clickhouse.open-access        default user, no password: 2 databases, 3 tables ...
    critical clickhouse.data.secret        chatbot.log_stream: secret.openai.. x12 (sk-proj…#8f3a1c)
    critical clickhouse.capability.file    file() table function usable (readonly=0)
    high     clickhouse.known-cves         18.16.1: CVE-2024-6873 (critical), ...
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from leakmap.findings import Finding, Severity

__all__ = ["RULES", "RuleMeta", "make_finding"]

_DOCS = "https://clickhouse.com/docs/"
_SEC = _DOCS + "operations/settings/settings-users"
_PERMS = _DOCS + "operations/settings/permissions-for-queries"
_NET = _DOCS + "operations/server-configuration-parameters/settings#listen_host"


class RuleMeta(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    severity: Severity
    title: str
    remediation: str
    references: tuple[str, ...] = ()


def _r(
    id: str, severity: Severity, title: str, remediation: str, *refs: str
) -> tuple[str, RuleMeta]:
    return id, RuleMeta(
        id=id, severity=severity, title=title, remediation=remediation, references=refs
    )


RULES: dict[str, RuleMeta] = dict(
    (
        _r(
            "clickhouse.open-access",
            Severity.HIGH,
            "ClickHouse accepts the default user without a password",
            "Set a strong password (password_sha256_hex) for 'default' or remove it, restrict "
            "<networks> to the hosts that need access, and keep listen_host off public "
            "interfaces. Critical when the exposed data holds secrets or chat history.",
            _SEC,
            _NET,
        ),
        _r(
            "clickhouse.auth-unknown",
            Severity.LOW,
            "ClickHouse is reachable but its authentication state could not be determined",
            "Check by hand whether 'default' needs a password from this network; restrict "
            "the port with a firewall if it does not need to be reachable.",
            _SEC,
        ),
        _r(
            "clickhouse.data.secret",
            Severity.CRITICAL,
            "Exposed table holds secrets (API keys, tokens, passwords)",
            "Close access first, then rotate every credential found in the table and stop "
            "logging secrets (redact at the source).",
            _SEC,
        ),
        _r(
            "clickhouse.data.chat",
            Severity.CRITICAL,
            "Exposed table holds LLM chat history",
            "Close access, review what users' conversations were exposed and notify as your "
            "obligations require; keep chat logs out of shared analytics stores.",
            _SEC,
        ),
        _r(
            "clickhouse.data.pii",
            Severity.HIGH,
            "Exposed table holds personal data",
            "Close access, assess the exposure of personal data, minimise what is stored.",
            _SEC,
        ),
        _r(
            "clickhouse.data.infrastructure",
            Severity.MEDIUM,
            "Exposed table reveals internal infrastructure (hosts, paths, stack traces)",
            "Close access; internal hostnames, addresses and paths help an attacker move on.",
            _SEC,
        ),
        _r(
            "clickhouse.capability.write",
            Severity.CRITICAL,
            "Anonymous session can write data (INSERT)",
            "Give the exposed user the readonly profile (readonly=1) or revoke INSERT.",
            _PERMS,
        ),
        _r(
            "clickhouse.capability.ddl",
            Severity.CRITICAL,
            "Anonymous session can run DDL (create, alter, drop tables)",
            "Set readonly=1 or allow_ddl=0 for the exposed user, or revoke CREATE/ALTER/DROP.",
            _PERMS,
        ),
        _r(
            "clickhouse.capability.file",
            Severity.CRITICAL,
            "file() table function usable: server files can be read",
            "Set readonly=1 for the exposed user (pre-RBAC) or revoke FILE / SOURCES.",
            _DOCS + "sql-reference/table-functions/file",
            _PERMS,
        ),
        _r(
            "clickhouse.capability.table-functions",
            Severity.HIGH,
            "Network or command table functions usable (url, remote, executable, ...)",
            "Set readonly=1 for the exposed user (pre-RBAC) or revoke the source privileges "
            "(URL, REMOTE, S3, MYSQL, ...).",
            _DOCS + "sql-reference/table-functions",
            _PERMS,
        ),
        _r(
            "clickhouse.known-cves",
            Severity.MEDIUM,
            "ClickHouse version with known vulnerabilities",
            "Upgrade to a maintained release that carries the fixes.",
            "https://clickhouse.com/docs/whats-new/security-changelog",
        ),
        _r(
            "clickhouse.exposed-interserver",
            Severity.MEDIUM,
            "ClickHouse interserver (replication) port reachable",
            "Interserver HTTP should only be reachable by replicas: firewall it and set "
            "interserver_http_credentials.",
            _DOCS + "operations/server-configuration-parameters/settings#interserver_http_port",
        ),
        _r(
            "clickhouse.exposed-prometheus",
            Severity.LOW,
            "ClickHouse Prometheus metrics reachable without authentication",
            "Expose /metrics only to the monitoring network.",
            _DOCS + "operations/server-configuration-parameters/settings#prometheus",
        ),
        _r(
            "clickhouse.exposed-mysql-wire",
            Severity.MEDIUM,
            "ClickHouse MySQL-protocol port reachable (another login surface)",
            "Disable mysql_port if unused, or firewall it; it accepts the same users.",
            _DOCS + "interfaces/mysql",
        ),
    )
)


def make_finding(
    rule: str,
    *,
    host: str,
    port: int,
    evidence: str,
    resource: str | None = None,
    severity: Severity | None = None,
    title: str | None = None,
    extra_references: tuple[str, ...] = (),
) -> Finding:
    """A finding for a known rule; ``severity``/``title`` override the defaults when given."""
    meta = RULES[rule]
    return Finding.make(
        rule=rule,
        severity=severity or meta.severity,
        host=host,
        port=port,
        service="clickhouse",
        resource=resource,
        title=title or meta.title,
        evidence=evidence,
        remediation=meta.remediation,
        references=meta.references + extra_references,
    )
