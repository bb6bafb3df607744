"""One server, one enumeration (issue 8 item 2) against a REAL ClickHouse: two HTTP endpoints
of the same server (plain, and TLS through a terminator on the same address) are enumerated
once - the server's own query_log holds one sample of the chat table - and the second report
says which endpoint carries the resources; a CLI scan of the HTTP and native ports links the
native report to the HTTP one by address + display name + version + timezone, and no note names
an endpoint that was not scanned.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import pytest

from leakmap.classify import Classifier
from leakmap.lab.clickhouse import ClickHouseInstance
from leakmap.net.bounded import Network
from leakmap.services.base import OpenPort, ScanConfig, ScanContext, ServiceResult
from leakmap.services.clickhouse.plugin import ClickHouse

from .ch_tls import TlsTerminator, openssl_available
from .test_scan_cli import FAST, leakmap_scan, validate_lines


@pytest.fixture(scope="module")
def server(ch_factory: Callable[..., ClickHouseInstance]) -> ClickHouseInstance:
    return ch_factory(seed_rows=100, log_queries=True, timezone="Asia/Shanghai")


def _samples_of_chat_log(ch: ClickHouseInstance, since: float) -> int:
    return sum(
        q.type == 1 and " FROM `chatbot`.`log_stream` LIMIT" in q.query
        for q in ch.logged_queries(since=since)
    )


def test_two_http_endpoints_of_one_server_are_enumerated_once(server: ClickHouseInstance) -> None:
    if not openssl_available():
        pytest.skip("the TLS terminator needs the openssl command for its certificate")
    ctx = ScanContext(ScanConfig(sample_rows=20), Network(), Classifier.load())
    plugin = ClickHouse()

    async def scan(port: int) -> ServiceResult:
        endpoint = await plugin.fingerprint(OpenPort(server.ip, server.ip, port), ctx)
        assert endpoint is not None
        return await plugin.assess(endpoint, ctx)

    async def both() -> list[ServiceResult]:
        return list(await asyncio.gather(scan(server.http_port), scan(8443)))

    since = time.time() - 1
    with TlsTerminator(server.ip, 8443, (server.ip, server.http_port)):
        results = asyncio.run(both())
    reports = [r.report for r in results]
    assert all(r.auth.value == "none" for r in reports)
    carrier = [r for r in reports if r.resources]
    other = [r for r in reports if not r.resources]
    assert len(carrier) == 1 and len(other) == 1
    assert other[0].resources_at == f"{carrier[0].host}:{carrier[0].port}"
    for key in ("display_name", "version", "timezone"):
        assert other[0].identity[key] == carrier[0].identity[key]
    assert _samples_of_chat_log(server, since) == 1  # the server's own record


def test_cli_links_the_native_endpoint_to_the_http_one(server: ClickHouseInstance) -> None:
    ports = f"{server.http_port},{server.native_port}"
    run = leakmap_scan(server.ip, "--ports", ports, "--format", "json", *FAST)
    assert run.code == 0, run.stderr
    doc = json.loads(run.stdout)
    by_port = {s["port"]: s for s in doc["services"] if s["ip"] == server.ip}
    http, native = by_port[server.http_port], by_port[server.native_port]
    assert http["resources"] and http["resources_at"] is None
    assert native["resources"] == []
    assert native["resources_at"] == f"{server.ip}:{server.http_port}"
    for key in ("display_name", "version", "timezone"):
        assert native["identity"][key] == http["identity"][key]
    assert native["identity"]["timezone"] == "Asia/Shanghai"
    # no note sends the reader to an endpoint that was not scanned
    scanned = {str(server.http_port), str(server.native_port)}
    for note in native["notes"] + http["notes"]:
        for other in ("8443", "9440", "9004", "9005"):
            assert other not in note or other in scanned, note


def test_jsonl_summary_carries_the_endpoint_links(server: ClickHouseInstance) -> None:
    """A JSON-lines consumer learns the link too: the summary line lists the native endpoint
    with the HTTP one that carries its resources (decided once both are in)."""
    ports = f"{server.http_port},{server.native_port}"
    run = leakmap_scan(server.ip, "--ports", ports, "--format", "jsonl", *FAST)
    assert run.code == 0, run.stderr
    lines = validate_lines(run.stdout)
    summary = lines[-1]
    assert summary["type"] == "summary"
    assert summary["links"] == [
        {
            "host": server.ip,
            "ip": server.ip,
            "port": server.native_port,
            "service": "clickhouse",
            "resources_at": f"{server.ip}:{server.http_port}",
        }
    ]
