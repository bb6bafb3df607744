"""A scan result full of hostile server strings, for the report writer tests."""

from __future__ import annotations

from datetime import UTC, datetime

from leakmap.findings import Finding, Severity
from leakmap.pipeline import Note, ScanSummary, ServiceFound
from leakmap.services.base import (
    AuthState,
    Capabilities,
    Column,
    DataCategory,
    DataFinding,
    Resource,
    ServiceReport,
    ServiceResult,
    Transport,
)
from leakmap.services.clickhouse.rules import make_finding

XSS_TABLE = "<img src=x onerror=alert(1)>"
SCRIPT_DB = "<script>document.title='pwned'</script>"
MD_LINK = "[click](javascript:alert(1))"
TERMINAL = "18.16.1\x1b[2J\x1b]0;pwned\x07"


def hostile_summary() -> ScanSummary:
    report = ServiceReport(
        host="db.internal",
        ip="127.0.0.2",
        port=8123,
        service="clickhouse",
        transport=Transport.HTTP,
        version=TERMINAL,
        auth=AuthState.NONE,
        resources=(
            Resource(
                database=SCRIPT_DB,
                table=XSS_TABLE,
                engine="MergeTree",
                rows=1000,
                columns=(Column(name=MD_LINK, type="String"),),
                data_findings=(
                    DataFinding(
                        category=DataCategory.SECRET,
                        rule="secret.openai.project-key",
                        count=3,
                        example="sk-proj-…#8f3a1c",
                    ),
                ),
            ),
        ),
        capabilities=Capabilities.of(file=True, url=None, remote=False, write=False, ddl=False),
    )
    findings = (
        make_finding(
            "clickhouse.open-access",
            host="db.internal",
            port=8123,
            evidence=f"default user, no password: 1 table ({XSS_TABLE})",
            severity=Severity.CRITICAL,
        ),
        make_finding(
            "clickhouse.data.secret",
            host="db.internal",
            port=8123,
            resource=f"{SCRIPT_DB}.{XSS_TABLE}",
            evidence=f"{MD_LINK} sk-proj-…#8f3a1c",
        ),
        Finding.make(
            rule="clickhouse.known-cves",
            severity=Severity.MEDIUM,
            host="::1",
            port=9000,
            service="clickhouse",
            title="ClickHouse version with known vulnerabilities",
            evidence=TERMINAL,
            remediation="Upgrade.",
            references=("javascript:alert(1)", "https://nvd.nist.gov/vuln/detail/CVE-2024-6873"),
        ),
    )
    summary = ScanSummary(started=datetime(2026, 11, 26, 2, 0, tzinfo=UTC))
    summary.add(ServiceFound(ServiceResult(report, findings)))
    summary.add(Note(f"note with {XSS_TABLE}"))
    summary.finished = datetime(2026, 11, 26, 2, 0, 3, tzinfo=UTC)
    return summary
