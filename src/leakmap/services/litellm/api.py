"""Reading a LiteLLM proxy over its REST API - read-only, bounded, nothing generated.

:func:`read_litellm` gathers :class:`LitellmFacts`:

* ``/health/readiness`` - the version where the proxy says it (``litellm_version``); the
  OpenAPI document would say it too, but building it costs the proxy 15-20 s of CPU;
* ``GET /v1/models`` - the proof of open access is an OpenAI-format model list that parses
  (``object: list``, models with string ids); ``401`` with ``auth_error`` means a master key
  is set. With ``--try-default-credentials`` the documentation's master key
  (:mod:`leakmap.services.common.credentials`) is then tried on that same read - and nothing
  else;
* ``/model/info`` - the upstream deployments (``litellm_params``: API bases, regions; the
  proxy strips ``api_key``), classified;
* ``/key/list``, ``/user/list``, ``/spend/logs`` (spend logs hold prompts and responses) -
  whether they answer, and a bounded sample when they do; ``/get/config/callbacks`` - the
  alerting and logging callbacks with their environment values.

Nothing is sent to a model. Every string here came from the server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from leakmap.services.base import AuthState
from leakmap.services.common.credentials import credentials_for
from leakmap.services.httpapi import HttpApi, as_dict, as_list, as_str

__all__ = ["DEFAULT_MASTER_KEY", "LitellmFacts", "model_ids", "read_litellm"]

#: the master key LiteLLM's documentation uses in every example (tried only when asked)
DEFAULT_MASTER_KEY = credentials_for("litellm")[0]
_ADMIN = ("/key/list", "/user/list", "/spend/logs")


@dataclass(slots=True)
class LitellmFacts:
    version: str | None = None
    auth: AuthState = AuthState.UNKNOWN
    default_key: bool = False
    models: list[str] = field(default_factory=list)
    deployments: list[tuple[str, str]] = field(default_factory=list)  # (model name, params JSON)
    #: admin endpoint -> "data" | "no database" | "refused" | "other"
    admin: dict[str, str] = field(default_factory=dict)
    admin_texts: dict[str, list[str]] = field(default_factory=dict)
    callbacks: str | None = None
    notes: list[str] = field(default_factory=list)


def model_ids(body: Any) -> list[str] | None:
    """The ids of an OpenAI-format model list; None when the body is not one."""
    doc = as_dict(body)
    data = doc.get("data")
    if doc.get("object") != "list" or not isinstance(data, list):
        return None
    ids = [as_str(as_dict(m).get("id"), 256) for m in data]
    if any(i is None for i in ids):
        return None
    return [i for i in ids if i]


async def read_litellm(
    api: HttpApi,
    *,
    sample: int = 20,
    try_default: bool = False,
    facts: LitellmFacts | None = None,
) -> LitellmFacts:
    facts = facts if facts is not None else LitellmFacts()
    ready = await api.get("/health/readiness")
    facts.version = as_str(as_dict(ready.body).get("litellm_version"), 32)
    answer = await api.get("/v1/models")
    ids = model_ids(answer.body) if answer.status == 200 else None
    if ids is None and answer.status in (401, 403):
        facts.auth = AuthState.REQUIRED
        if not try_default:
            return facts
        api.headers["Authorization"] = f"Bearer {DEFAULT_MASTER_KEY.password}"
        retry = await api.get("/v1/models")
        ids = model_ids(retry.body) if retry.status == 200 else None
        if ids is None:
            del api.headers["Authorization"]
            return facts
        facts.default_key = True
    if ids is None:
        facts.notes.append(f"/v1/models answered {answer.status or 'nothing usable'}")
        return facts
    facts.auth, facts.models = AuthState.NONE, ids[:500]
    info = await api.get("/model/info")
    for item in as_list(as_dict(info.body).get("data"))[:200]:
        d = as_dict(item)
        name = as_str(d.get("model_name"), 256) or "?"
        params = as_dict(d.get("litellm_params"))
        facts.deployments.append((name, json.dumps(params)[:8192]))
    for path in _ADMIN:
        got = await api.get(path)
        facts.admin[path] = _admin_state(got.status, got.body)
        if facts.admin[path] == "data":
            facts.admin_texts[path] = _sample(got.body, sample)
    callbacks = await api.get("/get/config/callbacks")
    if callbacks.status == 200 and isinstance(callbacks.body, dict):
        facts.callbacks = json.dumps(callbacks.body)[: 64 * 1024]
    return facts


def _admin_state(status: int, body: Any) -> str:
    if status == 200 and body is not None:
        return "data"
    if status in (401, 403):
        return "refused"
    text = json.dumps(body)[:2048].lower() if body is not None else ""
    if "no db" in text or "database not connected" in text:
        return "no database"
    return "other"


def _sample(body: Any, limit: int) -> list[str]:
    """Up to ``limit`` entries of a listing (a list, or one under a common key) as JSON."""
    items = body if isinstance(body, list) else None
    if items is None:
        for key in ("data", "keys", "users", "logs"):
            if isinstance(as_dict(body).get(key), list):
                items = as_dict(body)[key]
                break
    return [json.dumps(i)[: 16 * 1024] for i in as_list(items)[:limit]]
