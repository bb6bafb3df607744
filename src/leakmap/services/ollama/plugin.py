"""The Ollama plugin: version, the models it holds and runs, and what an open Ollama lets anyone
do (it has no authentication of its own) - read-only, nothing generated or pulled.

What it reports, for an Ollama listening on a reachable address::

    ollama 10.0.0.12:11434 http 0.5.7 auth=none
      model llama3.2:latest  2019393189 bytes (running)
      capabilities: inference=True model-management=True
    high  ollama.open-access                   /api/tags listed 2 models without credentials
    high  ollama.capability.inference          anyone can generate with your hardware
    high  ollama.capability.model-management   anyone can pull, create, copy and delete models

Auth ``none`` needs ``/api/version`` (a version string) and ``/api/tags`` (models with string
names) to parse. ``/api/ps`` lists the loaded models. ``POST /api/show`` (a read by API design)
gives each of the first few models' system prompt, template, parameters and preset messages,
which are classified (the license text and the weights' paths are not). Inference and model
management are stated from the open API, never exercised.
"""

from __future__ import annotations

import json
import re
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
from leakmap.services.common.sample import classify_sample
from leakmap.services.httpapi import (
    HttpApi,
    HttpJsonService,
    Identity,
    as_dict,
    as_int,
    as_list,
    as_str,
)

__all__ = ["CATALOGUE", "Ollama", "OllamaFacts"]

_DOCS = "https://github.com/ollama/ollama/blob/main/docs/"
_FAQ = _DOCS + "faq.md#how-do-i-configure-ollama-server"
PROOF = "/api/version answered a version and /api/tags a model list that parses"

CATALOGUE = Catalogue(
    "ollama",
    [
        rule(
            "ollama.open-access",
            Severity.HIGH,
            "Ollama API reachable without authentication (it has none)",
            "Bind Ollama to localhost (OLLAMA_HOST=127.0.0.1) and put an authenticating "
            "reverse proxy in front of it for remote clients.",
            _FAQ,
        ),
        rule(
            "ollama.auth-unknown",
            Severity.LOW,
            "Ollama reachable but its API answers could not be checked",
            "Check by hand what /api/tags shows from this network.",
            _FAQ,
        ),
        rule(
            "ollama.capability.inference",
            Severity.HIGH,
            "Anyone can run the models (compute cost, abuse, model access)",
            "Keep the API on localhost or behind an authenticating proxy.",
            _FAQ,
        ),
        rule(
            "ollama.capability.model-management",
            Severity.HIGH,
            "Anyone can pull, create, copy, push and delete models",
            "Keep the API on localhost or behind a proxy that allows only the generate routes.",
            _DOCS + "api.md",
        ),
    ],
    data_noun="model",
)


@dataclass(slots=True)
class OllamaFacts:
    version: str | None = None
    auth: AuthState = AuthState.UNKNOWN
    models: list[tuple[str, int | None, str | None]] = field(default_factory=list)
    running: list[str] = field(default_factory=list)
    shown: dict[str, list[str]] = field(default_factory=dict)  # model -> texts of /api/show
    notes: list[str] = field(default_factory=list)


#: preset conversation lines of a Modelfile (``MESSAGE user ...``)
_MESSAGE_LINE = re.compile(r"(?m)^MESSAGE[ \t]+(?:system|user|assistant|tool)[ \t].*$")
SHOW_MODELS = 20
SHOW_BYTES = 256 * 1024


def show_texts(body: object) -> list[str] | None:
    """What ``/api/show`` tells about one model that people write themselves: the system
    prompt, the template, the parameters and preset messages; None when it is not an answer."""
    d = as_dict(body)
    if not any(isinstance(d.get(k), str) for k in ("modelfile", "template", "parameters")):
        return None
    texts = [t for k in ("system", "template", "parameters") if (t := as_str(d.get(k), 65536))]
    preset = _MESSAGE_LINE.findall(as_str(d.get("modelfile"), 1 << 20) or "")[:200]
    if preset:
        texts.append("\n".join(preset))  # one transcript
    messages = as_list(d.get("messages"))[:200]
    if messages:
        texts.append(json.dumps(messages)[:65536])
    return texts


class Ollama(HttpJsonService[OllamaFacts]):
    """Ollama's REST API."""

    name: ClassVar[str] = "ollama"
    default_ports: ClassVar[Mapping[int, str]] = MappingProxyType({11434: "http"})
    capabilities: ClassVar[Mapping[str, str]] = MappingProxyType(
        {
            "inference": "models can be run",
            "model-management": "models can be pulled, created, copied, pushed and deleted",
        }
    )
    catalogue: ClassVar[Catalogue] = CATALOGUE

    def accepts(self, pre: PreProbe) -> bool:
        return pre.http is not None and pre.http.body.startswith(b"Ollama is running")

    async def identify(self, api: HttpApi, pre: PreProbe) -> Identity | None:
        version = as_str(as_dict((await api.get("/api/version")).body).get("version"), 32)
        if not version or not version[:1].isdigit():
            return None
        return Identity('/api/version answered {"version": ...}', version)

    def new_facts(self) -> OllamaFacts:
        return OllamaFacts()

    async def read(self, api: HttpApi, ctx: ScanContext, facts: OllamaFacts) -> None:
        version = as_str(as_dict((await api.get("/api/version")).body).get("version"), 32)
        facts.version = version
        tags = await api.get("/api/tags")
        models = as_dict(tags.body).get("models")
        if not version or tags.status != 200 or not isinstance(models, list):
            facts.notes.append(f"/api/tags answered {tags.status or 'nothing usable'}")
            return
        for m in models[: ctx.config.max_resources]:
            d = as_dict(m)
            name = as_str(d.get("name"), 256)
            if name is None:
                facts.notes.append("/api/tags: a model without a name")
                return
            family = as_str(as_dict(d.get("details")).get("family"), 64)
            facts.models.append((name, as_int(d.get("size")), family))
        facts.auth = AuthState.NONE
        ps = await api.get("/api/ps")
        facts.running = [
            n
            for n in (
                as_str(as_dict(m).get("name"), 256) for m in as_list(as_dict(ps.body).get("models"))
            )
            if n
        ][:200]
        for name, _, _ in facts.models[: min(SHOW_MODELS, ctx.config.max_sampled)]:
            show = await api.request(
                "POST", "/api/show", payload={"model": name, "name": name}, limit=SHOW_BYTES
            )
            texts = show_texts(show.body) if show.status == 200 else None
            if texts is not None:
                facts.shown[name] = texts

    def open_report(
        self, endpoint: Endpoint, facts: OllamaFacts, ctx: ScanContext, version: str | None
    ) -> ServiceReport:
        resources = tuple(
            Resource(
                kind="model",
                name=name,
                bytes=size,
                engine=family,
                sampled_rows=len(facts.shown[name]) if name in facts.shown else None,
                data_findings=classify_sample(
                    ([t] for t in facts.shown.get(name, ())), ctx.classifier
                ),
                unsampled="running" if name in facts.running else "model weights are not read",
            )
            for name, size, family in facts.models
        )
        return ServiceReport.for_endpoint(
            endpoint,
            version=version,
            auth=AuthState.NONE,
            proof=PROOF,
            resources=resources,
            capabilities=Capabilities.of(
                **{"inference": bool(facts.models), "model-management": True}
            ),
            coverage=Coverage(listed=len(resources), sampled=len(facts.shown)),
            notes=tuple([*facts.notes, f"{len(facts.running)} models loaded"]),
        )

    def open_evidence(self, report: ServiceReport) -> str:
        return f"{report.proof}; {len(report.resources)} models"
