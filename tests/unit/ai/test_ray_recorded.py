"""The ray plugin on recorded exchanges: answers of a real Ray 2.60 dashboard (open, token)
and of Ray's documented Jobs REST API, replayed through ``httpx.MockTransport``; plus the
lookalikes that must not be called open. Only GETs may be sent."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from leakmap.classify import Classifier
from leakmap.classify.redact import value_hash
from leakmap.lab.seed import fake_secret
from leakmap.net.bounded import Network
from leakmap.services.base import AuthState, Endpoint, PreProbe, ScanConfig, ScanContext
from leakmap.services.httpapi import HttpApi
from leakmap.services.ray.plugin import Ray

Answer = tuple[int, Any]  # (status, JSON document or a str sent as text/plain)
Responder = Callable[[str], Answer]
_CLASSIFIER: list[Classifier] = []
_RNG = random.Random(11)
HF = fake_secret(_RNG, "huggingface").value
OPENAI = fake_secret(_RNG, "openai").value
VERSION = {"version": "4", "ray_version": "2.60.0", "ray_commit": "b7f4259e", "session_name": "s"}
JOB = {
    "type": "SUBMISSION",
    "job_id": None,
    "submission_id": "raysubmit_gCBBArKiQxJP1RiD",
    "driver_info": None,
    "status": "SUCCEEDED",
    "entrypoint": f"echo finetune --hf-token {HF}",
    "message": "Job finished successfully.",
    "error_type": None,
    "start_time": 1796026620490,
    "end_time": 1796026621955,
    "metadata": {"team": "ml-platform"},
    "runtime_env": {"env_vars": {"OPENAI_API_KEY": OPENAI}},
    "driver_agent_http_address": "http://127.0.0.1:52365",
    "driver_node_id": "df335e5e",
    "driver_exit_code": 0,
}
NODES = {
    "result": True,
    "msg": "",
    "data": {
        "result": {
            "total": 1,
            "num_after_truncation": 1,
            "num_filtered": 1,
            "result": [
                {
                    "node_id": "df335e5e",
                    "node_ip": "10.20.0.5",
                    "is_head_node": True,
                    "state": "ALIVE",
                    "node_name": "10.20.0.5",
                }
            ],
            "partial_failure_warning": "",
            "warnings": None,
        }
    },
}
_MISSING = re.compile(r"^/api/jobs/(raysubmit_[A-Za-z0-9]+)$")


def ray_open(mode: str | None = "disabled", version: dict[str, str] = VERSION) -> Responder:
    """A real open Ray's answers (2.60: ``mode`` "disabled"; None: a Ray without the route)."""

    def answer(path: str) -> Answer:
        if path == "/api/authentication_mode":
            return (200, {"authentication_mode": mode}) if mode else (404, "404: Not Found")
        if path == "/api/version":
            return 200, version
        if path == "/api/jobs/":
            return 200, [JOB]
        if path == f"/api/jobs/{JOB['submission_id']}/logs":
            return 200, {"logs": f"Running entrypoint for job: {JOB['entrypoint']}\n"}
        if path == "/api/v0/nodes":
            return 200, NODES
        missing = _MISSING.match(path)
        if missing:
            return 404, f"Job {missing.group(1)} does not exist"
        return 404, "404: Not Found"

    return answer


def ray_token(path: str) -> Answer:
    if path == "/api/authentication_mode":
        return 200, {"authentication_mode": "token"}
    if path in ("/", "/favicon.ico") or path.startswith("/static/"):
        return 200, "<!doctype html><title>Ray Dashboard</title>"
    return 401, "Unauthorized: Missing authentication token"


def transport(answer: Responder, sent: list[tuple[str, str]]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        sent.append((request.method, request.url.path))
        status, body = answer(request.url.path)
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, content=json.dumps(body).encode())

    return httpx.MockTransport(handle)


