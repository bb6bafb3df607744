"""Session fixtures for the AI-stack plugins: real servers, each in its own network namespace
(:mod:`.netns`) reachable on a random loopback address, started on first use and stopped at
session end. Each holds random fake secrets (``leakmap.lab.seed.fake_secret``) in the places
people leave them; ``.planted`` maps a label to the raw value (tests look for its redaction).

``jupyter_open``  no token, no password; a notebook whose cell source holds an OpenAI-format key
                  and whose output holds a chat export, a text file with an e-mail address.
``jupyter_token`` a token (``.token``); the same files.
``mlflow_open``   an experiment with a run whose params hold a key, a tag, a text artifact, and
                  a trace of an LLM app (a key in its system prompt, a customer's message).
``mlflow_auth``   the basic-auth app (``.user``/``.password``), seeded alike with credentials.
``chroma_open``   ``chroma run``; a collection of documents (explicit embeddings) holding a key.
``chroma_token``  the in-package app with token authn (``.token``), seeded alike.
``litellm_open`` / ``litellm_key``  the LiteLLM proxy with a mock model whose upstream is an
                  internal host; no master key / a random one (``.token``).
``prometheus_open`` / ``prometheus_auth``  a scrape config with a key in ``params`` and an
                  internal host as target (bcrypt basic auth on the second).
``ray_open`` / ``ray_token``  a Ray head node without / with token authentication (``.token``);
                  the fixture (the cluster's owner) submits one job whose entrypoint holds a
                  Hugging Face token and whose runtime_env holds an OpenAI key, and waits for
                  it to finish: the scanner itself never submits anything.

Start times (this machine, 2 cores): Jupyter 2-5 s, MLflow 13-30 s, Chroma 1 s, Prometheus
0.4 s, LiteLLM 14-23 s (both started side by side), Ray 6-12 s each plus 5-10 s for the
seeded job (both side by side); venvs are built once by
``python -m tests.venvs ensure`` (65-95 s each, cached).
"""

from __future__ import annotations

import json
import random
import secrets
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TypeVar

import httpx
import pytest

from leakmap.lab.seed import fake_secret
from tests.unit.ai.recorded_routes import OLLAMA_OPEN_SHOW, SHOW_KEY, VLLM_OPEN, qdrant_open

from . import servers
from .helpers import replay, serve_http
from .netns import netns_available
from .servers import Started

T = TypeVar("T")
_HOSTS = ("db-primary.corp.internal", "vault-0.infra.internal", "pg-replica-2.prod.internal")


@dataclass
class Seeded:
    started: Started
    planted: dict[str, str] = field(default_factory=dict)

    def __getattr__(self, name: str) -> object:
        return getattr(self.started, name)


def _require(venv: str | None, program: str) -> None:
    if not netns_available():
        pytest.skip("unshare -n / ip not usable here (needs root or user namespaces)")
    if servers.program(venv, program) is None:
        where = f"venv {venv!r}: python -m tests.venvs ensure {venv}" if venv else "apt"
        pytest.skip(f"{program} missing ({where})")


def _session(make: Callable[[], Seeded]) -> Iterator[Seeded]:
    seeded = make()
    try:
        yield seeded
    finally:
        seeded.started.stop()


def _seeded(
    started: Started, seed: Callable[[Started, random.Random], dict[str, str]], n: int
) -> Seeded:
    """``started`` seeded with ``seed`` (random.Random(n)); stopped if seeding fails."""
    try:
        return Seeded(started, seed(started, random.Random(n)))
    except BaseException:
        started.stop()
        raise


