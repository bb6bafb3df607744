"""Reading a Chroma vector database over its REST API - read-only, bounded.

:func:`read_chroma` gathers :class:`ChromaFacts`:

* ``/api/v2/heartbeat`` (``{"nanosecond heartbeat": int}``) and ``/api/v2/version`` - these
  answer without credentials by design: identity, never access; servers before v2 answer only
  under ``/api/v1`` (current ones answer ``410`` there);
* ``/api/v2/auth/identity`` - the caller's tenant and databases (``401``/``403``: a token is
  required);
* databases of the tenant, collections of each database with their document counts, and
  ``POST .../collections/{id}/get`` with ``include: ["documents", "metadatas"]`` and a small
  ``limit`` - a read; embeddings are never asked for.

The proof of open access (v2) is the tenant's database listing - entries naming the tenant
asked for - followed by a collection listing that parses; on v1, a non-empty collection
listing. Nothing is added, updated or
deleted. Every string here came from the server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from leakmap.services.base import AuthState
from leakmap.services.httpapi import HttpApi, as_dict, as_int, as_list, as_str, quote_path

__all__ = ["ChromaFacts", "ChromaLimits", "CollectionSample", "read_chroma"]


@dataclass(frozen=True, slots=True)
class ChromaLimits:
    max_databases: int = 20
    max_collections: int = 100
    sample_collections: int = 50
    documents_per_collection: int = 20
    max_document_chars: int = 16 * 1024


@dataclass(slots=True)
class CollectionSample:
    tenant: str
    database: str
    name: str
    id: str
    count: int | None = None
    sampled: int = 0
    texts: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ChromaFacts:
    version: str | None = None
    api: str | None = None  # "v2" | "v1"
    identified: bool = False
    auth: AuthState = AuthState.UNKNOWN
    tenant: str | None = None
    databases: list[str] = field(default_factory=list)
    collections: list[CollectionSample] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _heartbeat(body: Any) -> bool:
    return as_int(as_dict(body).get("nanosecond heartbeat")) is not None


def _collections(body: Any) -> list[tuple[str, str, Any]] | None:
    """(id, name, metadata) of a collection listing; None when it is not one."""
    if not isinstance(body, list):
        return None
    out = []
    for item in body:
        c = as_dict(item)
        cid, name = as_str(c.get("id"), 64), as_str(c.get("name"), 512)
        if cid is None or name is None:
            return None
        out.append((cid, name, c.get("metadata")))
    return out


async def read_chroma(
    api: HttpApi, limits: ChromaLimits | None = None, facts: ChromaFacts | None = None
) -> ChromaFacts:
    """What the server shows this caller; never raises for what the server sends."""
    limits = limits or ChromaLimits()
    facts = facts if facts is not None else ChromaFacts()
    for version in ("v2", "v1"):
        beat = await api.get(f"/api/{version}/heartbeat")
        if beat.status == 200 and _heartbeat(beat.body):
            facts.api, facts.identified = version, True
            v = await api.get(f"/api/{version}/version")
            facts.version = as_str(v.body, 64) if v.status == 200 else None
            break
    if facts.api == "v2":
        await _read_v2(api, facts, limits)
    elif facts.api == "v1":
        facts.notes.append("v1 API only (a server before Chroma 0.6)")
        await _read_v1(api, facts, limits)
    return facts


def _add(
    facts: ChromaFacts, limits: ChromaLimits, db: str, found: list[tuple[str, str, Any]]
) -> None:
    for cid, name, meta in found:
        sample = CollectionSample(facts.tenant or "", db, name, cid)
        if isinstance(meta, dict) and meta:
            sample.texts.append(json.dumps(meta)[: limits.max_document_chars])
        facts.collections.append(sample)


def _refused(status: int) -> bool:
    return status in (401, 403)


async def _read_v2(api: HttpApi, facts: ChromaFacts, limits: ChromaLimits) -> None:
    identity = await api.get("/api/v2/auth/identity")
    if _refused(identity.status):
        facts.auth = AuthState.REQUIRED
        return
    tenant = as_str(identity.field("tenant"), 256)
    facts.tenant = "default_tenant" if tenant in (None, "*") else tenant
    base = f"/api/v2/tenants/{quote_path(facts.tenant or '')}/databases"
    dbs = await api.get(base, {"limit": str(limits.max_databases)})
    if _refused(dbs.status):
        facts.auth = AuthState.REQUIRED
        return
    # the proof: databases of the tenant asked for, each naming that tenant (an empty list
    # or a reflected answer proves nothing)
    items = [as_dict(d) for d in as_list(dbs.body)]
    names = [as_str(d.get("name"), 256) for d in items if d.get("tenant") == facts.tenant]
    facts.databases = [n for n in names if n][: limits.max_databases]
    if dbs.status != 200 or not facts.databases:
        facts.notes.append(f"database listing answered {dbs.status or 'nothing usable'}")
        return
    for db in facts.databases:
        if len(facts.collections) >= limits.max_collections:
            break
        url = f"{base}/{quote_path(db)}/collections"
        room = limits.max_collections - len(facts.collections)
        listing = await api.get(url, {"limit": str(room)})
        if _refused(listing.status):
            facts.auth = AuthState.REQUIRED
            return
        found = _collections(listing.body) if listing.status == 200 else None
        if found is None:
            facts.notes.append(f"collection listing answered {listing.status or 'nothing usable'}")
            continue
        facts.auth = AuthState.NONE  # a database listing and a collection listing parsed
        _add(facts, limits, db, found[:room])
    await _sample(api, facts, limits, lambda c: f"{base}/{quote_path(c.database)}/collections")


async def _read_v1(api: HttpApi, facts: ChromaFacts, limits: ChromaLimits) -> None:
    listing = await api.get("/api/v1/collections")
    if _refused(listing.status):
        facts.auth = AuthState.REQUIRED
        return
    found = _collections(listing.body) if listing.status == 200 else None
    if not found:
        # an empty v1 listing is what an auth proxy answering [] gives too: no proof
        facts.notes.append(f"collection listing answered {listing.status or 'nothing usable'}")
        return
    facts.auth = AuthState.NONE
    facts.tenant, facts.databases = "default_tenant", ["default_database"]
    _add(facts, limits, "default_database", found[: limits.max_collections])
    await _sample(api, facts, limits, lambda c: "/api/v1/collections")


async def _sample(api: HttpApi, facts: ChromaFacts, limits: ChromaLimits, base: Any) -> None:
    for n, col in enumerate(facts.collections):
        url = f"{base(col)}/{quote_path(col.id)}"
        count = await api.get(f"{url}/count")
        col.count = as_int(count.body) if count.status == 200 else None
        if n >= limits.sample_collections or col.count == 0:
            continue
        payload = {"limit": limits.documents_per_collection, "include": ["documents", "metadatas"]}
        got = await api.request("POST", f"{url}/get", payload=payload)
        body = as_dict(got.body)
        docs, metas = as_list(body.get("documents")), as_list(body.get("metadatas"))
        col.sampled = len(as_list(body.get("ids")))
        for doc in docs[: limits.documents_per_collection]:
            if isinstance(doc, str) and doc:
                col.texts.append(doc[: limits.max_document_chars])
        for meta in metas[: limits.documents_per_collection]:
            if isinstance(meta, dict) and meta:
                col.texts.append(json.dumps(meta)[: limits.max_document_chars])
