"""A bounded client for memcached's text protocol (and one binary ``version`` probe).

Commands it can send (:func:`guard_command`): ``version``, ``stats``, ``stats items``,
``stats settings``, ``stats cachedump N M`` (old servers), ``lru_crawler metadump all`` (key
names and metadata, 1.4.31+), ``get``.
None of them stores, deletes or touches an item. Every reply is read line by line through a
:class:`~leakmap.net.stream.BudgetedReader`: bounded bytes, lines and time; a ``VALUE`` line
announcing more bytes than the budget holds is refused before reading it.

Replies that tell the access state::

    CLIENT_ERROR unauthenticated   -Y authfile (ascii auth) on, no credential sent
    binary status 0x0020           SASL (binary protocol only): authentication required
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from leakmap.errors import ProbeError, ProtocolError
from leakmap.net.stream import BudgetedReader, Conversation

__all__ = [
    "BinaryVersion",
    "McClient",
    "MetaKey",
    "UnsafeCommand",
    "Value",
    "binary_version_request",
    "guard_command",
    "parse_binary_version",
    "parse_metadump_line",
]

_SAFE = (
    re.compile(r"version"),
    re.compile(r"stats(?: (?:items|settings|slabs|cachedump \d{1,3} \d{1,6}))?"),
    re.compile(r"lru_crawler metadump all"),
    re.compile(r"get(?: [\x21-\x7e]{1,250}){1,100}"),
)
_VALUE = re.compile(rb"VALUE (\S{1,250}) (\d{1,10}) (\d{1,10})(?: \d{1,20})?")
_MAX_LINES = 100_000


class UnsafeCommand(ProbeError):
    """A command outside the read-only set was about to be sent."""


def guard_command(command: str) -> str:
    """``command`` when it is one of the read commands above; else raise UnsafeCommand."""
    if "\r" in command or "\n" in command or not any(p.fullmatch(command) for p in _SAFE):
        raise UnsafeCommand(f"refusing to send {command.split(' ', 1)[0][:20]!r}")
    return command


@dataclass(frozen=True, slots=True)
class Value:
    key: bytes
    data: bytes


@dataclass(frozen=True, slots=True)
class MetaKey:
    """One ``lru_crawler metadump`` line: the key (URL-decoded) and its size when given."""

    key: bytes
    size: int | None


def parse_metadump_line(line: bytes) -> MetaKey | None:
    """``key=sess%3A1 exp=-1 la=... cas=1 fetch=no cls=1 size=63`` -> MetaKey; else None."""
    fields = dict(part.split(b"=", 1) for part in line.split(b" ") if b"=" in part)
    raw = fields.get(b"key")
    if not raw or len(raw) > 1024:
        return None
    size = fields.get(b"size", b"")
    return MetaKey(unquote_to_bytes(raw), int(size) if size.isdigit() and len(size) < 12 else None)


@dataclass(frozen=True, slots=True)
class BinaryVersion:
    status: int
    version: str | None


def binary_version_request() -> bytes:
    """A binary-protocol ``version`` request (magic 0x80, opcode 0x0b, no body)."""
    return struct.pack(">BBHBBHIIQ", 0x80, 0x0B, 0, 0, 0, 0, 0, 0x6C6B6D70, 0)


def parse_binary_version(data: bytes) -> BinaryVersion | None:
    """A binary-protocol response to :func:`binary_version_request`, or None if it is not
    one (wrong magic, opcode or opaque, or a body that does not match its length)."""
    if len(data) < 24:
        return None
    magic, opcode, keylen, extlen, _dt, status, bodylen, opaque, _cas = struct.unpack(
        ">BBHBBHIIQ", data[:24]
    )
    if magic != 0x81 or opcode != 0x0B or opaque != 0x6C6B6D70 or keylen or extlen:
        return None
    body = data[24 : 24 + bodylen]
    if bodylen > 256 or len(body) != bodylen:
        return None
    version = body.decode("ascii", "replace") if status == 0 else None
    return BinaryVersion(status, version)


@dataclass(slots=True)
class McClient(Conversation):
    """One text-protocol connection; ``reply_limit`` bytes and ``timeout`` s per reply."""

    async def _send(self, command: str) -> BudgetedReader:
        name = command.split(" ", 1)[0] if command.startswith("get ") else command
        return await self.send(name, guard_command(command).encode("ascii") + b"\r\n")

    async def line(self, command: str) -> bytes:
        """Send ``command``; its one-line reply (``VERSION 1.6.18``, ``CLIENT_ERROR ...``)."""
        stream = await self._send(command)
        return await stream.readline()

    async def lines(self, command: str, *, max_lines: int = _MAX_LINES) -> list[bytes]:
        """Send ``command``; the lines up to ``END``. An error line comes back alone.
        More than ``max_lines`` lines is a ProtocolError."""
        stream = await self._send(command)
        out: list[bytes] = []
        while True:
            line = await stream.readline()
            if line == b"END":
                return out
            if line.startswith((b"ERROR", b"CLIENT_ERROR", b"SERVER_ERROR")) and not out:
                return [line]
            out.append(line)
            if len(out) > max_lines:
                raise ProtocolError(f"more than {max_lines} lines")

    async def get(self, keys: list[bytes]) -> list[Value] | bytes:
        """``get k1 k2 ...``: the values found, or the error line the server sent."""
        stream = await self._send("get " + " ".join(k.decode("ascii") for k in keys))
        values: list[Value] = []
        while True:
            line = await stream.readline()
            if line == b"END":
                return values
            m = _VALUE.fullmatch(line)
            if m is None:
                if not values and line.startswith((b"ERROR", b"CLIENT_ERROR", b"SERVER_ERROR")):
                    return line
                raise ProtocolError("unexpected line in a get reply")
            n = int(m.group(3))
            stream.check(n + 2)
            data = await stream.readexactly(n + 2)
            if data[-2:] != b"\r\n":
                raise ProtocolError("value not followed by CRLF")
            values.append(Value(m.group(1), data[:-2]))
            if len(values) > len(keys):
                raise ProtocolError("more values than keys asked for")
