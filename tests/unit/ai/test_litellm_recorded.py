"""LiteLLM's default master key, on a recorded exchange (a proxy configured with the key from
its documentation, ``sk-1234``): answers rebuilt from the real proxy's 401 and model list."""

from __future__ import annotations

import json

import httpx

from leakmap.services.base import AuthState
from leakmap.services.httpapi import HttpApi
from leakmap.services.litellm.api import DEFAULT_MASTER_KEY, read_litellm

UNAUTHORISED = {
    "error": {
        "message": "Authentication Error, No api key passed in.",
        "type": "auth_error",
        "param": "None",
        "code": "401",
    }
}
MODELS = {
    "data": [{"id": "gpt-4o-support", "object": "model", "owned_by": "openai"}],
    "object": "list",
}


def recorded(master_key: str) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.method != "GET":
            return httpx.Response(405)
        if request.headers.get("authorization") != f"Bearer {master_key}":
            return httpx.Response(401, json=UNAUTHORISED)
        if request.url.path == "/v1/models":
            return httpx.Response(200, json=MODELS)
        return httpx.Response(500, content=json.dumps({"detail": {"error": "No db connected"}}))

    return httpx.MockTransport(handle)


async def _read(master_key: str) -> tuple[AuthState, bool, list[str]]:
    async with httpx.AsyncClient(base_url="http://proxy", transport=recorded(master_key)) as c:
        facts = await read_litellm(HttpApi(c, limit=1 << 20, timeout=5.0))
    return facts.auth, facts.default_key, facts.models


async def test_recorded_default_master_key_is_open() -> None:
    assert await _read(DEFAULT_MASTER_KEY) == (AuthState.NONE, True, ["gpt-4o-support"])


async def test_recorded_other_master_key_is_required() -> None:
    assert await _read("sk-" + "7f3a" * 12) == (AuthState.REQUIRED, False, [])
