"""etcd's v3 gRPC-JSON gateway over HTTP(S), read through the bounded network layer.

Requests it makes (all reads; keys and range ends are base64 in the JSON body)::

    GET  /version                       {"etcdserver": "3.4.23", "etcdcluster": "3.4.0"}
    POST /v3/kv/range {"key": "AA==", "range_end": "AA==", "count_only": true}
    POST /v3/kv/range {"key": "AA==", "range_end": "AA==", "limit": 50}
    POST /v3/auth/authenticate {"name": ..., "password": ...}   (--try-default-credentials)

The auth token goes in the ``Authorization`` header as it is (no ``Bearer``). A gateway of
3.3 and older lives under ``/v3beta`` or ``/v3alpha``: :class:`EtcdGateway` tries ``/v3``
first and falls back when that path answers 404.

Answers that tell the access state (3.4 shown)::

    400 {"error": "etcdserver: user name is empty", "code": 3}         auth on, no token
    401 {"error": "etcdserver: invalid auth token", "code": 16}        auth on, bad token
    200 {"header": {"cluster_id": "...", "revision": "2"}, "count": "1"}  open
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import httpx

from leakmap.errors import ProtocolError
from leakmap.net.httpjson import JsonAnswer, fetch_json

__all__ = [
    "EtcdGateway",
    "KeyValue",
    "RangeResult",
    "b64",
    "error_code",
    "parse_range",
    "prefix_end",
]

_API_PREFIXES = ("/v3", "/v3beta", "/v3alpha")


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def prefix_end(prefix: bytes) -> bytes:
    """The range end that covers every key starting with ``prefix`` (etcd's rule)."""
    end = bytearray(prefix)
    for i in range(len(end) - 1, -1, -1):
        if end[i] < 0xFF:
            end[i] += 1
            return bytes(end[: i + 1])
    return b"\x00"


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: bytes
    value: bytes | None


@dataclass(frozen=True, slots=True)
class RangeResult:
    """A range answer that parsed: the documented header (cluster id, revision) was there."""

    count: int
    kvs: tuple[KeyValue, ...]
    more: bool
    revision: int


def error_code(answer: JsonAnswer) -> int | None:
    """The gRPC status code in an error answer (``{"code": 3, ...}``), if any."""
    code = answer.field("code")
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def _int_field(value: object) -> int | None:
    # int64 fields come as decimal strings in the JSON gateway
    # uint64 ids have up to 20 digits; isascii: str.isdigit() also takes '¹'
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _b64_field(value: object) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        return None


def parse_range(body: Any) -> RangeResult:
    """A /v3/kv/range answer; ProtocolError unless it has the documented shape."""
    if not isinstance(body, dict):
        raise ProtocolError("range answer is not an object")
    header = body.get("header")
    if not isinstance(header, dict):
        raise ProtocolError("range answer without a header")
    revision = _int_field(header.get("revision"))
    if revision is None or _int_field(header.get("cluster_id")) is None:
        raise ProtocolError("range header without cluster_id/revision")
    count = _int_field(body.get("count", "0"))
    if count is None:
        raise ProtocolError("range count is not a number")
    raw_kvs = body.get("kvs", [])
    if not isinstance(raw_kvs, list):
        raise ProtocolError("kvs is not a list")
    kvs = []
    for item in raw_kvs:
        if not isinstance(item, dict):
            raise ProtocolError("a kv is not an object")
        key = _b64_field(item.get("key"))
        if key is None:
            raise ProtocolError("a key is not base64")
        value = _b64_field(item["value"]) if "value" in item else None
        kvs.append(KeyValue(key, value))
    return RangeResult(count, tuple(kvs), body.get("more") is True, revision)


@dataclass(slots=True)
class EtcdGateway:
    """Reads from one etcd endpoint (``base_url`` like ``http://127.0.0.1:2379``)."""

    client: httpx.AsyncClient
    base_url: str
    limit: int
    timeout: float
    token: str | None = None
    api: str = "/v3"
    sent: list[str] = field(default_factory=list)

    async def _request(self, method: str, path: str, payload: Any = None) -> JsonAnswer:
        headers = {} if self.token is None else {"Authorization": self.token}  # no "Bearer"
        self.sent.append(path)
        return await fetch_json(
            self.client,
            method,
            self.base_url + path,
            payload=payload,
            headers=headers,
            limit=self.limit,
            timeout=self.timeout,
        )

    async def version(self) -> JsonAnswer:
        return await self._request("GET", "/version")

    async def range(
        self,
        key: bytes,
        range_end: bytes | None = None,
        *,
        limit: int | None = None,
        count_only: bool = False,
        keys_only: bool = False,
    ) -> JsonAnswer:
        """POST {api}/kv/range; on the first call a 404 makes it try the older API paths."""
        payload: dict[str, Any] = {"key": b64(key)}
        if range_end is not None:
            payload["range_end"] = b64(range_end)
        if limit is not None:
            payload["limit"] = limit
        if count_only:
            payload["count_only"] = True
        if keys_only:
            payload["keys_only"] = True
        answer = await self._request("POST", self.api + "/kv/range", payload)
        if answer.status == 404 and self.api == _API_PREFIXES[0]:
            for api in _API_PREFIXES[1:]:
                retry = await self._request("POST", api + "/kv/range", payload)
                if retry.status != 404:
                    self.api = api
                    return retry
        return answer

    async def authenticate(self, name: str, password: str) -> str | None:
        """A token for ``name``/``password``, or None when refused."""
        answer = await self._request(
            "POST", self.api + "/auth/authenticate", {"name": name, "password": password}
        )
        if answer.status == 200 and isinstance(answer.body, dict):
            token = answer.body.get("token")
            if isinstance(token, str) and 0 < len(token) < 4096 and token.isprintable():
                return token
        return None
