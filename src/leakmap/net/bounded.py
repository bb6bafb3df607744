"""The swappable network layer under every probe, and bounded reads.

Probes never call ``asyncio.open_connection`` or build an ``httpx.AsyncClient`` themselves:
they ask :class:`Network`, so tests can swap the transport (``httpx.MockTransport``) or the
TCP opener, and every read is limited in bytes and time.

It is also where scope is enforced: with :attr:`Network.scope` set (the pipeline sets it to
"a port the port scan found open among the targets and ports the user gave"), a TCP
connection or HTTP request to any other address or port is refused before a packet is sent
(``ConnectionRefusedError`` / ``httpx.ConnectError``) - whatever a plugin, a redirect, a DNS
answer or a "same server, other port" shortcut asks for.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from leakmap.errors import ResponseTooLarge
from leakmap.net.rate import RateLimiter

__all__ = [
    "BoundedResponse",
    "Network",
    "Scope",
    "TcpOpener",
    "fetch_bounded",
    "insecure_tls_context",
    "read_bounded",
]

TcpOpener = Callable[..., Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]
#: ``scope(ip, port)``: may the scan connect there?
Scope = Callable[[str, int], bool]


def insecure_tls_context() -> ssl.SSLContext:
    """A TLS context for fingerprinting: we look at what a server exposes, we do not trust it.

    No CA store is loaded, since nothing is verified: ``ssl.create_default_context()`` reads the
    system's certificates on every call (~30-70 ms of CPU that blocks the event loop; a
    hostile-suite scan spent 5.7 s of its 13 s there). Otherwise the same context (TLS client
    protocol, the library's default options)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def read_bounded(
    reader: asyncio.StreamReader, limit: int, timeout: float, *, until_eof: bool = False
) -> bytes:
    """Read what is available (or until EOF) within ``timeout`` seconds and ``limit`` bytes.

    Without ``until_eof`` it returns after the first chunk. Raises ResponseTooLarge past
    ``limit`` and TimeoutError when nothing arrived in time.
    """
    buf = bytearray()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            if buf:
                return bytes(buf)
            raise TimeoutError("no data before the deadline")
        try:
            chunk = await asyncio.wait_for(reader.read(65536), remaining)
        except TimeoutError:
            if buf:
                return bytes(buf)
            raise
        if not chunk:
            return bytes(buf)
        buf += chunk
        if len(buf) > limit:
            raise ResponseTooLarge(f"response exceeded {limit} bytes")
        if not until_eof:
            return bytes(buf)


@dataclass(frozen=True, slots=True)
class BoundedResponse:
    """An HTTP answer read with limits: ``body`` is at most the byte limit;
    ``truncated`` says the server had more (only with ``allow_truncate``)."""

    status: int
    headers: httpx.Headers
    body: bytes
    truncated: bool = False

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


async def _chunks(data: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def fetch_bounded(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    limit: int,
    timeout: float,
    params: Mapping[str, str] | None = None,
    content: bytes | str | None = None,
    headers: Mapping[str, str] | None = None,
    allow_truncate: bool = False,
) -> BoundedResponse:
    """One HTTP request whose whole exchange is bounded in time and body bytes.

    We ask for ``Accept-Encoding: identity`` and read the raw body: nothing is ever
    decompressed, so a compression bomb is just ``limit`` bytes of noise. The body is
    streamed and counted as it arrives. Past ``limit``: with ``allow_truncate`` the first
    ``limit`` bytes come back with ``truncated=True``, else ResponseTooLarge. A server that
    dribbles bytes (slowloris) hits ``timeout`` for the whole exchange: TimeoutError.
    httpx errors (connect, protocol) propagate as httpx.HTTPError.
    """
    buf = bytearray()
    truncated = False
    sent_headers = {"Accept-Encoding": "identity", **(headers or {})}
    async with asyncio.timeout(timeout):
        async with client.stream(
            method, url, params=params, content=content, headers=sent_headers
        ) as resp:
            # a body the transport already read into memory (httpx.MockTransport in tests)
            # is replayed from memory; a real one is read raw, chunk by chunk
            chunks = _chunks(resp.content) if resp.is_stream_consumed else resp.aiter_raw()
            async for chunk in chunks:
                room = limit - len(buf)
                if len(chunk) > room:
                    if not allow_truncate:
                        raise ResponseTooLarge(f"response exceeded {limit} bytes")
                    buf += chunk[:room]
                    truncated = True
                    break
                buf += chunk
            return BoundedResponse(resp.status_code, resp.headers, bytes(buf), truncated)


@dataclass(slots=True)
class Network:
    """Opens TCP connections and HTTP clients with the scan's limits.

    ``http_transport`` and ``tcp_opener`` are the seams tests swap.
    """

    connect_timeout: float = 2.0
    read_timeout: float = 5.0
    max_response_bytes: int = 4 * 1024 * 1024
    user_agent: str = "leakmap/0.1 (read-only exposure scanner)"
    http_transport: httpx.AsyncBaseTransport | None = None
    tcp_opener: TcpOpener | None = None
    #: None: anywhere (a plugin test); else only where ``scope(ip, port)`` is true
    scope: Scope | None = None
    #: the scan's new-connection budget (``--rate``), awaited before every connection
    limiter: RateLimiter | None = None

    def check_scope(self, ip: str, port: int) -> None:
        """Raise ConnectionRefusedError when ``ip:port`` is outside the scan's scope."""
        if self.scope is not None and not self.scope(ip, port):
            raise ConnectionRefusedError(f"{ip}:{port} is outside the scan's scope: not contacted")

    async def open_tcp(
        self, ip: str, port: int, *, tls: bool = False, server_hostname: str | None = None
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Connect within ``connect_timeout``; TLS without certificate checks when asked."""
        self.check_scope(ip, port)
        if self.limiter is not None:
            await self.limiter.acquire()
        opener = self.tcp_opener or asyncio.open_connection
        kwargs: dict[str, Any] = {}
        if tls:
            kwargs["ssl"] = insecure_tls_context()
            kwargs["server_hostname"] = server_hostname or ip
        return await asyncio.wait_for(opener(ip, port, **kwargs), self.connect_timeout)

    def http_client(self, *, base_url: str = "") -> httpx.AsyncClient:
        """An AsyncClient with the scan's timeouts, no redirects followed, no env proxies."""
        timeout = httpx.Timeout(self.read_timeout, connect=self.connect_timeout)
        headers = {"User-Agent": self.user_agent}
        transport = self.http_transport or httpx.AsyncHTTPTransport(
            verify=insecure_tls_context(), trust_env=False
        )
        return httpx.AsyncClient(
            base_url=base_url,
            transport=_ScopedTransport(transport, self),
            timeout=timeout,
            headers=headers,
            follow_redirects=False,
            trust_env=False,
        )


_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(slots=True)
class _ScopedTransport(httpx.AsyncBaseTransport):
    """Refuses a request whose URL is outside the network's scope, before connecting."""

    inner: httpx.AsyncBaseTransport
    network: Network

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        port = url.port or _DEFAULT_PORTS.get(url.scheme, 0)
        try:
            self.network.check_scope(url.host, port)
        except ConnectionRefusedError as exc:
            raise httpx.ConnectError(str(exc), request=request) from None
        if self.network.limiter is not None:
            await self.network.limiter.acquire()
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()
