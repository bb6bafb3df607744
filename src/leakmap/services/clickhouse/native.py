"""The native protocol's first exchange: client Hello out, server Hello or Exception back.

Client Hello: UVarInt packet type ``0``, String client name, UVarInt major, minor, revision,
String database, user, password (a String is a UVarInt length plus bytes). We send a low
revision (54405) so the reply stays simple. The server answers packet ``0`` (Hello: name,
major, minor, revision, timezone, display name, patch) only when the login worked, or packet
``2`` (Exception: Int32 code, name, message, stack trace, nested flag) with the refusal.

Every length and count from the server is checked against what was actually read: a hostile
UVarInt of 2**63 does not allocate anything, a truncated packet raises
:class:`~leakmap.errors.ProtocolError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from dataclasses import dataclass

from leakmap.errors import ProtocolError
from leakmap.net.bounded import Network

__all__ = [
    "CLIENT_REVISION",
    "MAX_PACKET_BYTES",
    "NativeException",
    "NativeHello",
    "ServerPacket",
    "encode_hello",
    "encode_string",
    "encode_uvarint",
    "handshake",
    "parse_server_packet",
    "parse_server_packet_at",
]

CLIENT_REVISION = 54405
#: Past this, a first packet is not a ClickHouse Hello or Exception.
MAX_PACKET_BYTES = 64 * 1024
_MAX_STRING = 16 * 1024

_PKT_HELLO = 0
_PKT_EXCEPTION = 2
_REV_TIMEZONE = 54058
_REV_DISPLAY_NAME = 54372
_REV_PATCH = 54401


@dataclass(frozen=True, slots=True)
class NativeHello:
    name: str
    major: int
    minor: int
    revision: int
    timezone: str | None
    display_name: str | None
    patch: int | None

    @property
    def version(self) -> str:
        if self.patch is not None:
            return f"{self.major}.{self.minor}.{self.patch}"
        return f"{self.major}.{self.minor}"


@dataclass(frozen=True, slots=True)
class NativeException:
    code: int
    name: str
    message: str


ServerPacket = NativeHello | NativeException


def encode_uvarint(value: int) -> bytes:
    if value < 0:
        raise ValueError("uvarint must be >= 0")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_string(value: str) -> bytes:
    raw = value.encode("utf-8")
    return encode_uvarint(len(raw)) + raw


def encode_hello(
    *,
    client_name: str = "leakmap",
    user: str = "default",
    password: str = "",
    database: str = "",
    major: int = 18,
    minor: int = 16,
    revision: int = CLIENT_REVISION,
) -> bytes:
    """A client Hello packet."""
    return b"".join(
        (
            encode_uvarint(_PKT_HELLO),
            encode_string(client_name),
            encode_uvarint(major),
            encode_uvarint(minor),
            encode_uvarint(revision),
            encode_string(database),
            encode_string(user),
            encode_string(password),
        )
    )


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def uvarint(self) -> int:
        result = 0
        for shift in range(0, 70, 7):
            if self.pos >= len(self.data):
                raise ProtocolError("truncated varint")
            byte = self.data[self.pos]
            self.pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
        raise ProtocolError("varint longer than 10 bytes")

    def string(self) -> str:
        length = self.uvarint()
        if length > _MAX_STRING:
            raise ProtocolError(f"string length {min(length, 2**63)} over the limit")
        end = self.pos + length
        if end > len(self.data):
            raise ProtocolError("truncated string")
        raw = self.data[self.pos : end]
        self.pos = end
        return raw.decode("utf-8", "replace")

    def int32(self) -> int:
        if self.pos + 4 > len(self.data):
            raise ProtocolError("truncated int32")
        (value,) = struct.unpack_from("<i", self.data, self.pos)
        self.pos += 4
        return int(value)

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise ProtocolError("truncated byte")
        value = self.data[self.pos]
        self.pos += 1
        return value


def _plausible_name(text: str) -> bool:
    return 0 < len(text) <= 256 and text.isprintable()


def parse_server_packet(data: bytes, client_revision: int = CLIENT_REVISION) -> ServerPacket:
    """Parse the first server packet. Raises ProtocolError for anything else (incl. truncated)."""
    return parse_server_packet_at(data, client_revision)[0]


def parse_server_packet_at(
    data: bytes, client_revision: int = CLIENT_REVISION
) -> tuple[ServerPacket, int]:
    """:func:`parse_server_packet` plus the number of bytes the packet took (for a Hello;
    an Exception's stack trace is not read: the connection ends after it anyway)."""
    r = _Reader(data)
    kind = r.uvarint()
    if kind == _PKT_HELLO:
        name = r.string()
        if not _plausible_name(name):
            raise ProtocolError("implausible server name in Hello")
        major, minor, revision = r.uvarint(), r.uvarint(), r.uvarint()
        if major > 1000 or minor > 1000 or revision > 10**7:
            raise ProtocolError("implausible version numbers in Hello")
        rev = min(revision, client_revision)
        timezone = r.string() if rev >= _REV_TIMEZONE else None
        display = r.string() if rev >= _REV_DISPLAY_NAME else None
        patch = r.uvarint() if rev >= _REV_PATCH else None
        if patch is not None and patch > 10**7:
            raise ProtocolError("implausible patch number in Hello")
        return NativeHello(name, major, minor, revision, timezone, display, patch), r.pos
    if kind == _PKT_EXCEPTION:
        code = r.int32()
        name = r.string()
        message = r.string()
        if not (0 <= code < 100000) or not name.startswith("DB::"):
            raise ProtocolError("implausible Exception packet")
        return NativeException(code, name, message), r.pos
    raise ProtocolError(f"unexpected first packet type {min(kind, 2**63)}")


async def handshake(
    network: Network, ip: str, port: int, *, tls: bool, timeout: float
) -> tuple[ServerPacket | None, bytes]:
    """Send a Hello (user ``default``, empty password); return (packet or None, raw bytes).

    Reads at most :data:`MAX_PACKET_BYTES` within ``timeout`` seconds in total, stopping as
    soon as a complete packet parsed. Connection errors propagate (OSError, TimeoutError).
    """
    reader, writer = await network.open_tcp(ip, port, tls=tls)
    buf = bytearray()
    try:
        writer.write(encode_hello())
        await asyncio.wait_for(writer.drain(), timeout)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(buf) < MAX_PACKET_BYTES:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                chunk = await asyncio.wait_for(reader.read(8192), remaining)
            except TimeoutError:
                break
            if not chunk:
                break
            buf += chunk
            try:
                return parse_server_packet(bytes(buf)), bytes(buf)
            except ProtocolError as exc:
                if "truncated" not in str(exc):
                    return None, bytes(buf)
        try:
            return parse_server_packet(bytes(buf)), bytes(buf)
        except ProtocolError:
            return None, bytes(buf)
    finally:
        writer.close()
        # closing a hostile connection must never raise
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer.wait_closed(), 1.0)
