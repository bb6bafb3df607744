"""Reading an MLflow tracking server over its REST API - read-only, bounded.

:func:`read_mlflow` gathers :class:`MlflowFacts`:

* ``/version`` - the version as plain text (MLflow 2.x and 3.x);
* ``GET /api/2.0/mlflow/experiments/search`` - the proof of open access is a listing that
  parses (experiments with string ids and names); the basic-auth app answers ``401`` with
  ``WWW-Authenticate: Basic realm="mlflow"``;
* ``POST /api/2.0/mlflow/runs/search`` - a search (MLflow has no GET for it; it reads only):
  a bounded sample of runs per experiment with their params and tags, where people paste keys;
* ``GET /api/2.0/mlflow/registered-models/search`` - registered models, their descriptions
  and tags;
* ``GET /api/2.0/mlflow/artifacts/list`` - the top level of a few runs' artifacts; only small
  text artifacts are read (``/get-artifact``), never a model binary;
* ``POST /api/3.0/mlflow/traces/search`` (MLflow 3; a search that only reads, like runs) or
  ``GET /api/2.0/mlflow/traces`` (MLflow 2.x) - the traces of LLM apps per experiment: their
  inputs and outputs (prompts, chat messages, responses), previews, tags and metadata; the
  spans of the first few (``GET /api/3.0/mlflow/traces/get``: retrieved documents, tool calls).

Nothing is created, logged, tagged or deleted. Every string here came from the server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from leakmap.services.base import AuthState
from leakmap.services.httpapi import HttpApi, as_dict, as_int, as_list, as_str

__all__ = [
    "MlflowFacts",
    "MlflowLimits",
    "RunSample",
    "TraceSample",
    "parse_version",
    "read_mlflow",
    "trace_texts",
]

_VERSION = re.compile(r"^\d{1,3}\.\d{1,3}\.\d{1,4}(?:[.+-]?[0-9A-Za-z.]{1,24})?$")
_TEXT_ARTIFACT = re.compile(
    r"(?i)\.(?:txt|json|jsonl|ya?ml|cfg|ini|toml|env|log|md|py|sh|csv|properties)$|"
    r"(?:^|/)(?:MLmodel|requirements\.txt|conda\.yaml)$"
)
_API = "/api/2.0/mlflow"


@dataclass(frozen=True, slots=True)
class MlflowLimits:
    max_experiments: int = 50
    runs_per_experiment: int = 20
    max_runs: int = 100
    max_models: int = 50
    artifact_runs: int = 10
    max_artifact_reads: int = 10
    max_artifact_bytes: int = 64 * 1024
    traces_per_experiment: int = 20
    max_traces: int = 100
    span_traces: int = 5
    max_trace_bytes: int = 512 * 1024


@dataclass(slots=True)
class RunSample:
    run_id: str
    experiment_id: str
    name: str | None
    params: int = 0
    tags: int = 0
    texts: list[str] = field(default_factory=list)
    artifacts: list[tuple[str, int | None]] = field(default_factory=list)


@dataclass(slots=True)
class TraceSample:
    """The traces read from one experiment: how many, and their texts."""

    experiment_id: str
    count: int = 0
    texts: list[str] = field(default_factory=list)


@dataclass(slots=True)
class MlflowFacts:
    version: str | None = None
    auth: AuthState = AuthState.UNKNOWN
    identified: bool = False
    experiments: list[tuple[str, str]] = field(default_factory=list)  # (id, name)
    runs: list[RunSample] = field(default_factory=list)
    models: list[tuple[str, int, list[str]]] = field(default_factory=list)  # name, versions, texts
    traces: list[TraceSample] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def parse_version(text: str) -> str | None:
    text = text.strip()
    return text if _VERSION.match(text) else None


def _experiments(body: Any) -> list[tuple[str, str]] | None:
    """The experiments of a search answer; None when it is not one."""
    items = as_dict(body).get("experiments")
    if not isinstance(items, list):
        return None
    out = []
    for item in items:
        e = as_dict(item)
        eid, name = as_str(e.get("experiment_id"), 64), as_str(e.get("name"), 512)
        if eid is None or name is None:
            return None
        out.append((eid, name))
    return out


def _pairs(items: Any, limit: int = 200) -> list[str]:
    """``key=value`` lines of MLflow's ``[{"key": .., "value": ..}]`` lists."""
    out = []
    for item in as_list(items)[:limit]:
        d = as_dict(item)
        key, value = as_str(d.get("key"), 256), as_str(d.get("value"), 8192)
        if key is not None and value:
            out.append(f"{key}={value}")
    return out


