"""The native query client against scripted servers: recorded 18.16 replies and hostile bytes.

``RECORDED_*`` are the exact bytes Debian's clickhouse-server 18.16.1 (revision 54412,
timezone Asia/Shanghai) sent on this machine to :func:`encode_query` packets; the hostile
replies are built by hand. Every scripted server listens on 127.0.0.1 (an ephemeral port).
"""

from __future__ import annotations

import asyncio
import re
import struct
import time
from collections.abc import Awaitable

import pytest
from tests.unit.sqlwire.scripted import Reply, Scripted

from leakmap.errors import ProtocolError, ResponseTooLarge
from leakmap.net.bounded import Network
from leakmap.services.base import ScanConfig
from leakmap.services.clickhouse.http import safe_settings
from leakmap.services.clickhouse.native import encode_string, encode_uvarint
from leakmap.services.clickhouse.native_query import (
    ChNative,
    UnsupportedType,
    encode_query,
    encode_settings,
    text_select,
)
from leakmap.services.clickhouse.safety import UnsafeStatement

RECORDED_HELLO = b"\x00\nClickHouse\x12\x10\x8c\xa9\x03\rAsia/Shanghai\x02vm\x01"
#: reply to "SELECT 1 + 2": header block, data block, Progress, ProfileInfo, empty block, End
RECORDED_ONE_PLUS_TWO = (
    b"\x01\x00\x01\x00\x02\xff\xff\xff\xff\x00\x01\x00\nplus(1, 2)\x06UInt16"
    b"\x01\x00\x01\x00\x02\xff\xff\xff\xff\x00\x01\x01\nplus(1, 2)\x06UInt16\x03\x00"
    b"\x06\x01\x01\n\x00\x00\x01\x03\x01\x01\x00\x01\x00\x01\x00\x02\xff\xff\xff\xff\x00\x00\x00\x05"
)
#: reply to "SELECT 'x\ty' AS s, toNullable(7) AS n"
RECORDED_STRING_NULLABLE = (
    b"\x01\x00\x01\x00\x02\xff\xff\xff\xff\x00\x02\x00\x01s\x06String\x01n\x0fNullable(UInt8)"
    b"\x01\x00\x01\x00\x02\xff\xff\xff\xff\x00\x02\x01\x01s\x06String\x03x\ty\x01n"
    b"\x0fNullable(UInt8)\x00\x07\x06\x01\x01\x1e\x00\x00\x01\x03\x01\x01\x00\x01\x00\x01\x00"
    b"\x02\xff\xff\xff\xff\x00\x00\x00\x05"
)
#: reply to "SELECT nosuchfunction()" (stack trace shortened)
RECORDED_EXCEPTION = (
    b"\x02.\x00\x00\x00\rDB::Exception.DB::Exception: Unknown function nosuchfunction"
    + encode_string("0. StackTrace")
    + b"\x00"
)


def ch_server(reply: Reply, *, hello: bytes = RECORDED_HELLO, dribble: float = 0) -> Scripted:
    """A scripted native server: answers each connection's Hello with ``hello``."""
    return Scripted(reply, hello=hello, dribble=dribble)


def client(port: int, **cfg: object) -> ChNative:
    config = ScanConfig(**{"read_timeout": 1.0, "query_timeout_s": 1, **cfg})  # type: ignore[arg-type]
    return ChNative(Network(connect_timeout=1.0, read_timeout=1.0), "127.0.0.1", port, config)


def run(coro: Awaitable[object]) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def block(columns: list[tuple[str, str, bytes]], nrows: int) -> bytes:
    out = encode_uvarint(1) + encode_string("") + b"\x01\x00\x02\xff\xff\xff\xff\x00"
    out += encode_uvarint(len(columns)) + encode_uvarint(nrows)
    for name, type_name, data in columns:
        out += encode_string(name) + encode_string(type_name) + data
    return out


END = encode_uvarint(5)


# --------------------------------------------------------------------------- encoding


def test_settings_binary_for_18_16_and_strings_for_current() -> None:
    settings = safe_settings(ScanConfig())
    binary, skipped = encode_settings(settings, 54412)
    assert not skipped
    assert binary.startswith(encode_string("readonly") + encode_uvarint(1))
    assert encode_string("result_overflow_mode") + encode_string("break") in binary
    strings, skipped = encode_settings(settings, 54429)
    assert not skipped
    assert strings.startswith(encode_string("readonly") + b"\x01" + encode_string("1"))
    assert binary.endswith(b"\x00") and strings.endswith(b"\x00")


