"""The bounded protocol clients of the data-store plugins against hostile bytes.

Every test feeds a StreamReader directly (no network): absurd lengths must be refused before
anything is allocated (tracemalloc peak far below the announced size), dribbles must hit the
deadline, garbage must be a ProtocolError - never a hang, a crash or a huge buffer.
"""

from __future__ import annotations

import asyncio
import struct
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

import bson
import pytest

from leakmap.errors import ProtocolError, ResponseTooLarge
from leakmap.net.stream import BudgetedReader
from leakmap.services.elasticsearch.client import (
    parse_cat_indices,
    parse_cluster_info,
    safe_index_path,
)
from leakmap.services.etcd.gateway import parse_range, prefix_end
from leakmap.services.memcached.text import (
    McClient,
    binary_version_request,
    parse_binary_version,
    parse_metadump_line,
)
from leakmap.services.memcached.text import UnsafeCommand as McUnsafe
from leakmap.services.memcached.text import guard_command as mc_guard
from leakmap.services.mongodb.wire import OP_MSG, MongoClient, encode_msg
from leakmap.services.mongodb.wire import UnsafeCommand as MongoUnsafe
from leakmap.services.mongodb.wire import guard_command as mongo_guard
from leakmap.services.redis.resp import (
    ErrorReply,
    RespClient,
    Status,
    UnsafeCommand,
    encode_command,
    guard_command,
    read_reply,
)

MiB = 1024 * 1024


def _reader(data: bytes, eof: bool = True) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    if eof:
        reader.feed_eof()
    return reader


