"""Reading a Ray dashboard over its REST API - read-only, bounded.

:func:`read_ray` gathers :class:`RayFacts`:

* ``GET /api/authentication_mode`` - public on every Ray since token authentication exists
  (2.52): ``{"authentication_mode": "disabled"|"token"}``;
* ``GET /api/version`` - ``{"version", "ray_version", "ray_commit"}`` (the Jobs API's own
  version); Ray's token middleware answers ``401`` without a token and ``403`` with a wrong one;
* ``GET /api/jobs/`` - every job with its ``entrypoint`` (a shell command line),
  ``runtime_env`` (``env_vars`` where people put keys), ``metadata`` and status;
* ``GET /api/jobs/<random id>`` - must be reported missing *by that id*: the proof that the
  listing came from a working job server (a proxy answering ``[]`` to everything cannot);
* ``GET /api/v0/nodes`` - the cluster's nodes (addresses, names, head node);
* ``GET /api/jobs/<id>/logs`` - the driver log of a few jobs (bounded; a log cut at the byte
  limit is not read).

Nothing is submitted, stopped or deleted: every request is a GET. Every string here came from
the server.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from leakmap.services.base import AuthState
from leakmap.services.httpapi import HttpApi, as_dict, as_int, as_list, as_str

__all__ = ["JOB_STATUSES", "JobSample", "RayFacts", "RayLimits", "parse_job", "read_ray"]

#: ray.job_submission.JobStatus
JOB_STATUSES = frozenset({"PENDING", "RUNNING", "STOPPED", "SUCCEEDED", "FAILED"})
#: the first Ray with token authentication (no authentication at all before it)
TOKEN_AUTH_SINCE = (2, 52)


@dataclass(frozen=True, slots=True)
class RayLimits:
    max_jobs: int = 200
    max_nodes: int = 100
    log_jobs: int = 5
    log_bytes: int = 256 * 1024


@dataclass(slots=True)
class JobSample:
    name: str
    status: str
    kind: str | None = None
    texts: list[str] = field(default_factory=list)
    log_read: bool = False


@dataclass(slots=True)
class RayFacts:
    version: str | None = None
    auth: AuthState = AuthState.UNKNOWN
    auth_mode: str | None = None
    jobs: list[JobSample] = field(default_factory=list)
    jobs_total: int = 0
    nodes: list[tuple[str, str | None, bool]] = field(default_factory=list)  # name, ip, head
    nodes_total: int | None = None
    notes: list[str] = field(default_factory=list)


def version_tuple(version: str | None) -> tuple[int, ...] | None:
    parts = (version or "").split(".")[:2]
    return (
        tuple(int(p) for p in parts)
        if len(parts) == 2 and all(p.isdigit() for p in parts)
        else None
    )


def _env_lines(value: Any, limit: int = 200) -> list[str]:
    return [
        f"{k}={v}"
        for k, v in list(as_dict(value).items())[:limit]
        if isinstance(k, str) and isinstance(v, str) and v
    ]


def parse_job(item: Any) -> JobSample | None:
    """One job of the listing, or None when it is not Ray's job document."""
    d = as_dict(item)
    entrypoint, status = as_str(d.get("entrypoint"), 16384), as_str(d.get("status"), 32)
    if entrypoint is None or status not in JOB_STATUSES:
        return None
    name = as_str(d.get("submission_id"), 128) or as_str(d.get("job_id"), 128)
    if not name:
        return None
    sample = JobSample(name=name, status=status, kind=as_str(d.get("type"), 32))
    if entrypoint:
        sample.texts.append(entrypoint)
    env = as_dict(d.get("runtime_env"))
    sample.texts += _env_lines(env.get("env_vars"))
    rest = {k: v for k, v in env.items() if k != "env_vars"}
    if rest:
        sample.texts.append(json.dumps(rest)[:16384])
    sample.texts += _env_lines(d.get("metadata"))
    message = as_str(d.get("message"), 4096)
    if message:
        sample.texts.append(message)
    return sample


