"""Fuzzing the key-value and document stores' wire parsers: RESP2 (Redis), memcached's text
and binary replies, MongoDB's OP_MSG, and the JSON answers of the HTTP-JSON clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
from typing import Any, cast

import bson
import httpx
from hypothesis import example, given
from hypothesis import strategies as st

from leakmap.errors import ProbeError
from leakmap.net.httpjson import fetch_json
from leakmap.net.stream import BudgetedReader
from leakmap.services.memcached.text import (
    McClient,
    parse_binary_version,
    parse_metadump_line,
)
from leakmap.services.mongodb.wire import MongoClient, decode_reply
from leakmap.services.redis.resp import read_reply

from .harness import FUZZ, FakeWriter, run, stream_of

# ------------------------------------------------------------------------ RESP

resp_pieces = st.one_of(
    st.sampled_from([b"+OK\r\n", b"-ERR x\r\n", b":1\r\n", b"$3\r\nabc\r\n", b"*2\r\n", b"$-1\r\n",
                     b"*-1\r\n", b"*2000000000\r\n", b"$4294967296\r\n", b"$-2\r\n", b":\r\n",
                     b"*99999999999999999999999\r\n", b"%1\r\n", b"\r\n", b"\n"]),
    st.binary(max_size=20),
)  # fmt: skip


@FUZZ
@given(st.lists(resp_pieces, max_size=12).map(b"".join), st.integers(16, 4096))
@example(b"*1\r\n" * 200 + b":1\r\n", 4096)  # nesting deeper than the cap
def test_resp_reply(data: bytes, limit: int) -> None:
    async def go() -> None:
        stream = BudgetedReader(stream_of(data), limit=limit, timeout=1.0)
        with contextlib.suppress(ProbeError, TimeoutError):
            await read_reply(stream, max_elements=100)

    run(go())


# ------------------------------------------------------------------------ memcached


@FUZZ
@given(st.binary(max_size=200))
@example(b"key=%zz%4 size=99999999999999999 size=1")
def test_memcached_metadump_line(line: bytes) -> None:
    parse_metadump_line(line)


@FUZZ
@given(st.one_of(st.binary(max_size=60),
                 st.builds(lambda body, status, n: struct.pack(">BBHBBHIIQ", 0x81, 0x0B, 0, 0, 0,
                                                               status, n, 0x6C6B6D70, 0) + body,
                           st.binary(max_size=40), st.integers(0, 65535),
                           st.integers(0, 2**32 - 1))))  # fmt: skip
def test_memcached_binary_version(data: bytes) -> None:
    parse_binary_version(data)


mc_lines = st.lists(
    st.one_of(
        st.sampled_from([b"END\r\n", b"VALUE k 0 3\r\nabc\r\n", b"VALUE k 0 99999999999\r\n",
                         b"VALUE k 0 -1\r\n", b"ERROR\r\n", b"STAT pid 1\r\n",
                         b"VALUE k 0 3\r\nabcd"]),
        st.binary(max_size=30),
    ),
    max_size=8,
).map(b"".join)  # fmt: skip


@FUZZ
@given(mc_lines, st.sampled_from(["get", "stats", "version"]))
def test_memcached_replies(data: bytes, command: str) -> None:
    async def go() -> None:
        client = McClient(stream_of(data), cast(asyncio.StreamWriter, FakeWriter()), 4096, 1.0)
        try:
            if command == "get":
                await client.get([b"k", b"j"])
            elif command == "stats":
                await client.lines("stats")
            else:
                await client.line("version")
        except (ProbeError, TimeoutError):
            pass

    run(go())


# ------------------------------------------------------------------------ MongoDB OP_MSG


def op_msg_body(doc: dict[str, Any], flags: int) -> bytes:
    return struct.pack("<IB", flags, 0) + bson.encode(doc)


bodies = st.one_of(
    st.binary(max_size=80),
    st.builds(op_msg_body,
              st.dictionaries(st.text(st.characters(codec="utf-8", exclude_characters="\x00"),
                                      max_size=5),
                              st.integers(-5, 5), max_size=3),
              st.integers(0, 3)),
    st.builds(lambda b, cut, tail: b[:cut] + tail,
              st.builds(op_msg_body, st.just({"ok": 1.0, "a": [1, "x"]}), st.integers(0, 1)),
              st.integers(0, 40), st.binary(max_size=10)),
)  # fmt: skip


@FUZZ
@given(bodies)
@example(struct.pack("<IB", 1, 0) + b"\x00" * 5)  # checksum flag on a 10-byte body
def test_mongodb_reply_body(body: bytes) -> None:
    try:
        doc = decode_reply(body)
    except ProbeError:
        return
    assert isinstance(doc, dict)


@FUZZ
@given(st.integers(-(2**31), 2**31 - 1), st.integers(0, 3), bodies)
def test_mongodb_reply_frame(length: int, response_to: int, body: bytes) -> None:
    data = struct.pack("<iiii", length, 0, response_to, 2013) + body

    async def go() -> None:
        client = MongoClient(stream_of(data), cast(asyncio.StreamWriter, FakeWriter()), 4096, 1.0)
        with contextlib.suppress(ProbeError, TimeoutError):
            await client.command("admin", {"buildInfo": 1})

    run(go())


# ------------------------------------------------------------------------ HTTP JSON answers

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=4),
    max_leaves=20,
)  # fmt: skip


@FUZZ
@given(st.one_of(json_values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=100)),
       st.lists(st.text(max_size=6), max_size=3), st.integers(1, 20000))  # fmt: skip
@example(b"[" * 5000 + b"]" * 5000, ["a"], 20000)
@example(b'{"a": 1e999999}', ["a"], 200)
def test_json_answer(body: bytes, path: list[str], limit: int) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))

    async def go() -> None:
        async with httpx.AsyncClient(transport=transport) as client:
            try:
                answer = await fetch_json(
                    client, "GET", "http://127.0.0.1/", limit=limit, timeout=5
                )
            except ProbeError:
                return
            answer.field(*path)

    run(go())