def _pair(make: Callable[[T], Seeded], first: T, second: T) -> Iterator[tuple[Seeded, Seeded]]:
    """Two servers made side by side (heavy ones take 15-30 s each on two cores), both
    stopped at the end - and the one that started when the other failed."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(make, first), pool.submit(make, second)]
    try:
        pair = (futures[0].result(), futures[1].result())
    except BaseException:
        for future in futures:
            if future.exception() is None:
                future.result().started.stop()
        raise
    try:
        yield pair
    finally:
        for seeded in pair:
            seeded.started.stop()


def _chat_export(rng: random.Random) -> str:
    user = f"my card was charged twice for order {rng.randint(10000, 99999)}, please refund"
    return json.dumps(
        [
            {"role": "system", "content": "You are the support assistant."},
            {"role": "user", "content": user},
            {"role": "assistant", "content": "I am sorry to hear that, let me check the order."},
        ]
    )


def jupyter_files(started: Started, rng: random.Random) -> dict[str, str]:
    """Write the fake project into the server's root; return what was planted."""
    root = started.server.dir / "root"
    key = fake_secret(rng, "openai").value
    email = f"dana.{rng.randint(100, 999)}@contoso-mail.com"
    chat = _chat_export(rng)
    (root / "projects" / "support-bot").mkdir(parents=True)
    notebook = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "cells": [
            {
                "cell_type": "code",
                "id": "c1",
                "metadata": {},
                "execution_count": 1,
                "source": ["import openai\n", f'client = openai.OpenAI(api_key="{key}")\n'],
                "outputs": [],
            },
            {
                "cell_type": "code",
                "id": "c2",
                "metadata": {},
                "execution_count": 2,
                "source": "print(export_conversation(ticket))",
                "outputs": [{"output_type": "stream", "name": "stdout", "text": chat}],
            },
        ],
    }
    (root / "projects" / "support-bot" / "triage.ipynb").write_text(json.dumps(notebook))
    (root / "notes.txt").write_text(f"escalations go to {email}\n")
    return {"openai_key": key, "chat": chat, "email": email}


@pytest.fixture(scope="session")
def jupyter_open(lab_seed: int) -> Iterator[Seeded]:
    _require("jupyter", "jupyter-server")

    def make() -> Seeded:
        started = servers.jupyter()
        return Seeded(started, jupyter_files(started, random.Random(lab_seed + 101)))

    yield from _session(make)


@pytest.fixture(scope="session")
def jupyter_token(lab_seed: int) -> Iterator[Seeded]:
    _require("jupyter", "jupyter-server")

    def make() -> Seeded:
        started = servers.jupyter(token=secrets.token_hex(24))
        return Seeded(started, jupyter_files(started, random.Random(lab_seed + 102)))

    yield from _session(make)


def mlflow_seed(started: Started, rng: random.Random) -> dict[str, str]:
    """An experiment, a run with a key in its params, a tag and a small text artifact."""
    key = fake_secret(rng, "anthropic").value
    token = fake_secret(rng, "huggingface").value
    auth = (started.user, started.password) if started.user and started.password else None
    with httpx.Client(base_url=started.url, auth=auth, timeout=30, trust_env=False) as c:
        api = "/api/2.0/mlflow"
        exp = c.post(f"{api}/experiments/create", json={"name": "support-bot-finetune"})
        eid = exp.raise_for_status().json()["experiment_id"]
        run = c.post(f"{api}/runs/create", json={"experiment_id": eid, "run_name": "lora-r16"})
        rid = run.raise_for_status().json()["run"]["info"]["run_id"]
        batch = {
            "run_id": rid,
            "params": [
                {"key": "anthropic_api_key", "value": key},
                {"key": "learning_rate", "value": "0.0002"},
            ],
            "tags": [{"key": "data_source", "value": f"s3://{_HOSTS[0]}/exports"}],
        }
        c.post(f"{api}/runs/log-batch", json=batch).raise_for_status()
        path = f"/api/2.0/mlflow-artifacts/artifacts/{eid}/{rid}/artifacts/train_config.yaml"
        c.put(path, content=f"hf_token: {token}\nepochs: 3\n".encode()).raise_for_status()
    planted = {"anthropic_key": key, "hf_token": token, "experiment_id": eid, "run_id": rid}
    if auth is None:
        planted |= mlflow_trace_seed(started, rng, eid)
    return planted