def test_unknown_setting_cannot_go_to_an_old_server_and_is_reported() -> None:
    _, skipped = encode_settings({"readonly": "1", "brand_new_limit": "5"}, 54412)
    assert skipped == {"brand_new_limit"}


def test_query_packet_is_uncompressed_and_carries_the_statement() -> None:
    packet, _ = encode_query("leakmap-t-1", "SELECT 1", {"readonly": "1"}, 54412)
    assert packet[0] == 1 and b"leakmap-t-1" in packet
    # ... stage Complete (2), compression off (0), the statement, then an empty Data block
    assert encode_uvarint(2) + encode_uvarint(0) + encode_string("SELECT 1") in packet
    assert packet.endswith(b"\x02\x00\x01\x00\x02\xff\xff\xff\xff\x00\x00\x00")


def test_text_select_quotes_hostile_names() -> None:
    sql = text_select(["a` FROM x; DROP TABLE y --"], "`d`.`t`", 5)
    name = "`a\\` FROM x; DROP TABLE y --`"
    assert sql == f"SELECT toString({name}) AS {name} FROM `d`.`t` LIMIT 5"


# --------------------------------------------------------------------------- recorded replies


def test_recorded_reply_decodes_and_proves_the_arithmetic() -> None:
    async def go() -> None:
        async with ch_server(lambda _: RECORDED_ONE_PLUS_TWO) as srv:
            ch = client(srv.port)
            res = await ch.query("SELECT 1 + 2")
            assert res.ok and res.columns == ("plus(1, 2)",) and res.rows == (("3",),)
            assert ch.hello is not None and ch.hello.version == "18.16.1"
            assert ch.revision == 54412
            await ch.close()

    run(go())


def test_recorded_string_and_nullable() -> None:
    async def go() -> None:
        async with ch_server(lambda _: RECORDED_STRING_NULLABLE) as srv:
            res = await client(srv.port).query("SELECT 'x\\ty' AS s, toNullable(7) AS n")
            assert res.rows == (("x\ty", "7"),)
            assert res.types == ("String", "Nullable(UInt8)")

    run(go())


def test_recorded_exception_becomes_an_error_and_the_next_query_reconnects() -> None:
    async def go() -> None:
        replies = iter([RECORDED_EXCEPTION, RECORDED_ONE_PLUS_TWO])
        async with ch_server(lambda _: next(replies)) as srv:
            ch = client(srv.port)
            res = await ch.query("SELECT nosuchfunction()")
            assert not res.ok and res.error is not None and res.error.code == 46
            assert (await ch.query("SELECT 1 + 2")).rows == (("3",),)
            assert srv.connections == 2

    run(go())


def test_a_lookalike_with_a_fixed_answer_is_not_proven_open() -> None:
    async def go() -> None:
        async with ch_server(lambda _: RECORDED_ONE_PLUS_TWO) as srv:
            assert await client(srv.port).prove_open() is False

    run(go())


def test_prove_open_recomputes_the_random_product() -> None:
    def answer(request: bytes) -> bytes:
        m = re.search(rb"SELECT version\(\), (\d+) \* (\d+)", request)
        assert m is not None
        value = int(m.group(1)) * int(m.group(2))
        return (
            block(
                [
                    ("version()", "String", encode_string("24.8.4.13")),
                    ("p", "UInt32", struct.pack("<I", value)),
                ],
                1,
            )
            + END
        )

    async def go() -> None:
        async with ch_server(answer) as srv:
            assert await client(srv.port).prove_open() is True

    asyncio.run(go())


def test_setting_refused_by_name_is_dropped_and_retried() -> None:
    refusal = (
        encode_uvarint(2)
        + struct.pack("<i", 164)
        + encode_string("DB::Exception")
        + encode_string("DB::Exception: Cannot modify 'max_threads' setting in readonly mode")
        + encode_string("")
        + b"\x00"
    )
    replies = iter([refusal, RECORDED_ONE_PLUS_TWO])

    async def go() -> None:
        async with ch_server(lambda _: next(replies)) as srv:
            ch = client(srv.port)
            res = await ch.query("SELECT 1 + 2")
            assert res.ok and res.refused_settings == frozenset({"max_threads"})
            assert b"max_threads" in srv.requests[0] and b"max_threads" not in srv.requests[1]
            assert b"readonly" in srv.requests[1]

    run(go())


