"""Ollama, OpenAI-compatible servers (vLLM) and Qdrant on recorded exchanges: these servers do
not install here, so their answers are rebuilt from the public API documentation (Ollama's
docs/api.md, vLLM's OpenAI-compatible server page, Qdrant's REST reference: ``recorded_routes``)
and replayed through ``httpx.MockTransport``. Only GETs (and Qdrant's read-only scroll, Ollama's
/api/show) are answered; anything else fails the test."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from leakmap.classify import Classifier
from leakmap.classify.redact import value_hash
from leakmap.lab.seed import fake_secret
from leakmap.net.bounded import Network
from leakmap.services.base import AuthState, Endpoint, PreProbe, ScanConfig, ScanContext
from leakmap.services.httpapi import HttpApi, HttpJsonService
from leakmap.services.ollama.plugin import Ollama
from leakmap.services.openai_compat.plugin import OpenAiCompatible
from leakmap.services.qdrant.plugin import Qdrant

from .recorded_routes import (
    OLLAMA_OPEN,
    OLLAMA_OPEN_SHOW,
    QDRANT_KEY,
    SHOW_KEY,
    VLLM_KEY,
    VLLM_OPEN,
    Routes,
    qdrant_open,
)

_CLASSIFIER: list[Classifier] = []


def transport(routes: Routes, sent: list[tuple[str, str, bytes]]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        sent.append((request.method, request.url.path, request.content))
        status, body = routes.get((request.method, request.url.path), (404, {"detail": "nf"}))
        return httpx.Response(status, content=json.dumps(body).encode())

    return httpx.MockTransport(handle)


async def run(
    plugin: HttpJsonService[Any], routes: Routes
) -> tuple[Any, list[tuple[str, str, bytes]]]:
    if not _CLASSIFIER:
        _CLASSIFIER.append(Classifier.load())
    sent: list[tuple[str, str, bytes]] = []
    network = Network(http_transport=transport(routes, sent))
    ctx = ScanContext(ScanConfig(), network, _CLASSIFIER[0])
    async with network.http_client(base_url="http://10.0.0.1:1") as client:
        found = await plugin.identify(HttpApi(client, limit=1 << 20, timeout=5), PreProbe("http"))
    assert found is not None
    endpoint = Endpoint("h", "10.0.0.1", 1, plugin.name, "http", found.evidence, found.version)
    return await plugin.assess(endpoint, ctx), sent


def _only_reads(sent: list[tuple[str, str, bytes]], allowed_posts: Callable[[str], bool]) -> None:
    for method, path, _ in sent:
        assert method == "GET" or (method == "POST" and allowed_posts(path)), (method, path)


async def test_recorded_ollama_open() -> None:
    result, sent = await run(Ollama(), OLLAMA_OPEN)
    report = result.report
    assert (report.auth, report.version) == (AuthState.NONE, "0.5.7") and report.proof
    assert [(r.name, r.unsampled) for r in report.resources] == [
        ("llama3.2:latest", "running"),
        ("deepseek-r1:7b", "model weights are not read"),
    ]
    rules = {f.rule for f in result.findings}
    assert rules == {
        "ollama.open-access",
        "ollama.capability.inference",
        "ollama.capability.model-management",
    }
    _only_reads(sent, lambda path: path == "/api/show")


async def test_recorded_ollama_show_system_prompt_and_messages_classified() -> None:
    result, sent = await run(Ollama(), OLLAMA_OPEN_SHOW)
    report = result.report
    assert report.auth == AuthState.NONE
    shown = [json.loads(body)["model"] for method, path, body in sent if path == "/api/show"]
    assert shown == ["llama3.2:latest", "deepseek-r1:7b"]  # one read per model
    model = report.resources[0]
    assert model.sampled_rows == 4  # system, template, parameters, the MESSAGE lines
    categories = {d.category: d.example for d in model.data_findings}
    assert categories["secret"].endswith("#" + value_hash(SHOW_KEY)[:6])
    assert "chat" in categories and "pii" not in categories  # the license is not read
    rules = {f.rule: f.severity for f in result.findings}
    assert rules["ollama.open-access"] == "critical" and "ollama.data.secret" in rules
    _only_reads(sent, lambda path: path == "/api/show")
    assert SHOW_KEY not in report.model_dump_json()


async def test_recorded_ollama_lookalike_without_tags_is_not_open() -> None:
    result, _ = await run(Ollama(), {("GET", "/api/version"): (200, {"version": "0.5.7"})})
    assert result.report.auth == AuthState.UNKNOWN and result.report.resources == ()


async def test_recorded_vllm_open_and_keyed() -> None:
    result, sent = await run(OpenAiCompatible(), VLLM_OPEN)
    report = result.report
    assert (report.service, report.auth, report.version) == (
        "openai-compatible",
        AuthState.NONE,
        "0.6.3",
    )
    assert [r.name for r in report.resources] == ["meta-llama/Llama-3.1-8B-Instruct"]
    assert "openai-compatible.capability.inference" in {f.rule for f in result.findings}
    _only_reads(sent, lambda path: False)
    keyed, _ = await run(OpenAiCompatible(), VLLM_KEY)
    assert keyed.report.auth == AuthState.REQUIRED and keyed.findings == ()


async def test_recorded_qdrant_open_payloads_classified_without_vectors() -> None:

    rng = random.Random(7)
    secret, email = fake_secret(rng, "openai").value, "kim.4711@example-mail.org"
    result, sent = await run(Qdrant(), qdrant_open(secret, email))
    report = result.report
    assert report.auth == AuthState.NONE and report.version == "1.12.4"
    (col,) = report.resources
    assert (col.kind, col.name, col.rows, col.sampled_rows) == (
        "collection",
        "support-docs",
        1000,
        2,
    )
    examples = {d.category: d.example for d in col.data_findings}
    assert examples["secret"].endswith("#" + value_hash(secret)[:6])
    rules = {f.rule for f in result.findings}
    assert {"qdrant.open-access", "qdrant.data.secret", "qdrant.capability.write"} <= rules
    scroll = [json.loads(body) for method, _, body in sent if method == "POST"]
    assert scroll and all(s["with_vector"] is False and s["limit"] <= 20 for s in scroll)
    _only_reads(sent, lambda path: path.endswith("/points/scroll"))
    assert secret not in result.report.model_dump_json()


@pytest.mark.parametrize("routes", [QDRANT_KEY])
async def test_recorded_qdrant_api_key_required(routes: Routes) -> None:
    result, _ = await run(Qdrant(), routes)
    assert result.report.auth == AuthState.REQUIRED and result.report.resources == ()
    assert result.findings == ()
