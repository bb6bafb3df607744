"""The Chroma plugin: prove access, list tenants' databases and collections with counts, and
sample a few documents and metadata per collection - read-only, never embeddings in bulk.

What it reports, for ``chroma run`` without an auth provider::

    chroma 10.0.0.9:8000 http 1.0.0 auth=none
      collection default_tenant/default_database/support-kb  3 documents  secret x1, pii x1
      capabilities: write=True
    critical  chroma.open-access      collection listing parsed without a token ...
    critical  chroma.data.secret      default_tenant/default_database/support-kb: ...

Decisions worth knowing:

* the heartbeat and version answer without credentials by design: identity, never access.
  Auth ``none`` needs a collection listing that parses; ``401``/``403`` on the identity or
  the listing is ``required``.
* v2 API first; servers before it only have ``/api/v1`` (current ones answer 410 there).
* a sample asks for documents and metadata only (``include``), a few per collection.
* an open Chroma has no read-only mode: add, update, delete and collection creation are open.
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
from leakmap.services.chroma.api import ChromaFacts, ChromaLimits, read_chroma
from leakmap.services.common.catalogue import Catalogue, rule
from leakmap.services.common.sample import classify_sample
from leakmap.services.httpapi import (
    HttpApi,
    HttpJsonService,
    Identity,
    as_int,
    as_str,
)

__all__ = ["CATALOGUE", "Chroma"]

_DOCS = "https://docs.trychroma.com/"
_AUTH = _DOCS + "production/administration/auth"
PROOF = "collection listing answered and parsed (ids and names) without a token"

CATALOGUE = Catalogue(
    "chroma",
    [
        rule(
            "chroma.open-access",
            Severity.HIGH,
            "Chroma answers without authentication",
            "Configure an authentication provider (CHROMA_SERVER_AUTHN_PROVIDER with token or "
            "basic credentials) or put Chroma behind an authenticating proxy, and bind it to "
            "an internal address. Critical when the documents hold secrets or personal data.",
            _AUTH,
        ),
        rule(
            "chroma.auth-unknown",
            Severity.LOW,
            "Chroma reachable but its access state could not be determined",
            "Check by hand whether the collection listing needs a token from this network.",
            _AUTH,
        ),
        rule(
            "chroma.capability.write",
            Severity.HIGH,
            "Anyone can add, change and delete documents and collections",
            "Enable authentication; a writable retrieval store lets anyone inject content "
            "into the answers of the RAG system that reads it.",
            _AUTH,
        ),
    ],
    data_noun="collection",
)


class Chroma(HttpJsonService[ChromaFacts]):
    """Chroma vector database over its REST API (v2, v1)."""

    name: ClassVar[str] = "chroma"
    default_ports: ClassVar[Mapping[int, str]] = MappingProxyType({8000: "http"})
    capabilities: ClassVar[Mapping[str, str]] = MappingProxyType(
        {"write": "documents and collections can be added, changed and deleted"}
    )
    catalogue: ClassVar[Catalogue] = CATALOGUE
    limits: ClassVar[ChromaLimits] = ChromaLimits()

    def accepts(self, pre: PreProbe) -> bool:
        return pre.http is not None and pre.http.header("chroma-trace-id") is not None

    async def identify(self, api: HttpApi, pre: PreProbe) -> Identity | None:
        for version in ("v2", "v1"):
            beat = await api.get(f"/api/{version}/heartbeat")
            body = beat.body if isinstance(beat.body, dict) else {}
            if beat.status == 200 and as_int(body.get("nanosecond heartbeat")) is not None:
                v = await api.get(f"/api/{version}/version")
                number = as_str(v.body, 64) if v.status == 200 else None
                return Identity(f"/api/{version}/heartbeat answered a nanosecond heartbeat", number)
        return None

    def new_facts(self) -> ChromaFacts:
        return ChromaFacts()

    def _limits(self, ctx: ScanContext) -> ChromaLimits:
        return ChromaLimits(
            max_collections=min(self.limits.max_collections, ctx.config.max_resources),
            sample_collections=min(self.limits.sample_collections, ctx.config.max_sampled),
            documents_per_collection=min(
                self.limits.documents_per_collection, ctx.config.sample_rows
            ),
        )

    async def read(self, api: HttpApi, ctx: ScanContext, facts: ChromaFacts) -> None:
        await read_chroma(api, self._limits(ctx), facts)

    def open_report(
        self, endpoint: Endpoint, facts: ChromaFacts, ctx: ScanContext, version: str | None
    ) -> ServiceReport:
        notes = list(facts.notes)
        limits = self._limits(ctx)
        resources = tuple(
            Resource(
                kind="collection",
                name=f"{c.tenant}/{c.database}/{c.name}",
                rows=c.count,
                sampled_rows=c.sampled,
                data_findings=classify_sample(([t] for t in c.texts), ctx.classifier),
                unsampled=None if c.sampled else "not sampled",
            )
            for c in facts.collections
        )
        return ServiceReport.for_endpoint(
            endpoint,
            version=version,
            auth=AuthState.NONE,
            proof=PROOF,
            resources=resources,
            capabilities=Capabilities.of(write=True),
            coverage=Coverage(
                listed=len(resources),
                sampled=sum(1 for c in facts.collections if c.sampled),
                cap=limits.max_collections
                if len(facts.collections) >= limits.max_collections
                else None,
            ),
            notes=tuple(notes),
        )

    def open_evidence(self, report: ServiceReport) -> str:
        docs = sum(r.rows or 0 for r in report.resources)
        return f"{report.proof}; {len(report.resources)} collections, {docs} documents"

    def capability_evidence(self, report: ServiceReport, capability: str) -> str:
        return "the API answers without credentials and has no read-only mode"
