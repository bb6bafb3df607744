"""The OpenAI-compatible inference server plugin (vLLM, LocalAI, text-generation-inference,
llama.cpp's server, ...): which models it serves and whether anyone may call them - read-only,
nothing generated.

What it reports, for a vLLM server started without ``--api-key``::

    openai-compatible 10.0.0.14:8000 http 0.6.3 auth=none
      model meta-llama/Llama-3.1-8B-Instruct
      capabilities: inference=True
    high  openai-compatible.open-access           /v1/models listed 1 model without a key
    high  openai-compatible.capability.inference  anyone can generate on your GPUs

Auth ``none`` needs ``GET /v1/models`` to parse as an OpenAI model list (``object: list``,
models with string ids); ``401``/``403`` with an OpenAI-style error body is ``required`` (a
server named only by that, on one of the usual ports). The version comes from vLLM's
``/version`` or TGI's ``/info`` when they answer. LiteLLM has its own plugin (port 4000).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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
from leakmap.services.httpapi import HttpApi, HttpJsonService, Identity, as_dict, as_str
from leakmap.services.litellm.api import model_ids

__all__ = ["CATALOGUE", "OpenAiCompatible", "OpenAiFacts"]

_VLLM = "https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html"
PROOF = "/v1/models answered an OpenAI-format model list without a key"

CATALOGUE = Catalogue(
    "openai-compatible",
    [
        rule(
            "openai-compatible.open-access",
            Severity.HIGH,
            "OpenAI-compatible inference server answers without an API key",
            "Start the server with an API key (vLLM --api-key, LocalAI API_KEY, TGI behind "
            "a gateway) or put an authenticating proxy in front; keep it off public interfaces.",
            _VLLM,
        ),
        rule(
            "openai-compatible.auth-unknown",
            Severity.LOW,
            "Inference server reachable but its access state could not be determined",
            "Check by hand whether /v1/models needs a key from this network.",
            _VLLM,
        ),
        rule(
            "openai-compatible.capability.inference",
            Severity.HIGH,
            "Anyone can call the served models (GPU cost, abuse, model access)",
            "Require an API key and rate-limit clients.",
            _VLLM,
        ),
    ],
    data_noun="model",
)


@dataclass(slots=True)
class OpenAiFacts:
    version: str | None = None
    auth: AuthState = AuthState.UNKNOWN
    models: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _openai_error(body: object) -> bool:
    """``{"error": {"message": str, ...}}`` (OpenAI, LocalAI) or ``{"error": str}`` (vLLM)."""
    err = as_dict(body).get("error")
    return isinstance(err, str) or isinstance(as_dict(err).get("message"), str)


class OpenAiCompatible(HttpJsonService[OpenAiFacts]):
    """Any server speaking the OpenAI REST API (``/v1/models``)."""

    name: ClassVar[str] = "openai-compatible"
    default_ports: ClassVar[Mapping[int, str]] = MappingProxyType({8000: "http", 8080: "http"})
    capabilities: ClassVar[Mapping[str, str]] = MappingProxyType(
        {"inference": "the served models can be called"}
    )
    catalogue: ClassVar[Catalogue] = CATALOGUE

    async def identify(self, api: HttpApi, pre: PreProbe) -> Identity | None:
        answer = await api.get("/v1/models")
        if answer.status == 200 and model_ids(answer.body) is not None:
            return Identity("/v1/models answered an OpenAI-format model list", await _version(api))
        if answer.status in (401, 403) and _openai_error(answer.body):
            return Identity(f"/v1/models answered {answer.status} with an OpenAI-style error")
        return None

    def new_facts(self) -> OpenAiFacts:
        return OpenAiFacts()

    async def read(self, api: HttpApi, ctx: ScanContext, facts: OpenAiFacts) -> None:
        answer = await api.get("/v1/models")
        ids = model_ids(answer.body) if answer.status == 200 else None
        if answer.status in (401, 403):
            facts.auth = AuthState.REQUIRED
        elif ids is None:
            facts.notes.append(f"/v1/models answered {answer.status or 'nothing usable'}")
        else:
            facts.auth, facts.models = AuthState.NONE, ids[: ctx.config.max_resources]
            facts.version = await _version(api)

    def open_report(
        self, endpoint: Endpoint, facts: OpenAiFacts, ctx: ScanContext, version: str | None
    ) -> ServiceReport:
        resources = tuple(
            Resource(kind="model", name=m, unsampled="nothing generated") for m in facts.models
        )
        return ServiceReport.for_endpoint(
            endpoint,
            version=version,
            auth=AuthState.NONE,
            proof=PROOF,
            resources=resources,
            capabilities=Capabilities.of(inference=bool(facts.models)),
            coverage=Coverage(listed=len(resources)),
            notes=tuple(facts.notes),
        )

    def open_evidence(self, report: ServiceReport) -> str:
        models = ", ".join(r.name for r in report.resources[:5])
        return f"{report.proof}; models: {models}"


async def _version(api: HttpApi) -> str | None:
    """vLLM's ``/version`` or text-generation-inference's ``/info``."""
    for path in ("/version", "/info"):
        answer = await api.get(path)
        version = as_str(as_dict(answer.body).get("version"), 32)
        if answer.status == 200 and version and version[:1].isdigit():
            return version
    return None
