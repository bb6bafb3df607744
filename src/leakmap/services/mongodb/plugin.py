"""The MongoDB plugin: version, databases and collections with counts, bounded samples.

What it reports for an open MongoDB behind a chat app::

    mongodb 10.0.0.4:27017 mongodb 6.0.12 auth=none
      chatapp.messages     collection   1200 documents   chat x1, secret x1, pii x1
    critical mongodb.open-access   4 resources readable without credentials; data found ...

How each step is decided: see :mod:`.probe`. Every command passes the OP_MSG client's
allow-list (:mod:`.wire`); ``find`` always carries ``limit``, ``singleBatch`` and ``maxTimeMS``.
"""

from __future__ import annotations

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
from leakmap.services.common.stores import Outcome, StorePlugin, StoreResource
from leakmap.services.mongodb.probe import gather, identify
from leakmap.services.mongodb.rules import CATALOGUE
from leakmap.services.mongodb.wire import MongoClient

__all__ = ["MongoDB"]


class MongoDB(StorePlugin):
    """MongoDB 3.6 and later (OP_MSG)."""

    name: ClassVar[str] = "mongodb"
    transport: ClassVar[str] = "mongodb"
    default_ports: ClassVar[Mapping[int, str]] = MappingProxyType({27017: "mongodb"})
    # mongod answers an HTTP GET on its port with a plain-text hint; it may also stay silent
    protocols: ClassVar[frozenset[str]] = frozenset({"http", "reply", "silent"})
    url_schemes: ClassVar[Mapping[str, tuple[int, str]]] = MappingProxyType(
        {"mongodb": (27017, "mongodb")}
    )
    catalogue: ClassVar[Catalogue] = CATALOGUE

    def accepts(self, pre: PreProbe) -> bool:
        """mongod's answer to HTTP on its native port."""
        body = pre.http.body if pre.http is not None else pre.reply
        return b"trying to access MongoDB over HTTP" in body

    async def _fingerprint(self, port: OpenPort, ctx: ScanContext) -> Endpoint | None:
        client = await self.connect(MongoClient, port.ip, port.port, ctx)
        try:
            facts = await identify(client)
        finally:
            await client.close()
        if facts is None:
            return None
        return self.endpoint(port, facts.evidence, facts.version)

    async def _gather(self, endpoint: Endpoint, ctx: ScanContext) -> Outcome:
        cfg = ctx.config
        outcome = Outcome()
        client = await self.connect(MongoClient, endpoint.ip, endpoint.port, ctx)
        try:
            facts = await identify(client)
            if facts is None:
                outcome.notes.append("isMaster gave no usable answer this time")
                return outcome
            try:
                await gather(
                    client,
                    facts,
                    docs_per_collection=min(cfg.sample_rows, 50),
                    max_collections=max(cfg.max_resources, 1),
                    max_sampled=cfg.max_sampled,
                    timeout_ms=int(cfg.read_timeout * 1000),
                )
            except Exception as exc:  # keep what was learned
                facts.notes.append(f"listing stopped ({type(exc).__name__})")
        finally:
            await client.close()
        outcome.auth, outcome.version = facts.auth, facts.version
        outcome.notes.extend(facts.notes)
        if facts.auth is AuthState.NONE:
            outcome.proof = facts.evidence
            outcome.coverage = Coverage(
                listed=len(facts.collections),
                cap=max(cfg.max_resources, 1),
                sampled=sum(1 for c in facts.collections if c.sampled is not None),
            )
        for coll in facts.collections:
            outcome.resources.append(
                StoreResource(
                    f"{coll.database}.{coll.name}",
                    "collection",
                    coll.database,
                    rows=coll.count,
                    sampled=coll.sampled,
                    texts=list(coll.texts),
                )
            )
        return outcome
