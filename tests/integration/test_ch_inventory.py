"""Inventory complete, sampling prioritised (issue 9) against a REAL ClickHouse holding more
than 2,000 tables: every table is listed, the sampling budget goes to names that suggest leaks
first (a secret planted in ``bulk.zz_user_tokens``, last in alphabetical order, is found with a
budget of 40 tables), the report says how many were left unsampled and why, a listing cap
is stated with the true total, and the console shows one row per rule and endpoint while the
JSON keeps one finding per table.
"""

from __future__ import annotations

import asyncio
import io
import secrets
import string
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from rich.console import Console

from leakmap.classify import Classifier
from leakmap.lab.clickhouse import ClickHouseInstance
from leakmap.net.bounded import Network
from leakmap.pipeline import ScanSummary, ServiceFound
from leakmap.report.console import render_summary
from leakmap.report.json import build_document
from leakmap.services.base import (
    DataCategory,
    Endpoint,
    OpenPort,
    ScanConfig,
    ScanContext,
    ServiceResult,
)
from leakmap.services.clickhouse.plugin import ClickHouse
from leakmap.services.common.sampling import SAMPLING_BUDGET, leak_hint

BULK = 2003
BUDGET = 40


def _fake_key() -> str:
    alnum = string.ascii_letters + string.digits
    body = "".join(secrets.choice(alnum) for _ in range(64))
    tail = "".join(secrets.choice(alnum) for _ in range(64))
    return f"sk-proj-{body}T3BlbkFJ{tail}"


@pytest.fixture(scope="module")
def many_tables(ch_factory: Callable[..., ClickHouseInstance]) -> ClickHouseInstance:
    ch = ch_factory(seed_rows=200)
    ch.attach_tables("bulk", [f"t_{i:04d}" for i in range(BULK)] + ["zz_user_tokens"])
    ch.admin_query(f"INSERT INTO bulk.zz_user_tokens VALUES ('token for ci: {_fake_key()}')")
    return ch


def _scan(
    ch: ClickHouseInstance, *, max_sampled: int, max_resources: int = 50_000
) -> tuple[Endpoint, ServiceResult]:
    config = ScanConfig(sample_rows=20, max_sampled=max_sampled, max_resources=max_resources)
    ctx = ScanContext(config, Network(), Classifier.load())

    async def run() -> tuple[Endpoint, ServiceResult]:
        plugin = ClickHouse()
        endpoint = await plugin.fingerprint(OpenPort(ch.ip, ch.ip, ch.http_port), ctx)
        assert endpoint is not None
        return endpoint, await plugin.assess(endpoint, ctx)

    return asyncio.run(run())


@pytest.fixture(scope="module")
def budget_scan(many_tables: ClickHouseInstance) -> ServiceResult:
    return _scan(many_tables, max_sampled=BUDGET)[1]


def test_every_table_is_listed(many_tables: ClickHouseInstance, budget_scan: ServiceResult) -> None:
    expected = {
        f"{db}.{t}"
        for db, t in many_tables.admin_rows(
            "SELECT database, name FROM system.tables WHERE database != 'system'"
        )
    }
    assert len(expected) > 2000
    report = budget_scan.report
    assert {r.name for r in report.resources} == expected
    assert report.coverage is not None
    assert report.coverage.listed == report.coverage.total == len(expected)


def test_budget_goes_to_leaky_names_first(budget_scan: ServiceResult) -> None:
    report = budget_scan.report
    by_name = {r.name: r for r in report.resources}
    tokens = by_name["bulk.zz_user_tokens"]
    assert tokens.sampled_rows == 1
    assert DataCategory.SECRET in {d.category for d in tokens.data_findings}
    assert by_name["chatbot.log_stream"].sampled_rows
    sampled = [r for r in report.resources if r.sampled_rows is not None]
    assert len(sampled) == BUDGET
    hinted = [r for r in report.resources if leak_hint(r.name) and r.engine == "Memory"]
    assert all(r.sampled_rows is not None for r in hinted)  # all leak-suggesting names sampled
    # every readable table left out says why
    skipped = [r for r in report.resources if r.sampled_rows is None and r.engine == "Memory"]
    assert {r.unsampled for r in skipped} == {SAMPLING_BUDGET}
    assert report.coverage is not None
    assert report.coverage.sampled == BUDGET
    assert report.coverage.unsampled[SAMPLING_BUDGET] == sum(
        r.unsampled == SAMPLING_BUDGET for r in report.resources
    )
    assert report.coverage.unsampled[SAMPLING_BUDGET] > 1900
    assert any("sampling budget" in n and "not sampled" in n for n in report.notes)


def test_listing_cap_is_stated_with_the_true_total(many_tables: ClickHouseInstance) -> None:
    _, result = _scan(many_tables, max_resources=1000, max_sampled=5)
    report = result.report
    assert len(report.resources) == 1000
    assert report.coverage is not None
    assert report.coverage.listed == 1000 and report.coverage.cap == 1000
    assert report.coverage.total is not None and report.coverage.total > 2000
    assert any(f"1000 of {report.coverage.total} tables listed" in n for n in report.notes)


def test_console_groups_one_rule_per_endpoint_json_keeps_each(budget_scan: ServiceResult) -> None:
    secret_findings = [f for f in budget_scan.findings if f.rule == "clickhouse.data.secret"]
    assert len(secret_findings) >= 2  # the chat log and the token table
    summary = ScanSummary(started=datetime.now(UTC))
    summary.add(ServiceFound(budget_scan))
    summary.finish()
    doc = build_document(summary)
    assert sum(f["rule"] == "clickhouse.data.secret" for f in doc["findings"]) == len(
        secret_findings
    )
    out = io.StringIO()
    render_summary(summary, Console(file=out, width=250, color_system=None))
    text = out.getvalue()
    assert text.count("Exposed table holds secrets") == 1
    assert f"{len(secret_findings)} resources:" in text
