"""ClickHouse over its MySQL / PostgreSQL interfaces as a ChSession, against scripted servers
(exchanges rebuilt from ClickHouse's handlers): limits in a SETTINGS clause, refused settings
dropped and retried, errors mapped to ClickHouse codes, byte limits."""

from __future__ import annotations

import asyncio
import struct

import pytest

from leakmap.errors import ResponseTooLarge
from leakmap.net.bounded import Network
from leakmap.services.base import ScanConfig
from leakmap.services.clickhouse.http import safe_settings
from leakmap.services.clickhouse.wire_sessions import ChOverMysql, ChOverPostgres, settings_clause

from .scripted import Scripted
from .test_mysql_wire import RECORDED_CH_GREETING, RECORDED_CH_LOGIN_OK, pkt, result_set
from .test_pg_wire import READY, RECORDED_CH_STARTUP, data_row, msg, row_description


def test_settings_clause_quotes_words_and_skips_anything_odd() -> None:
    clause = settings_clause(safe_settings(ScanConfig()))
    assert clause.startswith("SETTINGS readonly=1, max_execution_time=10")
    assert "result_overflow_mode='break'" in clause and "read_overflow_mode='break'" in clause
    assert settings_clause({"x; DROP": "1", "y": "1'"}) == ""


def test_mysql_interface_refused_setting_is_dropped_and_the_code_kept() -> None:
    refusal = pkt(1, b"\xff" + struct.pack("<H", 164) + b"#00000"
                  + b"Cannot modify 'max_threads' setting in readonly mode")  # fmt: skip
    replies = iter([RECORDED_CH_LOGIN_OK, refusal, result_set(["x"], [["1"]])])

    async def go() -> None:
        async with Scripted(lambda _: next(replies), on_connect=RECORDED_CH_GREETING) as srv:
            s = ChOverMysql(Network(), "127.0.0.1", srv.port, ScanConfig())
            rows = await s.rows("SELECT 1 AS x")
            assert rows.ok and rows.rows == (("1",),) and rows.refused_settings == {"max_threads"}
            assert b"max_threads" in srv.requests[1] and b"max_threads" not in srv.requests[2]
            assert b"SETTINGS readonly=1" in srv.requests[2]
            await s.close()

    asyncio.run(go())


def test_postgres_interface_error_code_is_parsed_and_the_session_reopened() -> None:
    error = msg(b"E", b"SERROR\x00C2F000\x00MQuery execution failed.\nCode: 60, "
                b"e.displayText() = DB::Exception: Table x doesn't exist\x00\x00")  # fmt: skip
    answer = row_description("x") + data_row("1") + msg(b"C", b"SELECT 1\x00") + READY
    replies = iter([RECORDED_CH_STARTUP, error, RECORDED_CH_STARTUP, answer])

    async def go() -> None:
        async with Scripted(lambda _: next(replies), hangup=b"E") as srv:
            s = ChOverPostgres(Network(), "127.0.0.1", srv.port, ScanConfig(read_timeout=1))
            failed = await s.rows("SELECT * FROM x")
            assert failed.error is not None and failed.error.code == 60
            ok = await s.rows("SELECT 1 AS x")
            assert ok.rows == (("1",),) and srv.connections == 2
            await s.close()

    asyncio.run(go())


def test_byte_limit_is_truncation_only_when_allowed() -> None:
    big = row_description("x") + b"".join(data_row("y" * 1000) for _ in range(100))
    replies = iter([RECORDED_CH_STARTUP, big, RECORDED_CH_STARTUP, big])

    def reply(request: bytes) -> bytes:
        return b"" if request.startswith(b"X") else next(replies)  # Terminate: no answer

    async def go() -> None:
        async with Scripted(reply) as srv:
            s = ChOverPostgres(Network(), "127.0.0.1", srv.port, ScanConfig(read_timeout=1))
            cut = await s.rows("SELECT x FROM t", limit=20_000, allow_truncate=True)
            assert cut.truncated and not cut.complete
            with pytest.raises(ResponseTooLarge):
                await s.rows("SELECT x FROM t", limit=20_000)

    asyncio.run(go())