def test_write_statements_are_never_sent() -> None:
    async def go() -> None:
        async with ch_server(lambda _: RECORDED_ONE_PLUS_TWO) as srv:
            ch = client(srv.port)
            for sql in ("INSERT INTO t VALUES (1)", "SELECT 1; DROP TABLE t", "OPTIMIZE TABLE t"):
                with pytest.raises(UnsafeStatement):
                    await ch.query(sql)
            assert srv.requests == [] and ch.sent == []

    run(go())


# --------------------------------------------------------------------------- hostile replies


def test_huge_string_length_is_not_allocated() -> None:
    data = encode_uvarint(2**62) + b"x" * 100
    reply = block([("s", "String", data)], 1) + END

    async def go() -> None:
        async with ch_server(lambda _: reply) as srv:
            ch = client(srv.port)
            with pytest.raises(ResponseTooLarge):
                await ch.query("SELECT s FROM t")
            res = await ch.query("SELECT s FROM t", allow_truncate=True)
            assert res.truncated and res.rows == ()

    run(go())


def test_absurd_row_count_is_refused_before_decoding() -> None:
    reply = block([("s", "UInt8", b"\x01" * 10)], 2**40) + END

    async def go() -> None:
        async with ch_server(lambda _: reply) as srv:
            res = await client(srv.port).query("SELECT s FROM t", allow_truncate=True)
            assert res.truncated and res.rows == ()

    run(go())


def test_endless_varint_is_a_protocol_error() -> None:
    async def go() -> None:
        async with ch_server(lambda _: b"\xff" * 64) as srv:
            with pytest.raises(ProtocolError):
                await client(srv.port).query("SELECT 1")

    run(go())


def test_unknown_packet_type_is_a_protocol_error() -> None:
    async def go() -> None:
        async with ch_server(lambda _: encode_uvarint(77) + b"\x00" * 8) as srv:
            with pytest.raises(ProtocolError):
                await client(srv.port).query("SELECT 1")

    run(go())


def test_unsupported_column_type_stops_the_query() -> None:
    reply = block([("a", "Array(UInt8)", b"\x01" + b"\x00" * 7 + b"\x05")], 1) + END

    async def go() -> None:
        async with ch_server(lambda _: reply) as srv:
            with pytest.raises(UnsupportedType):
                await client(srv.port).query("SELECT [5]")

    run(go())


def test_endless_exception_nesting_is_bounded() -> None:
    one = struct.pack("<i", 1) + encode_string("DB::E") + encode_string("m") + encode_string("")
    reply = encode_uvarint(2) + (one + b"\x01") * 40

    async def go() -> None:
        async with ch_server(lambda _: reply) as srv:
            with pytest.raises(ProtocolError):
                await client(srv.port).query("SELECT 1")

    run(go())


def test_silent_server_hits_the_deadline() -> None:
    async def go() -> None:
        async with ch_server(lambda _: None) as srv:
            started = time.monotonic()
            with pytest.raises(TimeoutError):
                await client(srv.port).query("SELECT 1")
            assert time.monotonic() - started < 4

    run(go())


def test_dribbling_server_hits_the_deadline_for_the_whole_reply() -> None:
    async def go() -> None:
        async with ch_server(lambda _: RECORDED_ONE_PLUS_TWO * 50, dribble=0.05) as srv:
            started = time.monotonic()
            with pytest.raises(TimeoutError):
                await client(srv.port).query("SELECT 1")
            assert time.monotonic() - started < 4

    run(go())


def test_many_small_blocks_are_capped_in_bytes() -> None:
    one = block([("s", "String", encode_string("y" * 1000))], 1)
    reply = one * 200 + END

    async def go() -> None:
        async with ch_server(lambda _: reply) as srv:
            res = await client(srv.port).query("SELECT s", limit=50_000, allow_truncate=True)
            assert res.truncated and 0 < len(res.rows) < 60 and res.bytes_read <= 50_000

    run(go())


def test_login_refusal_is_returned_as_an_error() -> None:
    refusal = (
        encode_uvarint(2)
        + struct.pack("<i", 194)
        + encode_string("DB::Exception")
        + encode_string("DB::Exception: Password required for user default")
        + encode_string("")
        + b"\x00"
    )

    async def go() -> None:
        async with ch_server(lambda _: None, hello=refusal) as srv:
            res = await client(srv.port).query("SELECT 1")
            assert res.error is not None and res.error.code == 194 and srv.requests == []

    run(go())
