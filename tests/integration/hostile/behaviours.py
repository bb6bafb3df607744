"""Hostile server behaviours: each one a small asyncio handler, run by :class:`~.fleet.Fleet`.

Every behaviour listens on the port the service it imitates uses, so the matching plugin
tries it first. ``lookalike`` behaviours answer quickly and plausibly (reflectors, bombs with
the right headers, login pages): the repeated-run test scans those many times. None of them
is a faithful fake of a working server: a scanner that calls one of them open is wrong.

Handlers are written for the scanner's side of the exchange only; they never connect out.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import struct
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from leakmap.services.clickhouse.native import encode_string, encode_uvarint

from .fleet import Env, Handler, TlsKind

__all__ = ["BEHAVIOURS", "Behaviour", "by_protocol", "warm"]

FOREVER = 3600.0
CH_HEADERS = (
    ("X-ClickHouse-Summary", '{"read_rows":"0","read_bytes":"0"}'),
    ("X-ClickHouse-Format", "TabSeparated"),
    ("X-ClickHouse-Timezone", "UTC"),
    ("X-ClickHouse-Query-Id", "hostile"),
    ("X-ClickHouse-Server-Display-Name", "hostile"),
)
#: Control characters, a terminal title and clear-screen sequence, HTML and invalid UTF-8.
NASTY = (
    b"\x1b]0;owned\x07\x1b[2J\x1b[31m<script>alert(1)</script><img src=x onerror=alert(2)>"
    b"\xff\xfe\x00\x08\x9b"
)


@dataclass(frozen=True, slots=True)
class Behaviour:
    name: str
    protocol: str
    port: int
    handler: Handler
    tls: TlsKind | None = None
    lookalike: bool = False
    doc: str = ""


# ------------------------------------------------------------------------------ helpers


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """One HTTP/1.1 request (headers and a Content-Length body up to 1 MiB); None at EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    method, path = [*parts, "", ""][:2]
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        if key:
            headers[key.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    body = await reader.readexactly(min(length, 1 << 20)) if length else b""
    return Request(method, path, headers, body)


def response_head(
    status: int, headers: tuple[tuple[str, str], ...] = (), *, length: int | None = None
) -> bytes:
    lines = [f"HTTP/1.1 {status} {'OK' if status < 300 else 'Hostile'}"]
    lines += [f"{k}: {v}" for k, v in headers]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def response(status: int, body: bytes, headers: tuple[tuple[str, str], ...] = ()) -> bytes:
    return response_head(status, headers, length=len(body)) + body


async def serve_requests(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    answer: Callable[[Request], bytes],
) -> None:
    """Answer every request on the connection with ``answer(request)`` (keep-alive)."""
    while (req := await read_request(reader)) is not None:
        writer.write(answer(req))
        await writer.drain()


async def endless(writer: asyncio.StreamWriter, chunks: AsyncIterator[bytes] | bytes) -> None:
    """Write forever (at the pace the client reads)."""
    while True:
        if isinstance(chunks, bytes):
            writer.write(chunks)
        else:
            writer.write(await anext(chunks))
        await writer.drain()


async def drip(writer: asyncio.StreamWriter, data: bytes, interval: float = 1.0) -> None:
    """One byte every ``interval`` seconds (below a 2 s read timeout), then forever more."""
    i = 0
    while True:
        writer.write(data[i % len(data) : i % len(data) + 1])
        await writer.drain()
        i += 1
        await asyncio.sleep(interval)


async def hold(reader: asyncio.StreamReader) -> None:
    """Keep the connection open, reading and dropping whatever comes, until the client leaves."""
    while await reader.read(65536):
        pass


@functools.cache
def bomb(kind: str) -> bytes:
    """Compressed zeros: gzip 512 MiB (~0.5 MB), zstd and brotli 1 GiB (a few KB)."""
    zero = bytes(1 << 20)
    if kind == "gzip":
        c = zlib.compressobj(9, zlib.DEFLATED, 31)
        return b"".join(c.compress(zero) for _ in range(512)) + c.flush()
    if kind == "zstd":
        import zstandard

        z = zstandard.ZstdCompressor(level=3).compressobj()
        return b"".join(z.compress(zero) for _ in range(1024)) + z.flush()
    import brotli

    b = brotli.Compressor(quality=5)
    out: bytes = b"".join(b.process(zero) for _ in range(1024)) + b.finish()
    return out


# ------------------------------------------------------------------------------ generic / HTTP


async def tarpit(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, env: Env) -> None:
    """Accept, read everything, never answer."""
    await hold(reader)


async def ch_http_drip(r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env) -> None:
    await read_request(r)
    head = response_head(200, CH_HEADERS, length=2)
    await drip(w, head + b"1\n")


async def ch_http_endless_body(r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env) -> None:
    await read_request(r)
    w.write(response_head(200, (*CH_HEADERS, ("Connection", "close"))))
    await endless(w, b"18.16.1\n" * 8192)


async def _chunks() -> AsyncIterator[bytes]:
    piece = b"1\t2\t3\n" * 4000
    frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    while True:
        yield frame


async def ch_http_endless_chunked(
    r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env
) -> None:
    await read_request(r)
    w.write(response_head(200, (*CH_HEADERS, ("Transfer-Encoding", "chunked"))))
    await endless(w, _chunks())


def _bomb_handler(kind: str) -> Handler:
    encoding = {"gzip": "gzip", "zstd": "zstd", "brotli": "br"}[kind]

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env) -> None:
        body = bomb(kind)
        headers = (*CH_HEADERS, ("Content-Encoding", encoding))
        await serve_requests(r, w, lambda req: response(200, body, headers))

    handler.__doc__ = f"ClickHouse headers and a {kind} bomb to every request"
    return handler


