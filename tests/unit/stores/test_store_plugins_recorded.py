"""The store plugins against recorded and hostile servers on loopback (what cannot run here,
and what no real server would send).

Redis: protected mode's DENIED (recorded from Redis 7's text) and NOAUTH are ``required``; a
``+OK``-to-everything lookalike, an echo of our bytes, a two-billion-element array header, a
4 GB bulk string and silence are never identified, each within its time budget and without a
large allocation. memcached: a SASL-only server (binary status 0x20) is ``required``; a server
that answers ``VERSION`` to everything is not proven open. MongoDB and Elasticsearch /
OpenSearch: the recorded open variants are listed, sampled, classified and reported; the
secured ones are ``required`` with nothing listed.
"""

from __future__ import annotations

import asyncio
import random
import struct
import tracemalloc
from collections.abc import Iterator

import pytest

from leakmap.classify.engine import Classifier
from leakmap.findings import Finding
from leakmap.lab.seed import fake_secret
from leakmap.net.bounded import Network
from leakmap.services.base import (
    AuthState,
    Endpoint,
    OpenPort,
    ScanConfig,
    ScanContext,
    ServiceResult,
)
from leakmap.services.common.stores import StorePlugin
from leakmap.services.elasticsearch.plugin import Elasticsearch
from leakmap.services.memcached.plugin import Memcached
from leakmap.services.mongodb.plugin import MongoDB
from leakmap.services.redis.plugin import Redis

from .recorded import EsMode, Planted, RecordedMongo, Script, ScriptedTcp, es_transport

PLANTED = Planted(
    secret=fake_secret(random.Random(7), "openai").value, email="jo.doe@corp-mail.com"
)
DENIED = (
    b"-DENIED Redis is running in protected mode because protected mode is enabled and no "
    b"password is set for the default user. In this mode connections are only accepted from "
    b"the loopback interface. If you want to connect from external computers to Redis you may "
    b"adopt one of the following solutions: 1) Just disable protected mode sending the "
    b"command 'CONFIG SET protected-mode no' from the loopback interface ...\r\n"
)


@pytest.fixture(scope="module")
def classifier() -> Iterator[Classifier]:
    yield Classifier.load()


def _ctx(classifier: Classifier, network: Network | None = None) -> ScanContext:
    config = ScanConfig(connect_timeout=1.0, read_timeout=0.5, max_response_bytes=1 << 20)
    net = network or Network(connect_timeout=1.0, read_timeout=0.5, max_response_bytes=1 << 20)
    return ScanContext(config=config, network=net, classifier=classifier)


async def _run(
    plugin: StorePlugin, ip: str, port: int, ctx: ScanContext
) -> tuple[Endpoint | None, ServiceResult | None]:
    endpoint = await plugin.fingerprint(OpenPort(ip, ip, port), ctx)
    result = await plugin.assess(endpoint, ctx) if endpoint is not None else None
    return endpoint, result


def _rules(findings: tuple[Finding, ...]) -> set[str]:
    return {f.rule for f in findings}


@pytest.mark.parametrize(
    ("answer", "close"),
    [(DENIED, True), (b"-NOAUTH Authentication required.\r\n", False)],
    ids=["protected-mode", "noauth"],
)
async def test_redis_refusals_are_required(
    classifier: Classifier, answer: bytes, close: bool
) -> None:
    async with ScriptedTcp(lambda _: answer, 6379, close_after=close) as server:
        endpoint, result = await _run(Redis(), server.ip, 6379, _ctx(classifier))
    assert endpoint is not None and result is not None
    assert result.report.auth is AuthState.REQUIRED and result.report.resources == ()
    assert _rules(result.findings) == set()


HOSTILE_REDIS: dict[str, Script] = {
    "ok-to-everything": lambda _: b"+OK\r\n",
    "echo-the-request": lambda chunk: chunk,
    "two-billion-elements": lambda _: b"*2000000000\r\n",
    "4gb-bulk": lambda _: b"$4294967296\r\nxxxx",
    "silent": lambda _: None,
    "wrong-nonce": lambda _: b"$16\r\n0123456789abcdef\r\n",
    "garbage": lambda _: b"\x00\xffHTTP/1.1 400 Bad Request\r\n\r\n",
}


@pytest.mark.parametrize("mode", list(HOSTILE_REDIS))
async def test_redis_lookalikes_and_hostile_replies_are_never_identified(
    classifier: Classifier, mode: str
) -> None:
    loop = asyncio.get_running_loop()
    async with ScriptedTcp(HOSTILE_REDIS[mode], 6379) as server:
        tracemalloc.start()
        start = loop.time()
        try:
            endpoint = await Redis().fingerprint(
                OpenPort(server.ip, server.ip, 6379), _ctx(classifier)
            )
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert endpoint is None
    assert loop.time() - start < 3.0
    assert peak < 8 << 20


def _sasl(chunk: bytes) -> bytes | None:
    if chunk[:1] == b"\x80":  # binary request: authentication required (status 0x20)
        opaque = chunk[12:16]
        return struct.pack(">BBHBBHI", 0x81, chunk[1], 0, 0, 0, 0x20, 0) + opaque + bytes(8)
    return None  # text: a SASL-only server says nothing


