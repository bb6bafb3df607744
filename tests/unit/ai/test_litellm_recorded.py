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


def recorded(master_key: str, seen: list[str | None]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.method != "GET":
            return httpx.Response(405)
        if request.headers.get("authorization") != f"Bearer {master_key}":
            seen.append(request.headers.get("authorization"))
            return httpx.Response(401, json=UNAUTHORISED)
        if request.url.path == "/v1/models":
            return httpx.Response(200, json=MODELS)
        return httpx.Response(500, content=json.dumps({"detail": {"error": "No db connected"}}))

    return httpx.MockTransport(handle)


async def _read(master_key: str, try_default: bool) -> tuple[AuthState, bool, list[str]]:
    seen: list[str | None] = []
    transport = recorded(master_key, seen)
    async with httpx.AsyncClient(base_url="http://proxy", transport=transport) as c:
        api = HttpApi(c, limit=1 << 20, timeout=5.0)
        facts = await read_litellm(api, try_default=try_default)
    if not try_default:
        assert all(h is None for h in seen), "a credential was sent without being asked"
    return facts.auth, facts.default_key, facts.models


async def test_recorded_default_master_key_is_open_when_asked() -> None:
    key = DEFAULT_MASTER_KEY.password
    assert await _read(key, True) == (AuthState.NONE, True, ["gpt-4o-support"])
    assert await _read(key, False) == (AuthState.REQUIRED, False, [])


async def test_recorded_other_master_key_is_required() -> None:
    assert await _read("sk-" + "7f3a" * 12, True) == (AuthState.REQUIRED, False, [])