async def ch_http_2gb_length(r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env) -> None:
    await read_request(r)
    w.write(response_head(200, CH_HEADERS, length=2 * 1024**3) + b"1\n" * 32768)
    await w.drain()
    await hold(r)


async def ch_http_redirect_loop(r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env) -> None:
    await serve_requests(
        r, w, lambda req: response(307, b"", (*CH_HEADERS, ("Location", req.path or "/")))
    )


async def ch_http_redirect_offhost(
    r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env
) -> None:
    await serve_requests(
        r, w, lambda req: response(307, b"", (*CH_HEADERS, ("Location", env.sink.url)))
    )


def _fixed(
    status: int, body: bytes | Callable[[], bytes], headers: tuple[tuple[str, str], ...]
) -> Handler:
    """The same answer to every request (``body`` may be a function, made on first use)."""

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env) -> None:
        data = body if isinstance(body, bytes) else body()
        await serve_requests(r, w, lambda req: response(status, data, headers))

    return handler


async def ch_http_echo(r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env) -> None:
    await serve_requests(r, w, lambda req: response(200, req.body + b"\n", CH_HEADERS))


@functools.cache
def _ch_exception_body() -> bytes:
    text = b"Code: 1002, e.displayText() = DB::Exception: " + NASTY
    return text + b"x" * (10 * 1024 * 1024) + NASTY


async def ch_http_exception_flood(
    r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env
) -> None:
    body = _ch_exception_body()
    headers = (*CH_HEADERS, ("X-ClickHouse-Exception-Code", "1002"))
    await serve_requests(r, w, lambda req: response(500, body, headers))


# ------------------------------------------------------------------------------ native


def _hello(revision: int = 54405) -> bytes:
    return (
        encode_uvarint(0)
        + encode_string("ClickHouse")
        + encode_uvarint(18)
        + encode_uvarint(16)
        + encode_uvarint(revision)
        + encode_string("UTC")
        + encode_string("hostile")
        + encode_uvarint(1)
    )


async def native_absurd_strlen(r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env) -> None:
    await r.read(4096)
    w.write(encode_uvarint(0) + encode_uvarint(2**62) + b"ClickHouse" * 10)
    await w.drain()
    await hold(r)


async def native_endless_varint(r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env) -> None:
    await r.read(4096)
    w.write(b"\x00")
    await endless(w, b"\xff" * 65536)


async def native_exception_huge(r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env) -> None:
    await r.read(4096)
    w.write(encode_uvarint(2) + struct.pack("<i", 516) + encode_uvarint(1 << 30) + b"DB::" * 1000)
    await w.drain()
    await hold(r)


