"""One ``leakmap scan`` across every AI-stack server (open and protected) gives one report
(twelve real servers: Jupyter, MLflow, Chroma, Prometheus, LiteLLM, Ray, open and protected;
and Ollama, vLLM and Qdrant replaying recorded exchanges on loopback), and adds no Ray job."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import jsonschema

from leakmap.report.json import load_schema

from .conftest import Replayed, Seeded, ray_jobs


def test_one_scan_one_report(
    jupyter_open: Seeded,
    jupyter_token: Seeded,
    mlflow_open: Seeded,
    mlflow_auth: Seeded,
    chroma_open: Seeded,
    chroma_token: Seeded,
    prometheus_open: Seeded,
    prometheus_auth: Seeded,
    litellm_open: Seeded,
    litellm_key: Seeded,
    ray_open: Seeded,
    ray_token: Seeded,
    recorded_ai: list[Replayed],
) -> None:
    servers = {
        "jupyter": (jupyter_open, jupyter_token),
        "mlflow": (mlflow_open, mlflow_auth),
        "chroma": (chroma_open, chroma_token),
        "prometheus": (prometheus_open, prometheus_auth),
        "litellm": (litellm_open, litellm_key),
        "ray": (ray_open, ray_token),
    }
    jobs_before = ray_jobs(ray_open.started)
    targets = [f"{s.started.ip}:{s.started.port}" for pair in servers.values() for s in pair]
    targets += [f"{r.ip}:{r.port}" for r in recorded_ai]
    options = ["--format", "json", "--no-history", "--timeout", "2", "--read-timeout", "10"]
    proc = subprocess.run(
        [sys.executable, "-m", "leakmap", "scan", *targets, *options, "--no-progress"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    jsonschema.Draft202012Validator(load_schema()).validate(doc)
    found = {(s["ip"], s["port"]): s for s in doc["services"]}
    for name, (open_, protected) in servers.items():
        o = found[(open_.started.ip, open_.started.port)]
        p = found[(protected.started.ip, protected.started.port)]
        assert (o["service"], o["auth"]) == (name, "none") and o["proof"]
        assert (p["service"], p["auth"]) == (name, "required") and p["resources"] == []
    for r in recorded_ai:
        (service,) = [s for s in doc["services"] if (s["ip"], s["port"]) == (r.ip, r.port)]
        assert (service["service"], service["auth"]) == (r.service, "none") and service["proof"]
    rules = {(f["service"], f["rule"], f["severity"]) for f in doc["findings"]}
    assert ("ollama", "ollama.data.secret", "critical") in rules  # the /api/show system prompt
    assert ("qdrant", "qdrant.data.secret", "critical") in rules
    assert ("jupyter", "jupyter.capability.code-execution", "critical") in rules
    assert ("ray", "ray.capability.code-execution", "critical") in rules
    for name in ("jupyter", "mlflow", "chroma", "prometheus", "ray"):
        assert (name, f"{name}.data.secret", "critical") in rules
    assert ("litellm", "litellm.capability.admin", "critical") in rules
    protected_ips = {pair[1].started.ip for pair in servers.values()}
    assert not [f for f in doc["findings"] if f["host"] in protected_ips]
    secrets = ("openai_key", "anthropic_key", "hf_token", "github_token", "email", "upstream_key")
    for server in (s for pair in servers.values() for s in pair):
        for label, value in server.planted.items():
            if label in secrets or label == "masked_password":
                assert value not in proc.stdout + proc.stderr, label
    for r in recorded_ai:
        for label, value in r.planted.items():
            assert value not in proc.stdout + proc.stderr, label
    assert "card was charged twice" not in proc.stdout
    assert ray_jobs(ray_open.started) == jobs_before, "the scan submitted a Ray job"
