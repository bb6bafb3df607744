"""The read-only proof can fail: a scanner that also sends writes is caught.

:func:`readonly_proof.assert_read_only` reads ``system.query_log`` rows of every type. Here a
mutant scanner - the guarded query path patched to send an ``INSERT`` and a ``DROP`` after
each read, with ``readonly=1`` as the real client does, so the server refuses them before they
start and logs them as type 3 only - must fail that proof, while the old type-1-only check
would have passed it. And the real CLI, scanning every default port of the open server, passes.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from leakmap.classify import Classifier
from leakmap.lab.clickhouse import ClickHouseInstance
from leakmap.net.bounded import fetch_bounded
from leakmap.services.base import AuthState
from leakmap.services.clickhouse.http import ChHttp, QueryResult, safe_settings

from .readonly_proof import assert_read_only, query_log, type1_only_violations
from .test_clickhouse_plugin import make_ctx, scan_port

WRITES = (
    "INSERT INTO chatbot.log_stream (message) VALUES ('mutant')",
    "DROP TABLE analytics.page_views",
)


@pytest.fixture(scope="module")
def ch_target(ch_factory: Callable[..., ClickHouseInstance]) -> Iterator[ClickHouseInstance]:
    """A private seeded server: the mutant's refused writes must not touch the shared ones."""
    ch = ch_factory(seed_rows=50, timezone="UTC", log_queries=True)
    try:
        yield ch
    finally:
        ch.stop()


def test_proof_catches_a_scanner_that_also_sends_writes(
    ch_target: ClickHouseInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = ChHttp.query

    async def query_and_write(self: ChHttp, sql: str, **kw: Any) -> QueryResult:
        result = await original(self, sql, **kw)
        for statement in WRITES:  # the mutant: unguarded, with the real client's settings
            params = {**safe_settings(self.config), "query_id": self._query_id()}
            await fetch_bounded(
                self.client,
                "POST",
                self.base_url + "/",
                params=params,
                content=statement.encode(),
                limit=65536,
                timeout=10,
            )
        return result

    monkeypatch.setattr(ChHttp, "query", query_and_write)
    ctx = make_ctx(Classifier.load())
    ep, res = asyncio.run(scan_port(ctx, ch_target.ip, ch_target.http_port))
    assert ep is not None and res is not None and res.report.auth == AuthState.NONE

    rows = query_log(ch_target)
    writes = [r for r in rows if r.query.startswith(("INSERT", "DROP"))]
    assert writes and {r.type for r in writes} == {3}  # refused before start: type 3 only
    assert not type1_only_violations(rows)  # the old proof's blind spot
    with pytest.raises(AssertionError, match="non-read statements reached the server"):
        assert_read_only(ch_target)
    # readonly=1 refused them: the server is intact
    assert ch_target.admin_rows("EXISTS TABLE analytics.page_views") == [["1"]]


def test_cli_scan_of_every_default_port_sends_only_reads(ch_open: ClickHouseInstance) -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "leakmap", "scan", ch_open.ip, "--format", "json",
         "--timeout", "1", "--read-timeout", "3", "--no-progress"],
        capture_output=True, text=True, timeout=180, env=env,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    assert '"auth": "none"' in proc.stdout
    assert_read_only(ch_open)