async def native_hello_drip(r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env) -> None:
    await r.read(4096)
    await drip(w, _hello())


async def native_echo(r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env) -> None:
    while data := await r.read(65536):
        w.write(data)
        await w.drain()


async def native_half_hello(r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env) -> None:
    await r.read(4096)
    w.write(_hello()[:9])
    await w.drain()


async def mysql_huge_greeting(r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env) -> None:
    """A MySQL greeting whose 3-byte length says 16 MB, a ClickHouse version, then endless."""
    w.write(b"\xff\xff\xff\x00\x0a23.8.1.1-ClickHouse\x00")
    await endless(w, os.urandom(65536))


# ------------------------------------------------------------------------------ TLS


async def tls_drop_mid_handshake(
    r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env
) -> None:
    """Read the ClientHello, send the start of a ServerHello record, hang up."""
    await r.read(4096)
    w.write(b"\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03" + os.urandom(20))
    await w.drain()


async def tls_drop_after_handshake(
    r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env
) -> None:
    """Handshake done (by the server's TLS context); half an answer, then the TCP is cut."""
    await read_request(r)
    w.write(response_head(200, CH_HEADERS, length=1000) + b"18.16")
    await w.drain()
    await asyncio.sleep(0.05)


async def plaintext_garbage(r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env) -> None:
    await r.read(4096)
    w.write(os.urandom(300) + NASTY)
    await w.drain()


# ------------------------------------------------------------------------------ HTTP JSON APIs

JSON = (("Content-Type", "application/json"),)


async def json_endless_array(r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env) -> None:
    await read_request(r)
    w.write(response_head(200, (*JSON, ("Transfer-Encoding", "chunked"))))
    item = b'{"name": "db", "id": 1, "kernel": {"name": "python3"}},' * 500
    w.write(f"{len(item) + 1:x}\r\n[".encode() + item + b"\r\n")
    await endless(w, f"{len(item):x}\r\n".encode() + item + b"\r\n")


async def json_million_items(r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env) -> None:
    """Two million items (~60 MB), as fast as the client reads."""
    while await read_request(r) is not None:
        w.write(response_head(200, (*JSON, ("Transfer-Encoding", "chunked"))))
        items = b",".join(b'{"name":"t%07d","type":"table"}' % i for i in range(2000))
        for n in range(1000):
            piece = (b"[" if n == 0 else b",") + items + (b"]" if n == 999 else b"")
            w.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            await w.drain()
        w.write(b"0\r\n\r\n")
        await w.drain()


@functools.cache
def _json_value_body() -> bytes:
    return json.dumps({"version": "7.0." + "9" * (10 * 1024 * 1024), "name": "x" * 1000}).encode()


_INVALID_UTF8 = b'{"version": "2.\xff\xfe\xc0\x80", "databases": ["\xed\xa0\x80", "\xf8\x88"]}'
_ESCAPES = json.dumps(
    {"version": NASTY.decode("latin-1"), "databases": [NASTY.decode("latin-1")] * 3}
).encode()
_LOGIN = (
    b"<!doctype html><html><head><title>Sign in</title></head><body>"
    b"<form method=post action=/login><input name=user><input type=password name=password>"
    b"</form></body></html>"
)


# ------------------------------------------------------------------------------ Redis (RESP)


async def _each_line(r: asyncio.StreamReader, w: asyncio.StreamWriter, reply: bytes) -> None:
    """``reply`` to every line (or inline command) the client sends."""
    while True:
        try:
            line = await r.readuntil(b"\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        if line.startswith((b"*", b"$")) and not line.startswith(b"*0"):
            continue  # a RESP array header or bulk length: answer the command's last part
        w.write(reply)
        await w.drain()


def _resp_fixed(reply: bytes) -> Handler:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env) -> None:
        await _each_line(r, w, reply)

    return handler


async def redis_huge_array(r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env) -> None:
    await r.read(4096)
    w.write(b"*2000000000\r\n:1\r\n:2\r\n")
    await w.drain()
    await hold(r)


