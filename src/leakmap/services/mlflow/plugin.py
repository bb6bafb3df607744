"""The MLflow tracking server plugin: prove access, list experiments, sample runs' params and
tags, registered models and small text artifacts - read-only.

What it reports, for a server without the basic-auth app::

    mlflow 10.0.0.8:5000 http 3.17.2 auth=none
      experiment support-bot-finetune  1 run sampled   secret x2, infrastructure x1
      model      churn-classifier      2 versions
      capabilities: write=True
    critical  mlflow.open-access        experiment search answered a parsable listing ...
    critical  mlflow.data.secret        support-bot-finetune: secret.anthropic... x1 (...)
    high      mlflow.capability.write   anyone can create experiments, log runs, upload artifacts

Decisions worth knowing:

* ``/version`` and the UI answer without credentials on any server: identity, never access.
  Auth ``none`` needs the experiment search to parse (experiments with string ids and names);
  the basic-auth app answers ``401`` with ``WWW-Authenticate: Basic realm="mlflow"``
  (``required``).
* an open tracking server has no read-only mode: writes (experiments, runs, artifact uploads,
  model registration) are open too - stated from the open access, never tried.
* runs are read with ``runs/search`` (a POST by API design that only reads); only artifacts
  that are small text files are read; models and binaries are listed, never downloaded.
* traces (MLflow 3: ``traces/search``, a read-only POST too; MLflow 2: the GET listing) hold
  what an LLM app was asked and answered: inputs, outputs, previews and the spans of the
  first few are classified (one ``traces`` resource per experiment), a bounded number each.
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
from leakmap.services.httpapi import HttpApi, HttpJsonService, Identity
from leakmap.services.mlflow.api import MlflowFacts, MlflowLimits, parse_version, read_mlflow

__all__ = ["CATALOGUE", "Mlflow"]

_DOCS = "https://mlflow.org/docs/latest/"
_AUTH = _DOCS + "auth/index.html"
PROOF = "experiment search answered a listing that parses (string ids and names)"

CATALOGUE = Catalogue(
    "mlflow",
    [
        rule(
            "mlflow.open-access",
            Severity.HIGH,
            "MLflow tracking server answers without authentication",
            "Run the server with the basic-auth app (mlflow server --app-name basic-auth) or "
            "behind an authenticating proxy, bind it to an internal address (--host) and set "
            "--allowed-hosts. Critical when runs hold secrets.",
            _AUTH,
        ),
        rule(
            "mlflow.auth-unknown",
            Severity.LOW,
            "MLflow reachable but its access state could not be determined",
            "Check by hand whether the REST API needs credentials from this network.",
            _AUTH,
        ),
        rule(
            "mlflow.capability.write",
            Severity.HIGH,
            "Anyone can create experiments, log runs, upload artifacts and register models",
            "Enable authentication with a default permission of READ or NO_PERMISSIONS; a "
            "poisoned model or artifact reaches whoever deploys from this registry.",
            _AUTH,
        ),
    ],
    data_noun="experiment or model",
)


class Mlflow(HttpJsonService[MlflowFacts]):
    """MLflow tracking server and model registry over the REST API."""

    name: ClassVar[str] = "mlflow"
    default_ports: ClassVar[Mapping[int, str]] = MappingProxyType({5000: "http"})
    capabilities: ClassVar[Mapping[str, str]] = MappingProxyType(
        {"write": "experiments, runs, artifacts and registered models can be written"}
    )
    catalogue: ClassVar[Catalogue] = CATALOGUE
    limits: ClassVar[MlflowLimits] = MlflowLimits()

    def accepts(self, pre: PreProbe) -> bool:
        if pre.http is None:
            return False
        realm = pre.http.header("www-authenticate") or ""
        return 'realm="mlflow"' in realm or b"<title>MLflow" in pre.http.body[:4096]

    async def identify(self, api: HttpApi, pre: PreProbe) -> Identity | None:
        probe = await api.get("/api/2.0/mlflow/experiments/search", {"max_results": "1"})
        realm = probe.headers.get("www-authenticate", "") if probe.headers is not None else ""
        version = None
        page = await api.text("/version", limit=256)
        if page is not None and page.status == 200 and not page.truncated:
            version = parse_version(page.text())
        if probe.status == 401 and 'realm="mlflow"' in realm:
            return Identity('401 with WWW-Authenticate: Basic realm="mlflow"', version)
        experiments = probe.field("experiments") if probe.status == 200 else None
        if isinstance(experiments, list) and version is not None:
            return Identity("experiment search answered a listing; /version answered", version)
        return None

    def new_facts(self) -> MlflowFacts:
        return MlflowFacts()

    async def read(self, api: HttpApi, ctx: ScanContext, facts: MlflowFacts) -> None:
        limits = MlflowLimits(max_runs=min(self.limits.max_runs, ctx.config.max_sampled))
        await read_mlflow(api, limits, facts)

    def open_report(
        self, endpoint: Endpoint, facts: MlflowFacts, ctx: ScanContext, version: str | None
    ) -> ServiceReport:
        notes = list(facts.notes)
        cap = self.limits.max_experiments
        artifacts = sum(len(r.artifacts) for r in facts.runs)
        if artifacts:
            notes.append(f"{artifacts} artifacts listed; only small text files were read")
        resources = []
        for eid, name in facts.experiments:
            runs = [r for r in facts.runs if r.experiment_id == eid]
            texts = [t for r in runs for t in r.texts]
            resources.append(
                Resource(
                    kind="experiment",
                    name=name,
                    rows=len(runs),
                    sampled_rows=len(runs),
                    data_findings=classify_sample(([t] for t in texts), ctx.classifier),
                    unsampled=None if runs else "no runs",
                )
            )
        names = dict(facts.experiments)
        for traces in facts.traces:
            resources.append(
                Resource(
                    kind="traces",
                    name=names.get(traces.experiment_id, traces.experiment_id),
                    rows=traces.count,
                    sampled_rows=traces.count,
                    data_findings=classify_sample(([t] for t in traces.texts), ctx.classifier),
                )
            )
        for name, versions, texts in facts.models:
            resources.append(
                Resource(
                    kind="model",
                    name=name,
                    rows=versions,
                    sampled_rows=len(texts),
                    data_findings=classify_sample(([t] for t in texts), ctx.classifier),
                )
            )
        return ServiceReport.for_endpoint(
            endpoint,
            version=version,
            auth=AuthState.NONE,
            proof=PROOF,
            resources=tuple(resources),
            capabilities=Capabilities.of(write=True),
            coverage=Coverage(
                listed=len(resources),
                sampled=len(facts.runs),
                cap=cap if len(facts.experiments) >= cap else None,
            ),
            notes=tuple(notes),
        )

    def open_evidence(self, report: ServiceReport) -> str:
        exps = sum(1 for r in report.resources if r.kind == "experiment")
        runs = sum(r.rows or 0 for r in report.resources if r.kind == "experiment")
        models = sum(1 for r in report.resources if r.kind == "model")
        traces = sum(r.rows or 0 for r in report.resources if r.kind == "traces")
        return (
            f"{report.proof}; {exps} experiments, {runs} runs sampled, {traces} traces read, "
            f"{models} models"
        )

    def capability_evidence(self, report: ServiceReport, capability: str) -> str:
        return "the tracking API answers without credentials and has no read-only mode"
