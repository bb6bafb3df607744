"""fetch_bounded: byte limits, no decompression (bombs stay small), slowloris hits the deadline."""

from __future__ import annotations

import asyncio
import gzip

import httpx
import pytest

from leakmap.errors import ResponseTooLarge
from leakmap.net.bounded import Network, fetch_bounded

BOMB = gzip.compress(b"\x00" * (64 * 1024 * 1024), compresslevel=9)  # 64 MiB -> ~64 KiB


def _client(handler: httpx.MockTransport) -> httpx.AsyncClient:
    """A client over a recorded-answer transport (MockTransport)."""
    return Network(http_transport=handler).http_client()


async def test_gzip_bomb_is_never_inflated() -> None:
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.read(4096))
        head = f"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {len(BOMB)}\r\n\r\n"
        writer.write(head.encode() + BOMB)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.20.9", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, Network().http_client() as client:
        resp = await fetch_bounded(
            client, "GET", f"http://127.0.20.9:{port}/", limit=1024 * 1024, timeout=5
        )
    assert b"accept-encoding: identity" in seen[0].lower()
    assert resp.body == BOMB  # the compressed bytes, never inflated to 64 MiB


@pytest.mark.parametrize(("allow", "size"), [(True, 1000), (False, None)])
async def test_limit(allow: bool, size: int | None) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"x" * 5000)

    async with _client(httpx.MockTransport(handler)) as client:
        if allow:
            resp = await fetch_bounded(
                client, "GET", "http://127.0.20.9/", limit=1000, timeout=5, allow_truncate=True
            )
            assert len(resp.body) == size and resp.truncated
        else:
            with pytest.raises(ResponseTooLarge):
                await fetch_bounded(client, "GET", "http://127.0.20.9/", limit=1000, timeout=5)


async def test_slowloris_hits_the_deadline() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(4096)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        try:
            for _ in range(1000):
                writer.write(b"x")
                await writer.drain()
                await asyncio.sleep(0.05)
        except (ConnectionError, OSError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.20.9", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, Network(read_timeout=5).http_client() as client:
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(TimeoutError):
            await fetch_bounded(
                client, "GET", f"http://127.0.20.9:{port}/", limit=10**6, timeout=0.5
            )
        assert loop.time() - start < 2
