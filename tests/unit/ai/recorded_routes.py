"""Recorded exchanges of servers that do not install here - Ollama, an OpenAI-compatible
server (vLLM) and Qdrant - rebuilt from their public API documentation (Ollama's docs/api.md,
vLLM's OpenAI-compatible server page, Qdrant's REST reference). ``(method, path) -> (status,
JSON body)``; replayed through ``httpx.MockTransport`` by the unit tests and by a loopback
replay server in the one-scan integration test."""

from __future__ import annotations

import random
from typing import Any

from leakmap.lab.seed import fake_secret

__all__ = [
    "OLLAMA_OPEN",
    "OLLAMA_OPEN_SHOW",
    "QDRANT_KEY",
    "SHOW_KEY",
    "VLLM_KEY",
    "VLLM_OPEN",
    "Routes",
    "qdrant_open",
]

Routes = dict[tuple[str, str], tuple[int, Any]]

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
