"""MongoDB and Elasticsearch/OpenSearch probes against recorded exchanges (see recorded.py).

Open variants are found with auth ``none``, listed and sampled; secured ones are ``required``
with nothing listed; lookalikes (a reflector, a login page, ``Ok.`` to everything) and
hostile replies (2 GB length, garbage, silence) are never called open.
"""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest

from leakmap.errors import ProbeError
from leakmap.lab.seed import fake_secret
from leakmap.net.bounded import Network
from leakmap.services.base import AuthState
from leakmap.services.elasticsearch import probe as es_probe
from leakmap.services.elasticsearch.client import EsClient
from leakmap.services.mongodb import probe as mongo_probe
from leakmap.services.mongodb.wire import MongoClient

from .recorded import EsMode, MongoMode, Planted, RecordedMongo, es_transport

PLANTED = Planted(
    secret=fake_secret(random.Random(7), "openai").value, email="jo.doe@corp-mail.com"
)


async def _mongo(mode: MongoMode) -> tuple[mongo_probe.MongoFacts | None, RecordedMongo]:
    async with RecordedMongo(PLANTED, mode) as server:
        reader, writer = await Network().open_tcp(server.ip, server.port)
        client = MongoClient(reader, writer, reply_limit=1 << 20, timeout=0.5)
        try:
            facts = await mongo_probe.identify(client)
            if facts is not None:
                facts = await mongo_probe.gather(
                    client, facts, docs_per_collection=5, max_collections=100
                )
        finally:
            await client.close()
    return facts, server


async def test_mongo_recorded_open_is_listed_and_sampled() -> None:
    facts, server = await _mongo("open")
    assert facts is not None and facts.auth is AuthState.NONE and facts.version == "6.0.12"
    assert [name for name, _ in facts.databases] == ["admin", "analytics", "chatapp", "local"]
    by_name = {(c.database, c.name): c for c in facts.collections}
    messages = by_name[("chatapp", "messages")]
    assert messages.count == 1200 and messages.sampled == 2
    assert any(PLANTED.secret in t for t in messages.texts)
    assert by_name[("admin", "system.version")].sampled is None  # system db: not sampled
    assert set(server.commands) <= {
        "isMaster",
        "buildInfo",
        "listDatabases",
        "listCollections",
        "count",
        "find",
    }


async def test_mongo_recorded_auth_is_required_and_nothing_listed() -> None:
    facts, server = await _mongo("auth")
    assert facts is not None and facts.auth is AuthState.REQUIRED
    assert facts.databases == [] and facts.collections == []
    assert "find" not in server.commands


@pytest.mark.parametrize("mode", ["huge", "reflect", "garbage", "silent"])
async def test_mongo_recorded_hostile_is_never_open(mode: MongoMode) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises((ProbeError, TimeoutError)):
        await _mongo(mode)
    assert loop.time() - start < 3


async def _es(mode: EsMode) -> tuple[es_probe.EsFacts | None, list[str]]:
    log: list[str] = []
    net = Network(http_transport=es_transport(mode, PLANTED, log))
    async with net.http_client() as client:
        es = EsClient(client, "http://127.0.0.1:9200", limit=1 << 20, timeout=2)
        facts = await es_probe.identify(es)
        if facts is not None and facts.auth is AuthState.UNKNOWN:
            await es_probe.prove_open(es, facts)
        if facts is not None and facts.auth is AuthState.NONE:
            facts = await es_probe.gather(es, facts, docs_per_index=5, max_indices=100)
    return facts, log


@pytest.mark.parametrize(
    ("mode", "dist"), [("es-open", "elasticsearch"), ("os-open", "opensearch")]
)
async def test_es_recorded_open(mode: EsMode, dist: str) -> None:
    facts, log = await _es(mode)
    assert facts is not None and facts.auth is AuthState.NONE and facts.distribution == dist
    assert facts.version is not None and facts.version.startswith(dist)
    assert [i.name for i in facts.indices] == ["chat-logs-2024.06", "products", ".security-7"]
    assert any(PLANTED.secret in t for t in facts.samples["chat-logs-2024.06"])
    assert ".security-7" not in facts.samples
    assert all(line.startswith("GET ") for line in log)


@pytest.mark.parametrize("mode", ["es-secured", "os-secured"])
async def test_es_recorded_secured_is_required(mode: EsMode) -> None:
    facts, log = await _es(mode)
    assert facts is not None and facts.auth is AuthState.REQUIRED
    assert facts.indices == [] and log == ["GET /"]


@pytest.mark.parametrize("mode", ["login-page", "ok-reflector"])
async def test_es_lookalikes_are_not_identified(mode: EsMode) -> None:
    facts, _ = await _es(mode)
    assert facts is None


async def test_es_listing_cut_short_is_not_a_listing() -> None:
    big = [{"index": f"i{n}", "docs.count": "1"} for n in range(50_000)]
    transport = httpx.MockTransport(
        lambda r: (
            httpx.Response(200, json=big)
            if r.url.path == "/_cat/indices"
            else httpx.Response(
                200, json={"version": {"number": "8.1.0"}, "tagline": "You Know, for Search"}
            )
        )
    )
    async with Network(http_transport=transport).http_client() as client:
        es = EsClient(client, "http://127.0.0.1:9200", limit=64 * 1024, timeout=2)
        facts = await es_probe.identify(es)
        assert facts is not None
        facts = await es_probe.gather(es, facts, docs_per_index=5, max_indices=100)
    assert facts.indices == [] and any("cut" in n for n in facts.notes)
