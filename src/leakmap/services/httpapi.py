"""A bounded session with one HTTP JSON API: the reading side the HTTP service plugins share.

:class:`HttpApi` wraps an ``httpx.AsyncClient`` (from :meth:`leakmap.net.bounded.Network.
http_client`) with the limits a plugin keeps against a hostile server: bytes and seconds per
request, a request count and a byte total per endpoint. Every answer goes through
:func:`leakmap.net.httpjson.fetch_json` (nothing decompressed, a body cut at the limit is never
parsed). Transport failures, timeouts and a spent budget are an answer with ``status`` 0 and
no body - the caller's "could not tell", never an exception.

Example::

    api = HttpApi(client, limit=1 << 20, timeout=5.0)
    answer = await api.get("/api/status")
    if answer.status == 200 and isinstance(answer.body, dict): ...
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from leakmap.errors import ProbeError
from leakmap.net.bounded import BoundedResponse, fetch_bounded
from leakmap.net.httpjson import JsonAnswer, fetch_json

__all__ = ["FAILED", "HttpApi", "as_dict", "as_int", "as_list", "as_str", "quote_path"]

#: the answer for a request that failed, timed out or was not sent (budget spent)
FAILED = JsonAnswer(status=0, body=None)


def quote_path(path: str) -> str:
    """A server-given path made safe for a URL path (``/`` kept, everything else escaped)."""
    return quote(path, safe="/")


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: Any, limit: int = 256) -> str | None:
    """``value`` when it is a string (cut to ``limit`` characters), else None."""
    return value[:limit] if isinstance(value, str) else None


def as_int(value: Any) -> int | None:
    """``value`` when it is an int (not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class HttpApi:
    """GET/POST JSON on one base URL within per-request and per-endpoint bounds.

    ``limit``/``timeout``: bytes and seconds per request; ``max_requests`` and
    ``max_total_bytes``: for the whole session. ``headers`` go with every request.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        limit: int,
        timeout: float,
        max_requests: int = 200,
        max_total_bytes: int = 32 * 1024 * 1024,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.client = client
        self.limit = limit
        self.timeout = timeout
        self.max_requests = max_requests
        self.max_total_bytes = max_total_bytes
        self.headers = dict(headers or {})
        self.requests = 0
        self.bytes_read = 0
        self.failures = 0

    @property
    def exhausted(self) -> bool:
        return self.requests >= self.max_requests or self.bytes_read >= self.max_total_bytes

    def _room(self, limit: int | None) -> int:
        return max(0, min(limit or self.limit, self.max_total_bytes - self.bytes_read))

    async def get(
        self, path: str, params: Mapping[str, str] | None = None, *, limit: int | None = None
    ) -> JsonAnswer:
        return await self.request("GET", path, params=params, limit=limit)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        payload: Any = None,
        limit: int | None = None,
    ) -> JsonAnswer:
        """One JSON exchange; ``FAILED`` on any transport problem or a spent budget."""
        room = self._room(limit)
        if self.exhausted or room <= 0:
            return FAILED
        self.requests += 1
        try:
            answer = await fetch_json(
                self.client,
                method,
                path,
                limit=room,
                timeout=self.timeout,
                payload=payload,
                params=params,
                headers=self.headers,
            )
        except (httpx.HTTPError, TimeoutError, ProbeError, OSError, ValueError):
            self.failures += 1
            return FAILED
        self.bytes_read += answer.size
        return answer

    async def text(
        self, path: str, params: Mapping[str, str] | None = None, *, limit: int | None = None
    ) -> BoundedResponse | None:
        """A raw bounded GET (a page, a plain-text version); None on failure. Cut bodies come
        back with ``truncated`` set."""
        room = self._room(limit)
        if self.exhausted or room <= 0:
            return None
        self.requests += 1
        resp: BoundedResponse | None = None
        with contextlib.suppress(httpx.HTTPError, TimeoutError, ProbeError, OSError, ValueError):
            resp = await fetch_bounded(
                self.client,
                "GET",
                path,
                params=params,
                headers=self.headers,
                limit=room,
                timeout=self.timeout,
                allow_truncate=True,
            )
        if resp is None:
            self.failures += 1
            return None
        self.bytes_read += len(resp.body)
        return resp
