"""MongoDB's OP_MSG framing, bounded, with pymongo's ``bson`` for the documents.

Why not pymongo's client: it bounds a reply by the ``maxMessageSizeBytes`` the server itself
announces (48 MB unless the hello says more), discovers and connects to the replica-set
members a hello names unless told otherwise, and runs monitor tasks per server - none of it
under the scan's own byte budget or network layer. The framing is a few lines; the part
worth a library, BSON, is pymongo's ``bson`` (its C decoder).

One command = one OP_MSG (opcode 2013) with a single kind-0 section; the reply's length is
checked against the byte budget before its body is read::

    header  int32 messageLength, int32 requestID, int32 responseTo, int32 opCode (2013)
    body    uint32 flagBits, byte 0, BSON document (the command, with "$db")

Commands (:data:`READ_COMMANDS`, checked by :func:`guard_command`): ``isMaster``/``hello``,
``buildInfo``, ``listDatabases``, ``listCollections``, ``count`` (metadata, no query),
``find`` (always with ``limit``, ``singleBatch`` and ``maxTimeMS``), ``connectionStatus``,
``saslStart``/``saslContinue`` (``--try-default-credentials`` only).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import bson
from bson.codec_options import CodecOptions
from bson.errors import BSONError

from leakmap.errors import ProbeError, ProtocolError, ResponseTooLarge
from leakmap.net.stream import Conversation

__all__ = [
    "OP_MSG",
    "READ_COMMANDS",
    "MongoClient",
    "UnsafeCommand",
    "decode_reply",
    "encode_msg",
    "guard_command",
]

OP_MSG = 2013
_HEADER = struct.Struct("<iiii")
READ_COMMANDS = frozenset(
    {
        "isMaster",
        "ismaster",
        "hello",
        "buildInfo",
        "buildinfo",
        "listDatabases",
        "listCollections",
        "count",
        "find",
        "connectionStatus",
        "saslStart",
        "saslContinue",
    }
)
_CODEC = CodecOptions(document_class=dict, unicode_decode_error_handler="replace")


class UnsafeCommand(ProbeError):
    """A command outside :data:`READ_COMMANDS` was about to be sent."""


def guard_command(command: Mapping[str, Any]) -> str:
    """The command's name (its first key) when it is a read; else raise UnsafeCommand.
    A ``find`` must carry a positive ``limit`` and ``singleBatch``."""
    name = next(iter(command), "")
    if name not in READ_COMMANDS:
        raise UnsafeCommand(f"refusing to send {name[:30]!r}: not a read command")
    if name == "find":
        limit = command.get("limit")
        if not (isinstance(limit, int) and limit > 0) or command.get("singleBatch") is not True:
            raise UnsafeCommand("a find must carry a positive limit and singleBatch")
    return name


def encode_msg(request_id: int, command: Mapping[str, Any]) -> bytes:
    body = struct.pack("<IB", 0, 0) + bson.encode(command)
    return _HEADER.pack(_HEADER.size + len(body), request_id, 0, OP_MSG) + body


def decode_reply(body: bytes) -> dict[str, Any]:
    """The document of an OP_MSG reply body (after the 16-byte header)."""
    if len(body) < 5 + 5:
        raise ProtocolError("OP_MSG reply too short")
    flags, kind = struct.unpack_from("<IB", body)
    if kind != 0:
        raise ProtocolError("OP_MSG reply does not start with a body section")
    if flags & 0x1:  # checksumPresent: the document ends 4 bytes early
        body = body[:-4]
        if len(body) < 5 + 5:
            raise ProtocolError("OP_MSG reply too short")
    doc_len = struct.unpack_from("<i", body, 5)[0]
    if doc_len < 5 or 5 + doc_len != len(body):
        raise ProtocolError("OP_MSG section length does not match the message")
    try:
        doc = bson.decode(body[5:], codec_options=_CODEC)
    except (BSONError, ValueError, RecursionError, OverflowError) as exc:
        raise ProtocolError(f"BSON did not decode ({type(exc).__name__})") from None
    return doc


@dataclass(slots=True)
class MongoClient(Conversation):
    """One connection: a guarded command out, one bounded OP_MSG reply back."""

    _next_id: int = 1

    async def command(self, db: str, command: Mapping[str, Any]) -> dict[str, Any]:
        name = guard_command(command)
        request_id = self._next_id
        self._next_id += 1
        stream = await self.send(name, encode_msg(request_id, {**command, "$db": db}))
        header = await stream.readexactly(_HEADER.size)
        length, _rid, response_to, opcode = _HEADER.unpack(header)
        if opcode != OP_MSG:
            raise ProtocolError(f"reply opcode {opcode}, not OP_MSG")
        if response_to != request_id:
            raise ProtocolError("reply answers another request")
        if length < _HEADER.size + 10:
            raise ProtocolError("reply length too small")
        if length - _HEADER.size > stream.remaining:
            raise ResponseTooLarge(f"reply of {length} bytes exceeds the budget")
        return decode_reply(await stream.readexactly(length - _HEADER.size))
