"""The shared plugin helpers (services.common, leakmap.sanitize, net.preprobe): what every
plugin builds on, each checked on the cases that would break a plugin if they were wrong."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable

import pytest

from leakmap.categories import DataCategory
from leakmap.findings import Finding, Severity
from leakmap.net.bounded import Network, insecure_tls_context
from leakmap.net.preprobe import parse_http_answer, preprobe
from leakmap.report.console import group_findings
from leakmap.sanitize import sanitize
from leakmap.services.base import DataFinding, PreProbe, Resource, ScanConfig, ServiceReport
from leakmap.services.common.catalogue import Catalogue, RuleMeta, rule
from leakmap.services.common.sampling import leak_hint, prioritise
from leakmap.services.common.sqlguard import (
    CLICKHOUSE,
    MYSQL,
    POSTGRESQL,
    UnsafeStatement,
    guard_sql,
)
from leakmap.services.common.versions import KnownCve, affected_by


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ok", "ok"),
        ("a\tb", "a b"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("line\nbreak\r", "line\\x0abreak\\x0d"),
        ("\x9b2J", "\\x9b2J"),
        ("abc\u202edcba", "abc\\u202edcba"),  # right-to-left override
        ("a\u2066b\u2069", "a\\u2066b\\u2069"),  # isolates
        ("zero\u200bwidth\u200d\ufeff", "zero\\u200bwidth\\u200d\\ufeff"),
        ("\u061c\u2028", "\\u061c\\u2028"),
        ("ünïcödé 日本", "ünïcödé 日本"),
    ],
)
def test_sanitize(raw: str, expected: str) -> None:
    assert sanitize(raw) == expected


def test_sanitize_caps_length() -> None:
    assert sanitize("x" * 500, 10) == "x" * 9 + "…"


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("chatbot.log_stream", "chat"),
        ("app.UserSessions", "user"),
        ("llm.promptHistory", "prompt"),
        ("infra.api_keys", "key"),
        ("analytics.page_views", None),
        ("metrics.cpu_1m", None),
    ],
)
def test_leak_hint(name: str, hint: str | None) -> None:
    assert leak_hint(name) == hint


def test_prioritise_hints_then_size_then_name() -> None:
    sizes = {"a.big": 10**9, "a.small": 1, "z.user_tokens": 0, "b.chat": 5}
    order = prioritise(sizes, name=str, size=sizes.get)
    assert order == ["b.chat", "z.user_tokens", "a.big", "a.small"]


def test_catalogue_adds_data_rules_and_refuses_foreign_ids() -> None:
    cat = Catalogue("redis", [rule("redis.open-access", Severity.HIGH, "open", "set requirepass")])
    assert set(cat.rules) == {
        "redis.open-access",
        "redis.data.secret",
        "redis.data.chat",
        "redis.data.pii",
        "redis.data.infrastructure",
    }
    f = cat.finding("redis.open-access", host="h", port=6379, evidence="INFO answered")
    assert (f.service, f.rule, f.severity) == ("redis", "redis.open-access", Severity.HIGH)
    with pytest.raises(ValueError, match="redis"):
        Catalogue("redis", [RuleMeta(id="x.y", severity=Severity.LOW, title="t", remediation="r")])


def test_catalogue_data_findings_one_per_resource_and_category() -> None:
    cat = Catalogue("redis", [], data_noun="keyspace")
    df = DataFinding(category=DataCategory.SECRET, rule="secret.x", count=2, example="sk-…#1")
    report = ServiceReport(
        host="h",
        ip="127.0.0.1",
        port=6379,
        service="redis",
        transport="resp",
        resources=(
            Resource(kind="keyspace", name="db0", data_findings=(df,), sampled_rows=10),
            Resource(kind="keyspace", name="db1", data_findings=(df, df), sampled_rows=10),
        ),
    )
    found = cat.data_findings(report)
    assert [(f.rule, f.resource) for f in found] == [
        ("redis.data.secret", "db0"),
        ("redis.data.secret", "db1"),
    ]
    assert "Exposed keyspace holds secrets" in found[0].title
    assert "4 secret matches" in found[1].evidence


@pytest.mark.parametrize(
    ("dialect", "name", "quoted"),
    [
        (CLICKHOUSE, "x` ; DROP TABLE y", "`x\\` ; DROP TABLE y`"),
        (POSTGRESQL, 'x" ; DROP TABLE y', '"x"" ; DROP TABLE y"'),
        (MYSQL, "x` ; DROP TABLE y", "`x`` ; DROP TABLE y`"),
    ],
)
def test_dialect_quoting_keeps_hostile_names_names(dialect: object, name: str, quoted: str) -> None:
    ident = dialect.ident  # type: ignore[attr-defined]
    assert ident(name) == quoted
    assert guard_sql(f"SELECT * FROM {ident(name)} LIMIT 1")  # one read statement


def test_dialects_refuse_nul_where_they_cannot_escape_it() -> None:
    with pytest.raises(UnsafeStatement):
        POSTGRESQL.ident("a\x00b")
    with pytest.raises(UnsafeStatement):
        MYSQL.string("a\x00b")
    assert POSTGRESQL.string("it's") == "'it''s'"
    assert MYSQL.string("a\\'b") == "'a\\\\''b'"


def test_versions_branch_aware() -> None:
    cve = KnownCve("CVE-1", "x", Severity.HIGH, ("7.2.5", "7.0.12"))
    assert [c.id for c in affected_by("7.2.4", (cve,))] == ["CVE-1"]
    assert affected_by("7.0.12", (cve,)) == []
    assert [c.id for c in affected_by("6.2.0", (cve,))] == ["CVE-1"]
    assert affected_by("7.4.0", (cve,)) == []
    assert affected_by("banana", (cve,)) == []


def test_parse_http_answer() -> None:
    raw = b"HTTP/1.1 404 Not Found\r\nServer: x\r\nSet-Cookie: a\r\nSet-Cookie: b\r\n\r\nbody"
    answer = parse_http_answer(raw)
    assert answer is not None
    assert (answer.status, answer.header("server"), answer.body) == (404, "x", b"body")
    assert answer.header("set-cookie") == "a, b"
    assert parse_http_answer(b"-ERR unknown command\r\n") is None
    assert parse_http_answer(b"HTTP/1.1 abc\r\n\r\n") is None


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _preprobe(handler: Handler) -> PreProbe:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    config = ScanConfig(connect_timeout=1.0, read_timeout=0.5, banner_wait=0.2)
    try:
        return await preprobe(
            Network(connect_timeout=1.0, read_timeout=0.5), "127.0.0.1", port, config
        )
    finally:
        server.close()


async def _family(handler: Handler) -> str:
    return (await _preprobe(handler)).family


async def test_preprobe_families() -> None:
    """Each family; ``closed`` only for a hang-up on the plain ``GET /`` without a byte
    (Redis 7 drops the connection on ``Host:``), never for a server that waits or answers."""

    async def banner(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(b"SSH-2.0-x\r\n")
        await w.drain()
        await r.read(100)
        w.close()

    async def http(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await r.readuntil(b"\r\n\r\n")
        w.write(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nOk.")
        await w.drain()
        w.close()

    async def reply(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await r.readuntil(b"\r\n")
        w.write(b"-ERR wrong number of arguments\r\n")
        await w.drain()
        w.close()

    async def silent(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await r.read()
        w.close()

    async def hang_up(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await r.readuntil(b"Host:")
        w.close()

    assert await _family(banner) == "banner"
    assert await _family(http) == "http"
    assert await _family(reply) == "reply"
    assert await _family(silent) == "silent"
    hung = await _preprobe(hang_up)
    assert (hung.family, hung.closed) == ("silent", True)
    assert (await _preprobe(silent)).closed is False
    assert (await _preprobe(reply)).closed is False


def test_insecure_tls_context_loads_no_ca_store() -> None:
    """Nothing is verified, so no CA store is read (create_default_context reads it on every
    call: tens of ms of CPU blocking the event loop per TLS connection); same options."""
    ctx = insecure_tls_context()
    assert ctx.verify_mode == ssl.CERT_NONE and not ctx.check_hostname
    assert ctx.cert_store_stats()["x509_ca"] == 0
    assert ctx.options == ssl.create_default_context().options
    assert ctx.minimum_version == ssl.create_default_context().minimum_version


def _f(rule_id: str, port: int, resource: str | None) -> Finding:
    return Finding.make(
        rule=rule_id,
        severity=Severity.HIGH,
        host="h",
        port=port,
        service="s",
        title="t",
        evidence="e",
        remediation="r",
        resource=resource,
    )


def test_group_findings_one_row_per_rule_and_endpoint() -> None:
    findings = [
        _f("s.data.secret", 1, "a"),
        _f("s.data.secret", 1, "b"),
        _f("s.data.secret", 2, "c"),
    ]
    findings.append(_f("s.open", 1, None))
    groups = group_findings(findings)
    assert [(g.rule, g.port, names) for g, names in groups] == [
        ("s.data.secret", 1, ["a", "b"]),
        ("s.data.secret", 2, ["c"]),
        ("s.open", 1, []),
    ]
