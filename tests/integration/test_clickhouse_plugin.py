"""The ClickHouse plugin against REAL servers (Debian's clickhouse-server 18.16, H4's fixtures):
an open non-UTC server, a password server, a readonly profile, an ``Ok.`` decoy and garbage TCP
servers - plus a private server with hostile table names and a 3-million-row table.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Iterator

import pytest

from leakmap.classify import Classifier
from leakmap.lab.addresses import random_loopback
from leakmap.lab.clickhouse import ClickHouseInstance
from leakmap.net.bounded import Network
from leakmap.services.base import (
    AuthState,
    DataCategory,
    Endpoint,
    OpenPort,
    ScanConfig,
    ScanContext,
    ServiceResult,
    Transport,
)
from leakmap.services.clickhouse.plugin import ClickHouse

from .ch_tls import TlsTerminator, openssl_available
from .readonly_proof import assert_read_only
from .servers import GarbageTcp, OkHttpDecoy


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.load()


def make_ctx(classifier: Classifier, **cfg: object) -> ScanContext:
    config = ScanConfig(**cfg)  # type: ignore[arg-type]
    network = Network(
        connect_timeout=config.connect_timeout,
        read_timeout=config.read_timeout,
        max_response_bytes=config.max_response_bytes,
        user_agent=config.user_agent,
    )
    return ScanContext(config, network, classifier)


async def scan_port(
    ctx: ScanContext, ip: str, port: int
) -> tuple[Endpoint | None, ServiceResult | None]:
    plugin = ClickHouse()
    endpoint = await plugin.fingerprint(OpenPort(ip, ip, port), ctx)
    if endpoint is None:
        return None, None
    return endpoint, await plugin.assess(endpoint, ctx)


def dump(result: ServiceResult) -> str:
    return result.report.model_dump_json() + "".join(f.model_dump_json() for f in result.findings)


# --------------------------------------------------------------------------- open server


@pytest.fixture(scope="module")
def open_scan(
    ch_open: ClickHouseInstance, classifier: Classifier
) -> dict[int, tuple[Endpoint | None, ServiceResult | None]]:
    ctx = make_ctx(classifier)

    async def run() -> dict[int, tuple[Endpoint | None, ServiceResult | None]]:
        ports = (ch_open.http_port, ch_open.native_port, ch_open.interserver_port)
        return {p: await scan_port(ctx, ch_open.ip, p) for p in ports}

    return asyncio.run(run())


def test_open_server_found_on_http_and_native(
    ch_open: ClickHouseInstance,
    open_scan: dict[int, tuple[Endpoint | None, ServiceResult | None]],
    classifier: Classifier,
) -> None:
    http_ep, http_res = open_scan[ch_open.http_port]
    native_ep, native_res = open_scan[ch_open.native_port]
    assert http_ep is not None and http_ep.transport == Transport.HTTP
    assert native_ep is not None and native_ep.transport == Transport.NATIVE
    assert native_ep.details["timezone"] == "Asia/Shanghai"  # a non-UTC server is ClickHouse too
    assert http_res is not None and native_res is not None
    for res in (http_res, native_res):
        assert res.report.auth == AuthState.NONE
        assert res.report.version is not None and res.report.version.startswith("18.16")
    # one scan (one context): the native report refers to the HTTP one, which enumerated
    assert native_res.report.resources == ()
    assert native_res.report.resources_at == f"{ch_open.ip}:{ch_open.http_port}"
    # the native protocol alone (a scan of its own) carries the whole chain, same results
    _, native_res = asyncio.run(scan_port(make_ctx(classifier), ch_open.ip, ch_open.native_port))
    assert native_res is not None
    http_rep, native_rep = http_res.report, native_res.report
    assert {(r.name, r.rows, r.sampled_rows) for r in native_rep.resources} == {
        (r.name, r.rows, r.sampled_rows) for r in http_rep.resources
    }
    assert {
        (r.name, df.category, df.rule) for r in native_rep.resources for df in r.data_findings
    } == {(r.name, df.category, df.rule) for r in http_rep.resources for df in r.data_findings}
    assert native_rep.capabilities == http_rep.capabilities
    assert native_rep.proof is not None and "native protocol" in native_rep.proof
    assert sorted(f.rule for f in native_res.findings) == sorted(f.rule for f in http_res.findings)


def test_open_server_every_table_with_row_count(
    ch_open: ClickHouseInstance, open_scan: dict[int, tuple[Endpoint | None, ServiceResult | None]]
) -> None:
    _, res = open_scan[ch_open.http_port]
    assert res is not None
    expected = {
        tuple(row[:2]): int(row[2])
        for row in ch_open.admin_rows(
            "SELECT database, name, total FROM (SELECT database, name FROM system.tables "
            "WHERE database NOT IN ('system')) ANY LEFT JOIN (SELECT database, table AS name, "
            "sum(rows) AS total FROM system.parts WHERE active GROUP BY database, table) "
            "USING (database, name)"
        )
    }
    got = {(r.database, r.table): r.rows for r in res.report.resources}
    assert got == expected
    assert got[("chatbot", "log_stream")] == 1000
    log_stream = next(r for r in res.report.resources if r.table == "log_stream")
    assert {c.name for c in log_stream.columns} >= {"message", "request", "response"}


def test_open_server_data_findings(
    ch_open: ClickHouseInstance, open_scan: dict[int, tuple[Endpoint | None, ServiceResult | None]]
) -> None:
    _, res = open_scan[ch_open.http_port]
    assert res is not None
    by_table = {(r.database, r.table): r for r in res.report.resources}
    chat_log = by_table[("chatbot", "log_stream")]
    analytics = by_table[("analytics", "page_views")]
    assert chat_log.sampled_rows == 200
    assert {df.category for df in chat_log.data_findings} == set(DataCategory)
    assert analytics.sampled_rows == 200
    assert analytics.data_findings == ()
    sev = {f.rule: f.severity.value for f in res.findings}
    assert sev["clickhouse.open-access"] == "critical"
    assert sev["clickhouse.data.secret"] == "critical"
    assert sev["clickhouse.data.chat"] == "critical"
    assert sev["clickhouse.data.pii"] == "high"
    assert sev["clickhouse.data.infrastructure"] == "medium"
    assert sev["clickhouse.capability.file"] == "critical"
    assert sev["clickhouse.capability.write"] == "critical"
    assert "clickhouse.known-cves" in sev
    caps = res.report.capabilities
    assert (
        caps.get("file"),
        caps.get("write"),
        caps.get("ddl"),
        caps.get("url"),
        caps.get("remote"),
    ) == (True,) * 5
    assert not any(f.resource == "analytics.page_views" for f in res.findings)


def test_no_raw_secret_anywhere(
    ch_open: ClickHouseInstance, open_scan: dict[int, tuple[Endpoint | None, ServiceResult | None]]
) -> None:
    assert ch_open.summary is not None
    ds = ch_open.summary.dataset
    text = "".join(dump(res) for _, res in open_scan.values() if res is not None)
    planted = [s.value for s in ds.secrets] + list(ds.emails) + list(ds.phones) + list(ds.cards)
    assert planted
    for value in planted:
        assert value not in text
        assert value[: max(12, len(value) // 2)] not in text


def test_interserver_port_is_recognised(
    ch_open: ClickHouseInstance, open_scan: dict[int, tuple[Endpoint | None, ServiceResult | None]]
) -> None:
    ep, res = open_scan[ch_open.interserver_port]
    assert ep is not None and ep.transport == Transport.INTERSERVER
    assert res is not None
    assert [f.rule for f in res.findings] == ["clickhouse.exposed-interserver"]


def test_query_log_holds_only_read_statements(
    ch_open: ClickHouseInstance,
    open_scan: dict[int, tuple[Endpoint | None, ServiceResult | None]],
) -> None:
    assert open_scan  # the full scan above ran first
    # every row type (a write refused before it starts is logged as type 3 only), every user
    rows = assert_read_only(ch_open)
    assert {r.type for r in rows if r.query_id.startswith("leakmap-")} >= {1, 2}
    settings = ch_open.admin_rows(
        "SELECT query_id, Settings.Names FROM system.query_log WHERE type = 1 "
        "AND user = 'default' AND query_id LIKE 'leakmap-%' "
        "AND query NOT LIKE '%system.settings%'"
    )
    assert settings and all("readonly" in names for _, names in settings)


# --------------------------------------------------------------------------- protected servers


def test_password_server_is_required_and_gives_no_data(
    ch_password: ClickHouseInstance, classifier: Classifier
) -> None:
    ctx = make_ctx(classifier)

    async def run() -> list[tuple[Endpoint | None, ServiceResult | None]]:
        return [
            await scan_port(ctx, ch_password.ip, p)
            for p in (ch_password.http_port, ch_password.native_port)
        ]

    for ep, res in asyncio.run(run()):
        assert ep is not None and res is not None
        assert res.report.auth == AuthState.REQUIRED
        assert res.report.resources == ()
        assert res.report.notes and "194" in res.report.notes[0]
        assert not any(
            f.rule.startswith(("clickhouse.data", "clickhouse.open")) for f in res.findings
        )
        assert ch_password.password is not None and ch_password.password not in dump(res)


def test_readonly_profile_has_no_file_and_no_write(
    ch_readonly: ClickHouseInstance, classifier: Classifier
) -> None:
    ctx = make_ctx(classifier)
    ep, res = asyncio.run(scan_port(ctx, ch_readonly.ip, ch_readonly.http_port))
    assert ep is not None and res is not None
    report = res.report
    assert report.auth == AuthState.NONE
    caps = report.capabilities
    assert caps.get("file") is False and caps.get("write") is False and caps.get("ddl") is False
    assert caps.get("url") is False and caps.get("remote") is False
    assert any("refused these safety settings" in n for n in report.notes)
    assert {(r.database, r.table) for r in report.resources} >= {("chatbot", "log_stream")}
    rules = {f.rule for f in res.findings}
    assert not any(r.startswith("clickhouse.capability") for r in rules)
    assert "clickhouse.open-access" in rules


# --------------------------------------------------------------------------- not ClickHouse


def test_ok_decoy_is_not_clickhouse(decoy_ok_http: OkHttpDecoy, classifier: Classifier) -> None:
    ctx = make_ctx(classifier, connect_timeout=1.0, read_timeout=1.0)
    ep, _ = asyncio.run(scan_port(ctx, decoy_ok_http.ip, decoy_ok_http.port))
    assert ep is None


def test_garbage_tcp_is_not_clickhouse_and_bounded(
    garbage_tcp: GarbageTcp, classifier: Classifier
) -> None:
    ctx = make_ctx(classifier, connect_timeout=1.0, read_timeout=1.0)
    start = time.monotonic()
    ep, _ = asyncio.run(scan_port(ctx, garbage_tcp.ip, garbage_tcp.port))
    elapsed = time.monotonic() - start
    assert ep is None, garbage_tcp.mode
    # the plugin's own fingerprint budget: 4 connects + 3 reads
    assert elapsed < 4 * 1.0 + 3 * 1.0 + 1.0, (garbage_tcp.mode, elapsed)


# --------------------------------------------------------------------------- private server


HOSTILE_NAMES = ("we`ird; DROP TABLE x --", "tab\there", "back\\slash`")
BLOB_KEY = "sk-proj-" + secrets.token_hex(32) + "T3BlbkFJ" + secrets.token_hex(32)


@pytest.fixture(scope="module")
def ch_big(ch_factory: Callable[..., ClickHouseInstance]) -> Iterator[ClickHouseInstance]:
    """A private server: 3 million small rows in big.events, 1000 in small.events, and
    tables with hostile names."""
    ch = ch_factory(seed_rows=None, timezone="UTC", log_queries=True)
    try:
        for db in ("big", "small", "hostile"):
            ch.admin_query(f"CREATE DATABASE {db}")
        for db, n in (("big", 3_000_000), ("small", 1000)):
            ch.admin_query(
                f"CREATE TABLE {db}.events (id UInt64, note String) ENGINE = MergeTree ORDER BY id"
            )
            ch.admin_query(
                f"INSERT INTO {db}.events SELECT number, concat('event ', toString(number)) "
                f"FROM system.numbers LIMIT {n}"
            )
        ch.admin_query("CREATE DATABASE blobs")
        ch.admin_query(
            "CREATE TABLE blobs.huge (id UInt64, n UInt32, blob String) "
            "ENGINE = MergeTree ORDER BY id"
        )
        ch.admin_query(
            "INSERT INTO blobs.huge SELECT number, 7, concat('auth with ', "
            f"'{BLOB_KEY}', ' then ', "
            "arrayStringConcat(arrayMap(i -> 'xxxxxxxxxx', range(600000)))) "
            "FROM system.numbers LIMIT 3"
        )
        for name in HOSTILE_NAMES:
            quoted = "`" + name.replace("\\", "\\\\").replace("`", "\\`").replace("\t", "\\t") + "`"
            ch.admin_query(f"CREATE TABLE hostile.{quoted} (x String) ENGINE = TinyLog")
            ch.admin_query(f"INSERT INTO hostile.{quoted} VALUES ('a')")
        yield ch
    finally:
        ch.stop()


def test_sampling_cost_does_not_grow_with_table_size(
    ch_big: ClickHouseInstance, classifier: Classifier
) -> None:
    ctx = make_ctx(classifier)
    ep, res = asyncio.run(scan_port(ctx, ch_big.ip, ch_big.http_port))
    assert ep is not None and res is not None
    rows = {(r.database, r.table): r for r in res.report.resources}
    assert rows[("big", "events")].rows == 3_000_000
    assert rows[("big", "events")].sampled_rows == 200
    assert rows[("small", "events")].sampled_rows == 200, res.report.notes
    read: dict[str, tuple[int, int]] = {}
    for _ in range(20):  # the finish entry may land in query_log just after the answer
        ch_big.flush_logs()
        read = {
            row[0].split(" FROM `", 1)[1].split("`")[0]: (int(row[1]), int(row[2]))
            for row in ch_big.admin_rows(
                "SELECT query, read_rows, read_bytes FROM system.query_log WHERE type = 2 "
                "AND query LIKE 'SELECT % FROM `%`.`events` LIMIT%'"
            )
        }
        if {"big", "small"} <= set(read):
            break
        time.sleep(0.2)
    assert set(read) >= {"big", "small"}, (read, res.report.notes)
    big_rows, big_bytes = read["big"]
    small_rows, _ = read["small"]
    # LIMIT 200 reads at most a few granules, whatever the table size
    assert big_rows <= 8192, big_rows  # about one granule with max_block_size ~ the sample
    assert big_bytes <= 8 * 1024 * 1024, big_bytes
    assert small_rows <= 1000


def test_hostile_table_names_are_sampled_as_names(
    ch_big: ClickHouseInstance, classifier: Classifier
) -> None:
    ctx = make_ctx(classifier)
    _, res = asyncio.run(scan_port(ctx, ch_big.ip, ch_big.http_port))
    assert res is not None
    hostile = {r.table: r for r in res.report.resources if r.database == "hostile"}
    assert set(hostile) == set(HOSTILE_NAMES)
    assert all(r.sampled_rows == 1 for r in hostile.values())
    # and nothing was dropped
    assert (
        ch_big.admin_rows("SELECT count() FROM system.tables WHERE database = 'hostile'")[0][0]
        == "3"
    )


# --------------------------------------------------------------------------- TLS


@pytest.mark.parametrize(
    ("tls_port", "backend", "transport"),
    [(8443, "http", Transport.HTTPS), (9440, "native", Transport.NATIVE_TLS)],
)
def test_tls_endpoints_behind_a_terminator(
    ch_open: ClickHouseInstance,
    classifier: Classifier,
    tls_port: int,
    backend: str,
    transport: Transport,
) -> None:
    if not openssl_available():
        pytest.skip("the TLS terminator needs the openssl command for its certificate")
    plain = ch_open.http_port if backend == "http" else ch_open.native_port
    ip = random_loopback((tls_port,))
    with TlsTerminator(ip, tls_port, (ch_open.ip, plain)):
        ctx = make_ctx(classifier)
        ep, res = asyncio.run(scan_port(ctx, ip, tls_port))
    assert ep is not None and ep.transport == transport
    assert res is not None and res.report.auth == AuthState.NONE
    assert res.report.version is not None and res.report.version.startswith("18.16")
    # both TLS transports carry the whole chain on their own
    assert {(r.database, r.table) for r in res.report.resources} >= {("chatbot", "log_stream")}
    log = next(r for r in res.report.resources if r.table == "log_stream")
    assert log.sampled_rows and {df.category for df in log.data_findings} >= {DataCategory.SECRET}
    assert res.report.resources_at is None  # nothing else of this server was scanned


def test_rows_larger_than_the_byte_limit_are_sampled_cut_short(
    ch_big: ClickHouseInstance, classifier: Classifier
) -> None:
    ctx = make_ctx(classifier)  # max_response_bytes 4 MiB < one 6 MB row
    _, res = asyncio.run(scan_port(ctx, ch_big.ip, ch_big.http_port))
    assert res is not None
    huge = next(r for r in res.report.resources if (r.database, r.table) == ("blobs", "huge"))
    assert huge.sampled_rows == 3
    assert "secret" in {df.category.value for df in huge.data_findings}
    assert BLOB_KEY not in dump(res) and BLOB_KEY[:24] not in dump(res)