class _NullWriter:
    """A StreamWriter stand-in that records what was written."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data

    async def drain(self) -> None:
        return None

    def close(self) -> None:
        return None

    async def wait_closed(self) -> None:
        return None


def _w(writer: _NullWriter | None = None) -> Any:
    """A _NullWriter where a StreamWriter is expected."""
    return writer if writer is not None else _NullWriter()


async def _peak(run: Callable[[], Awaitable[Any]]) -> tuple[BaseException | None, int]:
    tracemalloc.start()
    try:
        try:
            await run()
            error: BaseException | None = None
        except Exception as exc:
            error = exc
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return error, peak


# ---------------------------------------------------------------- RESP


async def _resp(data: bytes, limit: int = MiB, eof: bool = True, timeout: float = 2.0) -> Any:
    stream = BudgetedReader(_reader(data, eof), limit=limit, timeout=timeout)
    return await read_reply(stream)


async def test_resp_parses_every_resp2_type() -> None:
    assert await _resp(b"+PONG\r\n") == Status("PONG")
    err = await _resp(b"-NOAUTH Authentication required.\r\n")
    assert isinstance(err, ErrorReply) and err.code == "NOAUTH"
    assert await _resp(b":42\r\n") == 42
    assert await _resp(b"$5\r\nhello\r\n") == b"hello"
    assert await _resp(b"$-1\r\n") is None
    assert await _resp(b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n") == [b"a", [1]]


@pytest.mark.parametrize(
    "header",
    [b"*2000000000\r\n", b"*2147483647\r\n", b"$4294967296\r\n", b"$4000000000\r\n"],
)
async def test_resp_refuses_absurd_lengths_without_allocating(header: bytes) -> None:
    # the stream stays open: a client that trusted the header would wait (or allocate) forever
    error, peak = await _peak(lambda: _resp(header, limit=4 * MiB, eof=False, timeout=5.0))
    assert isinstance(error, ResponseTooLarge | ProtocolError)
    assert peak < MiB


async def test_resp_array_within_budget_but_too_many_elements_is_refused() -> None:
    with pytest.raises(ProtocolError):
        await _resp(b"*200000\r\n" + b":1\r\n" * 10, limit=64 * MiB)


@pytest.mark.parametrize(
    "data",
    [
        b"!garbage\r\n",
        b"$5\r\nhelloXX",
        b"$abc\r\n",
        b"$-5\r\n",
        b":12345678901234567890123\r\n",
        b"*1\r\n",
        b"$10\r\nshort",
        b"*1\r\n" * 20 + b":1\r\n",
        b"",
    ],
)
async def test_resp_garbage_is_a_protocol_error(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        await _resp(data)


async def test_resp_endless_line_is_refused() -> None:
    with pytest.raises(ProtocolError):
        await _resp(b"+" + b"A" * (200 * 1024), eof=False)


async def test_resp_dribble_hits_the_deadline() -> None:
    reader = asyncio.StreamReader()

    async def dribble() -> None:
        for _ in range(50):
            reader.feed_data(b"A")
            await asyncio.sleep(0.02)

    task = asyncio.create_task(dribble())
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(TimeoutError):
        await read_reply(BudgetedReader(reader, limit=MiB, timeout=0.3))
    assert loop.time() - start < 1.0
    task.cancel()


async def test_resp_client_budget_is_per_reply_and_total() -> None:
    data = b"$3\r\nabc\r\n" * 3
    client = RespClient(_reader(data), _w(), reply_limit=64, timeout=1, total_limit=20)
    assert await client.call("PING") == b"abc"
    assert await client.call("PING") == b"abc"
    with pytest.raises(ResponseTooLarge):
        await client.call("PING")


@pytest.mark.parametrize(
    "args",
    [
        ("SET", "k", "v"),
        ("DEL", "k"),
        ("FLUSHALL",),
        ("CONFIG", "SET", "dir", "/tmp"),
        ("CONFIG", "GET", "*"),
        ("MODULE", "LOAD", "/x.so"),
        ("SLAVEOF", "1.2.3.4", "6379"),
        ("REPLICAOF", "1.2.3.4", "6379"),
        ("EVAL", "return 1", "0"),
        ("SCRIPT", "LOAD", "return 1"),
        ("DEBUG", "SLEEP", "1"),
        ("ACL", "SETUSER", "x"),
        ("CLIENT", "KILL", "x"),
        ("ZRANGESTORE", "a", "b", "0", "1"),
        ("SHUTDOWN",),
        (),
    ],
)
def test_resp_guard_refuses_writes_and_admin(args: tuple[str, ...]) -> None:
    with pytest.raises(UnsafeCommand):
        guard_command(args)


async def test_resp_guard_stops_the_send() -> None:
    writer = _NullWriter()
    client = RespClient(_reader(b"+OK\r\n"), _w(writer), reply_limit=64, timeout=1)
    with pytest.raises(UnsafeCommand):
        await client.call("set", "k", "v")
    assert writer.data == b""
    assert guard_command(("acl", "dryrun", "u", "config", "set")) == "ACL|DRYRUN"
    assert encode_command(("GET", b"k")) == b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"


# ---------------------------------------------------------------- memcached


async def test_memcached_get_refuses_a_huge_value_before_reading() -> None:
    data = b"VALUE k 0 4294967296\r\n"
    client = McClient(_reader(data, eof=False), _w(), reply_limit=MiB, timeout=2)
    error, peak = await _peak(lambda: client.get([b"k"]))
    assert isinstance(error, ResponseTooLarge)
    assert peak < MiB


async def test_memcached_get_and_lines() -> None:
    data = b"VALUE a 0 3\r\nabc\r\nEND\r\nSTAT pid 1\r\nEND\r\nCLIENT_ERROR unauthenticated\r\n"
    client = McClient(_reader(data), _w(), reply_limit=MiB, timeout=2)
    values = await client.get([b"a"])
    assert isinstance(values, list) and values[0].data == b"abc"
    assert await client.lines("stats") == [b"STAT pid 1"]
    assert await client.lines("stats") == [b"CLIENT_ERROR unauthenticated"]


@pytest.mark.parametrize(
    "data",
    [
        b"VALUE a 0 3\r\nabcXX",
        b"VALUE a 0 3\r\nabc\r\nVALUE b 0 1\r\nb\r\nVALUE c 0 1\r\nc\r\nEND\r\n",
        b"HELLO\r\n",
    ],
)
async def test_memcached_get_garbage(data: bytes) -> None:
    client = McClient(_reader(data), _w(), reply_limit=MiB, timeout=2)
    with pytest.raises(ProtocolError):
        await client.get([b"a", b"b"])


async def test_memcached_endless_listing_is_cut() -> None:
    data = b"key=a size=1\r\n" * 200
    client = McClient(_reader(data), _w(), reply_limit=MiB, timeout=2)
    with pytest.raises(ProtocolError):
        await client.lines("lru_crawler metadump all", max_lines=100)


@pytest.mark.parametrize(
    "command",
    [
        "set k 0 0 1",
        "delete k",
        "flush_all",
        "incr k 1",
        "touch k 1",
        "gat 0 k",
        "lru_crawler crawl all",
        "get k\r\nflush_all",
        "stats reset",
        "verbosity 1",
        "shutdown",
    ],
)
def test_memcached_guard_refuses_writes(command: str) -> None:
    with pytest.raises(McUnsafe):
        mc_guard(command)


def test_memcached_metadump_and_binary_version() -> None:
    meta = parse_metadump_line(b"key=sess%3A1 exp=-1 la=1 cas=1 fetch=no cls=1 size=63")
    assert meta is not None and meta.key == b"sess:1" and meta.size == 63
    assert parse_metadump_line(b"garbage") is None
    req = binary_version_request()
    assert len(req) == 24 and req[0] == 0x80
    # a SASL server's answer: status 0x20 "authentication required" (binary protocol spec)
    sasl = struct.pack(">BBHBBHIIQ", 0x81, 0x0B, 0, 0, 0, 0x20, 0, 0x6C6B6D70, 0)
    got = parse_binary_version(sasl)
    assert got is not None and got.status == 0x20 and got.version is None
    ok = struct.pack(">BBHBBHIIQ", 0x81, 0x0B, 0, 0, 0, 0, 6, 0x6C6B6D70, 0) + b"1.6.18"
    assert parse_binary_version(ok) == type(got)(0, "1.6.18")
    assert parse_binary_version(req) is None  # a reflector echoing the request
    assert parse_binary_version(ok[:-1]) is None


# ---------------------------------------------------------------- MongoDB


def _op_msg(doc: dict[str, Any], response_to: int = 1, opcode: int = OP_MSG) -> bytes:
    body = struct.pack("<IB", 0, 0) + bson.encode(doc)
    return struct.pack("<iiii", 16 + len(body), 99, response_to, opcode) + body


async def test_mongo_roundtrip_and_guard() -> None:
    writer = _NullWriter()
    client = MongoClient(
        _reader(_op_msg({"ok": 1.0, "x": "y"})), _w(writer), reply_limit=MiB, timeout=2
    )
    assert await client.command("admin", {"buildInfo": 1}) == {"ok": 1.0, "x": "y"}
    assert bytes(writer.data) == encode_msg(1, {"buildInfo": 1, "$db": "admin"})
    for bad in ({"insert": "c"}, {"drop": "c"}, {"find": "c"}, {"find": "c", "limit": 5}):
        with pytest.raises(MongoUnsafe):
            mongo_guard(bad)
    mongo_guard({"find": "c", "limit": 5, "singleBatch": True})


async def test_mongo_refuses_a_2gb_reply_without_allocating() -> None:
    header = struct.pack("<iiii", 2_147_483_000, 99, 1, OP_MSG)
    client = MongoClient(_reader(header, eof=False), _w(), reply_limit=4 * MiB, timeout=2)
    error, peak = await _peak(lambda: client.command("admin", {"hello": 1}))
    assert isinstance(error, ResponseTooLarge)
    assert peak < MiB


@pytest.mark.parametrize(
    "data",
    [
        _op_msg({"ok": 1}, opcode=1),
        _op_msg({"ok": 1}, response_to=7),
        _op_msg({"ok": 1})[:-3],
        struct.pack("<iiii", 30, 99, 1, OP_MSG) + b"\x00" * 14,
        struct.pack("<iiii", 4, 99, 1, OP_MSG),
        b"HTTP/1.1 400 Bad Request\r\n\r\n",
    ],
)
async def test_mongo_garbage_is_a_protocol_error(data: bytes) -> None:
    client = MongoClient(_reader(data), _w(), reply_limit=MiB, timeout=2)
    with pytest.raises(ProtocolError):
        await client.command("admin", {"hello": 1})


# ---------------------------------------------------------------- etcd, Elasticsearch


def test_etcd_range_parsing() -> None:
    body = {
        "header": {"cluster_id": "1", "revision": "2"},
        "kvs": [{"key": "L2E=", "value": "eA=="}],
        "count": "1",
    }
    got = parse_range(body)
    assert got.count == 1 and got.kvs[0].key == b"/a" and got.kvs[0].value == b"x"
    bad: Any
    for bad in (
        [],
        {"kvs": []},
        {"header": {"revision": "2"}},
        {**body, "count": "many"},
        {**body, "kvs": [{"key": "!!"}]},
        {**body, "kvs": {}},
    ):
        with pytest.raises(ProtocolError):
            parse_range(bad)
    # cluster and member ids are uint64: 20 digits happen (one cluster in two)
    big = {**body, "header": {"cluster_id": "18446744073709551615", "revision": "2"}}
    assert parse_range(big).revision == 2
    assert prefix_end(b"/registry/") == b"/registry0"
    assert prefix_end(b"\xff") == b"\x00"


def test_es_cluster_info_needs_the_documented_shape() -> None:
    es = {"cluster_name": "c", "version": {"number": "8.11.1"}, "tagline": "You Know, for Search"}
    info = parse_cluster_info(es)
    assert info is not None and info.distribution == "elasticsearch" and info.version == "8.11.1"
    os_ = {"version": {"number": "2.11.0", "distribution": "opensearch"}, "tagline": "x"}
    assert parse_cluster_info(os_) is not None
    bad: Any
    for bad in ({}, {"version": {"number": "x"}}, {"version": "8"}, "ok", {**es, "tagline": "?"}):
        assert parse_cluster_info(bad) is None
    rows = parse_cat_indices([{"index": "logs", "docs.count": "10", "store.size": "99"}], 10)
    assert rows is not None and rows[0].docs == 10
    assert parse_cat_indices([{"docs.count": "1"}], 10) is None
    assert parse_cat_indices({"error": 1}, 10) is None
    assert safe_index_path("logs-2024") == "logs-2024"
    assert safe_index_path("a b") == "a%20b"
    for bad in ("..", "a/b", "x\x1b[2J", "", "*"):
        assert safe_index_path(bad) is None