async def run(answer: Responder) -> tuple[Any, list[tuple[str, str]]]:
    """identify, then (when identified) assess; (None, sent) when not identified."""
    if not _CLASSIFIER:
        _CLASSIFIER.append(Classifier.load())
    sent: list[tuple[str, str]] = []
    network = Network(http_transport=transport(answer, sent))
    ctx = ScanContext(ScanConfig(), network, _CLASSIFIER[0])
    plugin = Ray()
    async with network.http_client(base_url="http://10.0.0.1:8265") as client:
        found = await plugin.identify(HttpApi(client, limit=1 << 20, timeout=5), PreProbe("http"))
    if found is None:
        return None, sent
    endpoint = Endpoint("h", "10.0.0.1", 8265, "ray", "http", found.evidence, found.version)
    return await plugin.assess(endpoint, ctx), sent


def _example(result: Any, value: str) -> bool:
    suffix = "#" + value_hash(value)[:6]
    return any(d.example.endswith(suffix) for r in result.report.resources for d in r.data_findings)


async def test_recorded_ray_open_jobs_nodes_code_execution() -> None:
    result, sent = await run(ray_open())
    report = result.report
    assert (report.auth, report.version) == (AuthState.NONE, "2.60.0") and report.proof
    assert [(r.kind, r.name, r.engine) for r in report.resources] == [
        ("job", "raysubmit_gCBBArKiQxJP1RiD", "SUCCEEDED"),
        ("node", "10.20.0.5 (head)", "10.20.0.5"),
    ]
    assert _example(result, HF) and _example(result, OPENAI)
    assert report.capabilities.get("code-execution") is True
    severities = {f.rule: f.severity for f in result.findings}
    assert severities["ray.capability.code-execution"] == "critical"
    assert severities["ray.open-access"] == "critical"
    assert "ray.data.secret" in severities
    assert all(method == "GET" for method, _ in sent), sent
    text = report.model_dump_json() + "".join(f.model_dump_json() for f in result.findings)
    assert HF not in text and OPENAI not in text


@pytest.mark.parametrize(
    ("mode", "ray_version", "execution"),
    [
        ("disabled", "2.60.0", True),
        (None, "2.9.3", True),  # before 2.52 Ray had no authentication at all
        (None, "2.60.0", None),  # the mode route missing on a new Ray: not decided
    ],
)
async def test_recorded_ray_code_execution_from_the_documented_mode(
    mode: str | None, ray_version: str, execution: bool | None
) -> None:
    result, _ = await run(ray_open(mode, {**VERSION, "ray_version": ray_version}))
    assert result.report.auth == AuthState.NONE
    assert result.report.capabilities.get("code-execution") is execution
    rules = {f.rule for f in result.findings}
    assert ("ray.capability.code-execution" in rules) is bool(execution)


async def test_recorded_ray_token_required() -> None:
    result, sent = await run(ray_token)
    assert result.report.auth == AuthState.REQUIRED and result.report.resources == ()
    assert result.findings == ()
    assert all(method == "GET" for method, _ in sent)


def _empty_everywhere(path: str) -> Answer:
    return (200, VERSION) if path == "/api/version" else (200, [])


def _version_reflector(path: str) -> Answer:
    return 200, VERSION


def _no_missing_job(path: str) -> Answer:
    return (404, "404: Not Found") if _MISSING.match(path) else ray_open()(path)


def _job_missing_reflector(path: str) -> Answer:
    """Everything a real Ray says, but every job id 'does not exist' as a fixed text."""
    return (404, "Job raysubmit_x does not exist") if _MISSING.match(path) else ray_open()(path)


@pytest.mark.parametrize(
    "lookalike", [_empty_everywhere, _version_reflector, _no_missing_job, _job_missing_reflector]
)
async def test_recorded_ray_lookalikes_are_not_open(lookalike: Responder) -> None:
    result, _ = await run(lookalike)
    if result is not None:
        assert result.report.auth != AuthState.NONE, result.report.notes
        assert result.report.resources == ()
        assert all(f.rule == "ray.auth-unknown" for f in result.findings)


async def test_recorded_ray_a_login_page_is_not_ray() -> None:
    result, _ = await run(lambda path: (200, "<html><title>Sign in</title></html>"))
    assert result is None