_TRACE_SCRIPT = """
import json, sys
import mlflow
seed = json.load(open(sys.argv[1]))
mlflow.set_tracking_uri("http://127.0.0.1:5000")
mlflow.set_experiment(experiment_id=seed["experiment_id"])

@mlflow.trace(name="support-chat")
def chat(messages):
    return {"choices": [{"message": {"role": "assistant", "content": seed["answer"]}}]}

chat(seed["messages"])
"""


def mlflow_trace_seed(started: Started, rng: random.Random, eid: str) -> dict[str, str]:
    """One trace of an LLM app (a system prompt holding a key, a customer's message and the
    answer), logged by the MLflow client of the server's venv inside its namespace."""
    key = fake_secret(rng, "groq").value
    question = f"my card was charged twice for order {rng.randint(10000, 99999)}, please refund"
    seed = {
        "experiment_id": eid,
        "messages": [
            {"role": "system", "content": f"You are the support bot. Billing API key: {key}"},
            {"role": "user", "content": question},
        ],
        "answer": "I am sorry to hear that, the duplicate charge is refunded.",
    }
    directory = started.server.dir
    (directory / "trace_seed.json").write_text(json.dumps(seed))
    (directory / "trace_seed.py").write_text(_TRACE_SCRIPT)
    python = servers.program("mlflow", "python")
    assert python, "mlflow venv missing"
    started.server.run_inside(
        [python, str(directory / "trace_seed.py"), str(directory / "trace_seed.json")],
        timeout=180,
    )
    return {"trace_key": key, "trace_question": question}


@pytest.fixture(scope="session")
def _mlflow_pair(lab_seed: int) -> Iterator[tuple[Seeded, Seeded]]:
    """Both MLflow servers, started side by side (each takes 15-30 s on two cores)."""
    _require("mlflow", "mlflow")

    def make(auth: bool) -> Seeded:
        return _seeded(servers.mlflow(auth=auth), mlflow_seed, lab_seed + 201 + auth)

    yield from _pair(make, False, True)


@pytest.fixture(scope="session")
def mlflow_open(_mlflow_pair: tuple[Seeded, Seeded]) -> Seeded:
    return _mlflow_pair[0]


@pytest.fixture(scope="session")
def mlflow_auth(_mlflow_pair: tuple[Seeded, Seeded]) -> Seeded:
    return _mlflow_pair[1]


def chroma_seed(started: Started, rng: random.Random) -> dict[str, str]:
    """A collection of support documents (explicit embeddings: no model is ever loaded)."""
    key = fake_secret(rng, "github").value
    email = f"lee.{rng.randint(100, 999)}@fabrikam-mail.com"
    headers = {"Authorization": f"Bearer {started.token}"} if started.token else {}
    docs = [
        f"Deploy runbook: export GITHUB_TOKEN={key} before running the release script.",
        f"Customer escalation from {email} about a double charge.",
        "The VPN profile is rotated every quarter.",
    ]
    base = "/api/v2/tenants/default_tenant/databases/default_database/collections"
    with httpx.Client(base_url=started.url, headers=headers, timeout=30, trust_env=False) as c:
        made = c.post(base, json={"name": "support-kb", "metadata": {"owner": "ml-platform"}})
        cid = made.raise_for_status().json()["id"]
        add = {
            "ids": [f"doc-{i}" for i in range(len(docs))],
            "embeddings": [[rng.random() for _ in range(8)] for _ in docs],
            "documents": docs,
            "metadatas": [{"source": f"https://{_HOSTS[1]}/kb/{i}"} for i in range(len(docs))],
        }
        c.post(f"{base}/{cid}/add", json=add).raise_for_status()
    return {"github_token": key, "email": email, "collection": "support-kb"}


