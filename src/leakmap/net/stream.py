"""Reading a hostile TCP stream with a byte budget and a deadline.

:class:`BudgetedReader` wraps an :class:`asyncio.StreamReader` for protocols framed by lines or
by lengths the server announces (RESP, the memcached text protocol, MongoDB's OP_MSG). Every
read is checked against what is left of the budget *before* anything is allocated, so a
server that announces a 4 GB string or a two-billion-element array is refused at once, and a
server that dribbles bytes runs into the deadline.

Example::

    budget = BudgetedReader(reader, limit=1 << 20, timeout=5.0)
    line = await budget.readline()          # b"$5" (without the CRLF)
    data = await budget.readexactly(5 + 2)  # refused when 7 > what is left of 1 MiB

Raises :class:`~leakmap.errors.ResponseTooLarge` past the budget,
:class:`~leakmap.errors.ProtocolError` for a line longer than ``max_line`` or a stream that
ends early, and :class:`TimeoutError` past the deadline.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from leakmap.errors import ProtocolError, ResponseTooLarge

__all__ = ["BudgetedReader", "Conversation", "close_quietly"]


class BudgetedReader:
    """Line and length reads from ``reader``, at most ``limit`` bytes before ``timeout`` s.

    :meth:`renew` starts a fresh budget (one reply's worth); ``total`` caps every byte the
    reader will ever hand out, across renewals (``None``: no overall cap).
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        *,
        limit: int,
        timeout: float,
        max_line: int = 64 * 1024,
        total: int | None = None,
    ) -> None:
        self._reader = reader
        self._max_line = max_line
        self._total_left = total
        self.limit = limit
        self.timeout = timeout
        self.remaining = limit
        self._deadline = asyncio.get_running_loop().time() + timeout

    def renew(self, limit: int | None = None, timeout: float | None = None) -> None:
        """A fresh budget of ``limit`` bytes (default: the same) and ``timeout`` s from now."""
        self.limit = self.limit if limit is None else limit
        self.timeout = self.timeout if timeout is None else timeout
        self.remaining = self.limit
        self._deadline = asyncio.get_running_loop().time() + self.timeout

    def _take(self, n: int) -> None:
        if n > self.remaining:
            raise ResponseTooLarge(f"reply exceeds the {self.limit}-byte budget")
        if self._total_left is not None:
            if n > self._total_left:
                raise ResponseTooLarge("the connection's overall byte budget is spent")
            self._total_left -= n
        self.remaining -= n

    def check(self, n: int) -> None:
        """Raise ResponseTooLarge when ``n`` more bytes would not fit (nothing is consumed)."""
        if n > self.remaining or (self._total_left is not None and n > self._total_left):
            raise ResponseTooLarge(f"announced {n} bytes, more than the budget allows")

    async def readline(self) -> bytes:
        """One line without its ``\\r\\n`` (or ``\\n``); at most ``max_line`` bytes."""
        try:
            async with asyncio.timeout_at(self._deadline):
                line = await self._reader.readuntil(b"\n")
        except asyncio.LimitOverrunError:
            raise ProtocolError("line longer than the stream's line limit") from None
        except asyncio.IncompleteReadError:
            raise ProtocolError("the stream ended inside a line") from None
        if len(line) > self._max_line:
            raise ProtocolError(f"line longer than {self._max_line} bytes")
        self._take(len(line))
        return line[:-2] if line.endswith(b"\r\n") else line[:-1]

    async def readexactly(self, n: int) -> bytes:
        """Exactly ``n`` bytes; refused before reading when ``n`` exceeds the budget."""
        if n < 0:
            raise ProtocolError("negative length")
        self.check(n)
        try:
            async with asyncio.timeout_at(self._deadline):
                data = await self._reader.readexactly(n)
        except asyncio.IncompleteReadError:
            raise ProtocolError("the stream ended early") from None
        self._take(n)
        return data


async def close_quietly(writer: asyncio.StreamWriter, timeout: float = 1.0) -> None:
    """Close a connection without waiting long or raising (the peer may be hostile)."""
    writer.close()
    try:
        async with asyncio.timeout(timeout):
            await writer.wait_closed()
    except (OSError, TimeoutError):
        pass


@dataclass(slots=True)
class Conversation:
    """A request/reply connection: each request gets a fresh reply budget of ``reply_limit``
    bytes and ``timeout`` seconds; ``total_limit`` caps the whole connection. ``sent`` lists
    what was sent (command names, for tests and notes). After any exception the
    conversation is out of step: close it."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    reply_limit: int
    timeout: float
    total_limit: int | None = None
    sent: list[str] = field(default_factory=list)
    _stream: BudgetedReader | None = None

    async def send(self, name: str, data: bytes) -> BudgetedReader:
        """Write ``data`` (recorded as ``name``); the budgeted reader for its reply."""
        if self._stream is None:
            self._stream = BudgetedReader(
                self.reader, limit=self.reply_limit, timeout=self.timeout, total=self.total_limit
            )
        else:
            self._stream.renew()
        self.sent.append(name)
        self.writer.write(data)
        async with asyncio.timeout(self.timeout):
            await self.writer.drain()
        return self._stream

    async def close(self) -> None:
        await close_quietly(self.writer)
