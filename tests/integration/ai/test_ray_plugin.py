"""The ray plugin against real Ray 2.60 head nodes (open, and with token authentication),
each in its own network namespace. The fixture - the cluster's owner - submitted one job with
secrets on its command line and in its runtime_env; the scanner submits nothing: the job list
is the same before and after (mutant: a plugin that also POSTs /api/jobs/ fails it)."""

from __future__ import annotations

import httpx

from leakmap.services.base import AuthState
from leakmap.services.httpapi import HttpApi
from leakmap.services.ray.api import read_ray
from leakmap.services.ray.plugin import Ray

from .conftest import Seeded, ray_jobs
from .helpers import dump, has_value, run_plugin


async def test_open_ray_jobs_classified_code_execution_nothing_submitted(ray_open: Seeded) -> None:
    before = ray_jobs(ray_open.started)
    assert ray_open.planted["submission_id"] in before
    endpoint, result = await run_plugin(Ray(), ray_open.started.ip, 8265)
    assert endpoint is not None and result is not None
    report = result.report
    assert (report.service, report.auth, report.version) == ("ray", AuthState.NONE, "2.60.0")
    assert report.proof
    jobs = {r.name: r for r in report.resources if r.kind == "job"}
    job = jobs[ray_open.planted["submission_id"]]
    assert job.engine == "SUCCEEDED" and job.unsampled is None  # the driver log was read
    nodes = [r for r in report.resources if r.kind == "node"]
    assert [(n.name, n.engine) for n in nodes] == [("127.0.0.1 (head)", "127.0.0.1")]
    assert has_value(result, ray_open.planted["hf_token"], "secret")  # the entrypoint
    assert has_value(result, ray_open.planted["openai_key"], "secret")  # runtime_env env_vars
    assert report.capabilities.get("code-execution") is True
    rules = {f.rule: f.severity for f in result.findings}
    assert rules["ray.open-access"] == "critical"  # secrets exposed
    assert rules["ray.capability.code-execution"] == "critical"
    assert "ray.data.secret" in rules
    text = dump(result)
    assert ray_open.planted["hf_token"] not in text
    assert ray_open.planted["openai_key"] not in text
    assert ray_jobs(ray_open.started) == before, "the scan submitted a job"


async def test_token_ray_required_nothing_listed(ray_token: Seeded) -> None:
    before = ray_jobs(ray_token.started)
    endpoint, result = await run_plugin(Ray(), ray_token.started.ip, 8265)
    assert endpoint is not None and result is not None
    assert endpoint.evidence == '/api/version answered 401; /api/authentication_mode "token"'
    assert result.report.auth == AuthState.REQUIRED and result.report.resources == ()
    assert result.findings == ()
    assert ray_jobs(ray_token.started) == before


async def test_token_ray_wrong_token_is_required(ray_token: Seeded) -> None:
    """Ray answers 403 to a wrong token (401 to none): both are ``required``."""
    async with httpx.AsyncClient(base_url=ray_token.started.url, trust_env=False) as client:
        api = HttpApi(client, limit=1 << 20, timeout=10, headers={"Authorization": "Bearer x"})
        facts = await read_ray(api)
    assert facts.auth == AuthState.REQUIRED and facts.auth_mode == "token"
    assert facts.notes == ["/api/version answered 403"] and facts.jobs == []
