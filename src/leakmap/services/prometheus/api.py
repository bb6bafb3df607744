"""Reading a Prometheus server over its HTTP API - read-only, bounded.

:func:`read_prometheus` gathers :class:`PrometheusFacts`:

* ``/api/v1/status/buildinfo`` - ``{"status": "success", "data": {"version": ...}}``: identity
  and, with the config's ``data.yaml`` (a second documented shape), the proof of open access
  (the API needs no credential unless ``--web.config.file`` sets one: then everything answers
  ``401`` with ``WWW-Authenticate: Basic``);
* ``/api/v1/status/config`` - the loaded configuration as YAML: Prometheus masks the fields it
  knows to be secret (``<secret>``), not ``params``, URLs, labels or relabel rules;
* ``/api/v1/targets`` - every scrape target: host names, ports, labels, last errors - the
  internal topology;
* ``/api/v1/status/flags`` - whether the admin API (delete series, snapshots), the lifecycle
  endpoints (quit, reload) or the remote-write receiver are on: capabilities, decided from the
  flags alone.

Every string here came from the server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from leakmap.services.base import AuthState
from leakmap.services.httpapi import HttpApi, as_dict, as_list, as_str

__all__ = ["PrometheusFacts", "read_prometheus", "success_data"]

_FLAGS = {
    "admin_api": "web.enable-admin-api",
    "lifecycle": "web.enable-lifecycle",
    "remote_write": "web.enable-remote-write-receiver",
}


@dataclass(slots=True)
class PrometheusFacts:
    version: str | None = None
    identified: bool = False
    auth: AuthState = AuthState.UNKNOWN
    config_yaml: str | None = None
    targets: list[str] = field(default_factory=list)  # one line per target
    target_hosts: list[str] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)
    flags: dict[str, bool | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def success_data(body: Any) -> Any:
    """``data`` of a ``{"status": "success", "data": ...}`` answer, else None."""
    doc = as_dict(body)
    return doc.get("data") if doc.get("status") == "success" else None


def basic_auth_refusal(status: int, headers: Any, body: bytes) -> bool:
    """Prometheus's (exporter-toolkit's) refusal: 401, ``WWW-Authenticate: Basic``, body
    ``Unauthorized``."""
    challenge = headers.get("www-authenticate", "") if headers is not None else ""
    return status == 401 and challenge.startswith("Basic") and body.strip() == b"Unauthorized"


async def read_prometheus(
    api: HttpApi, *, max_targets: int = 500, facts: PrometheusFacts | None = None
) -> PrometheusFacts:
    facts = facts if facts is not None else PrometheusFacts()
    page = await api.text("/api/v1/status/buildinfo", limit=64 * 1024)
    if page is None:
        return facts
    if basic_auth_refusal(page.status, page.headers, page.body):
        facts.auth = AuthState.REQUIRED
        return facts
    body: Any = None
    if page.status == 200 and not page.truncated:
        try:
            body = json.loads(page.body)
        except (ValueError, RecursionError):
            body = None
    version = as_str(as_dict(success_data(body)).get("version"), 64)
    if not version:
        return facts
    facts.version, facts.identified = version, True
    config = await api.get("/api/v1/status/config")
    facts.config_yaml = as_str(as_dict(success_data(config.body)).get("yaml"), 4 * 1024 * 1024)
    if facts.config_yaml is None or "version" in as_dict(success_data(config.body)):
        # a second documented shape on another path: a reflector cannot give both
        facts.config_yaml = None
        facts.notes.append(f"config answered {config.status or 'nothing usable'}")
        return facts
    facts.auth = AuthState.NONE
    targets = await api.get("/api/v1/targets", {"state": "active"})
    data = success_data(targets.body)
    if data is None:
        facts.notes.append(f"targets answered {targets.status or 'nothing usable'}")
    active = as_list(as_dict(data).get("activeTargets"))
    if len(active) > max_targets:
        facts.notes.append(f"listed the first {max_targets} of {len(active)} targets")
    jobs: set[str] = set()
    hosts: set[str] = set()
    for target in active[:max_targets]:
        t = as_dict(target)
        raw_labels = as_dict(t.get("labels")).items()
        labels = {str(k)[:128]: v[:1024] for k, v in raw_labels if isinstance(v, str)}
        url = as_str(t.get("scrapeUrl"), 2048) or ""
        error = as_str(t.get("lastError"), 1024) or ""
        if labels.get("job"):
            jobs.add(labels["job"])
        if labels.get("instance"):
            hosts.add(labels["instance"])
        facts.targets.append(" ".join([url, json.dumps(labels, sort_keys=True), error]).strip())
    facts.jobs, facts.target_hosts = sorted(jobs), sorted(hosts)
    flags = await api.get("/api/v1/status/flags")
    values = as_dict(success_data(flags.body))
    for name, flag in _FLAGS.items():
        value = values.get(flag)
        facts.flags[name] = value == "true" if isinstance(value, str) else None
    return facts
