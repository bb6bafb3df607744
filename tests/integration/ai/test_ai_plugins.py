"""The mlflow, chroma and prometheus plugins against real servers (open and protected)."""

from __future__ import annotations

from typing import Any

import httpx

from leakmap.services.base import AuthState
from leakmap.services.chroma.plugin import Chroma
from leakmap.services.mlflow.plugin import Mlflow
from leakmap.services.prometheus.plugin import Prometheus

from .conftest import Seeded
from .helpers import dump, has_value, run_plugin


def mlflow_state(server: Seeded) -> Any:
    """Experiments, runs (with params and tags), models and traces as the server holds them."""
    s = server.started
    auth = (s.user, s.password) if s.user and s.password else None
    with httpx.Client(base_url=s.url, auth=auth, trust_env=False, timeout=30) as c:
        exps = c.get("/api/2.0/mlflow/experiments/search", params={"max_results": "1000"}).json()
        ids = [e["experiment_id"] for e in exps["experiments"]]
        runs = c.post(
            "/api/2.0/mlflow/runs/search", json={"experiment_ids": ids, "max_results": 1000}
        ).json()
        models = c.get("/api/2.0/mlflow/registered-models/search").json()
        locations = [
            {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": i}} for i in ids
        ]
        search = {"locations": locations, "max_results": 500}
        traces = c.post("/api/3.0/mlflow/traces/search", json=search).json()
    return exps, runs, models, traces


async def test_open_mlflow_run_params_key_found_nothing_added(mlflow_open: Seeded) -> None:
    before = mlflow_state(mlflow_open)
    endpoint, result = await run_plugin(Mlflow(), mlflow_open.started.ip, 5000)
    assert endpoint is not None and result is not None
    report = result.report
    assert (report.service, report.auth) == ("mlflow", AuthState.NONE) and report.proof
    assert report.version and report.version.startswith("3.")
    kinds = {(r.kind, r.name): r for r in report.resources}
    exp = kinds[("experiment", "support-bot-finetune")]
    assert exp.rows == 1 and ("experiment", "Default") in kinds
    assert has_value(result, mlflow_open.planted["anthropic_key"], "secret")
    assert has_value(result, mlflow_open.planted["hf_token"], "secret")  # small text artifact
    traces = kinds[("traces", "support-bot-finetune")]  # what the LLM app was asked
    assert traces.rows == 1
    assert {d.category for d in traces.data_findings} >= {"secret", "chat"}
    assert has_value(result, mlflow_open.planted["trace_key"], "secret")
    assert report.capabilities.get("write") is True
    rules = {f.rule: f for f in result.findings}
    assert rules["mlflow.open-access"].severity == "critical"  # secrets exposed
    assert {"mlflow.data.secret", "mlflow.capability.write"} <= set(rules)
    text = dump(result)
    assert mlflow_open.planted["anthropic_key"] not in text
    assert mlflow_open.planted["trace_key"] not in text
    assert mlflow_open.planted["trace_question"] not in text
    assert mlflow_state(mlflow_open) == before, "an experiment, run, param, tag or trace changed"


async def test_auth_mlflow_required_nothing_sampled(mlflow_auth: Seeded) -> None:
    endpoint, result = await run_plugin(Mlflow(), mlflow_auth.started.ip, 5000)
    assert endpoint is not None and result is not None
    assert 'realm="mlflow"' in endpoint.evidence
    assert result.report.auth == AuthState.REQUIRED and result.report.resources == ()
    assert result.findings == ()


async def test_open_chroma_documents_sampled(chroma_open: Seeded) -> None:
    endpoint, result = await run_plugin(Chroma(), chroma_open.started.ip, 8000)
    assert endpoint is not None and result is not None
    report = result.report
    assert (report.service, report.auth) == ("chroma", AuthState.NONE) and report.proof
    (col,) = report.resources
    assert (col.kind, col.name) == ("collection", "default_tenant/default_database/support-kb")
    assert (col.rows, col.sampled_rows) == (3, 3)
    assert has_value(result, chroma_open.planted["github_token"], "secret")
    assert has_value(result, chroma_open.planted["email"], "pii")
    rules = {f.rule for f in result.findings}
    assert {"chroma.open-access", "chroma.data.secret", "chroma.capability.write"} <= rules
    assert chroma_open.planted["github_token"] not in dump(result)


async def test_token_chroma_required(chroma_token: Seeded) -> None:
    endpoint, result = await run_plugin(Chroma(), chroma_token.started.ip, 8000)
    assert endpoint is not None and result is not None
    assert result.report.auth == AuthState.REQUIRED and result.report.resources == ()
    assert result.findings == ()


async def test_open_prometheus_config_and_targets(prometheus_open: Seeded) -> None:
    endpoint, result = await run_plugin(Prometheus(), prometheus_open.started.ip, 9090)
    assert endpoint is not None and result is not None
    report = result.report
    assert (report.service, report.auth) == ("prometheus", AuthState.NONE) and report.proof
    assert report.version and report.version.startswith("2.")
    res = {r.kind: r for r in report.resources}
    assert res["targets"].rows == 3
    assert has_value(result, prometheus_open.planted["openai_key"], "secret")
    infra = [d for r in report.resources for d in r.data_findings if d.category == "infrastructure"]
    assert infra, "internal host names of the targets are reported"
    assert report.capabilities.items() == [
        ("admin-api", False),
        ("lifecycle", False),
        ("remote-write", False),
    ]
    rules = {f.rule for f in result.findings}
    assert {"prometheus.open-access", "prometheus.data.secret"} <= rules
    assert not any(r.startswith("prometheus.capability") for r in rules)
    text = dump(result)
    assert prometheus_open.planted["openai_key"] not in text
    assert prometheus_open.planted["masked_password"] not in text


async def test_auth_prometheus_required_on_its_port(prometheus_auth: Seeded) -> None:
    endpoint, result = await run_plugin(Prometheus(), prometheus_auth.started.ip, 9090)
    assert endpoint is not None and result is not None
    assert "names no product" in endpoint.evidence and endpoint.version is None
    assert result.report.auth == AuthState.REQUIRED and result.report.resources == ()
    assert result.findings == ()