async def redis_4gb_bulk(r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env) -> None:
    await r.read(4096)
    w.write(b"$4294967296\r\n")
    await endless(w, b"k" * 65536)


async def redis_endless_line(r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env) -> None:
    await r.read(4096)
    w.write(b"+")
    await endless(w, b"O" * 65536)


# ------------------------------------------------------------------------------ PostgreSQL


async def pg_startup(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bytes:
    """Read the startup message (answering an SSLRequest or GSSENCRequest with 'N' first)."""
    while True:
        (length,) = struct.unpack(">i", await r.readexactly(4))
        body = await r.readexactly(max(0, min(length - 4, 1 << 16)))
        if body[:4] in (b"\x04\xd2\x16\x2f", b"\x04\xd2\x16\x30"):  # SSL / GSSENC request
            w.write(b"N")
            await w.drain()
            continue
        return body


async def pg_2gb_message(r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env) -> None:
    await pg_startup(r, w)
    w.write(b"R" + struct.pack(">i", 0x7FFFFFFF) + b"\x00\x00\x00\x00" + b"x" * 1000)
    await w.drain()
    await hold(r)


def _pg_msg(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack(">i", len(body) + 4) + body


async def pg_empty_success(r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env) -> None:
    """Login accepted, then every query 'succeeds' with no rows (a lookalike)."""
    await pg_startup(r, w)
    w.write(_pg_msg(b"R", struct.pack(">i", 0)) + _pg_msg(b"Z", b"I"))
    await w.drain()
    while True:
        kind = await r.readexactly(1)
        (length,) = struct.unpack(">i", await r.readexactly(4))
        await r.readexactly(max(0, min(length - 4, 1 << 20)))
        if kind == b"X":
            return
        w.write(_pg_msg(b"C", b"SELECT 1\x00") + _pg_msg(b"Z", b"I"))
        await w.drain()


async def pg_error_flood(r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env) -> None:
    """An ErrorResponse of 10 MB with escapes and HTML in its fields."""
    await pg_startup(r, w)
    fields = b"SFATAL\x00C28000\x00M" + NASTY + b"x" * (10 * 1024 * 1024) + b"\x00\x00"
    w.write(_pg_msg(b"E", fields))
    await w.drain()
    await hold(r)


# ------------------------------------------------------------------------------ MySQL


def _my_packet(seq: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "little") + bytes([seq & 0xFF]) + payload


def _my_greeting(version: bytes = b"8.0.36") -> bytes:
    caps = 0x00000001 | 0x00000008 | 0x00000200 | 0x00008000 | 0x00080000
    payload = (
        b"\x0a" + version + b"\x00" + struct.pack("<I", 7) + b"abcdefgh\x00"
        + struct.pack("<H", caps & 0xFFFF) + b"\x21" + struct.pack("<H", 2)
        + struct.pack("<H", caps >> 16) + b"\x15" + b"\x00" * 10 + b"ijklmnopqrst\x00"
        + b"mysql_native_password\x00"
    )  # fmt: skip
    return _my_packet(0, payload)


_MY_OK = b"\x00\x00\x00\x02\x00\x00\x00"


async def mysql_ok_to_everything(
    r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env
) -> None:
    """A greeting, then OK to the login and to every query (no result set: a lookalike)."""
    w.write(_my_greeting())
    await w.drain()
    while True:
        head = await r.readexactly(4)
        n = int.from_bytes(head[:3], "little")
        body = await r.readexactly(n)
        if body[:1] == b"\x01":  # COM_QUIT
            return
        w.write(_my_packet(head[3] + 1, _MY_OK))
        await w.drain()


async def mysql_endless_rows(r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env) -> None:
    """A greeting, OK to the login, then a result set whose rows never end."""
    w.write(_my_greeting())
    await w.drain()
    head = await r.readexactly(4)
    await r.readexactly(int.from_bytes(head[:3], "little"))
    w.write(_my_packet(head[3] + 1, _MY_OK))
    await w.drain()
    head = await r.readexactly(4)
    await r.readexactly(int.from_bytes(head[:3], "little"))
    column = b"".join(bytes([len(x)]) + x for x in (b"def", b"", b"", b"", b"v", b""))
    column += b"\x0c\x21\x00" + struct.pack("<I", 1024) + b"\xfd\x00\x00\x00\x00\x00"
    w.write(_my_packet(1, b"\x01") + _my_packet(2, column) + _my_packet(3, b"\xfe\x00\x00\x02\x00"))
    seq = 4
    row = b"\xfb" + b"\x20" + b"x" * 32
    while True:
        w.write(b"".join(_my_packet(seq + i, row) for i in range(256)))
        seq = (seq + 256) & 0xFF
        await w.drain()


async def mysql_huge_greeting_plain(
    r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env
) -> None:
    """A MySQL greeting whose length says 16 MB, then endless bytes."""
    w.write(b"\xff\xff\xff\x00\x0a8.0.36\x00")
    await endless(w, os.urandom(65536))


# ------------------------------------------------------------------ other data stores


def _reply_to_every_chunk(answer: Callable[[bytes], bytes]) -> Handler:
    """Answer every chunk the client sends with ``answer(chunk)`` (memcached, OP_MSG)."""

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env) -> None:
        while chunk := await r.read(65536):
            w.write(answer(chunk))
            await w.drain()

    return handler


async def memcached_endless_stats(
    r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env
) -> None:
    """A believable VERSION, then STAT lines that never reach END."""
    while chunk := await r.read(65536):
        if chunk.startswith(b"version"):
            w.write(b"VERSION 1.6.18\r\n")
            await w.drain()
        else:
            await endless(w, b"STAT curr_items 1\r\n" * 1000)


def _op_msg_header(chunk: bytes, length: int) -> bytes:
    request_id = chunk[4:8] if len(chunk) >= 8 else bytes(4)
    return struct.pack("<i", length) + b"\x01\x00\x00\x00" + request_id + struct.pack("<i", 2013)


async def mongo_2gb_length(r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env) -> None:
    w.write(_op_msg_header(await r.read(65536), 2_000_000_000))
    await w.drain()
    await hold(r)


def _mongo_canned(chunk: bytes) -> bytes:
    """One OP_MSG document with every field every command's answer needs."""
    import bson

    doc = bson.encode(
        {
            "ok": 1.0,
            "ismaster": True,
            "maxWireVersion": 17,
            "version": "6.0.12",
            "databases": [{"name": "shop"}],
            "cursor": {"id": 0, "ns": "shop.$cmd.listCollections", "firstBatch": []},
        }
    )
    body = struct.pack("<IB", 0, 0) + doc
    return _op_msg_header(chunk, 16 + len(body)) + body


_ES_INFO = json.dumps(
    {
        "name": "n",
        "cluster_name": "c",
        "version": {"number": "8.11.1"},
        "tagline": "You Know, for Search",
    }
).encode()
_ETCD_CANNED = json.dumps(
    {
        "etcdserver": "3.4.23",
        "etcdcluster": "3.4.0",
        "header": {"cluster_id": "1", "member_id": "2", "revision": "9", "raft_term": "2"},
        "count": "3",
        "kvs": [],
    }
).encode()

# ------------------------------------------------------------------------------ registry


def _b(
    name: str,
    protocol: str,
    port: int,
    handler: Handler,
    doc: str,
    *,
    tls: TlsKind | None = None,
    lookalike: bool = False,
) -> Behaviour:
    return Behaviour(name, protocol, port, handler, tls, lookalike, doc)


CH_OK = b"Ok.\n"
BEHAVIOURS: tuple[Behaviour, ...] = (
    # ClickHouse HTTP
    _b("ch-http-tarpit", "clickhouse-http", 8123, tarpit, "accept, never answer"),
    _b("ch-http-drip", "clickhouse-http", 8123, ch_http_drip, "one byte a second"),
    _b("ch-http-endless-body", "clickhouse-http", 8123, ch_http_endless_body, "endless body"),
    _b("ch-http-endless-chunked", "clickhouse-http", 8123, ch_http_endless_chunked,
       "endless chunked stream"),
    _b("ch-http-gzip-bomb", "clickhouse-http", 8123, _bomb_handler("gzip"),
       "ClickHouse headers, gzip bomb to everything", lookalike=True),
    _b("ch-http-zstd-bomb", "clickhouse-http", 8123, _bomb_handler("zstd"),
       "ClickHouse headers, zstd bomb", lookalike=True),
    _b("ch-http-brotli-bomb", "clickhouse-http", 8123, _bomb_handler("brotli"),
       "ClickHouse headers, brotli bomb", lookalike=True),
    _b("ch-http-2gb-length", "clickhouse-http", 8123, ch_http_2gb_length,
       "Content-Length 2 GiB, 64 KB, then silence"),
    _b("ch-http-redirect-loop", "clickhouse-http", 8123, ch_http_redirect_loop,
       "307 to itself"),
    _b("ch-http-redirect-offhost", "clickhouse-http", 8123, ch_http_redirect_offhost,
       "307 to another loopback address (a recorder)"),
    _b("ch-http-ok-reflector", "clickhouse-http", 8123, _fixed(200, CH_OK, CH_HEADERS),
       "ClickHouse headers and Ok. to everything", lookalike=True),
    _b("ch-http-one-to-everything", "clickhouse-http", 8123, _fixed(200, b"1\n", CH_HEADERS),
       "ClickHouse headers and 1 to every query", lookalike=True),
    _b("ch-http-version-to-everything", "clickhouse-http", 8123,
       _fixed(200, b"18.16.1\n", CH_HEADERS), "a version string to every query", lookalike=True),
    _b("ch-http-echo", "clickhouse-http", 8123, ch_http_echo, "echoes the query back",
       lookalike=True),
    _b("ch-http-nasty-text", "clickhouse-http", 8123,
       _fixed(200, b"18.16.1" + NASTY + b"\n", CH_HEADERS),
       "terminal escapes, HTML and invalid UTF-8 as the answer", lookalike=True),
    _b("ch-http-exception-flood", "clickhouse-http", 8123, ch_http_exception_flood,
       "a 10 MB DB::Exception with escapes and HTML"),
    # ClickHouse native
    _b("native-absurd-strlen", "clickhouse-native", 9000, native_absurd_strlen,
       "Hello with a 2**62-byte name"),
    _b("native-endless-varint", "clickhouse-native", 9000, native_endless_varint,
       "a varint that never ends"),
    _b("native-exception-1gb", "clickhouse-native", 9000, native_exception_huge,
       "Exception whose name claims 1 GiB"),
    _b("native-hello-drip", "clickhouse-native", 9000, native_hello_drip,
       "a Hello one byte a second"),
    _b("native-echo", "clickhouse-native", 9000, native_echo, "echoes the client Hello",
       lookalike=True),
    _b("native-half-hello", "clickhouse-native", 9000, native_half_hello,
       "half a Hello, then close"),
    _b("native-tarpit", "clickhouse-native", 9000, tarpit, "accept, never answer"),
    _b("mysql-ch-huge-greeting", "mysql", 9004, mysql_huge_greeting,
       "greeting length 16 MB, -ClickHouse version, endless bytes"),
    # TLS
    _b("tls-handshake-stall", "tls", 8443, tarpit, "TCP accepted, no ServerHello"),
    _b("tls-drop-mid-handshake", "tls", 8443, tls_drop_mid_handshake,
       "half a ServerHello, then close"),
    _b("tls-drop-after-handshake", "tls", 8443, tls_drop_after_handshake,
       "TLS up, half an answer, TCP cut", tls="self-signed"),
    _b("tls-self-signed-ok", "tls", 8443, _fixed(200, CH_OK, CH_HEADERS),
       "self-signed certificate, Ok. reflector", tls="self-signed", lookalike=True),
    _b("tls-expired-gzip-bomb", "tls", 8443, _bomb_handler("gzip"),
       "expired certificate, gzip bomb", tls="expired", lookalike=True),
    _b("tls-wrong-name-native-echo", "tls", 9440, native_echo,
       "certificate for another name, native echo", tls="wrong-name", lookalike=True),
    _b("tls-port-plaintext-garbage", "tls", 9440, plaintext_garbage,
       "plaintext garbage to a ClientHello"),
    # HTTP JSON APIs (Jupyter's port)
    _b("json-endless-array", "http-json", 8888, json_endless_array, "an endless JSON array"),
    _b("json-million-items", "http-json", 8888, json_million_items,
       "two million items (~60 MB)"),
    _b("json-10mb-value", "http-json", 8888, _fixed(200, _json_value_body, JSON),
       "a 10 MB version string"),
    _b("json-invalid-utf8", "http-json", 8888, _fixed(200, _INVALID_UTF8, JSON),
       "invalid UTF-8 in names and values", lookalike=True),
    _b("json-escapes-html", "http-json", 8888, _fixed(200, _ESCAPES, JSON),
       "terminal escapes and HTML/script in names and values", lookalike=True),
    _b("http-login-page", "http-json", 8888,
       _fixed(200, _LOGIN, (("Content-Type", "text/html"),)), "a login page answering 200",
       lookalike=True),
    _b("http-empty-list-behind-auth", "http-json", 8888, _fixed(200, b"[]", JSON),
       "a proxy answering [] to everything", lookalike=True),
    _b("http-ok-reflector", "http-json", 8888,
       _fixed(200, b'{"status": "ok"}', JSON), "200 {status: ok} to everything",
       lookalike=True),
    # Redis
    _b("redis-2g-array", "redis", 6379, redis_huge_array, "*2000000000 to anything"),
    _b("redis-4gb-bulk", "redis", 6379, redis_4gb_bulk, "$4294967296 then endless bytes"),
    _b("redis-ok-reflector", "redis", 6379, _resp_fixed(b"+OK\r\n"), "+OK to everything",
       lookalike=True),
    _b("redis-endless-line", "redis", 6379, redis_endless_line, "a status line without end"),
    _b("redis-echo", "redis", 6379, native_echo, "echoes every command", lookalike=True),
    # PostgreSQL
    _b("pg-2gb-message", "postgresql", 5432, pg_2gb_message, "a message length of 2 GiB"),
    _b("pg-empty-success", "postgresql", 5432, pg_empty_success,
       "login accepted, every query succeeds without rows", lookalike=True),
    _b("pg-error-flood", "postgresql", 5432, pg_error_flood,
       "a 10 MB ErrorResponse with escapes and HTML"),
    # MySQL
    _b("mysql-huge-greeting", "mysql", 3306, mysql_huge_greeting_plain,
       "greeting length 16 MB, endless bytes"),
    _b("mysql-ok-to-everything", "mysql", 3306, mysql_ok_to_everything,
       "OK to the login and every query", lookalike=True),
    _b("mysql-endless-rows", "mysql", 3306, mysql_endless_rows, "a result set without end"),
    # memcached, MongoDB, Elasticsearch, etcd
    _b("memcached-version-reflector", "memcached", 11211,
       _reply_to_every_chunk(lambda _: b"VERSION 1.6.18\r\n"), "VERSION to every command",
       lookalike=True),
    _b("memcached-endless-stats", "memcached", 11211, memcached_endless_stats,
       "stats that never end"),
    _b("mongo-2gb-length", "mongodb", 27017, mongo_2gb_length, "an OP_MSG length of 2 GB"),
    _b("mongo-canned", "mongodb", 27017, _reply_to_every_chunk(_mongo_canned),
       "one all-fields OP_MSG document to every command", lookalike=True),
    _b("es-info-reflector", "http-json", 9200, _fixed(200, _ES_INFO, JSON),
       "Elasticsearch's cluster info to every request", lookalike=True),
    _b("etcd-canned", "http-json", 2379, _fixed(200, _ETCD_CANNED, JSON),
       "/version and a range answer in one JSON to every request", lookalike=True),
)  # fmt: skip


def warm() -> None:
    """Make every large body before the fleet serves: building one inside a handler would
    block the fleet's loop, and every other server with it, for seconds."""
    for kind in ("gzip", "zstd", "brotli"):
        bomb(kind)
    _json_value_body()
    _ch_exception_body()


def by_protocol() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for b in BEHAVIOURS:
        out.setdefault(b.protocol, []).append(b.name)
    return out


assert len({b.name for b in BEHAVIOURS}) == len(BEHAVIOURS)
