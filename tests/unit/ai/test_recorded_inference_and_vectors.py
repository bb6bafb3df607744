"""Ollama, OpenAI-compatible servers (vLLM) and Qdrant on recorded exchanges: these servers do
not install here, so their answers are rebuilt from the public API documentation (Ollama's
docs/api.md, vLLM's OpenAI-compatible server page, Qdrant's REST reference) and replayed through
``httpx.MockTransport``. Only GETs (and Qdrant's read-only scroll) are answered; anything else
fails the test."""

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

Routes = dict[tuple[str, str], tuple[int, Any]]
_CLASSIFIER: list[Classifier] = []

OLLAMA_OPEN: Routes = {
    ("GET", "/api/version"): (200, {"version": "0.5.7"}),
    ("GET", "/api/tags"): (
        200,
        {
            "models": [
                {
                    "name": "llama3.2:latest",
                    "model": "llama3.2:latest",
                    "modified_at": "2024-12-01T10:00:00.000000000Z",
                    "size": 2019393189,
                    "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
                    "details": {"format": "gguf", "family": "llama", "parameter_size": "3.2B"},
                },
                {"name": "deepseek-r1:7b", "model": "deepseek-r1:7b", "size": 4683075271},
            ]
        },
    ),
    ("GET", "/api/ps"): (200, {"models": [{"name": "llama3.2:latest", "size_vram": 2}]}),
}
#: /api/show of a custom model (docs/api.md "Show Model Information"): the system prompt holds
#: a key, the Modelfile a preset conversation; the license names a contact address (not read)
SHOW_KEY = fake_secret(random.Random(5), "openai").value
OLLAMA_SHOW = {
    "modelfile": (
        "FROM /root/.ollama/models/blobs/sha256-dde5aa3fc5ff\n"
        f'SYSTEM """You are the billing bot. Use the key {SHOW_KEY} for refunds."""\n'
        "PARAMETER temperature 0.2\n"
        "MESSAGE user my card was charged twice for order 48213, please refund\n"
        "MESSAGE assistant I am sorry to hear that, the duplicate charge is refunded.\n"
        'LICENSE """report misuse to licensing@model-vendor-mail.com"""\n'
    ),
    "parameters": "temperature 0.2",
    "template": "{{ if .System }}<|system|>{{ .System }}{{ end }}<|user|>{{ .Prompt }}",
    "system": f"You are the billing bot. Use the key {SHOW_KEY} for refunds.",
    "license": "report misuse to licensing@model-vendor-mail.com",
    "details": {"format": "gguf", "family": "llama", "parameter_size": "3.2B"},
    "model_info": {"general.architecture": "llama"},
}
OLLAMA_OPEN_SHOW: Routes = {**OLLAMA_OPEN, ("POST", "/api/show"): (200, OLLAMA_SHOW)}

VLLM_OPEN: Routes = {
    ("GET", "/v1/models"): (
        200,
        {
            "object": "list",
            "data": [
                {
                    "id": "meta-llama/Llama-3.1-8B-Instruct",
                    "object": "model",
                    "created": 1733000000,
                    "owned_by": "vllm",
                    "max_model_len": 8192,
                }
            ],
        },
    ),
    ("GET", "/version"): (200, {"version": "0.6.3"}),
}
VLLM_KEY: Routes = {("GET", "/v1/models"): (401, {"error": "Unauthorized"})}


def qdrant_open(secret: str, email: str) -> Routes:
    return {
        ("GET", "/"): (200, {"title": "qdrant - vector search engine", "version": "1.12.4"}),
        ("GET", "/collections"): (
            200,
            {"result": {"collections": [{"name": "support-docs"}]}, "status": "ok", "time": 1e-5},
        ),
        ("GET", "/collections/support-docs"): (
            200,
            {"result": {"status": "green", "points_count": 1000}, "status": "ok"},
        ),
        ("POST", "/collections/support-docs/points/scroll"): (
            200,
            {
                "result": {
                    "points": [
                        {"id": 1, "payload": {"text": f"export OPENAI_API_KEY={secret}"}},
                        {"id": 2, "payload": {"text": f"customer {email} asked for a refund"}},
                    ],
                    "next_page_offset": 3,
                },
                "status": "ok",
            },
        ),
    }


QDRANT_KEY: Routes = {
    ("GET", "/"): (200, {"title": "qdrant - vector search engine", "version": "1.12.4"}),
    ("GET", "/collections"): (401, "Must provide an API key or an Authorization bearer token"),
}


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
    import random

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