async def read_mlflow(
    api: HttpApi, limits: MlflowLimits | None = None, facts: MlflowFacts | None = None
) -> MlflowFacts:
    """What the tracking server shows this caller; never raises for what the server sends."""
    limits = limits or MlflowLimits()
    facts = facts if facts is not None else MlflowFacts()
    page = await api.text("/version", limit=256)
    if page is not None and page.status == 200 and not page.truncated:
        facts.version = parse_version(page.text())
    params = {"max_results": str(limits.max_experiments)}
    search = await api.get(f"{_API}/experiments/search", params)
    realm = search.headers.get("www-authenticate", "") if search.headers is not None else ""
    experiments = _experiments(search.body) if search.status == 200 else None
    if experiments:
        facts.auth = AuthState.NONE
        facts.identified = True
        facts.experiments = experiments[: limits.max_experiments]
    elif search.status == 401 and 'realm="mlflow"' in realm:
        facts.auth = AuthState.REQUIRED
        facts.identified = True
        return facts
    else:
        if search.status in (401, 403):
            facts.auth = AuthState.REQUIRED
        facts.notes.append(f"experiment search answered {search.status or 'nothing usable'}")
        return facts
    for eid, _ in facts.experiments:
        if len(facts.runs) >= limits.max_runs:
            facts.notes.append(f"sampled the first {limits.max_runs} runs only")
            break
        room = min(limits.runs_per_experiment, limits.max_runs - len(facts.runs))
        answer = await api.request(
            "POST", f"{_API}/runs/search", payload={"experiment_ids": [eid], "max_results": room}
        )
        for run in as_list(as_dict(answer.body).get("runs"))[:room]:
            sample = _run(run, eid)
            if sample is not None:
                facts.runs.append(sample)
    await _models(api, facts, limits)
    await _artifacts(api, facts, limits)
    await _traces(api, facts, limits)
    return facts


def _run(run: Any, eid: str) -> RunSample | None:
    info, data = as_dict(as_dict(run).get("info")), as_dict(as_dict(run).get("data"))
    rid = as_str(info.get("run_id") or info.get("run_uuid"), 64)
    if not rid:
        return None
    params, tags = _pairs(data.get("params")), _pairs(data.get("tags"))
    sample = RunSample(rid, eid, as_str(info.get("run_name"), 256), len(params), len(tags))
    sample.texts = params + tags
    return sample


async def _models(api: HttpApi, facts: MlflowFacts, limits: MlflowLimits) -> None:
    params = {"max_results": str(limits.max_models)}
    answer = await api.get(f"{_API}/registered-models/search", params)
    for item in as_list(as_dict(answer.body).get("registered_models"))[: limits.max_models]:
        m = as_dict(item)
        name = as_str(m.get("name"), 512)
        if not name:
            continue
        versions = as_list(m.get("latest_versions"))
        texts = _pairs(m.get("tags"))
        for text in [m.get("description")] + [as_dict(v).get("description") for v in versions]:
            if isinstance(text, str) and text:
                texts.append(text[:8192])
        for v in versions[:20]:
            texts += _pairs(as_dict(v).get("tags"))
            source = as_str(as_dict(v).get("source"), 2048)
            if source:
                texts.append(source)
        facts.models.append((name, len(versions), texts))


async def _artifacts(api: HttpApi, facts: MlflowFacts, limits: MlflowLimits) -> None:
    reads = 0
    for run in facts.runs[: limits.artifact_runs]:
        answer = await api.get(f"{_API}/artifacts/list", {"run_id": run.run_id})
        for item in as_list(as_dict(answer.body).get("files"))[:100]:
            f = as_dict(item)
            path, size = as_str(f.get("path"), 1024), as_int(f.get("file_size"))
            if not path:
                continue
            run.artifacts.append((path, size))
            if (
                f.get("is_dir") is not True
                and size is not None
                and size <= limits.max_artifact_bytes
                and reads < limits.max_artifact_reads
                and _TEXT_ARTIFACT.search(path)
            ):
                reads += 1
                body = await api.text(
                    "/get-artifact",
                    {"path": path, "run_uuid": run.run_id},
                    limit=limits.max_artifact_bytes,
                )
                if body is not None and body.status == 200 and not body.truncated:
                    run.texts.append(f"{path}: {body.text()}")