def _jobs(body: Any) -> list[JobSample] | None:
    """The jobs of a listing; None when it is not one (a list of Ray job documents)."""
    if not isinstance(body, list):
        return None
    out = []
    for item in body:
        job = parse_job(item)
        if job is None:
            return None
        out.append(job)
    return out


async def _missing_by_name(api: HttpApi) -> bool:
    """A random submission id is reported missing by name (``Job <id> does not exist``)."""
    probe = "raysubmit_leakmap" + secrets.token_hex(8)
    page = await api.text(f"/api/jobs/{probe}", limit=4096)
    return (
        page is not None
        and page.status == 404
        and not page.truncated
        and page.text().strip() == f"Job {probe} does not exist"
    )


async def read_ray(
    api: HttpApi, limits: RayLimits | None = None, facts: RayFacts | None = None
) -> RayFacts:
    """What the dashboard shows this caller; never raises for what the server sends."""
    limits = limits or RayLimits()
    facts = facts if facts is not None else RayFacts()
    mode = await api.get("/api/authentication_mode", limit=4096)
    named = (
        as_str(as_dict(mode.body).get("authentication_mode"), 32) if mode.status == 200 else None
    )
    facts.auth_mode = named if named in ("disabled", "token") else None
    version = await api.get("/api/version", limit=16384)
    doc = as_dict(version.body) if version.status == 200 else {}
    ray_version = as_str(doc.get("ray_version"), 32)
    if version.status in (401, 403):
        facts.auth = AuthState.REQUIRED
        facts.notes.append(f"/api/version answered {version.status}")
        return facts
    if ray_version is None or as_str(doc.get("version"), 32) is None:
        facts.notes.append(f"/api/version answered {version.status or 'nothing usable'}")
        return facts
    facts.version = ray_version
    listing = await api.get("/api/jobs/")
    if listing.status in (401, 403):
        facts.auth = AuthState.REQUIRED
        facts.notes.append(f"/api/jobs/ answered {listing.status}")
        return facts
    jobs = _jobs(listing.body) if listing.status == 200 else None
    if jobs is None:
        cut = " (cut at the byte limit)" if listing.truncated else ""
        facts.notes.append(f"/api/jobs/ answered {listing.status or 'nothing usable'}{cut}")
        return facts
    if not await _missing_by_name(api):
        facts.notes.append("a random submission id was not reported missing by name")
        return facts
    facts.auth = AuthState.NONE
    facts.jobs_total = len(jobs)
    facts.jobs = jobs[: limits.max_jobs]
    if len(jobs) > limits.max_jobs:
        facts.notes.append(f"listed the first {limits.max_jobs} of {len(jobs)} jobs")
    await _nodes(api, facts, limits)
    await _logs(api, facts, limits)
    return facts


async def _nodes(api: HttpApi, facts: RayFacts, limits: RayLimits) -> None:
    answer = await api.get("/api/v0/nodes", {"limit": str(limits.max_nodes)})
    data = as_dict(as_dict(answer.field("data")).get("result"))
    facts.nodes_total = as_int(data.get("total"))
    for item in as_list(data.get("result"))[: limits.max_nodes]:
        node = as_dict(item)
        name = as_str(node.get("node_name"), 256) or as_str(node.get("node_id"), 128)
        if name:
            facts.nodes.append(
                (name, as_str(node.get("node_ip"), 64), node.get("is_head_node") is True)
            )


async def _logs(api: HttpApi, facts: RayFacts, limits: RayLimits) -> None:
    """The driver logs of the first few submitted jobs (the entrypoint's own output)."""
    for job in [j for j in facts.jobs if j.kind == "SUBMISSION"][: limits.log_jobs]:
        answer = await api.get(f"/api/jobs/{quote(job.name, safe='')}/logs", limit=limits.log_bytes)
        logs = as_str(answer.field("logs"), limits.log_bytes) if answer.status == 200 else None
        if logs:
            job.texts.append(logs)
            job.log_read = True
        elif answer.truncated:
            facts.notes.append("a job log larger than the byte limit was not read")