async def test_memcached_sasl_only_is_required(classifier: Classifier) -> None:
    async with ScriptedTcp(_sasl, 11211) as server:
        endpoint, result = await _run(Memcached(), server.ip, 11211, _ctx(classifier))
    assert endpoint is not None and result is not None
    assert result.report.auth is AuthState.REQUIRED and result.report.resources == ()


async def test_memcached_version_reflector_is_not_open(classifier: Classifier) -> None:
    async with ScriptedTcp(lambda _: b"VERSION 1.6.18\r\n", 11211) as server:
        endpoint, result = await _run(Memcached(), server.ip, 11211, _ctx(classifier))
    assert endpoint is not None and result is not None  # it does look like memcached
    assert result.report.auth is AuthState.UNKNOWN and result.report.resources == ()
    assert _rules(result.findings) == {"memcached.auth-unknown"}


async def test_mongodb_recorded_open_is_reported(classifier: Classifier) -> None:
    async with RecordedMongo(PLANTED, "open") as server:
        endpoint, result = await _run(MongoDB(), server.ip, server.port, _ctx(classifier))
    assert endpoint is not None and result is not None
    report = result.report
    assert report.auth is AuthState.NONE and report.version == "6.0.12"
    messages = next(r for r in report.resources if r.name == "chatapp.messages")
    assert messages.database == "chatapp" and messages.rows == 1200
    assert {d.category.value for d in messages.data_findings} >= {"secret", "chat", "pii"}
    rules = _rules(result.findings)
    assert {"mongodb.open-access", "mongodb.data.secret", "mongodb.data.chat"} <= rules
    dump = result.report.model_dump_json() + "".join(f.model_dump_json() for f in result.findings)
    assert PLANTED.secret not in dump and PLANTED.email not in dump


async def test_mongodb_recorded_auth_is_required(classifier: Classifier) -> None:
    async with RecordedMongo(PLANTED, "auth") as server:
        _, result = await _run(MongoDB(), server.ip, server.port, _ctx(classifier))
    assert result is not None and result.report.auth is AuthState.REQUIRED
    assert result.report.resources == () and "find" not in server.commands


async def _es(mode: EsMode, classifier: Classifier, *, defaults: bool = False) -> ServiceResult:
    log: list[str] = []
    net = Network(http_transport=es_transport(mode, PLANTED, log))
    ctx = _ctx(classifier, net)
    if defaults:
        ctx.config = ScanConfig(try_default_credentials=True)
    endpoint, result = await _run(Elasticsearch(), "127.0.0.1", 9200, ctx)
    assert endpoint is not None and result is not None
    assert all(line.startswith("GET ") for line in log)
    return result


@pytest.mark.parametrize(
    ("mode", "version"), [("es-open", "elasticsearch 8.11.1"), ("os-open", "opensearch 2.11.0")]
)
async def test_elasticsearch_recorded_open(
    classifier: Classifier, mode: EsMode, version: str
) -> None:
    result = await _es(mode, classifier)
    report = result.report
    assert report.service == "elasticsearch" and report.version == version
    assert report.auth is AuthState.NONE
    chat = next(r for r in report.resources if r.name == "chat-logs-2024.06")
    assert chat.rows == 1200 and {d.category.value for d in chat.data_findings} >= {"secret"}
    assert {"elasticsearch.open-access", "elasticsearch.data.secret"} <= _rules(result.findings)


@pytest.mark.parametrize("mode", ["es-secured", "os-secured"])
async def test_elasticsearch_recorded_secured(classifier: Classifier, mode: EsMode) -> None:
    result = await _es(mode, classifier, defaults=True)
    assert result.report.auth is AuthState.REQUIRED and result.report.resources == ()
    assert "elasticsearch.default-credential" not in _rules(result.findings)


async def test_elasticsearch_default_credential_is_critical_and_names_only_the_user(
    classifier: Classifier,
) -> None:
    result = await _es("es-default", classifier, defaults=True)
    (finding,) = [f for f in result.findings if f.rule == "elasticsearch.default-credential"]
    assert finding.severity.value == "critical" and "'elastic'" in finding.evidence
    everything = result.report.model_dump_json() + "".join(
        f.model_dump_json() for f in result.findings
    )
    assert "changeme" not in everything
    assert any(r.name == "chat-logs-2024.06" for r in result.report.resources)
    off = await _es("es-default", classifier)
    assert off.report.auth is AuthState.REQUIRED and off.report.resources == ()


async def test_elasticsearch_info_reflector_is_not_open(classifier: Classifier) -> None:
    result = await _es("info-reflector", classifier)
    assert result.report.auth is AuthState.UNKNOWN and result.report.resources == ()
    assert _rules(result.findings) == {"elasticsearch.auth-unknown"}


async def test_mongodb_canned_reply_is_not_open(classifier: Classifier) -> None:
    async with RecordedMongo(PLANTED, "canned") as server:
        endpoint, result = await _run(MongoDB(), server.ip, server.port, _ctx(classifier))
    assert endpoint is not None and result is not None  # it does look like MongoDB
    assert result.report.auth is AuthState.UNKNOWN and result.report.resources == ()
    assert _rules(result.findings) == {"mongodb.auth-unknown"}
    assert "find" not in server.commands
