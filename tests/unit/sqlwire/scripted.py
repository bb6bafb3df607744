"""A scripted TCP server on 127.0.0.1 for wire-protocol unit tests (recorded and hostile
replies): sends ``on_connect`` first (a MySQL greeting); with ``hello``, answers the first
request of every connection with it, unrecorded (a ClickHouse native Hello); then answers each
request it reads with ``reply(request)`` - bytes, or None to stay silent. ``dribble`` sends
replies a byte at a time; ``flood`` streams after the first reply until the client gives up;
an answer starting with ``hangup`` is followed by closing the connection."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["Reply", "Scripted"]

Reply = Callable[[bytes], bytes | None]


class Scripted:
    def __init__(
        self,
        reply: Reply,
        *,
        on_connect: bytes = b"",
        hello: bytes = b"",
        dribble: float = 0,
        flood: bytes = b"",
        hangup: bytes = b"",
    ) -> None:
        self.hangup = hangup
        self.reply, self.on_connect, self.hello = reply, on_connect, hello
        self.dribble, self.flood = dribble, flood
        self.requests: list[bytes] = []
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Scripted:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _send(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        if not self.dribble:
            writer.write(data)
            await writer.drain()
            return
        for i in range(len(data)):
            writer.write(data[i : i + 1])
            await writer.drain()
            await asyncio.sleep(self.dribble)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            if self.on_connect:
                await self._send(writer, self.on_connect)
            if self.hello:
                await reader.read(65536)
                writer.write(self.hello)
                await writer.drain()
            while True:
                data = await reader.read(65536)
                if not data:
                    return
                self.requests.append(data)
                answer = self.reply(data)
                if answer is None:
                    await asyncio.sleep(3600)
                    return
                await self._send(writer, answer)
                if self.hangup and answer.startswith(self.hangup):
                    return  # hang up after this answer (ClickHouse after an error)
                if self.flood:  # then stream until the client gives up (bounded: 256 MiB)
                    for _ in range((256 << 20) // len(self.flood)):
                        writer.write(self.flood)
                        await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
