"""Open means proven (issue 12 item 1): ClickHouse lookalikes on loopback are never called open.

Each lookalike (:mod:`tests.integration.lookalikes`) sends ClickHouse's response headers to
every request - the one from the issue answers every request with a gzip bomb - and none of
them can compute the product of the two random numbers the scanner asks for. Each is
fingerprinted and assessed 20 times in a row by the plugin (the issue saw the gzip-bomb one
called open in two runs out of three), and scanned once end to end by ``leakmap scan``.
The real open server in the same module is still proven open: the proof is not just "never".
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest

from leakmap.classify import Classifier
from leakmap.lab.addresses import random_loopback
from leakmap.lab.clickhouse import ClickHouseInstance
from leakmap.net.bounded import Network
from leakmap.services.base import AuthState, OpenPort, ScanConfig, ScanContext
from leakmap.services.clickhouse.plugin import ClickHouse

from .lookalikes import LOOKALIKE_MODES, ChLookalike, LookalikeMode
from .test_scan_cli import FAST, leakmap_scan

RUNS = 20


@pytest.fixture(scope="module")
def ctx() -> ScanContext:
    # short timeouts keep the loop cheap; loopback answers in milliseconds
    config = ScanConfig(connect_timeout=0.5, read_timeout=0.3, query_timeout_s=2)
    network = Network(connect_timeout=0.5, read_timeout=0.3)
    return ScanContext(config, network, Classifier.load())


@pytest.fixture(scope="module", params=LOOKALIKE_MODES)
def lookalike(request: pytest.FixtureRequest) -> Iterator[ChLookalike]:
    mode: LookalikeMode = request.param
    with ChLookalike(random_loopback((8123,)), mode) as server:
        yield server


async def _runs(ctx: ScanContext, ip: str, port: int, n: int) -> list[tuple[str, str, int]]:
    """(fingerprint's auth, assessed auth, open-access findings) for n runs in a row."""
    plugin = ClickHouse()
    out: list[tuple[str, str, int]] = []
    for _ in range(n):
        endpoint = await plugin.fingerprint(OpenPort(ip, ip, port), ctx)
        if endpoint is None:
            out.append(("-", "not identified", 0))
            continue
        result = await plugin.assess(endpoint, ctx)
        opened = sum(f.rule == "clickhouse.open-access" for f in result.findings)
        out.append((endpoint.details.get("auth", "-"), result.report.auth.value, opened))
    return out


def test_lookalike_is_never_open_in_20_runs(lookalike: ChLookalike, ctx: ScanContext) -> None:
    runs = asyncio.run(_runs(ctx, lookalike.ip, lookalike.port, RUNS))
    assert len(runs) == RUNS
    assert all(fp != AuthState.NONE.value for fp, _, _ in runs), runs
    assert all(auth in ("unknown", "not identified") for _, auth, _ in runs), runs
    assert sum(opened for _, _, opened in runs) == 0


def test_real_open_server_is_still_proven_open(
    ch_open: ClickHouseInstance, ctx: ScanContext
) -> None:
    runs = asyncio.run(_runs(ctx, ch_open.ip, ch_open.http_port, 3))
    assert runs == [("none", "none", 1)] * 3


def test_gzip_bomb_lookalike_end_to_end_is_not_open() -> None:
    with ChLookalike(random_loopback((8123,)), "gzip-bomb") as bomb:
        run = leakmap_scan(f"{bomb.ip}:8123", "--format", "json", *FAST)
    assert run.code == 0, run.stderr
    doc = json.loads(run.stdout)
    assert [s["auth"] for s in doc["services"]] in ([], ["unknown"])
    assert not [f for f in doc["findings"] if f["rule"] == "clickhouse.open-access"]