@pytest.fixture(scope="session")
def chroma_open(lab_seed: int) -> Iterator[Seeded]:
    _require("chroma", "chroma")

    def make() -> Seeded:
        started = servers.chroma()
        return Seeded(started, chroma_seed(started, random.Random(lab_seed + 301)))

    yield from _session(make)


@pytest.fixture(scope="session")
def chroma_token(lab_seed: int) -> Iterator[Seeded]:
    _require("chroma", "uvicorn")

    def make() -> Seeded:
        started = servers.chroma(token=secrets.token_hex(24))
        return Seeded(started, chroma_seed(started, random.Random(lab_seed + 302)))

    yield from _session(make)


def prometheus_config(rng: random.Random) -> tuple[str, dict[str, str]]:
    key = fake_secret(rng, "openai").value
    password = secrets.token_urlsafe(16)
    config = f"""global:
  scrape_interval: 1h
scrape_configs:
  - job_name: postgres
    basic_auth: {{username: scraper, password: '{password}'}}
    params:
      api_key: ['{key}']
    static_configs:
      - targets: ['{_HOSTS[0]}:9187', '{_HOSTS[2]}:9187']
        labels: {{env: prod, team: payments}}
  - job_name: vault
    static_configs:
      - targets: ['{_HOSTS[1]}:8200']
"""
    return config, {"openai_key": key, "masked_password": password, "host": _HOSTS[0]}


def _wait_targets(started: Started, want: int) -> None:
    """Prometheus lists static targets a moment after start (discovery runs first)."""
    auth = (started.user, started.password) if started.user and started.password else None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        resp = httpx.get(started.url + "/api/v1/targets", auth=auth, trust_env=False)
        if len(resp.json()["data"]["activeTargets"]) >= want:
            return
        time.sleep(0.2)
    raise RuntimeError("prometheus did not list its targets in 30 s")


@pytest.fixture(scope="session")
def prometheus_open(lab_seed: int) -> Iterator[Seeded]:
    _require(None, servers.PROMETHEUS)

    def make() -> Seeded:
        config, planted = prometheus_config(random.Random(lab_seed + 401))
        started = servers.prometheus(config=config)
        _wait_targets(started, 3)
        return Seeded(started, planted)

    yield from _session(make)


@pytest.fixture(scope="session")
def prometheus_auth(lab_seed: int) -> Iterator[Seeded]:
    _require(None, servers.PROMETHEUS)

    def make() -> Seeded:
        config, planted = prometheus_config(random.Random(lab_seed + 402))
        started = servers.prometheus(config=config, auth=True)
        _wait_targets(started, 3)
        return Seeded(started, planted)

    yield from _session(make)


def litellm_config(rng: random.Random) -> tuple[str, dict[str, str]]:
    upstream = fake_secret(rng, "openai").value
    config = f"""model_list:
  - model_name: gpt-4o-support
    litellm_params:
      model: openai/gpt-4o
      api_key: {upstream}
      api_base: http://{_HOSTS[2]}:8080/v1
      mock_response: "mock answer"
litellm_settings:
  telemetry: false
"""
    return config, {"upstream_key": upstream, "host": _HOSTS[2]}


@pytest.fixture(scope="session")
def _litellm_pair(lab_seed: int) -> Iterator[tuple[Seeded, Seeded]]:
    """Both LiteLLM proxies, started side by side (14-23 s each)."""
    _require("litellm", "litellm")
    config, planted = litellm_config(random.Random(lab_seed + 501))

    def make(key: str) -> Seeded:
        return Seeded(servers.litellm(config=config, key=key), dict(planted))

    yield from _pair(make, "", "sk-" + secrets.token_hex(24))


@pytest.fixture(scope="session")
def litellm_open(_litellm_pair: tuple[Seeded, Seeded]) -> Seeded:
    return _litellm_pair[0]


