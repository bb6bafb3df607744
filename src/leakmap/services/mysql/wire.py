"""A bounded MySQL/MariaDB wire-protocol client: the greeting, a login with an empty password,
read statements (COM_QUERY, text result sets). Used by the MySQL plugin and for ClickHouse's
MySQL interface (9004).

Why not a library (tried 2026-11-30 against a scripted hostile server on loopback that
answers a query with one row of endless 16 MB packets): ``aiomysql`` 0.3 held 517 MB and
``asyncmy`` 0.2 695 MB after 4 s, both reading until their timeout; neither bounds a reply in
bytes, and both open their own sockets (not :class:`~leakmap.net.bounded.Network`, the seam
tests swap and scope is enforced in). They also run ``SET``/autocommit statements of their own
at connect. What leakmap needs is small: the greeting (which fingerprints the server before
any login), the HandshakeResponse41 with an empty auth response, COM_QUERY and text rows.

Login: HandshakeResponse41 with ``CLIENT_PROTOCOL_41 | SECURE_CONNECTION | PLUGIN_AUTH`` and an
**empty** auth response - the right answer to ``mysql_native_password`` and
``caching_sha2_password`` when the password is empty. An AuthSwitchRequest gets an empty
answer too; caching_sha2's "fast auth OK" (0x01 0x03) is followed by OK; its "full auth
needed" (0x01 0x04) means a password is set (with an empty password the fast path
succeeds), so the login stops there as ``password``. ERR 1045 = access denied (``password``
required or user unknown), 1130 at the greeting = host not allowed.

Bounds: every packet length (3 bytes, at most 16 MB, continuation packets added up) is checked
against the reply's byte budget (:class:`~leakmap.net.stream.BudgetedReader`) before it is read;
a deadline per reply; at most ``max_rows`` rows kept (at most
:data:`~leakmap.services.postgresql.wire.MAX_DROPPED_ROWS` more read and dropped, then
``ResponseTooLarge``); at most :data:`MAX_COLUMNS` columns; a yield to the event loop every
:data:`~leakmap.services.postgresql.wire.YIELD_EVERY` packets.
Every statement passes :func:`~leakmap.services.postgresql.wire.guard_pg_sql` (the shared
read-only guard plus no ``INTO``/``FOR UPDATE``).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from dataclasses import dataclass
from typing import Literal

from leakmap.errors import ProtocolError, ResponseTooLarge
from leakmap.net.bounded import Network
from leakmap.net.stream import BudgetedReader, Conversation
from leakmap.services.postgresql.wire import (
    MAX_DROPPED_ROWS,
    YIELD_EVERY,
    PgUnsafe,
    guard_pg_sql,
)

__all__ = [
    "MAX_COLUMNS",
    "Greeting",
    "MyError",
    "MyLogin",
    "MyResult",
    "MysqlClient",
    "my_ident",
    "my_literal",
    "parse_greeting",
]

MAX_COLUMNS = 4096
_GREETING_LIMIT = 64 * 1024
_MAX_PACKET = 0xFFFFFF

CLIENT_LONG_PASSWORD = 0x1
CLIENT_LONG_FLAG = 0x4
CLIENT_PROTOCOL_41 = 0x200
CLIENT_TRANSACTIONS = 0x2000
CLIENT_SECURE_CONNECTION = 0x8000
CLIENT_PLUGIN_AUTH = 0x80000
_CAPS = (
    CLIENT_LONG_PASSWORD
    | CLIENT_LONG_FLAG
    | CLIENT_PROTOCOL_41
    | CLIENT_TRANSACTIONS
    | CLIENT_SECURE_CONNECTION
    | CLIENT_PLUGIN_AUTH
)
_UTF8MB4 = 45


def my_ident(name: str) -> str:
    """A backtick-quoted identifier; refuses backslashes and NUL (no dialect ambiguity)."""
    if "\\" in name or "\x00" in name:
        raise PgUnsafe("refused: identifier with a backslash or NUL")
    return "`" + name.replace("`", "``") + "`"


def my_literal(value: str) -> str:
    """A string literal read the same with and without NO_BACKSLASH_ESCAPES."""
    if "\\" in value or "\x00" in value:
        raise PgUnsafe("refused: literal with a backslash or NUL")
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True, slots=True)
class Greeting:
    """The server's first packet (HandshakeV10), read before any login."""

    protocol: int
    version: str
    connection_id: int
    capabilities: int
    auth_plugin: str
    scramble: bytes

    @property
    def flavour(self) -> str:
        v = self.version.lower()
        if "clickhouse" in v:
            return "clickhouse"
        if "mariadb" in v:
            return "mariadb"
        return "mysql"


@dataclass(frozen=True, slots=True)
class MyError:
    """An ERR packet: ``code`` (1045 access denied, ...) and SQLSTATE; ``message`` only for
    parsing (it may quote the user name)."""

    code: int
    sqlstate: str
    message: str


@dataclass(frozen=True, slots=True)
class MyLogin:
    outcome: Literal["ok", "password", "refused"]
    greeting: Greeting | None = None
    error: MyError | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


