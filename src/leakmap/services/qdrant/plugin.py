"""The Qdrant plugin: version, collections with point counts, and a bounded payload sample
(never vectors) - read-only.

What it reports, for a Qdrant without an API key::

    qdrant 10.0.0.13:6333 http 1.12.4 auth=none
      collection support-docs  1000 points  secret x1, pii x2
      capabilities: write=True
    critical  qdrant.open-access   /collections listed 1 collection without a key ...

Auth ``none`` needs the root's ``{"title": "qdrant - vector search engine", "version": ...}``
and a ``/collections`` listing with ``status: ok`` that parses; ``401``/``403`` is ``required``
(``api_key`` set). Payloads come from ``points/scroll`` with ``with_vector: false`` and a
small ``limit`` (a POST by API design that only reads). An open Qdrant has no read-only mode
unless a ``read_only_api_key`` is the only key: writes are stated, never tried.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

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
    quote_path,
)

__all__ = ["CATALOGUE", "Qdrant", "QdrantFacts"]

_DOCS = "https://qdrant.tech/documentation/guides/security/"
_TITLE = "qdrant - vector search engine"
PROOF = "the root named Qdrant and /collections answered status ok with a listing that parses"

CATALOGUE = Catalogue(
    "qdrant",
    [
        rule(
            "qdrant.open-access",
            Severity.HIGH,
            "Qdrant answers without an API key",
            "Set service.api_key (and read_only_api_key for readers), enable TLS, and keep "
            "the port off public interfaces. Critical when payloads hold secrets or personal "
            "data.",
            _DOCS,
        ),
        rule(
            "qdrant.auth-unknown",
            Severity.LOW,
            "Qdrant reachable but its access state could not be determined",
            "Check by hand whether /collections needs an API key from this network.",
            _DOCS,
        ),
        rule(
            "qdrant.capability.write",
            Severity.HIGH,
            "Anyone can upsert and delete points and collections",
            "Set service.api_key; give readers the read-only key only.",
            _DOCS,
        ),
    ],
    data_noun="collection",
)


@dataclass(slots=True)
class QdrantFacts:
    version: str | None = None
    auth: AuthState = AuthState.UNKNOWN
    collections: list[tuple[str, int | None, list[str]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _root(body: Any) -> str | None:
    """The version from Qdrant's root document, None when it is not one."""
    doc = as_dict(body)
    return as_str(doc.get("version"), 32) if doc.get("title") == _TITLE else None


class Qdrant(HttpJsonService[QdrantFacts]):
    """Qdrant vector database over its REST API."""

    name: ClassVar[str] = "qdrant"
    default_ports: ClassVar[Mapping[int, str]] = MappingProxyType({6333: "http"})
    capabilities: ClassVar[Mapping[str, str]] = MappingProxyType(
        {"write": "points and collections can be upserted and deleted"}
    )
    catalogue: ClassVar[Catalogue] = CATALOGUE
    sample_collections: ClassVar[int] = 50
    points_per_collection: ClassVar[int] = 20

    def accepts(self, pre: PreProbe) -> bool:
        return pre.http is not None and _TITLE.encode() in pre.http.body[:1024]

    async def identify(self, api: HttpApi, pre: PreProbe) -> Identity | None:
        root = await api.get("/")
        version = _root(root.body)
        if version is not None:
            return Identity(f'the root answered {{"title": "{_TITLE}"}}', version)
        listing = await api.get("/collections")
        text = json.dumps(listing.body)[:512] if listing.body is not None else ""
        if listing.status == 401 and "api key" in text.lower():
            return Identity("401 asking for an API key (Qdrant's wording) on Qdrant's port")
        return None

    def new_facts(self) -> QdrantFacts:
        return QdrantFacts()

    async def read(self, api: HttpApi, ctx: ScanContext, facts: QdrantFacts) -> None:
        root = await api.get("/")
        facts.version = _root(root.body)
        listing = await api.get("/collections")
        if listing.status in (401, 403):
            facts.auth = AuthState.REQUIRED
            return
        body = as_dict(listing.body)
        items = as_dict(body.get("result")).get("collections")
        names = [as_str(as_dict(c).get("name"), 256) for c in as_list(items)]
        if (
            facts.version is None
            or listing.status != 200
            or body.get("status") != "ok"
            or not isinstance(items, list)
            or None in names
        ):
            facts.notes.append(f"/collections answered {listing.status or 'nothing usable'}")
            return
        facts.auth = AuthState.NONE
        limit = min(self.points_per_collection, ctx.config.sample_rows)
        for n, name in enumerate(names[: ctx.config.max_resources]):
            assert name is not None
            path = f"/collections/{quote_path(name)}"
            info = await api.get(path)
            count = as_int(as_dict(as_dict(info.body).get("result")).get("points_count"))
            texts: list[str] = []
            if n < min(self.sample_collections, ctx.config.max_sampled) and count != 0:
                payload = {"limit": limit, "with_payload": True, "with_vector": False}
                got = await api.request("POST", f"{path}/points/scroll", payload=payload)
                points = as_list(as_dict(as_dict(got.body).get("result")).get("points"))
                for point in points[:limit]:
                    load = as_dict(point).get("payload")
                    if isinstance(load, dict) and load:
                        texts.append(json.dumps(load)[: 16 * 1024])
            facts.collections.append((name, count, texts))

    def open_report(
        self, endpoint: Endpoint, facts: QdrantFacts, ctx: ScanContext, version: str | None
    ) -> ServiceReport:
        resources = tuple(
            Resource(
                kind="collection",
                name=name,
                rows=count,
                sampled_rows=len(texts),
                data_findings=classify_sample(([t] for t in texts), ctx.classifier),
                unsampled=None if texts else "no payload sampled",
            )
            for name, count, texts in facts.collections
        )
        return ServiceReport.for_endpoint(
            endpoint,
            version=version,
            auth=AuthState.NONE,
            proof=PROOF,
            resources=resources,
            capabilities=Capabilities.of(write=True),
            coverage=Coverage(
                listed=len(resources), sampled=sum(1 for r in resources if r.sampled_rows)
            ),
            notes=tuple(facts.notes),
        )

    def open_evidence(self, report: ServiceReport) -> str:
        points = sum(r.rows or 0 for r in report.resources)
        return f"{report.proof}; {len(report.resources)} collections, {points} points"

    def capability_evidence(self, report: ServiceReport, capability: str) -> str:
        return "the API answered without any key: no api_key is set, so writes are open too"
