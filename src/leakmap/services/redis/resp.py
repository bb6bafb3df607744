"""A bounded RESP2 client: the only way leakmap talks to Redis.

Why not redis-py: its parsers read whatever length the server announces (``readexactly`` of
a 4 GB bulk string grows the buffer until the server stops sending) and have no per-reply byte
budget. This client is a few dozen lines over :class:`~leakmap.net.stream.BudgetedReader`:

* a bulk string longer than what is left of the reply's byte budget is refused before a byte
  of it is read; so is an array header whose element count could not fit in the budget (a
  ``*2000000000`` header costs nothing) or exceeds ``max_elements``; nesting is capped;
* every reply has a deadline; a stream that ends early or sends a type byte RESP2 does not
  have is a :class:`~leakmap.errors.ProtocolError`;
* every command passes :func:`guard_command`, an allow-list of reads (plus ``AUTH`` and
  ``SELECT``, which change only the connection): a write cannot be sent by mistake.

Replies are Python values: ``bytes`` (bulk), ``None`` (null bulk or array), ``int``,
``list`` (array), :class:`Status` (``+OK``) and :class:`ErrorReply` (``-ERR ...``, not raised:
error codes such as ``NOAUTH`` are answers the plugin reads).
"""

from __future__ import annotations

from dataclasses import dataclass

from leakmap.errors import ProbeError, ProtocolError
from leakmap.net.stream import BudgetedReader, Conversation

__all__ = [
    "READ_COMMANDS",
    "ErrorReply",
    "RespClient",
    "RespValue",
    "Status",
    "UnsafeCommand",
    "encode_command",
    "guard_command",
    "read_reply",
]


@dataclass(frozen=True, slots=True)
class Status:
    """A simple-string reply (``+PONG``)."""

    text: str


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """An error reply (``-NOAUTH Authentication required.``). ``code`` is its first word."""

    text: str

    @property
    def code(self) -> str:
        word = self.text.split(" ", 1)[0]
        return word if word.isascii() and word.isupper() else "ERR"


RespValue = bytes | int | None | Status | ErrorReply | list["RespValue"]

#: Commands (and ``COMMAND|SUBCOMMAND`` pairs) the client may send. Every one reads, or
#: changes only this connection's own state (AUTH, SELECT). ``ACL DRYRUN`` checks a command
#: against the ACL without running it.
READ_COMMANDS = frozenset(
    {
        "PING",
        "ECHO",
        "INFO",
        "AUTH",
        "SELECT",
        "DBSIZE",
        "SCAN",
        "TYPE",
        "STRLEN",
        "GETRANGE",
        "HLEN",
        "HSCAN",
        "LLEN",
        "LRANGE",
        "SCARD",
        "SSCAN",
        "ZCARD",
        "ZRANGE",
        "XLEN",
        "XRANGE",
        "COMMAND|INFO",
        "COMMAND|COUNT",
        "ACL|WHOAMI",
        "ACL|GETUSER",
        "ACL|DRYRUN",
    }
)
_WITH_SUBCOMMAND = frozenset({"COMMAND", "ACL", "CONFIG", "CLIENT", "MODULE", "SCRIPT", "DEBUG"})
_MAX_DEPTH = 8


class UnsafeCommand(ProbeError):
    """A command outside :data:`READ_COMMANDS` was about to be sent."""


def _text(arg: bytes | str) -> str:
    return arg.decode("ascii", "replace") if isinstance(arg, bytes) else arg


def guard_command(args: tuple[bytes | str, ...]) -> str:
    """The command's name (``ACL|WHOAMI``) when it is a read; else raise UnsafeCommand."""
    if not args:
        raise UnsafeCommand("empty command")
    name = _text(args[0]).upper()
    if name in _WITH_SUBCOMMAND:
        sub = _text(args[1]).upper() if len(args) > 1 else ""
        name = f"{name}|{sub}"
    if name not in READ_COMMANDS:
        raise UnsafeCommand(f"refusing to send {name!r}: not a read command")
    return name


def encode_command(args: tuple[bytes | str, ...]) -> bytes:
    """A RESP array of bulk strings."""
    out = bytearray(b"*%d\r\n" % len(args))
    for arg in args:
        raw = arg.encode("utf-8") if isinstance(arg, str) else arg
        out += b"$%d\r\n%s\r\n" % (len(raw), raw)
    return bytes(out)


def _int(line: bytes) -> int:
    if not line or len(line) > 20 or not line.lstrip(b"-").isdigit():
        raise ProtocolError("not a RESP integer")
    return int(line)


async def read_reply(
    stream: BudgetedReader, *, max_elements: int = 100_000, depth: int = 0
) -> RespValue:
    """Read one RESP2 reply within ``stream``'s budget."""
    if depth > _MAX_DEPTH:
        raise ProtocolError("RESP nesting too deep")
    line = await stream.readline()
    if not line:
        raise ProtocolError("empty RESP line")
    kind, rest = line[:1], line[1:]
    if kind == b"+":
        return Status(rest.decode("utf-8", "replace"))
    if kind == b"-":
        return ErrorReply(rest.decode("utf-8", "replace"))
    if kind == b":":
        return _int(rest)
    if kind == b"$":
        n = _int(rest)
        if n == -1:
            return None
        if n < 0:
            raise ProtocolError("negative bulk length")
        stream.check(n + 2)  # refuse before allocating
        data = await stream.readexactly(n + 2)
        if data[-2:] != b"\r\n":
            raise ProtocolError("bulk string not followed by CRLF")
        return data[:-2]
    if kind == b"*":
        n = _int(rest)
        if n == -1:
            return None
        if n < 0 or n > max_elements:
            raise ProtocolError(f"array of {n} elements refused (limit {max_elements})")
        stream.check(3 * n)  # the shortest element is 3 bytes ("+\r\n")
        items: list[RespValue] = []
        for _ in range(n):
            items.append(await read_reply(stream, max_elements=max_elements, depth=depth + 1))
        return items
    raise ProtocolError("unknown RESP type byte")


@dataclass(slots=True)
class RespClient(Conversation):
    """One connection: send a guarded command, read one bounded reply (budgets per reply
    and per connection, see :class:`~leakmap.net.stream.Conversation`)."""

    max_elements: int = 100_000

    async def call(self, *args: bytes | str) -> RespValue:
        stream = await self.send(guard_command(args), encode_command(args))
        return await read_reply(stream, max_elements=self.max_elements)