def _string_pairs(value: Any, limit: int = 200) -> list[tuple[str, str]]:
    """(key, value) of a string map: ``{"k": "v"}`` or MLflow's ``[{"key", "value"}]``."""
    raw: list[tuple[Any, Any]]
    if isinstance(value, list):
        raw = [(as_dict(i).get("key"), as_dict(i).get("value")) for i in value[:limit]]
    else:
        raw = list(as_dict(value).items())[:limit]
    return [(k[:256], v[:16384]) for k, v in raw if isinstance(k, str) and isinstance(v, str) and v]


def trace_texts(info: Any) -> list[str]:
    """What one trace info says about the app's traffic: its inputs and outputs (prompts,
    chat messages, responses: the JSON MLflow keeps in the metadata), the previews, and the
    user's own tags and metadata (not MLflow's ``mlflow.*`` bookkeeping). v3 names
    (``trace_metadata``, ``request_preview``) and v2 ones (``request_metadata``) alike."""
    d = as_dict(info)
    texts: list[str] = []
    for meta in (d.get("trace_metadata"), d.get("request_metadata"), d.get("tags")):
        for key, value in _string_pairs(meta):
            if key in ("mlflow.traceInputs", "mlflow.traceOutputs"):
                texts.append(value)
            elif not key.startswith("mlflow."):
                texts.append(f"{key}={value}")
    for key in ("request_preview", "response_preview", "request", "response"):
        text = as_str(d.get(key), 16384)
        if text:
            texts.append(text)
    return texts


def _string_leaves(value: Any, out: list[str], depth: int = 0) -> None:
    """The strings inside a span attribute (OTLP ``string_value``s, plain JSON alike)."""
    if depth > 32 or len(out) >= 500:
        return
    if isinstance(value, str):
        if value:
            out.append(value[:16384])
    elif isinstance(value, dict):
        for item in list(value.values())[:200]:
            _string_leaves(item, out, depth + 1)
    elif isinstance(value, list):
        for item in value[:200]:
            _string_leaves(item, out, depth + 1)


def _span_texts(trace: Any) -> list[str]:
    """Inputs and outputs of every span of one trace (retrieved documents, tool calls)."""
    out: list[str] = []
    for span in as_list(as_dict(trace).get("spans"))[:200]:
        for attr in as_list(as_dict(span).get("attributes"))[:100]:
            a = as_dict(attr)
            if a.get("key") in ("mlflow.spanInputs", "mlflow.spanOutputs"):
                _string_leaves(a.get("value"), out)
    return out


async def _search_traces(api: HttpApi, eid: str, room: int, limit: int) -> list[Any] | None:
    """The trace infos of one experiment (v3 search, else the v2 listing); None when the
    server has no trace API."""
    location = {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": eid}}
    answer = await api.request(
        "POST",
        "/api/3.0/mlflow/traces/search",
        payload={"locations": [location], "max_results": room},
        limit=limit,
    )
    if answer.status == 200 and isinstance(answer.field("traces"), list):
        return list(answer.field("traces"))
    if answer.status not in (404, 405, 501):
        return [] if answer.status == 200 else None
    old = await api.get(
        f"{_API}/traces", {"experiment_ids": eid, "max_results": str(room)}, limit=limit
    )
    traces = old.field("traces") if old.status == 200 else None
    return list(traces) if isinstance(traces, list) else None


async def _traces(api: HttpApi, facts: MlflowFacts, limits: MlflowLimits) -> None:
    """A bounded sample of each experiment's traces; spans of the first few."""
    read = spans = 0
    for eid, _ in facts.experiments:
        room = min(limits.traces_per_experiment, limits.max_traces - read)
        if room <= 0:
            facts.notes.append(f"read the first {limits.max_traces} traces only")
            break
        infos = await _search_traces(api, eid, room, limits.max_trace_bytes)
        if infos is None:
            facts.notes.append("trace search answered nothing usable")
            return
        sample = TraceSample(eid)
        for info in infos[:room]:
            texts = trace_texts(info)
            trace_id = as_str(as_dict(info).get("trace_id"), 128)
            if trace_id and spans < limits.span_traces:
                spans += 1
                full = await api.get(
                    "/api/3.0/mlflow/traces/get",
                    {"trace_id": trace_id},
                    limit=limits.max_trace_bytes,
                )
                if full.status == 200:
                    texts += _span_texts(full.field("trace"))
            sample.count += 1
            sample.texts += texts
        read += sample.count
        if sample.count:
            facts.traces.append(sample)
