"""The Prometheus plugin: prove access, read the loaded configuration and the scrape targets
(classified: secrets Prometheus does not mask, the internal topology), and the admin and
lifecycle flags - read-only.

What it reports, for a server without ``--web.config.file``::

    prometheus 10.0.0.10:9090 http 2.42.0 auth=none
      config  prometheus.yml        secret x1, infrastructure x3
      targets active scrape targets  3 targets  infrastructure x3
      capabilities: admin-api=False lifecycle=False remote-write=False
    critical  prometheus.data.secret      config: secret.openai... x1 (sk-proj-…#8f3a1c)
    medium    prometheus.open-access      buildinfo answered without credentials; 3 targets ...

Decisions worth knowing:

* auth ``none`` needs ``/api/v1/status/buildinfo`` to answer ``status: success`` with a version
  string and ``/api/v1/status/config`` the YAML; the exporter-toolkit's basic-auth refusal
  (``401``, ``WWW-Authenticate: Basic``, body ``Unauthorized``) is ``required``. That refusal
  carries no product name: a protected server is reported as Prometheus only on its default
  port, with that said in the evidence.
* ``<secret>`` in the config is Prometheus's own masking; what it does not mask (``params``,
  URLs, labels, relabel rules, headers in older versions) is classified like any sample.
* capabilities come from ``/api/v1/status/flags`` alone: the admin API (delete series,
  snapshots), the lifecycle endpoints (quit, reload) and the remote-write receiver.
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
    OpenPort,
    PreProbe,
    Resource,
    ScanContext,
    ServiceReport,
)
from leakmap.services.common.catalogue import Catalogue, rule
from leakmap.services.common.sample import classify_sample
from leakmap.services.httpapi import (
    HttpApi,
    HttpJsonService,
    Identity,
    as_dict,
    as_str,
)
from leakmap.services.prometheus.api import (
    PrometheusFacts,
    basic_auth_refusal,
    read_prometheus,
    success_data,
)

__all__ = ["CATALOGUE", "Prometheus"]

_DOCS = "https://prometheus.io/docs/"
_SECURITY = _DOCS + "operating/security/"
_WEB = _DOCS + "prometheus/latest/configuration/https/"
PROOF = "buildinfo answered a version and status/config the loaded YAML (status success)"

CATALOGUE = Catalogue(
    "prometheus",
    [
        rule(
            "prometheus.open-access",
            Severity.MEDIUM,
            "Prometheus API answers without authentication (config, targets, all metrics)",
            "Set basic auth or TLS client certificates with --web.config.file, or put "
            "Prometheus behind an authenticating proxy; bind --web.listen-address to an "
            "internal address.",
            _WEB,
            _SECURITY,
        ),
        rule(
            "prometheus.auth-unknown",
            Severity.LOW,
            "Prometheus reachable but its access state could not be determined",
            "Check by hand whether /api/v1/status/buildinfo needs credentials.",
            _WEB,
        ),
        rule(
            "prometheus.capability.admin-api",
            Severity.HIGH,
            "Admin API enabled: anyone can delete series and take snapshots",
            "Remove --web.enable-admin-api, or require authentication.",
            _DOCS + "prometheus/latest/querying/api/#tsdb-admin-apis",
        ),
        rule(
            "prometheus.capability.lifecycle",
            Severity.HIGH,
            "Lifecycle endpoints enabled: anyone can shut Prometheus down or reload it",
            "Remove --web.enable-lifecycle, or require authentication.",
            _DOCS + "prometheus/latest/management_api/",
        ),
        rule(
            "prometheus.capability.remote-write",
            Severity.MEDIUM,
            "Remote-write receiver enabled: anyone can write samples",
            "Remove --web.enable-remote-write-receiver, or require authentication.",
            _DOCS + "prometheus/latest/querying/api/#remote-write-receiver",
        ),
    ],
    data_noun="configuration or target list",
)


class Prometheus(HttpJsonService[PrometheusFacts]):
    """Prometheus server over its HTTP API."""

    name: ClassVar[str] = "prometheus"
    default_ports: ClassVar[Mapping[int, str]] = MappingProxyType({9090: "http"})
    capabilities: ClassVar[Mapping[str, str]] = MappingProxyType(
        {
            "admin-api": "series can be deleted, snapshots taken (--web.enable-admin-api)",
            "lifecycle": "the server can be stopped or reloaded (--web.enable-lifecycle)",
            "remote-write": "samples can be written (--web.enable-remote-write-receiver)",
        }
    )
    catalogue: ClassVar[Catalogue] = CATALOGUE
    request_limit: ClassVar[int] = 4 * 1024 * 1024

    def accepts(self, pre: PreProbe) -> bool:
        if pre.http is None:
            return False
        location = pre.http.header("location") or ""
        return pre.http.status in (302, 303) and location in ("/graph", "/classic/graph", "/query")

    async def identify(self, api: HttpApi, pre: PreProbe) -> Identity | None:
        page = await api.text("/api/v1/status/buildinfo", limit=64 * 1024)
        if page is None:
            return None
        if basic_auth_refusal(page.status, page.headers, page.body):
            return Identity(
                "401 Basic 'Unauthorized' from the exporter-toolkit on Prometheus's port "
                "(a protected server names no product)",
                details={"identity": "port"},
            )
        answer = await api.get("/api/v1/status/buildinfo")
        version = as_str(as_dict(success_data(answer.body)).get("version"), 64)
        if answer.status == 200 and version:
            return Identity("/api/v1/status/buildinfo answered status success", version)
        return None

    async def fingerprint(self, port: OpenPort, ctx: ScanContext) -> Endpoint | None:
        """A bare basic-auth refusal names Prometheus only on its own default port."""
        endpoint = await super().fingerprint(port, ctx)
        by_port = endpoint is not None and endpoint.details.get("identity") == "port"
        return None if by_port and port.port not in self.default_ports else endpoint

    def new_facts(self) -> PrometheusFacts:
        return PrometheusFacts()

    async def read(self, api: HttpApi, ctx: ScanContext, facts: PrometheusFacts) -> None:
        await read_prometheus(api, max_targets=min(500, ctx.config.max_resources), facts=facts)

    def open_report(
        self, endpoint: Endpoint, facts: PrometheusFacts, ctx: ScanContext, version: str | None
    ) -> ServiceReport:
        notes = list(facts.notes)
        resources = []
        if facts.config_yaml is not None:
            lines = facts.config_yaml.splitlines()
            resources.append(
                Resource(
                    kind="config",
                    name="prometheus.yml",
                    rows=len(lines),
                    bytes=len(facts.config_yaml.encode()),
                    sampled_rows=len(lines),
                    data_findings=classify_sample(([line] for line in lines), ctx.classifier),
                )
            )
        resources.append(
            Resource(
                kind="targets",
                name="active scrape targets",
                rows=len(facts.targets),
                sampled_rows=len(facts.targets),
                data_findings=classify_sample(([t] for t in facts.targets), ctx.classifier),
            )
        )
        if facts.jobs:
            notes.append(f"{len(facts.jobs)} scrape jobs, {len(facts.target_hosts)} instances")
        return ServiceReport.for_endpoint(
            endpoint,
            version=version,
            auth=AuthState.NONE,
            proof=PROOF,
            resources=tuple(resources),
            capabilities=Capabilities.of(
                **{
                    "admin-api": facts.flags.get("admin_api"),
                    "lifecycle": facts.flags.get("lifecycle"),
                    "remote-write": facts.flags.get("remote_write"),
                }
            ),
            coverage=Coverage(listed=len(resources), sampled=len(resources)),
            notes=tuple(notes),
        )

    def open_evidence(self, report: ServiceReport) -> str:
        targets = next((r.rows for r in report.resources if r.kind == "targets"), 0)
        return f"{report.proof}; configuration readable, {targets} scrape targets listed"

    def capability_evidence(self, report: ServiceReport, capability: str) -> str:
        return f"/api/v1/status/flags: {self.capabilities[capability]}"
