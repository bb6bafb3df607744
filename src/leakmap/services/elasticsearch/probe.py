"""What leakmap learns from one Elasticsearch / OpenSearch endpoint, read-only.

1. **Identity and access.** ``GET /`` must answer 200 with the documented cluster-info
   document (``version.number``, and the tagline ``You Know, for Search`` or the
   ``opensearch`` distribution); ``required`` for 401 from the security layer (Elasticsearch's
   ``security_exception`` body, OpenSearch Security's ``WWW-Authenticate`` realm); a login page,
   a 200 with anything else, or a body cut short is not identified. Auth ``none`` then needs
   a search of a randomly named index to come back as 404 ``index_not_found_exception``
   naming that index: a reflector sending one canned document cannot.
2. **Indices.** ``_cat/indices?format=json`` with document counts and sizes; a listing cut at
   the byte limit is reported as cut, never as complete. Indices whose names start with ``.``
   (system and security indices) are listed but not sampled.
3. **Sample.** ``GET /{index}/_search?size=N``: the ``_source`` of the hits, names suggesting
   logs, chats, users and secrets first.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field

from leakmap.net.httpjson import JsonAnswer
from leakmap.services.base import AuthState
from leakmap.services.common.sampling import prioritise
from leakmap.services.elasticsearch.client import (
    EsClient,
    IndexInfo,
    parse_cat_indices,
    parse_cluster_info,
    safe_index_path,
)

__all__ = ["EsFacts", "gather", "identify", "prove_open"]


@dataclass(slots=True)
class EsFacts:
    auth: AuthState = AuthState.UNKNOWN
    version: str | None = None
    distribution: str | None = None
    evidence: str = ""
    indices: list[IndexInfo] = field(default_factory=list)
    listing_complete: bool = False
    samples: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _security_401(answer: JsonAnswer) -> str | None:
    """Which security layer sent this 401, or None when it is not recognisably one."""
    if answer.status != 401:
        return None
    realm = answer.headers.get("www-authenticate", "") if answer.headers is not None else ""
    error = answer.field("error")
    kind = error.get("type") if isinstance(error, dict) else None
    if kind == "security_exception":
        return "elasticsearch"
    if "OpenSearch Security" in realm or "opendistro" in realm.lower():
        return "opensearch"
    if 'realm="security"' in realm and kind is not None:
        return "elasticsearch"
    return None


async def identify(es: EsClient) -> EsFacts | None:
    answer = await es.info()
    info = parse_cluster_info(answer.body) if answer.status == 200 else None
    if info is not None:
        return EsFacts(
            version=f"{info.distribution} {info.version}",
            distribution=info.distribution,
            evidence=f"GET / cluster info: {info.distribution} {info.version}",
        )
    layer = _security_401(answer)
    if layer is not None:
        return EsFacts(
            auth=AuthState.REQUIRED,
            distribution=layer,
            evidence=f"401 from the {layer} security layer",
            notes=["the security layer refuses anonymous requests"],
        )
    return None


async def prove_open(es: EsClient, facts: EsFacts) -> bool:
    """Auth ``none`` only on an answer a fixed reply cannot give: a search of an index named
    at random must come back as 404 ``index_not_found_exception`` naming that index."""
    name = f"leakmap-probe-{secrets.token_hex(6)}"
    answer = await es.search(name, 0)
    error = answer.field("error")
    if (
        answer.status == 404
        and isinstance(error, dict)
        and error.get("type") == "index_not_found_exception"
        and error.get("index") == name
    ):
        facts.auth = AuthState.NONE
        facts.evidence += "; a random index was reported missing by name"
        return True
    if _security_401(answer) is not None or answer.status == 403:
        facts.auth = AuthState.REQUIRED if answer.status == 401 else AuthState.UNKNOWN
        facts.notes.append(f"searching was refused (HTTP {answer.status})")
    else:
        facts.notes.append("the open-access check gave no conclusive answer: auth unknown")
    return False


def _hits(body: object) -> list[object] | None:
    if not isinstance(body, dict):
        return None
    hits = body.get("hits")
    inner = hits.get("hits") if isinstance(hits, dict) else None
    return inner if isinstance(inner, list) else None


async def gather(
    es: EsClient, facts: EsFacts, *, docs_per_index: int, max_indices: int, max_sampled: int = 50
) -> EsFacts:
    listing = await es.cat_indices()
    if listing.status != 200:
        facts.notes.append(f"_cat/indices answered HTTP {listing.status}: indices not listed")
        return facts
    rows = parse_cat_indices(listing.body, max_indices)
    if rows is None:
        facts.notes.append("_cat/indices was cut at the byte limit or did not parse")
        return facts
    facts.indices = rows
    facts.listing_complete = isinstance(listing.body, list) and len(listing.body) <= max_indices
    if not facts.listing_complete:
        facts.notes.append(f"index listing capped at {max_indices}")
    order = prioritise(
        (i for i in rows if not i.name.startswith(".")),
        name=lambda i: i.name,
        size=lambda i: i.docs,
    )
    for index in order[:max_sampled]:
        path = safe_index_path(index.name)
        if path is None or not index.docs:
            continue
        answer = await es.search(path, docs_per_index)
        hits = _hits(answer.body) if answer.status == 200 else None
        if hits is None:
            continue
        texts: list[str] = []
        for hit in hits[:docs_per_index]:
            source = hit.get("_source") if isinstance(hit, dict) else None
            if source is not None:
                # one JSON cell per document: the shared classifier reads its leaves
                texts.append(json.dumps(source, ensure_ascii=False)[:65536])
        facts.samples[index.name] = texts
    if len(order) > max_sampled:
        facts.notes.append(f"{max_sampled} of {len(order)} indices sampled")
    return facts