@dataclass(frozen=True, slots=True)
class MyResult:
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str | None, ...], ...] = ()
    truncated: bool = False
    error: MyError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def parse_error(payload: bytes) -> MyError:
    if len(payload) < 3 or payload[0] != 0xFF:
        raise ProtocolError("not an ERR packet")
    (code,) = struct.unpack_from("<H", payload, 1)
    rest = payload[3:]
    state = ""
    if rest[:1] == b"#" and len(rest) >= 6:
        state, rest = rest[1:6].decode("ascii", "replace"), rest[6:]
    return MyError(int(code), state, rest.decode("utf-8", "replace")[:4096])


def parse_greeting(payload: bytes) -> Greeting:
    """HandshakeV10 -> Greeting; raises ProtocolError for anything else."""
    if not payload or payload[0] != 10:
        raise ProtocolError("not a HandshakeV10 greeting")
    end = payload.find(b"\x00", 1)
    if end < 0 or end > 256:
        raise ProtocolError("greeting without a version string")
    version = payload[1:end].decode("utf-8", "replace")
    if not version or not version.isprintable():
        raise ProtocolError("implausible server version")
    pos = end + 1
    if pos + 4 + 8 + 1 + 2 > len(payload):
        raise ProtocolError("truncated greeting")
    (conn_id,) = struct.unpack_from("<I", payload, pos)
    scramble = payload[pos + 4 : pos + 12]
    pos += 13
    (caps_low,) = struct.unpack_from("<H", payload, pos)
    pos += 2
    caps = int(caps_low)
    plugin = ""
    if pos + 16 <= len(payload):
        (caps_high,) = struct.unpack_from("<H", payload, pos + 3)
        caps |= int(caps_high) << 16
        auth_len = payload[pos + 5]
        pos += 16
        if caps & CLIENT_SECURE_CONNECTION:
            n = max(13, auth_len - 8)
            scramble += payload[pos : pos + n].rstrip(b"\x00")
            pos += n
        if caps & CLIENT_PLUGIN_AUTH and pos < len(payload):
            plugin_end = payload.find(b"\x00", pos)
            raw = payload[pos:] if plugin_end < 0 else payload[pos:plugin_end]
            plugin = raw.decode("ascii", "replace")[:64]
    return Greeting(10, version, int(conn_id), caps, plugin, bytes(scramble))


def encode_login(user: str, plugin: str, database: str = "") -> bytes:
    caps = _CAPS | (0x8 if database else 0)  # CLIENT_CONNECT_WITH_DB
    out = struct.pack("<IIB", caps, _MAX_PACKET, _UTF8MB4) + b"\x00" * 23
    out += user.encode("utf-8") + b"\x00"
    out += b"\x00"  # auth response length 0: the empty password
    if database:
        out += database.encode("utf-8") + b"\x00"
    out += (plugin or "mysql_native_password").encode("ascii", "replace") + b"\x00"
    return out


def _lenenc(data: bytes, pos: int) -> tuple[int | None, int]:
    """A length-encoded integer at ``pos``: (value or None for 0xFB NULL, new pos)."""
    if pos >= len(data):
        raise ProtocolError("truncated length-encoded integer")
    first = data[pos]
    if first < 0xFB:
        return first, pos + 1
    if first == 0xFB:
        return None, pos + 1
    size = {0xFC: 2, 0xFD: 3, 0xFE: 8}.get(first)
    if size is None or pos + 1 + size > len(data):
        raise ProtocolError("bad length-encoded integer")
    return int.from_bytes(data[pos + 1 : pos + 1 + size], "little"), pos + 1 + size


def _text_row(payload: bytes, ncols: int) -> tuple[str | None, ...]:
    pos = 0
    cells: list[str | None] = []
    for _ in range(ncols):
        length, pos = _lenenc(payload, pos)
        if length is None:
            cells.append(None)
            continue
        if pos + length > len(payload):
            raise ProtocolError("row cell outside its packet")
        cells.append(payload[pos : pos + length].decode("utf-8", "replace"))
        pos += length
    return tuple(cells)


def _column_name(payload: bytes) -> str:
    """ColumnDefinition41: catalog, schema, table, org_table, name, ... -> name."""
    pos = 0
    value = b""
    for _ in range(5):
        length, pos = _lenenc(payload, pos)
        length = length or 0
        if pos + length > len(payload):
            raise ProtocolError("truncated column definition")
        value = payload[pos : pos + length]
        pos += length
    return value.decode("utf-8", "replace")


def _is_eof(payload: bytes) -> bool:
    return payload[:1] == b"\xfe" and len(payload) < 9


