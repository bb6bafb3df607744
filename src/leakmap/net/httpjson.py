"""One bounded HTTP exchange whose answer is JSON: the shape HTTP-JSON plugins share.

:func:`fetch_json` sends one request through :func:`~leakmap.net.bounded.fetch_bounded`
(bounded bytes and time, nothing decompressed) and parses the body when it arrived whole.
A body cut at the byte limit, or one that is not JSON, gives ``body=None`` - never a partial
object, so a caller cannot mistake half a listing for a whole one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from leakmap.net.bounded import fetch_bounded

__all__ = ["JsonAnswer", "fetch_json"]


@dataclass(frozen=True, slots=True)
class JsonAnswer:
    """``status``, the parsed ``body`` (None: cut short or not JSON), ``truncated``, headers."""

    status: int
    body: Any
    truncated: bool = False
    headers: httpx.Headers | None = None
    size: int = 0

    def field(self, *path: str) -> Any:
        """``body[path[0]][path[1]]...`` or None when any step is missing or not an object."""
        value = self.body
        for key in path:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return value


async def fetch_json(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    limit: int,
    timeout: float,
    payload: Any = None,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JsonAnswer:
    """One request with an optional JSON ``payload``; the answer parsed when complete."""
    sent = {"Accept": "application/json", **(headers or {})}
    if payload is not None:
        sent.setdefault("Content-Type", "application/json")
    resp = await fetch_bounded(
        client,
        method,
        url,
        params=params,
        content=None if payload is None else json.dumps(payload),
        headers=sent,
        limit=limit,
        timeout=timeout,
        allow_truncate=True,
    )
    body: Any = None
    if not resp.truncated:
        try:
            body = json.loads(resp.body)
        except (ValueError, RecursionError):
            body = None
    return JsonAnswer(resp.status, body, resp.truncated, resp.headers, len(resp.body))
