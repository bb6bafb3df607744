"""Fuzzing every registered plugin end to end: ``fingerprint`` then ``assess`` against a server
that answers every HTTP request with a drawn status, headers and body (mostly JSON with the
keys these APIs use) and every TCP connection with drawn bytes. Whatever it sends, a plugin
returns an Endpoint or None and a ServiceResult: it never raises (the Service contract)."""

from __future__ import annotations

import itertools
import json
from functools import cache

import httpx
from hypothesis import given
from hypothesis import strategies as st

from leakmap.classify import Classifier
from leakmap.net.bounded import Network
from leakmap.services.base import Endpoint, OpenPort, ScanConfig, ScanContext, ServiceResult
from leakmap.services.registry import load_services

from .harness import FUZZ, fake_opener, run

KEYS = ["version", "name", "type", "path", "content", "kernels", "sessions", "data", "status",
        "result", "results", "experiments", "runs", "info", "params", "tags", "metrics",
        "collections", "documents", "metadatas", "ids", "id", "count", "databases", "tenant",
        "activeTargets", "buildinfo", "started", "last_activity", "execution_state", "format",
        "mimetype", "size", "created", "last_modified", "writable", "artifact_uri", "value",
        "key", "nanosecond heartbeat", "error", "message"]  # fmt: skip

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64) | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), inner, max_size=6),
    max_leaves=30,
)  # fmt: skip

bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
    st.just(b'{"version": "2.14.1"}'),
    st.just(b"[" * 3000),
)
answers = st.tuples(
    st.sampled_from([200, 200, 200, 401, 403, 404, 500, 302]),
    st.sampled_from([{}, {"Content-Type": "application/json"},
                     {"Content-Type": "application/json", "Content-Encoding": "gzip"},
                     {"Location": "http://127.0.0.2:1/"}, {"Server": "TornadoServer/6.4"}]),
    bodies,
)  # fmt: skip

SERVICES = sorted(load_services().items())


@cache
def _classifier() -> Classifier:
    return Classifier.load()


@FUZZ
@given(st.sampled_from([name for name, _ in SERVICES]), st.lists(answers, min_size=1, max_size=6),
       st.binary(max_size=200))  # fmt: skip
def test_plugin_survives_any_answers(
    name: str, script: list[tuple[int, dict[str, str], bytes]], tcp: bytes
) -> None:
    cls = dict(SERVICES)[name]
    replies = itertools.cycle(script)

    def handler(request: httpx.Request) -> httpx.Response:
        status, headers, body = next(replies)
        return httpx.Response(status, headers=headers, content=body)

    network = Network(
        connect_timeout=0.3,
        read_timeout=0.3,
        http_transport=httpx.MockTransport(handler),
        tcp_opener=fake_opener(tcp),
    )
    config = ScanConfig(connect_timeout=0.3, read_timeout=0.3, query_timeout_s=1)
    ctx = ScanContext(config, network, _classifier())
    port = next(iter(cls.default_ports), 80)

    async def go() -> None:
        plugin = cls()
        endpoint = await plugin.fingerprint(OpenPort("127.0.0.1", "127.0.0.1", port), ctx)
        assert endpoint is None or isinstance(endpoint, Endpoint)
        if endpoint is not None:
            result = await plugin.assess(endpoint, ctx)
            assert isinstance(result, ServiceResult)

    run(go())
