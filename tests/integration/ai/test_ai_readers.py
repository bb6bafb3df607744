"""The AI-stack readers against real servers: open variants give auth none and the planted
data; protected variants give auth required and nothing read."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

from leakmap.classify.engine import Classifier
from leakmap.classify.redact import value_hash
from leakmap.net.bounded import Network
from leakmap.services.base import AuthState
from leakmap.services.chroma.api import read_chroma
from leakmap.services.httpapi import HttpApi
from leakmap.services.jupyter.api import read_jupyter
from leakmap.services.mlflow.api import read_mlflow
from leakmap.services.prometheus.api import read_prometheus

from .conftest import Seeded

T = TypeVar("T")


async def _read(url: str, reader: Callable[[HttpApi], Awaitable[T]]) -> tuple[T, HttpApi]:
    async with Network().http_client(base_url=url) as client:
        api = HttpApi(client, limit=1 << 20, timeout=5.0)
        return await reader(api), api


def _redacted(texts: list[str]) -> set[str]:
    classifier = Classifier.load()
    return {m.redacted for ms in classifier.scan_many(texts) for m in ms}


def _found(value: str, texts: list[str]) -> bool:
    """The classifier reports ``value`` (its redaction ends in the value's hash)."""
    return any(r.endswith("#" + value_hash(value)[:6]) for r in _redacted(texts))


async def test_jupyter_open_reader(jupyter_open: Seeded) -> None:
    facts, api = await _read(jupyter_open.started.url, read_jupyter)
    assert facts.auth == AuthState.NONE and facts.auth_mode == "none"
    assert facts.version and facts.version[0].isdigit()
    assert facts.kernelspecs == ["python3"]
    assert facts.permissions and "execute" in facts.permissions["kernels"]
    paths = {f.path: f for f in facts.files}
    assert set(paths) == {"projects/support-bot/triage.ipynb", "notes.txt"}
    notebook = paths["projects/support-bot/triage.ipynb"]
    assert notebook.kind == "notebook" and notebook.cells == 2
    assert _found(jupyter_open.planted["openai_key"], notebook.texts)
    assert jupyter_open.planted["chat"] in notebook.texts
    assert api.requests < 20


async def test_jupyter_token_reader(jupyter_token: Seeded) -> None:
    facts, _ = await _read(jupyter_token.started.url, read_jupyter)
    assert facts.auth == AuthState.REQUIRED and facts.auth_mode == "token"
    assert facts.version  # /api answers without a token, by design
    assert facts.files == [] and facts.kernelspecs is None


async def test_mlflow_open_reader(mlflow_open: Seeded) -> None:
    facts, _ = await _read(mlflow_open.started.url, read_mlflow)
    assert facts.auth == AuthState.NONE and facts.identified, facts.notes
    assert facts.version and facts.version.startswith("3.")
    assert ("0", "Default") in facts.experiments
    (run,) = [r for r in facts.runs if r.run_id == mlflow_open.planted["run_id"]]
    assert _found(mlflow_open.planted["anthropic_key"], run.texts)
    assert _found(mlflow_open.planted["hf_token"], run.texts)  # from the small text artifact
    assert ("train_config.yaml", len(f"hf_token: {mlflow_open.planted['hf_token']}\n") + 10) in (
        run.artifacts
    )


async def test_mlflow_auth_reader(mlflow_auth: Seeded) -> None:
    facts, _ = await _read(mlflow_auth.started.url, read_mlflow)
    assert facts.auth == AuthState.REQUIRED and facts.identified
    assert facts.experiments == [] and facts.runs == []


async def test_chroma_open_reader(chroma_open: Seeded) -> None:
    facts, _ = await _read(chroma_open.started.url, read_chroma)
    assert facts.auth == AuthState.NONE and facts.api == "v2"
    (col,) = facts.collections
    assert (col.name, col.count, col.sampled) == ("support-kb", 3, 3)
    assert _found(chroma_open.planted["github_token"], col.texts)
    assert not any("embedding" in t for t in col.texts)


async def test_chroma_token_reader(chroma_token: Seeded) -> None:
    facts, _ = await _read(chroma_token.started.url, read_chroma)
    assert facts.identified and facts.auth == AuthState.REQUIRED
    assert facts.collections == []


async def test_prometheus_open_reader(prometheus_open: Seeded) -> None:
    facts, _ = await _read(prometheus_open.started.url, read_prometheus)
    assert facts.auth == AuthState.NONE and facts.version
    assert facts.config_yaml is not None
    assert _found(prometheus_open.planted["openai_key"], [facts.config_yaml])
    assert prometheus_open.planted["masked_password"] not in facts.config_yaml
    assert f"{prometheus_open.planted['host']}:9187" in facts.target_hosts
    assert facts.jobs == ["postgres", "vault"]
    assert facts.flags == {"admin_api": False, "lifecycle": False, "remote_write": False}
    assert all(json.loads(t[t.index("{") : t.rindex("}") + 1]) for t in facts.targets)


async def test_prometheus_auth_reader(prometheus_auth: Seeded) -> None:
    facts, _ = await _read(prometheus_auth.started.url, read_prometheus)
    assert facts.auth == AuthState.REQUIRED and not facts.identified
    assert facts.config_yaml is None and facts.targets == []
