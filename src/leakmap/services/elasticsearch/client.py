"""Elasticsearch / OpenSearch REST reads, bounded (via :func:`~leakmap.net.httpjson.fetch_json`).

Requests it makes, all ``GET`` (reads by HTTP semantics and by the servers' own docs)::

    GET /                                       cluster info: name, version.number,
                                                version.distribution ("opensearch"), tagline
    GET /_cat/indices?format=json&bytes=b&h=index,docs.count,store.size,health,status
    GET /{index}/_search?size=N&timeout=5s      a bounded document sample (hits.hits[]._source)

Index names come from the server: they are percent-encoded into the path, and names that
would change the path (``/``, ``..``, control characters) are never requested.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from leakmap.net.httpjson import JsonAnswer, fetch_json

__all__ = ["ClusterInfo", "EsClient", "IndexInfo", "parse_cat_indices", "parse_cluster_info"]


@dataclass(frozen=True, slots=True)
class ClusterInfo:
    """``GET /`` that parsed: the documented ``version.number`` is a version string."""

    version: str
    distribution: str  # "elasticsearch" or "opensearch"
    cluster_name: str | None
    build_flavor: str | None


@dataclass(frozen=True, slots=True)
class IndexInfo:
    name: str
    docs: int | None
    size_bytes: int | None


def _num(value: object) -> int | None:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 20:
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _is_version(text: object) -> bool:
    if not isinstance(text, str) or not 3 <= len(text) <= 40:
        return False
    head = text.split("-", 1)[0].split(".")
    return len(head) >= 2 and all(p.isdigit() for p in head)


def parse_cluster_info(body: Any) -> ClusterInfo | None:
    """The cluster-info document, or None unless it has the documented shape."""
    if not isinstance(body, dict):
        return None
    version = body.get("version")
    if not isinstance(version, dict) or not _is_version(version.get("number")):
        return None
    tagline = body.get("tagline")
    dist = version.get("distribution")
    if dist == "opensearch" or (isinstance(tagline, str) and "OpenSearch" in tagline):
        distribution = "opensearch"
    elif tagline == "You Know, for Search":
        distribution = "elasticsearch"
    else:
        return None
    name = body.get("cluster_name")
    flavor = version.get("build_flavor")
    return ClusterInfo(
        version=version["number"],
        distribution=distribution,
        cluster_name=name if isinstance(name, str) else None,
        build_flavor=flavor if isinstance(flavor, str) else None,
    )


def parse_cat_indices(body: Any, max_indices: int) -> list[IndexInfo] | None:
    """``_cat/indices?format=json`` rows, or None unless every row has a string ``index``."""
    if not isinstance(body, list):
        return None
    out = []
    for row in body[:max_indices]:
        if not isinstance(row, dict) or not isinstance(row.get("index"), str):
            return None
        out.append(
            IndexInfo(row["index"], _num(row.get("docs.count")), _num(row.get("store.size")))
        )
    return out


def safe_index_path(name: str) -> str | None:
    """The percent-encoded path segment for an index name, or None for a name we will not use."""
    if not name or len(name) > 255 or name in (".", "..") or not name.isprintable():
        return None
    if any(c in name for c in "/\\?#*,"):
        return None
    return quote(name, safe="")


@dataclass(slots=True)
class EsClient:
    client: httpx.AsyncClient
    base_url: str
    limit: int
    timeout: float
    headers: dict[str, str] = field(default_factory=dict)
    sent: list[str] = field(default_factory=list)

    async def get(self, path: str, params: dict[str, str] | None = None) -> JsonAnswer:
        self.sent.append(path)
        return await fetch_json(
            self.client,
            "GET",
            self.base_url + path,
            params=params,
            headers=self.headers,
            limit=self.limit,
            timeout=self.timeout,
        )

    async def info(self) -> JsonAnswer:
        return await self.get("/")

    async def cat_indices(self) -> JsonAnswer:
        return await self.get(
            "/_cat/indices",
            {"format": "json", "bytes": "b", "h": "index,docs.count,store.size,health,status"},
        )

    async def search(self, index_path: str, size: int) -> JsonAnswer:
        return await self.get(
            f"/{index_path}/_search", {"size": str(size), "timeout": f"{int(self.timeout)}s"}
        )
