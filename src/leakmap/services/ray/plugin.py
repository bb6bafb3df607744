"""The Ray dashboard plugin: prove access, list jobs with their entrypoints, runtime
environments and driver logs, and the cluster's nodes; state that job submission - code
execution on the cluster - is open. Read-only: nothing is submitted, stopped or deleted.

What it reports, for a head node started without ``RAY_AUTH_MODE=token``::

    ray 10.0.0.7:8265 http 2.60.0 auth=none
      job  raysubmit_gCBBArKiQxJP1RiD  SUCCEEDED  secret x2
      node 10.0.0.7 (head)
      capabilities: code-execution=True
    critical  ray.open-access                  /api/jobs/ listed 1 job without a token ...
    critical  ray.data.secret                  raysubmit_gCBBArKiQxJP1RiD: secret.openai... x1
    critical  ray.capability.code-execution    anyone can submit a job: a shell command ...

Decisions worth knowing:

* ``/``, ``/api/authentication_mode`` and the health checks answer without a token by design:
  identity only. Auth ``none`` needs ``/api/version`` (Ray's version document), a job
  listing that parses as Ray's job documents, and a random submission id reported missing by
  that id. Ray's token middleware answers ``401`` without a token and ``403`` with a wrong one
  (``required``).
* code execution is stated from the answers, never tried: the Jobs API that answered the
  listing without a token also takes ``POST /api/jobs/`` (an entrypoint is a shell command)
  when the documented ``/api/authentication_mode`` says ``disabled``, or on a Ray older than
  2.52, which had no authentication at all.
* entrypoints, runtime environments (``env_vars``), metadata and the driver logs of the first
  few jobs are classified; node addresses and names are listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from leakmap.findings import Severity
from leakmap.services.base import (
    AuthState,
    Capabilities,
    Coverage,
    Endpoint,
    PreProbe,
    Resource,
    ScanContext,
    ServiceReport,
)
from leakmap.services.common.catalogue import Catalogue, rule
from leakmap.services.common.sample import classify_sample
from leakmap.services.httpapi import HttpApi, HttpJsonService, Identity, as_dict, as_str
from leakmap.services.ray.api import TOKEN_AUTH_SINCE, RayFacts, RayLimits, read_ray, version_tuple

__all__ = ["CATALOGUE", "Ray"]

_DOCS = "https://docs.ray.io/en/latest/"
_AUTH = _DOCS + "ray-security/token-auth.html"
_SECURITY = _DOCS + "ray-security/index.html"
PROOF = (
    "/api/version answered Ray's version document, /api/jobs/ a job list that parses, and a "
    "random submission id was reported missing by that id"
)

CATALOGUE = Catalogue(
    "ray",
    [
        rule(
            "ray.open-access",
            Severity.HIGH,
            "Ray dashboard and Jobs API answer without authentication",
            "Start every node with RAY_AUTH_MODE=token (Ray 2.52 or later; ray get-auth-token "
            "--generate), bind the dashboard to an internal address (--dashboard-host) and "
            "firewall port 8265. Critical when jobs hold secrets.",
            _AUTH,
            _SECURITY,
        ),
        rule(
            "ray.auth-unknown",
            Severity.LOW,
            "Ray dashboard reachable but its access state could not be determined",
            "Check by hand whether /api/jobs/ needs a token from this network.",
            _AUTH,
        ),
        rule(
            "ray.capability.code-execution",
            Severity.CRITICAL,
            "Anyone can submit a job: a shell command run on the cluster",
            "Enable token authentication (RAY_AUTH_MODE=token) on every node, or keep the "
            "dashboard port reachable only from trusted hosts; rotate every credential the "
            "cluster's jobs and nodes could read.",
            _AUTH,
            _SECURITY,
        ),
    ],
    data_noun="job",
)


class Ray(HttpJsonService[RayFacts]):
    """Ray dashboard (head node) and its Jobs API."""

    name: ClassVar[str] = "ray"
    default_ports: ClassVar[Mapping[int, str]] = MappingProxyType({8265: "http"})
    capabilities: ClassVar[Mapping[str, str]] = MappingProxyType(
        {"code-execution": "jobs (shell commands) can be submitted to the cluster"}
    )
    catalogue: ClassVar[Catalogue] = CATALOGUE
    limits: ClassVar[RayLimits] = RayLimits()

    def accepts(self, pre: PreProbe) -> bool:
        return pre.http is not None and b"<title>Ray Dashboard</title>" in pre.http.body[:4096]

    async def identify(self, api: HttpApi, pre: PreProbe) -> Identity | None:
        answer = await api.get("/api/version", limit=16384)
        doc = as_dict(answer.body) if answer.status == 200 else {}
        version = as_str(doc.get("ray_version"), 32)
        if version and as_str(doc.get("version"), 32) is not None and version[:1].isdigit():
            return Identity("/api/version answered Ray's version document", version)
        if answer.status in (401, 403):
            mode = await api.get("/api/authentication_mode", limit=4096)
            if as_dict(mode.body).get("authentication_mode") == "token":
                return Identity(
                    f'/api/version answered {answer.status}; /api/authentication_mode "token"'
                )
        return None

    def new_facts(self) -> RayFacts:
        return RayFacts()

    def _limits(self, ctx: ScanContext) -> RayLimits:
        return RayLimits(
            max_jobs=min(self.limits.max_jobs, ctx.config.max_resources),
            max_nodes=min(self.limits.max_nodes, ctx.config.max_resources),
            log_jobs=min(self.limits.log_jobs, ctx.config.max_sampled),
        )

    async def read(self, api: HttpApi, ctx: ScanContext, facts: RayFacts) -> None:
        await read_ray(api, self._limits(ctx), facts)

    @staticmethod
    def code_execution(facts: RayFacts, version: str | None) -> bool | None:
        """Job submission is open when the documented mode says ``disabled``, or on a Ray
        that predates token authentication; otherwise it cannot be told without trying."""
        if facts.auth_mode == "disabled":
            return True
        numbers = version_tuple(version)
        if facts.auth_mode is None and numbers is not None and numbers < TOKEN_AUTH_SINCE:
            return True
        return None

    def open_report(
        self, endpoint: Endpoint, facts: RayFacts, ctx: ScanContext, version: str | None
    ) -> ServiceReport:
        notes = list(facts.notes)
        execution = self.code_execution(facts, version)
        if execution is None:
            notes.append(
                f"authentication mode {facts.auth_mode or 'not stated'}: job submission not decided"
            )
        resources = [
            Resource(
                kind="job",
                name=job.name,
                engine=job.status,
                rows=len(job.texts),
                sampled_rows=len(job.texts),
                data_findings=classify_sample(([t] for t in job.texts), ctx.classifier),
                unsampled=None if job.log_read else "driver log not read",
            )
            for job in facts.jobs
        ]
        resources += [
            Resource(
                kind="node",
                name=name + (" (head)" if head else ""),
                engine=ip,
                unsampled="node: listed only",
            )
            for name, ip, head in facts.nodes
        ]
        limits = self._limits(ctx)
        return ServiceReport.for_endpoint(
            endpoint,
            version=version,
            auth=AuthState.NONE,
            proof=PROOF,
            resources=tuple(resources),
            capabilities=Capabilities.of(**{"code-execution": execution}),
            coverage=Coverage(
                listed=len(resources),
                total=facts.jobs_total + (facts.nodes_total or len(facts.nodes)),
                cap=limits.max_jobs if facts.jobs_total > limits.max_jobs else None,
                sampled=len(facts.jobs),
            ),
            notes=tuple(notes),
        )

    def open_evidence(self, report: ServiceReport) -> str:
        jobs = sum(1 for r in report.resources if r.kind == "job")
        nodes = sum(1 for r in report.resources if r.kind == "node")
        return f"{report.proof}; {jobs} jobs, {nodes} nodes listed"

    def capability_evidence(self, report: ServiceReport, capability: str) -> str:
        return (
            "the Jobs API answered without a token and Ray's authentication is off (mode "
            "disabled, or a Ray before 2.52): POST /api/jobs/ runs any shell command (not tried)"
        )
