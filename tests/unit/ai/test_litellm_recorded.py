"""LiteLLM's default master key, on a recorded exchange (a proxy configured with the key from
its documentation, ``sk-1234``): answers rebuilt from the real proxy's 401 and model list."""

from __future__ import annotations

import json
import random

import httpx

from leakmap.classify import Classifier
from leakmap.classify.redact import value_hash
from leakmap.lab.seed import fake_secret
from leakmap.net.bounded import Network
from leakmap.services.base import AuthState, Endpoint, ScanConfig, ScanContext
from leakmap.services.httpapi import HttpApi
from leakmap.services.litellm.api import DEFAULT_MASTER_KEY, read_litellm
from leakmap.services.litellm.plugin import Litellm

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


# A proxy with a database (DATABASE_URL) and no master key, as its admin APIs answer then.
# Recorded, not real: the proxy's database layer is prisma, whose engines are downloaded at
# install/first use from Prisma's own binary host (the @prisma/engines npm package is a
# downloader, no binary) - not reachable here. Rows follow litellm/proxy/schema.prisma
# (LiteLLM_SpendLogs, LiteLLM_UserTable) of the pinned 1.106.12; secrets are random fakes.
_RNG = random.Random(23)
SPEND_KEY = fake_secret(_RNG, "anthropic").value
USER_EMAIL = f"ana.{_RNG.randint(100, 999)}@contoso-mail.com"
SPEND_LOG = {
    "request_id": "chatcmpl-6f1c2b7e",
    "call_type": "acompletion",
    "api_key": "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b",
    "spend": 0.00042,
    "total_tokens": 91,
    "model": "gpt-4o",
    "model_group": "gpt-4o-support",
    "user": "ana",
    "metadata": {"user_api_key_alias": "support-bot"},
    "messages": [
        {"role": "system", "content": f"You are the billing bot. Refund API key: {SPEND_KEY}"},
        {"role": "user", "content": "my card was charged twice for order 48213, please refund"},
    ],
    "response": {
        "choices": [
            {"message": {"role": "assistant", "content": "I am sorry, the charge is refunded."}}
        ]
    },
    "status": "success",
}
DB_ROUTES = {
    "/health/readiness": {"status": "connected", "db": "connected", "litellm_version": "1.106.12"},
    "/v1/models": MODELS,
    "/model/info": {"data": []},
    "/key/list": {"keys": [SPEND_LOG["api_key"]], "total_count": 1, "current_page": 1},
    "/user/list": {"users": [{"user_id": "ana", "user_email": USER_EMAIL, "spend": 0.4}]},
    "/spend/logs": [SPEND_LOG],
}


async def test_recorded_database_admin_listings_are_read_and_classified() -> None:
    sent: list[tuple[str, str]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append((request.method, request.url.path))
        body = DB_ROUTES.get(request.url.path)
        return (
            httpx.Response(404, json={"detail": "Not Found"})
            if body is None
            else (httpx.Response(200, json=body))
        )

    network = Network(http_transport=httpx.MockTransport(handle))
    ctx = ScanContext(ScanConfig(), network, Classifier.load())
    plugin = Litellm()
    endpoint = Endpoint("h", "10.0.0.1", 4000, "litellm", "http", "recorded", "1.106.12")
    result = await plugin.assess(endpoint, ctx)
    report = result.report
    assert report.auth == AuthState.NONE and report.capabilities.get("admin") is True
    listings = {r.name: r for r in report.resources if r.kind == "admin-listing"}
    assert set(listings) == {"/key/list", "/user/list", "/spend/logs"}
    spend = {(d.category, d.example) for d in listings["/spend/logs"].data_findings}
    assert ("secret", "#" + value_hash(SPEND_KEY)[:6]) in {(c, e[-7:]) for c, e in spend}
    assert "chat" in {c for c, _ in spend}  # prompts and responses
    users = {(d.category, d.example[-7:]) for d in listings["/user/list"].data_findings}
    assert ("pii", "#" + value_hash(USER_EMAIL)[:6]) in users
    rules = {f.rule: f.severity for f in result.findings}
    assert rules["litellm.open-access"] == "critical" and "litellm.data.secret" in rules
    assert all(method == "GET" for method, _ in sent), sent
    text = report.model_dump_json() + "".join(f.model_dump_json() for f in result.findings)
    assert SPEND_KEY not in text and USER_EMAIL not in text
