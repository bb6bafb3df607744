"""What leakmap learns from one MongoDB endpoint over OP_MSG, read-only and bounded.

1. **Identity.** ``isMaster`` (every version since 3.6 answers it; ``hello`` is its 4.4.2+
   name) must answer ``ok: 1`` with a boolean ``ismaster``/``isWritablePrimary`` and integer
   ``maxWireVersion``; ``buildInfo`` (allowed before login) gives the version.
2. **Access.** ``listDatabases``: ``none`` only when it answers ``ok: 1`` with a
   ``databases`` list of documents with string names, and ``listCollections`` of a database
   named at random answers with that name in ``cursor.ns`` (a canned reply cannot);
   ``required`` for code 13 (Unauthorized) or 18 (AuthenticationFailed); else ``unknown``.
3. **Collections and sample.** ``listCollections`` per database (system databases
   ``admin``, ``local``, ``config`` are listed but not sampled), ``count`` (metadata, no query)
   per collection, and ``find`` with ``limit``, ``singleBatch`` and ``maxTimeMS``: the first
   documents, names suggesting logs, chats, users and secrets first.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from bson import json_util

from leakmap.services.base import AuthState
from leakmap.services.common.sampling import prioritise
from leakmap.services.mongodb.wire import MongoClient

__all__ = ["Collection", "MongoFacts", "gather", "identify"]

_SYSTEM_DBS = frozenset({"admin", "local", "config"})
_VERSION = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,4}(?:-[0-9A-Za-z.]{1,30})?")


@dataclass(slots=True)
class Collection:
    database: str
    name: str
    count: int | None = None
    texts: list[str] = field(default_factory=list)
    sampled: int | None = None


@dataclass(slots=True)
class MongoFacts:
    auth: AuthState = AuthState.UNKNOWN
    version: str | None = None
    evidence: str = ""
    databases: list[tuple[str, int | None]] = field(default_factory=list)
    collections: list[Collection] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _ok(doc: dict[str, Any]) -> bool:
    return doc.get("ok") in (1, 1.0, True)


def _first_batch(doc: dict[str, Any]) -> list[Any] | None:
    cursor = doc.get("cursor") if _ok(doc) else None
    batch = cursor.get("firstBatch") if isinstance(cursor, dict) else None
    return batch if isinstance(batch, list) else None


def _int(value: object) -> int | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return int(value)
    return None


async def identify(client: MongoClient) -> MongoFacts | None:
    hello = await client.command("admin", {"isMaster": 1})
    primary = hello.get("ismaster", hello.get("isWritablePrimary"))
    if not (
        _ok(hello) and isinstance(primary, bool) and isinstance(hello.get("maxWireVersion"), int)
    ):
        return None
    facts = MongoFacts(evidence=f"isMaster answered (maxWireVersion {hello['maxWireVersion']})")
    build = await client.command("admin", {"buildInfo": 1})
    version = build.get("version")
    if _ok(build) and isinstance(version, str) and _VERSION.fullmatch(version):
        facts.version = version
        facts.evidence += f"; buildInfo {version}"
    return facts


async def gather(
    client: MongoClient,
    facts: MongoFacts,
    *,
    docs_per_collection: int,
    max_collections: int,
    max_sampled: int = 50,
    timeout_ms: int = 5000,
) -> MongoFacts:
    listing = await client.command("admin", {"listDatabases": 1, "nameOnly": False})
    if not _ok(listing):
        code = listing.get("code")
        if code in (13, 18):
            facts.auth = AuthState.REQUIRED
            facts.notes.append(f"listDatabases refused (code {code}): authentication required")
        else:
            facts.notes.append("listDatabases refused: auth state unknown")
        return facts
    dbs = listing.get("databases")
    if not isinstance(dbs, list) or not all(
        isinstance(d, dict) and isinstance(d.get("name"), str) for d in dbs
    ):
        facts.notes.append("listDatabases answer did not have the documented shape")
        return facts
    # a canned reply cannot name a database we chose at random
    probe_db = f"leakmap_probe_{secrets.token_hex(6)}"
    probe = await client.command(probe_db, {"listCollections": 1, "nameOnly": True})
    cursor = probe.get("cursor") if _ok(probe) else None
    if not (isinstance(cursor, dict) and cursor.get("ns") == f"{probe_db}.$cmd.listCollections"):
        facts.notes.append("listCollections of a random database did not name it: auth unknown")
        return facts
    facts.auth = AuthState.NONE
    facts.evidence += f"; listDatabases listed {len(dbs)} databases"
    facts.databases = [(d["name"], _int(d.get("sizeOnDisk"))) for d in dbs]
    for name, _ in facts.databases:
        if len(facts.collections) >= max_collections:
            facts.notes.append(f"collection listing capped at {max_collections}")
            break
        answer = await client.command(
            name, {"listCollections": 1, "nameOnly": True, "authorizedCollections": True}
        )
        batch = _first_batch(answer)
        if batch is None:
            facts.notes.append("listCollections refused or malformed for one database")
            continue
        for item in batch[: max_collections - len(facts.collections)]:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                facts.collections.append(Collection(name, item["name"]))
    order = prioritise(
        (c for c in facts.collections if c.database not in _SYSTEM_DBS),
        name=lambda c: f"{c.database}.{c.name}",
        size=lambda _: None,
    )
    for coll in order[:max_sampled]:
        counted = await client.command(coll.database, {"count": coll.name})
        coll.count = _int(counted.get("n")) if _ok(counted) else None
        found = await client.command(
            coll.database,
            {
                "find": coll.name,
                "limit": docs_per_collection,
                "batchSize": docs_per_collection,
                "singleBatch": True,
                "maxTimeMS": timeout_ms,
            },
        )
        docs = _first_batch(found)
        if docs is not None:
            coll.sampled = len(docs)
            coll.texts = [json_util.dumps(d)[:65536] for d in docs[:docs_per_collection]]
    if len(order) > max_sampled:
        facts.notes.append(f"{max_sampled} of {len(order)} collections sampled")
    return facts
