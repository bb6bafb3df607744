"""The ClickHouse finding rules: metadata as data, next to the code that raises them
(:class:`~leakmap.services.common.catalogue.Catalogue`; the ``clickhouse.data.*`` rules are
the generic data rules every plugin gets).

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

from leakmap.findings import Finding, Severity
from leakmap.services.common.catalogue import Catalogue, RuleMeta, rule

__all__ = ["CATALOGUE", "RULES", "RuleMeta", "make_finding"]

_DOCS = "https://clickhouse.com/docs/"
_SEC = _DOCS + "operations/settings/settings-users"
_PERMS = _DOCS + "operations/settings/permissions-for-queries"
_NET = _DOCS + "operations/server-configuration-parameters/settings#listen_host"


CATALOGUE = Catalogue(
    "clickhouse",
    (
        rule(
            "clickhouse.open-access",
            Severity.HIGH,
            "ClickHouse accepts the default user without a password",
            "Set a strong password (password_sha256_hex) for 'default' or remove it, restrict "
            "<networks> to the hosts that need access, and keep listen_host off public "
            "interfaces. Critical when the exposed data holds secrets or chat history.",
            _SEC,
            _NET,
        ),
        rule(
            "clickhouse.auth-unknown",
            Severity.LOW,
            "ClickHouse is reachable but its authentication state could not be determined",
            "Check by hand whether 'default' needs a password from this network; restrict "
            "the port with a firewall if it does not need to be reachable.",
            _SEC,
        ),
        rule(
            "clickhouse.capability.write",
            Severity.CRITICAL,
            "Anonymous session can write data (INSERT)",
            "Give the exposed user the readonly profile (readonly=1) or revoke INSERT.",
            _PERMS,
        ),
        rule(
            "clickhouse.capability.ddl",
            Severity.CRITICAL,
            "Anonymous session can run DDL (create, alter, drop tables)",
            "Set readonly=1 or allow_ddl=0 for the exposed user, or revoke CREATE/ALTER/DROP.",
            _PERMS,
        ),
        rule(
            "clickhouse.capability.file",
            Severity.CRITICAL,
            "file() table function usable: server files can be read",
            "Set readonly=1 for the exposed user (pre-RBAC) or revoke FILE / SOURCES.",
            _DOCS + "sql-reference/table-functions/file",
            _PERMS,
        ),
        rule(
            "clickhouse.capability.table-functions",
            Severity.HIGH,
            "Network or command table functions usable (url, remote, executable, ...)",
            "Set readonly=1 for the exposed user (pre-RBAC) or revoke the source privileges "
            "(URL, REMOTE, S3, MYSQL, ...).",
            _DOCS + "sql-reference/table-functions",
            _PERMS,
        ),
        rule(
            "clickhouse.known-cves",
            Severity.MEDIUM,
            "ClickHouse version with known vulnerabilities",
            "Upgrade to a maintained release that carries the fixes.",
            "https://clickhouse.com/docs/whats-new/security-changelog",
        ),
        rule(
            "clickhouse.exposed-interserver",
            Severity.MEDIUM,
            "ClickHouse interserver (replication) port reachable",
            "Interserver HTTP should only be reachable by replicas: firewall it and set "
            "interserver_http_credentials.",
            _DOCS + "operations/server-configuration-parameters/settings#interserver_http_port",
        ),
        rule(
            "clickhouse.exposed-prometheus",
            Severity.LOW,
            "ClickHouse Prometheus metrics reachable without authentication",
            "Expose /metrics only to the monitoring network.",
            _DOCS + "operations/server-configuration-parameters/settings#prometheus",
        ),
        rule(
            "clickhouse.exposed-mysql-wire",
            Severity.MEDIUM,
            "ClickHouse MySQL-protocol port reachable (another login surface)",
            "Disable mysql_port if unused, or firewall it; it accepts the same users.",
            _DOCS + "interfaces/mysql",
        ),
    ),
    data_noun="table",
    data_references=(_SEC,),
)
RULES: dict[str, RuleMeta] = CATALOGUE.rules


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
    return CATALOGUE.finding(
        rule,
        host=host,
        port=port,
        evidence=evidence,
        resource=resource,
        severity=severity,
        title=title,
        extra_references=extra_references,
    )