@dataclass(slots=True)
class MysqlClient:
    """One connection to a MySQL-protocol server: ``greet()``, ``login()``, then ``query()``."""

    network: Network
    ip: str
    port: int
    timeout: float
    reply_limit: int = 4 * 1024 * 1024
    tls: bool = False
    greeting: Greeting | None = None
    _conv: Conversation | None = None
    _stream: BudgetedReader | None = None
    _seq: int = 0

    @property
    def sent(self) -> list[str]:
        return self._conv.sent if self._conv is not None else []

    async def _packet(self) -> bytes:
        """One logical packet (continuations joined), within the budget."""
        assert self._stream is not None
        out = b""
        while True:
            head = await self._stream.readexactly(4)
            length = int.from_bytes(head[:3], "little")
            self._seq = (head[3] + 1) & 0xFF
            out += await self._stream.readexactly(length)
            if length < _MAX_PACKET:
                return out

    async def _send(self, name: str, payload: bytes, *, reset: bool = False) -> None:
        assert self._conv is not None
        if reset:
            self._seq = 0
        if len(payload) >= _MAX_PACKET:
            raise ProtocolError("statement too long for one packet")
        packet = len(payload).to_bytes(3, "little") + bytes([self._seq]) + payload
        self._seq = (self._seq + 1) & 0xFF
        self._stream = await self._conv.send(name, packet)

    async def greet(self) -> Greeting | MyError:
        """Connect and read the greeting (or the ERR a server sends instead, e.g. 1130)."""
        await self.close()
        reader, writer = await self.network.open_tcp(self.ip, self.port, tls=self.tls)
        self._conv = Conversation(reader, writer, reply_limit=_GREETING_LIMIT, timeout=self.timeout)
        self._stream = BudgetedReader(reader, limit=_GREETING_LIMIT, timeout=self.timeout)
        try:
            payload = await self._packet()
            if payload[:1] == b"\xff":
                await self.close()
                return parse_error(payload)
            self.greeting = parse_greeting(payload)
            return self.greeting
        except BaseException:
            await self.close()
            raise

    async def login(self, user: str, database: str = "") -> MyLogin:
        """Log in as ``user`` with an empty password (see the module doc)."""
        first = await self.greet()
        if isinstance(first, MyError):
            return MyLogin("refused", error=first)
        try:
            await self._send("login", encode_login(user, first.auth_plugin, database))
            for _ in range(4):
                payload = await self._packet()
                kind = payload[:1]
                if kind == b"\x00":
                    return MyLogin("ok", greeting=first)
                if kind == b"\xff":
                    error = parse_error(payload)
                    await self.close()
                    return MyLogin("password" if error.code == 1045 else "refused", first, error)
                if kind == b"\xfe":  # AuthSwitchRequest: answer with the empty password
                    await self._send("auth-switch", b"")
                    continue
                if kind == b"\x01" and payload[1:2] == b"\x03":  # caching_sha2 fast auth ok
                    continue
                if kind == b"\x01" and payload[1:2] == b"\x04":  # full auth: a password is set
                    await self.close()
                    return MyLogin("password", first)
                raise ProtocolError("unexpected packet during login")
            raise ProtocolError("login did not finish")
        except BaseException:
            await self.close()
            raise

    async def query(self, sql: str, *, max_rows: int = 1000, limit: int | None = None) -> MyResult:
        """One read statement (COM_QUERY); a text result set back (see the module doc)."""
        statement = guard_pg_sql(sql)
        if self._conv is None:
            raise ProtocolError("not logged in")
        try:
            await self._send(statement, b"\x03" + statement.encode("utf-8"), reset=True)
            assert self._stream is not None
            self._stream.renew(limit=limit or self.reply_limit, timeout=self.timeout)
            return await self._read_result(max_rows)
        except BaseException:
            await self.close()
            raise

    async def _read_result(self, max_rows: int) -> MyResult:
        first = await self._packet()
        if first[:1] == b"\xff":
            return MyResult(error=parse_error(first))
        if first[:1] == b"\x00":
            return MyResult()
        ncols, _ = _lenenc(first, 0)
        if ncols is None or not 0 < ncols <= MAX_COLUMNS:
            raise ProtocolError("implausible column count")
        names = tuple([_column_name(await self._packet()) for _ in range(ncols)])
        payload = await self._packet()
        if not _is_eof(payload):  # a server that ignored our "no CLIENT_DEPRECATE_EOF"
            raise ProtocolError("no EOF after the column definitions")
        rows: list[tuple[str | None, ...]] = []
        dropped = 0
        read = 0
        while True:
            read += 1
            if read % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # buffered packets never yield on their own
            payload = await self._packet()
            if _is_eof(payload):
                return MyResult(names, tuple(rows), dropped > 0)
            if payload[:1] == b"\xff":
                return MyResult(names, tuple(rows), dropped > 0, parse_error(payload))
            if len(rows) >= max_rows:
                dropped += 1
                if dropped > MAX_DROPPED_ROWS:
                    raise ResponseTooLarge(f"more than {MAX_DROPPED_ROWS} rows past the limit")
                continue
            rows.append(_text_row(payload, ncols))

    async def close(self) -> None:
        conv, self._conv, self._stream = self._conv, None, None
        if conv is not None:
            if not conv.writer.is_closing():
                with contextlib.suppress(OSError, RuntimeError):
                    conv.writer.write(b"\x01\x00\x00\x00\x01")  # COM_QUIT
            await conv.close()
