"""The open-access finding states table counts only when this endpoint enumerated the server."""

from __future__ import annotations

from leakmap.services.base import AuthState, Coverage, ServiceReport
from leakmap.services.clickhouse.plugin import ClickHouse


def _open_access_evidence(**fields: object) -> str:
    report = ServiceReport(
        host="127.0.0.9",
        ip="127.0.0.9",
        port=9000,
        service="clickhouse",
        transport="native",
        auth=AuthState.NONE,
        proof="SELECT version(), A * B answered",
        **fields,  # type: ignore[arg-type]
    )
    (finding,) = [f for f in ClickHouse().findings(report) if f.rule == "clickhouse.open-access"]
    return finding.evidence


def test_an_endpoint_that_enumerated_an_empty_server_says_zero_tables() -> None:
    assert "0 databases, 0 tables readable" in _open_access_evidence(coverage=Coverage())


def test_an_endpoint_that_left_the_tables_to_another_does_not_claim_zero_tables() -> None:
    evidence = _open_access_evidence()
    assert "0 tables" not in evidence
    assert "not enumerated over this endpoint" in evidence


def test_a_linked_endpoint_names_the_report_that_carries_the_tables() -> None:
    evidence = _open_access_evidence(resources_at="127.0.0.9:8123")
    assert "0 tables" not in evidence and "127.0.0.9:8123" in evidence
