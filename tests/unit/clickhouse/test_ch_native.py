"""Native protocol codec: client Hello, server Hello / Exception, truncated and hostile packets.

``RECORDED_18_16_HELLO`` is the exact server Hello that Debian's clickhouse-server 18.16.1
(timezone Europe/Berlin, display name "vm") sent to our Hello on this machine.
"""

from __future__ import annotations

import asyncio
import struct

import pytest

from leakmap.errors import ProtocolError
from leakmap.net.bounded import Network
from leakmap.services.clickhouse.native import (
    NativeException,
    NativeHello,
    encode_hello,
    encode_string,
    encode_uvarint,
    handshake,
    parse_server_packet,
)

RECORDED_18_16_HELLO = b"\x00\nClickHouse\x12\x10\x8c\xa9\x03\rEurope/Berlin\x02vm\x01"


def server_hello(
    name: str = "ClickHouse",
    version: tuple[int, int, int] = (24, 8, 4),
    revision: int = 54471,
    timezone: str = "Asia/Shanghai",
    display: str = "prod-1",
) -> bytes:
    return b"".join(
        (
            encode_uvarint(0),
            encode_string(name),
            encode_uvarint(version[0]),
            encode_uvarint(version[1]),
            encode_uvarint(revision),
            encode_string(timezone),
            encode_string(display),
            encode_uvarint(version[2]),
        )
    )


def exception_packet(code: int, name: str, message: str) -> bytes:
    return b"".join(
        (
            encode_uvarint(2),
            struct.pack("<i", code),
            encode_string(name),
            encode_string(message),
            encode_string("stack"),
            b"\x00",
        )
    )


@pytest.mark.parametrize(
    ("value", "encoded"),
    [(0, b"\x00"), (1, b"\x01"), (127, b"\x7f"), (128, b"\x80\x01"), (54405, b"\x85\xa9\x03")],
)
def test_uvarint(value: int, encoded: bytes) -> None:
    assert encode_uvarint(value) == encoded


def test_client_hello_layout() -> None:
    pkt = encode_hello(user="default", password="")
    assert pkt == (
        b"\x00"
        + b"\x07leakmap"
        + b"\x12\x10"
        + b"\x85\xa9\x03"
        + b"\x00"
        + b"\x07default"
        + b"\x00"
    )


def test_recorded_18_16_hello() -> None:
    pkt = parse_server_packet(RECORDED_18_16_HELLO)
    assert pkt == NativeHello("ClickHouse", 18, 16, 54412, "Europe/Berlin", "vm", 1)
    assert pkt.version == "18.16.1"


@pytest.mark.parametrize("tz", ["UTC", "Asia/Shanghai", "America/Argentina/Buenos_Aires", ""])
def test_any_timezone_is_accepted(tz: str) -> None:
    pkt = parse_server_packet(server_hello(timezone=tz))
    assert isinstance(pkt, NativeHello)
    assert pkt.timezone == tz
    assert pkt.version == "24.8.4"


@pytest.mark.parametrize(
    ("code", "name", "message"),
    [
        (194, "DB::Exception", "Password required for user default"),
        (516, "DB::Exception", "default: Authentication failed: password is incorrect"),
        (195, "DB::Exception", "User default is not allowed to connect from address 10.0.0.1"),
    ],
)
def test_exception_packet(code: int, name: str, message: str) -> None:
    pkt = parse_server_packet(exception_packet(code, name, message))
    assert pkt == NativeException(code, name, message)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00",
        RECORDED_18_16_HELLO[:5],
        RECORDED_18_16_HELLO[:-1],
        exception_packet(194, "DB::Exception", "x")[:6],
        b"\x00\xff\xff\xff\xff\xff\xff\xff\xff\x7f",  # string length ~2**63
        b"\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",  # varint > 10 bytes
        b"\x02\x00\x00",  # truncated int32
    ],
)
def test_truncated_and_hostile_packets_raise_protocol_error(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_server_packet(data)


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 400 Bad Request\r\n\r\n",
        b"\x05hello",
        server_hello(name=""),
        server_hello(name="bad\x00name"),
        server_hello(version=(99999, 1, 1)),
        exception_packet(194, "NotDB", "x"),
        exception_packet(-5, "DB::Exception", "x"),
        b"J\x00\x00\x00\n8.0.33\x00",  # a MySQL greeting
    ],
)
def test_non_clickhouse_first_packets_are_refused(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_server_packet(data)


async def _serve(answer: bytes | None, *, chunk: int = 0) -> tuple[asyncio.Server, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        if answer is None:
            await asyncio.sleep(10)
        elif chunk:
            for i in range(0, len(answer), chunk):
                writer.write(answer[i : i + chunk])
                await writer.drain()
                await asyncio.sleep(0.01)
        else:
            writer.write(answer)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.20.9", 0)
    return server, server.sockets[0].getsockname()[1]


@pytest.mark.parametrize("chunk", [0, 1, 3])
async def test_handshake_reads_a_hello_in_pieces(chunk: int) -> None:
    server, port = await _serve(RECORDED_18_16_HELLO, chunk=chunk)
    async with server:
        pkt, raw = await handshake(Network(), "127.0.20.9", port, tls=False, timeout=2)
    assert isinstance(pkt, NativeHello)
    assert raw == RECORDED_18_16_HELLO


async def test_handshake_on_a_silent_server_times_out_with_nothing() -> None:
    server, port = await _serve(None)
    async with server:
        loop = asyncio.get_running_loop()
        start = loop.time()
        pkt, raw = await handshake(Network(), "127.0.20.9", port, tls=False, timeout=0.3)
        assert loop.time() - start < 2
    assert pkt is None and raw == b""


async def test_handshake_on_garbage_returns_none() -> None:
    server, port = await _serve(b"\x07" * 300)
    async with server:
        pkt, raw = await handshake(Network(), "127.0.20.9", port, tls=False, timeout=1)
    assert pkt is None
    assert raw