@pytest.fixture(scope="session")
def litellm_key(_litellm_pair: tuple[Seeded, Seeded]) -> Seeded:
    return _litellm_pair[1]


def ray_jobs(started: Started) -> list[str]:
    """The submission ids the Jobs API lists (the owner's view, with the token if any)."""
    headers = {"Authorization": f"Bearer {started.token}"} if started.token else {}
    resp = httpx.get(started.url + "/api/jobs/", headers=headers, trust_env=False, timeout=30)
    return sorted(str(j.get("submission_id") or j.get("job_id")) for j in resp.json())


def ray_seed(started: Started, rng: random.Random) -> dict[str, str]:
    """One finished job: a token on its command line, a key in its runtime_env."""
    hf_token = fake_secret(rng, "huggingface").value
    openai_key = fake_secret(rng, "openai").value
    headers = {"Authorization": f"Bearer {started.token}"} if started.token else {}
    job = {
        "entrypoint": f"echo finetune --base llama-3 --hf-token {hf_token}",
        "runtime_env": {"env_vars": {"OPENAI_API_KEY": openai_key, "EPOCHS": "3"}},
        "metadata": {"team": "ml-platform"},
    }
    with httpx.Client(base_url=started.url, headers=headers, timeout=30, trust_env=False) as c:
        deadline = time.monotonic() + 120
        while c.get("/api/version").status_code != 200:  # the job module starts last
            if time.monotonic() > deadline:
                raise RuntimeError("ray: the Jobs API did not come up in 120 s")
            time.sleep(0.25)
        sid = c.post("/api/jobs/", json=job).raise_for_status().json()["submission_id"]
        status = ""
        while status not in ("SUCCEEDED", "FAILED", "STOPPED"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"ray: the seeded job did not finish ({status})")
            time.sleep(0.25)
            status = c.get(f"/api/jobs/{sid}").raise_for_status().json()["status"]
    return {"hf_token": hf_token, "openai_key": openai_key, "submission_id": sid}


@pytest.fixture(scope="session")
def _ray_pair(lab_seed: int) -> Iterator[tuple[Seeded, Seeded]]:
    """Both Ray head nodes, started side by side, each with its seeded job."""
    _require("ray", "ray")

    def make(token: str) -> Seeded:
        return _seeded(servers.ray(token=token), ray_seed, lab_seed + 601 + bool(token))

    yield from _pair(make, "", secrets.token_hex(24))


@pytest.fixture(scope="session")
def ray_open(_ray_pair: tuple[Seeded, Seeded]) -> Seeded:
    return _ray_pair[0]


@pytest.fixture(scope="session")
def ray_token(_ray_pair: tuple[Seeded, Seeded]) -> Seeded:
    return _ray_pair[1]


@dataclass
class Replayed:
    """A loopback server replaying one service's recorded exchanges."""

    service: str
    ip: str
    port: int
    planted: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="session")
def recorded_ai(lab_seed: int) -> Iterator[list[Replayed]]:
    """Ollama, vLLM and Qdrant - which do not install here - as loopback servers replaying
    the recorded exchanges of ``tests/unit/ai/recorded_routes.py`` (built from their API
    docs), so that a real ``leakmap scan`` can cover them next to the real servers."""
    rng = random.Random(lab_seed + 701)
    secret, email = (
        fake_secret(rng, "openai").value,
        f"kim.{rng.randint(100, 999)}@fabrikam-mail.com",
    )
    specs = [
        ("ollama", 11434, OLLAMA_OPEN_SHOW, {"show_key": SHOW_KEY}),
        ("openai-compatible", 8000, VLLM_OPEN, {}),
        ("qdrant", 6333, qdrant_open(secret, email), {"qdrant_key": secret, "email": email}),
    ]
    with ExitStack() as stack:
        yield [
            Replayed(service, stack.enter_context(serve_http(port, replay(routes))), port, planted)
            for service, port, routes, planted in specs
        ]
