"""The Elasticsearch / OpenSearch plugin: cluster info, indices with counts, bounded samples.

What it reports for an open cluster holding an AI gateway's request logs::

    elasticsearch 10.0.0.3:9200 http opensearch 2.11.0 auth=none
      chat-logs-2024.06   index   1200 docs   chat x1, secret x1, pii x1
    critical elasticsearch.open-access   3 resources readable without credentials; ...

The service is ``elasticsearch`` for both; the version names the distribution
(``elasticsearch 8.11.1``, ``opensearch 2.11.0``). How each step is decided: see
:mod:`.probe`; every request is a ``GET``. ``--try-default-credentials`` retries ``GET /``
with HTTP Basic for the documented defaults (at most 3) after a security-layer 401.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from leakmap.services.base import (
    AuthState,
    Coverage,
    Endpoint,
    OpenPort,
    PreProbe,
    ScanContext,
)
from leakmap.services.common.catalogue import Catalogue
from leakmap.services.common.credentials import credentials_for
from leakmap.services.common.stores import (
    Outcome,
    StorePlugin,
    StoreResource,
    base_url,
)
from leakmap.services.elasticsearch.client import EsClient
from leakmap.services.elasticsearch.probe import EsFacts, gather, identify, prove_open
from leakmap.services.elasticsearch.rules import CATALOGUE

__all__ = ["Elasticsearch"]


class Elasticsearch(StorePlugin):
    """Elasticsearch and OpenSearch (REST over HTTP; HTTPS on the same port is tried too)."""

    name: ClassVar[str] = "elasticsearch"
    transport: ClassVar[str] = "http"
    default_ports: ClassVar[Mapping[int, str]] = MappingProxyType({9200: "http"})
    protocols: ClassVar[frozenset[str]] = frozenset({"http", "https"})
    url_schemes: ClassVar[Mapping[str, tuple[int, str]]] = MappingProxyType(
        {"elasticsearch": (9200, "http"), "opensearch": (9200, "http")}
    )
    catalogue: ClassVar[Catalogue] = CATALOGUE

    def accepts(self, pre: PreProbe) -> bool:
        """The cluster-info document's tagline or distribution, or a security layer's 401."""
        http = pre.http
        if http is None:
            return False
        body = http.body
        if b"You Know, for Search" in body or b'"opensearch"' in body:
            return True
        realm = http.header("www-authenticate") or ""
        return http.status == 401 and (
            b"security_exception" in body or "OpenSearch Security" in realm
        )

    async def _identify(
        self, ip: str, port: int, ctx: ScanContext, limit: int
    ) -> tuple[EsFacts, bool] | None:
        async with ctx.network.http_client() as http:
            for tls in (False, True):
                es = EsClient(http, base_url(ip, port, tls), limit, ctx.config.read_timeout)
                try:
                    facts = await identify(es)
                except Exception:
                    facts = None
                if facts is not None:
                    return facts, tls
        return None

    async def _fingerprint(self, port: OpenPort, ctx: ScanContext) -> Endpoint | None:
        found = await self._identify(port.ip, port.port, ctx, 64 * 1024)
        if found is None:
            return None
        facts, tls = found
        endpoint = self.endpoint(port, facts.evidence, facts.version, facts.auth)
        if tls:
            endpoint = dataclasses.replace(endpoint, transport="https")
        return endpoint

    async def _gather(self, endpoint: Endpoint, ctx: ScanContext) -> Outcome:
        cfg = ctx.config
        tls = endpoint.transport == "https"
        outcome = Outcome()
        async with ctx.network.http_client() as http:
            es = EsClient(
                http,
                base_url(endpoint.ip, endpoint.port, tls),
                cfg.max_response_bytes,
                cfg.read_timeout + 5,
            )
            facts = await identify(es)
            if facts is None:
                outcome.notes.append("GET / gave no usable answer this time")
                return outcome
            if facts.auth is AuthState.UNKNOWN:
                await prove_open(es, facts)
            if facts.auth is AuthState.REQUIRED and cfg.try_default_credentials:
                outcome.default_credential = await self._try_defaults(es, facts)
            if facts.auth is AuthState.NONE or outcome.default_credential:
                try:
                    await gather(
                        es,
                        facts,
                        docs_per_index=min(cfg.sample_rows, 50),
                        max_indices=max(cfg.max_resources, 1),
                        max_sampled=cfg.max_sampled,
                    )
                except Exception as exc:  # keep what was learned
                    facts.notes.append(f"listing stopped ({type(exc).__name__})")
        outcome.auth, outcome.version = facts.auth, facts.version
        outcome.notes.extend(facts.notes)
        if facts.auth is AuthState.NONE:
            outcome.proof = facts.evidence
        if facts.indices:
            outcome.coverage = Coverage(
                listed=len(facts.indices),
                cap=max(cfg.max_resources, 1),
                sampled=len(facts.samples),
            )
        for index in facts.indices:
            texts = facts.samples.get(index.name, [])
            outcome.resources.append(
                StoreResource(
                    index.name,
                    "index",
                    rows=index.docs,
                    sampled=len(texts) if index.name in facts.samples else None,
                    texts=list(texts),
                )
            )
        return outcome

    async def _try_defaults(self, es: EsClient, facts: EsFacts) -> str | None:
        for cred in credentials_for(self.name):
            token = base64.b64encode(f"{cred.user}:{cred.password}".encode()).decode()
            es.headers = {"Authorization": f"Basic {token}"}
            retry = await identify(es)
            if retry is not None and await prove_open(es, retry):
                facts.version = retry.version
                facts.distribution = retry.distribution
                facts.notes.append(f"default credential accepted: {cred.label}")
                return cred.label
        es.headers = {}
        facts.notes.append("no documented default credential was accepted")
        return None
