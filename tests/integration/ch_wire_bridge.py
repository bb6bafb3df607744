"""ClickHouse's MySQL (9004) and PostgreSQL (9005) interfaces in front of a REAL lab ClickHouse.

Debian's clickhouse-server 18.16 has neither interface, so :class:`WireBridge` plays it: it
speaks the server side of the MySQL or PostgreSQL wire protocol the way ClickHouse's
``MySQLHandler`` / ``PostgreSQLHandler`` do (greeting ``X.Y.Z-ClickHouse``, login as
``default``, text result sets; for PostgreSQL ``server_version`` = the ClickHouse version,
errors as SQLSTATE 2F000 ``Query execution failed.`` followed by a hang-up), and runs every
statement it receives on the real server over HTTP (``FORMAT TabSeparatedWithNames``).
The framing is rebuilt from ClickHouse's source; the answers are the real server's.

``password=True`` refuses the login like a password-protected ``default`` (MySQL: ERR 194;
PostgreSQL: AuthenticationCleartextPassword). Every statement received is kept in
``.statements``. Listens on one loopback address, in a thread with its own event loop.
"""

from __future__ import annotations

import asyncio
import struct
import threading
from typing import Literal, Self

import httpx

from leakmap.lab.addresses import require_loopback
from leakmap.services.clickhouse.tsv import parse_tsv

__all__ = ["WireBridge"]


def _lenenc_str(value: bytes) -> bytes:
    n = len(value)
    if n < 251:
        head = bytes([n])
    elif n < 1 << 16:
        head = b"\xfc" + n.to_bytes(2, "little")
    elif n < 1 << 24:
        head = b"\xfd" + n.to_bytes(3, "little")
    else:
        head = b"\xfe" + n.to_bytes(8, "little")
    return head + value


def _my_packet(seq: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "little") + bytes([seq & 0xFF]) + payload


def _pg_cell(value: bytes) -> bytes:
    return struct.pack("!i", len(value)) + value


