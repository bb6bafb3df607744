"""The ClickHouse chain over its MySQL and PostgreSQL interfaces: a :class:`WireBridge` speaks
each protocol the way ClickHouse does and answers from the REAL lab server (Debian's 18.16
has neither interface). The results must equal the HTTP path's for the same server."""

from __future__ import annotations

import asyncio
from typing import Literal

import pytest

from leakmap.classify import Classifier
from leakmap.lab.addresses import random_loopback
from leakmap.lab.clickhouse import ClickHouseInstance
from leakmap.net.bounded import Network
from leakmap.services.base import (
    AuthState,
    Endpoint,
    OpenPort,
    ScanConfig,
    ScanContext,
    ServiceResult,
    Transport,
)
from leakmap.services.clickhouse.plugin import ClickHouse
from leakmap.services.common.sqlguard import guard_sql

from .ch_wire_bridge import WireBridge

PORTS = {"mysql": 9004, "postgresql": 9005}


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.load()


def scan(
    ip: str, port: int, classifier: Classifier
) -> tuple[Endpoint | None, ServiceResult | None]:
    ctx = ScanContext(ScanConfig(), Network(), classifier)

    async def go() -> tuple[Endpoint | None, ServiceResult | None]:
        plugin = ClickHouse()
        endpoint = await plugin.fingerprint(OpenPort(ip, ip, port), ctx)
        return endpoint, None if endpoint is None else await plugin.assess(endpoint, ctx)

    return asyncio.run(go())


def summary(result: ServiceResult) -> tuple[object, ...]:
    rep = result.report
    return (
        {(r.name, r.rows, r.sampled_rows) for r in rep.resources},
        {(r.name, df.category, df.rule) for r in rep.resources for df in r.data_findings},
        rep.capabilities,
        sorted(f.rule for f in result.findings if not f.rule.startswith("clickhouse.exposed")),
    )


@pytest.fixture(scope="module")
def http_result(ch_open: ClickHouseInstance, classifier: Classifier) -> ServiceResult:
    _, result = scan(ch_open.ip, ch_open.http_port, classifier)
    assert result is not None
    return result


@pytest.mark.parametrize("protocol", ["mysql", "postgresql"])
def test_the_whole_chain_over_the_sql_interfaces_equals_http(
    ch_open: ClickHouseInstance,
    classifier: Classifier,
    http_result: ServiceResult,
    protocol: Literal["mysql", "postgresql"],
) -> None:
    port = PORTS[protocol]
    ip = random_loopback((port,))
    with WireBridge(ip, port, ch_open.http_url, protocol) as bridge:
        endpoint, result = scan(ip, port, classifier)
    assert endpoint is not None and endpoint.transport == Transport(protocol)
    assert result is not None and result.report.auth == AuthState.NONE
    assert result.report.proof and "interface" in result.report.proof
    assert summary(result) == summary(http_result)
    # every statement passed the guard and carried the server-side limits
    assert bridge.statements
    for sql in bridge.statements:
        guard_sql(sql)
        if sql.startswith("SELECT") and "system.settings" not in sql:
            assert "SETTINGS readonly=1" in sql and "result_overflow_mode='break'" in sql


@pytest.mark.parametrize("protocol", ["mysql", "postgresql"])
def test_a_refused_login_is_required_and_nothing_is_read(
    ch_open: ClickHouseInstance, classifier: Classifier, protocol: Literal["mysql", "postgresql"]
) -> None:
    port = PORTS[protocol]
    ip = random_loopback((port,))
    with WireBridge(ip, port, ch_open.http_url, protocol, password=True) as bridge:
        endpoint, result = scan(ip, port, classifier)
    assert endpoint is not None if protocol == "mysql" else endpoint is None
    if result is not None:
        assert result.report.auth == AuthState.REQUIRED and result.report.resources == ()
    assert bridge.statements == []
