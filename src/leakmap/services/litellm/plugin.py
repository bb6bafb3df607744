"""The LiteLLM proxy plugin: whether a master key is set (and whether it is the documentation's
default), which models it serves, which upstream deployments it reveals, and whether its key,
user and spend-log endpoints answer - read-only, nothing generated.

What it reports, for a proxy started without a master key::

    litellm 10.0.0.11:4000 http 1.106.12 auth=none
      model gpt-4o-support (deployments: model/info)   infrastructure x1
      capabilities: inference=True admin=True
    critical  litellm.capability.admin       no master key: key, user and spend APIs open
    high      litellm.capability.inference   anyone can call gpt-4o-support on your bill
    high      litellm.open-access            /v1/models answered without a key ...

Decisions worth knowing:

* auth ``none`` needs ``/v1/models`` to parse as an OpenAI-format list; ``401``/``403`` is
  ``required`` - unless, with ``--try-default-credentials``, the documentation's master key is
  accepted on that same read: reported as open (the proof names the default, never the key)
  and as a critical finding.
* inference is stated from the open model list, never exercised: no completion is requested.
* without a database the admin endpoints answer ``500`` "no db": reported as a note; with one,
  a bounded sample of keys, users and spend logs (prompts and responses) is classified.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from leakmap.findings import Finding, Severity
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
from leakmap.services.litellm.api import DEFAULT_MASTER_KEY, LitellmFacts, read_litellm

__all__ = ["CATALOGUE", "Litellm"]

_DOCS = "https://docs.litellm.ai/docs/"
_KEYS = _DOCS + "proxy/virtual_keys"
PROOF = "/v1/models answered an OpenAI-format model list"
DEFAULT_KEY_PROOF = f" with the default {DEFAULT_MASTER_KEY.label}"

CATALOGUE = Catalogue(
    "litellm",
    [
        rule(
            "litellm.open-access",
            Severity.HIGH,
            "LiteLLM proxy answers without a key",
            "Set general_settings.master_key (a long random sk- value from a secret store), "
            "issue virtual keys per client, and keep the proxy off public interfaces.",
            _KEYS,
        ),
        rule(
            "litellm.auth-unknown",
            Severity.LOW,
            "LiteLLM proxy reachable but its access state could not be determined",
            "Check by hand whether /v1/models needs a key from this network.",
            _KEYS,
        ),
        rule(
            "litellm.default-master-key",
            Severity.CRITICAL,
            "LiteLLM master key is the documentation's default",
            "Replace the master key with a long random value now and rotate every virtual key "
            "created with it; the master key is admin over keys, users, models and spend.",
            _KEYS,
        ),
        rule(
            "litellm.capability.inference",
            Severity.HIGH,
            "Anyone can call the proxied models (cost, abuse, model access)",
            "Require keys (master key + virtual keys with budgets and rate limits).",
            _KEYS,
        ),
        rule(
            "litellm.capability.admin",
            Severity.CRITICAL,
            "Anyone can manage keys, users, models and read spend logs (prompts, responses)",
            "Set a master key; store spend logs without message content "
            "(general_settings.disable_spend_logs / turn_off_message_logging).",
            _KEYS,
        ),
    ],
    data_noun="model deployment, key list or spend log",
)


class Litellm(HttpJsonService[LitellmFacts]):
    """LiteLLM proxy (the OpenAI-compatible gateway with key and spend management)."""

    name: ClassVar[str] = "litellm"
    default_ports: ClassVar[Mapping[int, str]] = MappingProxyType({4000: "http"})
    capabilities: ClassVar[Mapping[str, str]] = MappingProxyType(
        {
            "inference": "models can be called through the proxy",
            "admin": "keys, users, models and spend logs can be managed and read",
        }
    )
    catalogue: ClassVar[Catalogue] = CATALOGUE

    def accepts(self, pre: PreProbe) -> bool:
        return pre.http is not None and b"LiteLLM API" in pre.http.body[:4096]

    async def identify(self, api: HttpApi, pre: PreProbe) -> Identity | None:
        alive = await api.get("/health/liveliness")
        if alive.status != 200 or as_str(alive.body) != "I'm alive!":
            return None
        page = await api.text("/", limit=8 * 1024)
        if page is None or page.status != 200 or b"LiteLLM API" not in page.body:
            return None
        ready = await api.get("/health/readiness")
        version = as_str(as_dict(ready.body).get("litellm_version"), 32)
        return Identity("/health/liveliness answered; / is the LiteLLM API page", version)

    def new_facts(self) -> LitellmFacts:
        return LitellmFacts()

    async def read(self, api: HttpApi, ctx: ScanContext, facts: LitellmFacts) -> None:
        await read_litellm(
            api,
            sample=min(20, ctx.config.sample_rows),
            try_default=ctx.config.try_default_credentials,
            facts=facts,
        )

    def open_report(
        self, endpoint: Endpoint, facts: LitellmFacts, ctx: ScanContext, version: str | None
    ) -> ServiceReport:
        notes = list(facts.notes)
        deployments: dict[str, list[str]] = {}
        for name, params in facts.deployments:
            deployments.setdefault(name, []).append(params)
        resources = [
            Resource(
                kind="model",
                name=model,
                rows=len(deployments.get(model, [])),
                sampled_rows=len(deployments.get(model, [])),
                data_findings=classify_sample(
                    ([p] for p in deployments.get(model, [])), ctx.classifier
                ),
            )
            for model in facts.models
        ]
        for path, state in facts.admin.items():
            texts = facts.admin_texts.get(path, [])
            if state == "data":
                resources.append(
                    Resource(
                        kind="admin-listing",
                        name=path,
                        rows=len(texts),
                        sampled_rows=len(texts),
                        data_findings=classify_sample(([t] for t in texts), ctx.classifier),
                    )
                )
            else:
                notes.append(f"{path}: {state}")
        if facts.callbacks is not None:
            resources.append(
                Resource(
                    kind="config",
                    name="/get/config/callbacks",
                    sampled_rows=1,
                    data_findings=classify_sample([[facts.callbacks]], ctx.classifier),
                )
            )
        proof = PROOF + (
            f" with the default master key {DEFAULT_MASTER_KEY}"
            if facts.default_key
            else " without a key"
        )
        admin_open = any(s in ("data", "no database") for s in facts.admin.values())
        return ServiceReport.for_endpoint(
            endpoint,
            version=version,
            auth=AuthState.NONE,
            proof=proof,
            resources=tuple(resources),
            capabilities=Capabilities.of(
                inference=bool(facts.models),
                admin=True if facts.default_key or admin_open else None,
            ),
            coverage=Coverage(listed=len(resources), sampled=len(resources)),
            notes=tuple(notes),
        )

    def findings(self, report: ServiceReport) -> list[Finding]:
        out = super().findings(report)
        if report.auth is AuthState.NONE and (report.proof or "").endswith(DEFAULT_KEY_PROOF):
            out.append(
                CATALOGUE.finding(
                    "litellm.default-master-key",
                    host=report.host,
                    port=report.port,
                    evidence=f"/v1/models answered with the {DEFAULT_MASTER_KEY.label}",
                )
            )
        return out

    def open_evidence(self, report: ServiceReport) -> str:
        models = sum(1 for r in report.resources if r.kind == "model")
        return f"{report.proof}; {models} models served"

    def capability_evidence(self, report: ServiceReport, capability: str) -> str:
        if capability == "inference":
            models = [r.name for r in report.resources if r.kind == "model"][:5]
            return f"models listed without a key: {', '.join(models)} (nothing was generated)"
        return "admin endpoints answered without a key (no master key, or the default one)"