def _pg_msg(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


class WireBridge:
    def __init__(
        self,
        ip: str,
        port: int,
        backend_url: str,
        protocol: Literal["mysql", "postgresql"],
        *,
        password: bool = False,
    ) -> None:
        self.ip = require_loopback(ip)
        self.port = port
        self.backend_url = backend_url
        self.protocol = protocol
        self.password = password
        self.statements: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self.version = httpx.post(backend_url, content="SELECT version()", timeout=10).text.strip()

    # ------------------------------------------------------------------ backend
    def _run_backend(self, sql: str) -> tuple[list[str], list[list[str | None]]] | tuple[int, str]:
        resp = httpx.post(
            self.backend_url, content=f"{sql} FORMAT TabSeparatedWithNames", timeout=30
        )
        if resp.status_code != 200:
            text = resp.text
            code = (
                text.split("Code: ", 1)[1].split(",", 1)[0].split(".", 1)[0]
                if "Code: " in text
                else "0"
            )
            return int(code), text.strip()
        rows = parse_tsv(resp.content)
        header = [h or "" for h in rows[0]] if rows else []
        return header, rows[1:]

    # ------------------------------------------------------------------ MySQL
    async def _mysql(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        greeting = (
            b"\x0a" + f"{self.version}-ClickHouse".encode() + b"\x00" + struct.pack("<I", 1)
            + b"abcdefgh\x00" + struct.pack("<H", 0xF7FF) + b"\x21" + struct.pack("<H", 2)
            + struct.pack("<H", 0x81BF) + b"\x15" + b"\x00" * 10 + b"ijklmnopqrst\x00"
            + b"mysql_native_password\x00"
        )  # fmt: skip
        writer.write(_my_packet(0, greeting))
        await writer.drain()
        head = await reader.readexactly(4)
        await reader.readexactly(int.from_bytes(head[:3], "little"))
        if self.password:
            msg = b"default: Authentication failed: password is incorrect"
            writer.write(_my_packet(2, b"\xff" + struct.pack("<H", 516) + b"#00000" + msg))
            await writer.drain()
            return
        writer.write(_my_packet(2, b"\x00\x00\x00\x02\x00\x00\x00"))
        await writer.drain()
        while True:
            head = await reader.readexactly(4)
            payload = await reader.readexactly(int.from_bytes(head[:3], "little"))
            if payload[:1] == b"\x01":
                return
            if payload[:1] != b"\x03":
                continue
            sql = payload[1:].decode()
            self.statements.append(sql)
            answer = await asyncio.to_thread(self._run_backend, sql)
            if isinstance(answer[0], int):
                code, text = answer
                err = b"\xff" + struct.pack("<H", code) + b"#00000" + str(text).encode()
                writer.write(_my_packet(1, err))
                await writer.drain()
                continue
            header, rows = answer
            out = _my_packet(1, bytes([len(header)]))  # fewer than 251 columns
            seq = 2
            for name in header:
                coldef = (
                    _lenenc_str(b"def") + _lenenc_str(b"") + _lenenc_str(b"") + _lenenc_str(b"")
                    + _lenenc_str(name.encode()) + _lenenc_str(name.encode())
                    + b"\x0c\x21\x00\xff\xff\x00\x00\xfd\x00\x00\x00\x00\x00"
                )  # fmt: skip
                out += _my_packet(seq, coldef)
                seq += 1
            out += _my_packet(seq, b"\xfe\x00\x00\x02\x00")
            seq += 1
            for row in rows:
                body = b"".join(b"\xfb" if c is None else _lenenc_str(c.encode()) for c in row)
                out += _my_packet(seq, body)
                seq += 1
            out += _my_packet(seq, b"\xfe\x00\x00\x02\x00")
            writer.write(out)
            await writer.drain()

    # ------------------------------------------------------------------ PostgreSQL
    async def _postgres(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        (length,) = struct.unpack("!i", await reader.readexactly(4))
        await reader.readexactly(length - 4)
        if self.password:
            writer.write(_pg_msg(b"R", struct.pack("!i", 3)))
            await writer.drain()
            return
        version = self.version if self.version.count(".") == 3 else self.version + ".0"
        params = b"".join(
            _pg_msg(b"S", k.encode() + b"\x00" + v.encode() + b"\x00")
            for k, v in (
                ("application_name", "leakmap"),
                ("client_encoding", "UTF8"),
                ("server_version", version),
                ("server_encoding", "UTF8"),
                ("DateStyle", "ISO"),
            )
        )
        writer.write(
            _pg_msg(b"R", struct.pack("!i", 0)) + params + _pg_msg(b"K", struct.pack("!ii", 1, 2))
        )
        while True:
            writer.write(_pg_msg(b"Z", b"I"))
            await writer.drain()
            kind = await reader.readexactly(1)
            (length,) = struct.unpack("!i", await reader.readexactly(4))
            body = await reader.readexactly(length - 4)
            if kind == b"X":
                return
            if kind != b"Q":
                continue
            sql = body.rstrip(b"\x00").decode()
            self.statements.append(sql)
            answer = await asyncio.to_thread(self._run_backend, sql)
            if isinstance(answer[0], int):
                text = f"Query execution failed.\n{answer[1]}".encode()
                writer.write(_pg_msg(b"E", b"SERROR\x00C2F000\x00M" + text + b"\x00\x00"))
                await writer.drain()
                return  # ClickHouse ends the session after an error
            header, rows = answer
            desc = struct.pack("!h", len(header)) + b"".join(
                n.encode() + b"\x00" + struct.pack("!IhIhih", 0, 0, 25, -1, -1, 0) for n in header
            )
            out = _pg_msg(b"T", desc)
            for row in rows:
                cells = b"".join(
                    struct.pack("!i", -1) if c is None else _pg_cell(c.encode()) for c in row
                )
                out += _pg_msg(b"D", struct.pack("!h", len(row)) + cells)
            out += _pg_msg(b"C", f"SELECT {len(rows)}".encode() + b"\x00")
            writer.write(out)

    # ------------------------------------------------------------------ server
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self.protocol == "mysql":
                await self._mysql(reader, writer)
            else:
                await self._postgres(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            writer.close()

    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._server = loop.run_until_complete(
            asyncio.start_server(self._serve, self.ip, self.port)
        )
        self._ready.set()
        loop.run_forever()
        self._server.close()
        loop.run_until_complete(self._server.wait_closed())
        loop.close()

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._thread_main, daemon=True)
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
