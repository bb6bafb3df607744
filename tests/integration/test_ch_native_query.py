"""The native query client against REAL servers (Debian's clickhouse-server 18.16): the same
answers as HTTP, the limits as query settings, only read statements in ``system.query_log``
(every row type, ``interface = 1``), refusals from the password server, TLS through a terminator.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from leakmap.classify import Classifier
from leakmap.lab.addresses import random_loopback
from leakmap.lab.clickhouse import ClickHouseInstance
from leakmap.net.bounded import Network
from leakmap.services.base import AuthState, OpenPort, ScanConfig, ScanContext, ServiceResult
from leakmap.services.clickhouse.native import NativeException, NativeHello
from leakmap.services.clickhouse.native_query import ChNative, NativeResult, text_select
from leakmap.services.clickhouse.plugin import ClickHouse
from leakmap.services.clickhouse.safety import quote_ident
from leakmap.services.clickhouse.tsv import parse_tsv

from .ch_tls import TlsTerminator, openssl_available
from .test_scan_cli import FAST, by_port, leakmap_scan, validate_document

READ_KINDS = ("SELECT", "SHOW", "DESCRIBE", "DESC", "EXISTS")
INVENTORY = (
    "SELECT database, name, engine FROM system.tables "
    "WHERE database NOT IN ('system') ORDER BY database, name"
)
ROW_COUNTS = (
    "SELECT database, table, toString(sum(rows)) FROM system.parts WHERE active "
    "AND database != 'system' GROUP BY database, table ORDER BY database, table"
)


def native(ip: str, port: int = 9000, *, tls: bool = False, **cfg: object) -> ChNative:
    config = ScanConfig(**cfg)  # type: ignore[arg-type]
    return ChNative(Network(), ip, port, config, tls=tls)


def http_rows(ch: ClickHouseInstance, sql: str) -> list[tuple[str | None, ...]]:
    """The same query over HTTP as user default: what the native answer must equal."""
    resp = httpx.post(ch.http_url, content=f"{sql} FORMAT TabSeparated", timeout=30)
    assert resp.status_code == 200, resp.text[:200]
    return [tuple(r) for r in parse_tsv(resp.content)]


def assert_only_reads_over_native(ch: ClickHouseInstance, since: float, tag: str) -> int:
    """Every query_log row (any type: 1 start, 2 finish, 3/4 exceptions) sent over the native
    interface since ``since`` is a read statement; returns how many of ours finished."""
    ch.flush_logs()
    rows = ch.admin_rows(
        "SELECT toString(type), query_id, replaceRegexpAll(query, '[\\t\\n]', ' ') "
        "FROM system.query_log WHERE interface = 1 "
        f"AND event_time >= toDateTime({int(since) - 1})"
    )
    assert rows, "no native query was logged"
    for kind, _qid, query in rows:
        first = query.lstrip().split(None, 1)[0].upper() if query.strip() else ""
        assert first in READ_KINDS, f"type {kind}: {query[:80]}"
    return sum(1 for kind, qid, _ in rows if kind == "2" and qid.startswith(f"leakmap-{tag}-"))


def test_open_server_answers_like_http_and_logs_only_reads(ch_open: ClickHouseInstance) -> None:
    since = time.time()

    async def go() -> tuple[str, list[NativeResult]]:
        ch = native(ch_open.ip)
        hello = await ch.connect()
        assert isinstance(hello, NativeHello) and hello.timezone == "Asia/Shanghai"
        assert await ch.prove_open()
        tables = await ch.query(INVENTORY)
        counts = await ch.query(ROW_COUNTS)
        cols = await ch.query(
            "SELECT name FROM system.columns WHERE database = 'chatbot' AND table = 'log_stream'"
        )
        names = [r[0] or "" for r in cols.rows]
        sample = await ch.query(text_select(names, "`chatbot`.`log_stream`", 50))
        settings = await ch.query(
            "SELECT name, value FROM system.settings WHERE name IN ('readonly', 'max_threads', "
            "'result_overflow_mode', 'max_execution_time')",
            readonly=False,
        )
        await ch.close()
        return ch.scan_tag, [tables, counts, sample, settings]

    tag, (tables, counts, sample, settings) = asyncio.run(go())
    assert tables.rows == tuple(http_rows(ch_open, INVENTORY))
    assert counts.rows == tuple(http_rows(ch_open, ROW_COUNTS))
    assert ("chatbot", "log_stream", "1000") in counts.rows
    assert len(sample.rows) == 50 and not sample.truncated
    # the limits arrived as query settings (readonly left out of this one query on purpose)
    values = {r[0]: r[1] for r in settings.rows}
    assert values["max_threads"] == "1" and values["result_overflow_mode"] == "break"
    assert values["readonly"] == "0" and values["max_execution_time"] == "10"
    assert assert_only_reads_over_native(ch_open, since, tag) >= 6


def test_password_server_refuses_and_nothing_is_read(ch_password: ClickHouseInstance) -> None:
    async def go() -> tuple[NativeHello | NativeException, NativeResult]:
        ch = native(ch_password.ip)
        first = await ch.connect()
        res = await ch.query("SELECT count() FROM chatbot.log_stream")
        return first, res

    first, res = asyncio.run(go())
    assert isinstance(first, NativeException) and first.code == 194
    assert res.error is not None and res.error.code == 194 and res.rows == ()


def test_readonly_profile_still_answers_and_keeps_readonly(
    ch_readonly: ClickHouseInstance,
) -> None:
    async def go() -> tuple[bool, dict[str | None, str | None]]:
        ch = native(ch_readonly.ip)
        proven = await ch.prove_open()
        res = await ch.query(
            "SELECT name, value FROM system.settings WHERE name = 'readonly'", readonly=False
        )
        await ch.close()
        return proven, {r[0]: r[1] for r in res.rows}

    proven, values = asyncio.run(go())
    assert proven and values == {"readonly": "1"}


def test_byte_limit_cuts_a_sample_and_the_next_query_works(ch_open: ClickHouseInstance) -> None:
    src = f"{quote_ident('chatbot')}.{quote_ident('log_stream')}"

    async def go() -> tuple[NativeResult, bool]:
        ch = native(ch_open.ip, sample_rows=1000)
        cols = await ch.query(
            "SELECT name FROM system.columns WHERE database = 'chatbot' AND table = 'log_stream'"
        )
        names = [r[0] or "" for r in cols.rows]
        cut = await ch.query(text_select(names, src, 1000), limit=300_000, allow_truncate=True)
        return cut, await ch.prove_open()

    cut, proven = asyncio.run(go())
    assert cut.truncated and 0 < len(cut.rows) < 1000 and cut.bytes_read <= 300_000
    assert proven


def test_tls_native_through_a_terminator(ch_open: ClickHouseInstance) -> None:
    if not openssl_available():
        pytest.skip("the TLS terminator needs the openssl command for its certificate")
    ip = random_loopback((9440,))
    with TlsTerminator(ip, 9440, (ch_open.ip, ch_open.native_port)):

        async def go() -> tuple[bool, tuple[tuple[str | None, ...], ...]]:
            ch = native(ip, 9440, tls=True)
            proven = await ch.prove_open()
            res = await ch.query(INVENTORY)
            await ch.close()
            return proven, res.rows

        proven, rows = asyncio.run(go())
    assert proven and rows == tuple(http_rows(ch_open, INVENTORY))


def test_native_only_scan_of_a_readonly_profile(ch_readonly: ClickHouseInstance) -> None:
    """The whole plugin chain over 9000 alone: a readonly=1 profile has no write and no
    file(); every query_log row of the native interface is a read."""
    since = time.time()
    config = ScanConfig()
    ctx = ScanContext(config, Network(), Classifier.load())

    async def go() -> ServiceResult | None:
        plugin = ClickHouse()
        port = OpenPort(ch_readonly.ip, ch_readonly.ip, ch_readonly.native_port)
        endpoint = await plugin.fingerprint(port, ctx)
        return None if endpoint is None else await plugin.assess(endpoint, ctx)

    result = asyncio.run(go())
    assert result is not None and result.report.auth == AuthState.NONE
    caps = result.report.capabilities
    assert caps.get("write") is False and caps.get("file") is False
    log = next(r for r in result.report.resources if r.name == "chatbot.log_stream")
    assert log.rows and log.sampled_rows and log.data_findings
    assert not any(f.rule.startswith("clickhouse.capability") for f in result.findings)
    ch_readonly.flush_logs()
    assert_only_reads_over_native(ch_readonly, since, "")


def test_cli_scan_of_the_native_port_alone(ch_open: ClickHouseInstance) -> None:
    """Issue 8, done when: ``leakmap scan HOST --ports 9000`` on an open server reports every
    table with its exact row count, all four data categories on the chat log table and none
    on the analytics table, and the capabilities decided."""
    run = leakmap_scan(ch_open.ip, "--ports", str(ch_open.native_port), "--format", "json", *FAST)
    assert run.code == 0, run.stderr
    doc = run.json()
    validate_document(doc)
    native = by_port(doc, ch_open.ip)[ch_open.native_port]
    assert native["transport"] == "native" and native["auth"] == "none"
    tables = {f"{r['database']}.{r['table']}": r for r in native["resources"]}
    assert ch_open.summary is not None
    for name, rows in ch_open.summary.tables.items():
        assert tables[name]["rows"] == rows, name
    chat = {d["category"] for d in tables["chatbot.log_stream"]["data_findings"]}
    assert chat == {"secret", "pii", "chat", "infrastructure"}
    assert tables["analytics.page_views"]["data_findings"] == []
    caps = native["capabilities"]
    assert caps["write"] is True and caps["ddl"] is True and caps["file"] is True
