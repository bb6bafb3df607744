"""A bounded PostgreSQL wire-protocol client (v3, simple query only): startup, login without a
password, read statements, text rows. Used by the PostgreSQL plugin and for ClickHouse's
PostgreSQL interface (9005).

Why not a library (tried 2026-11-30 against scripted hostile servers on loopback):
``asyncpg`` 0.32 buffered a 2 GB startup message as it arrived - 1.36 GB of memory in 4 s
before its timeout; it also sends every row-returning query through the extended protocol,
which ClickHouse's interface refuses ("doesn't support extended query mechanism").
``psycopg`` 3.3 (libpq) refused that message, but a DataRow of a few hundred MB is read in
full, libpq opens its own sockets (not :class:`~leakmap.net.bounded.Network`, the seam tests
swap and scope is enforced in) and has no byte budget per reply. The part needed here is
small: StartupMessage, the first authentication answer, Query, RowDescription/DataRow.

Login: a StartupMessage for ``user`` / ``database`` with
``options=-c default_transaction_read_only=on -c statement_timeout=<ms>`` (the server refuses
writes in the session and stops long statements; ClickHouse ignores the options). The first
answer decides: AuthenticationOk -> logged in (trust or an empty password accepted);
a request for a password (cleartext, MD5, SASL/SCRAM, ...) -> ``password`` (nothing is sent:
PostgreSQL never accepts an empty password); an ErrorResponse -> ``refused`` with its SQLSTATE
(28000 no pg_hba entry or unknown role, 28P01 bad password, 3D000 unknown database - the last
one after authentication succeeded).

Bounds: every message length is checked against the reply's byte budget
(:class:`~leakmap.net.stream.BudgetedReader`) before its body is read; a deadline per reply;
at most ``max_rows`` rows kept (at most :data:`MAX_DROPPED_ROWS` later ones are read within
the budget and dropped, the result says ``truncated``; more is ``ResponseTooLarge``); at most
:data:`MAX_FIELDS` columns; a yield to the event loop every :data:`YIELD_EVERY` messages.
Every statement passes :func:`guard_pg_sql` (the shared read-only guard, plus no
``INTO``/``FOR UPDATE``).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from leakmap.errors import ProtocolError, ResponseTooLarge
from leakmap.net.bounded import Network
from leakmap.net.stream import BudgetedReader, Conversation
from leakmap.services.clickhouse.safety import UnsafeStatement, guard_sql

__all__ = [
    "AUTH_NAMES",
    "MAX_FIELDS",
    "PgClient",
    "PgError",
    "PgLogin",
    "PgResult",
    "PgUnsafe",
    "encode_startup",
    "guard_pg_sql",
    "pg_ident",
    "pg_literal",
]

PROTOCOL_3 = 196608
MAX_FIELDS = 1664  # PostgreSQL's own limit on target-list entries
#: rows read and dropped past ``max_rows`` before a result is refused: a server that ignores
#: LIMIT sends a few; one that sends rows without end would otherwise be read to the byte
#: budget, tiny message by tiny message (CPU: ~45 us each, 4 MB of 20-byte rows ~ 9 s)
MAX_DROPPED_ROWS = 1000
#: messages read between two yields to the event loop: a read from a full buffer never
#: waits, so a flood of buffered rows would starve every other endpoint's timeouts
YIELD_EVERY = 256
_STARTUP_LIMIT = 64 * 1024
_MAX_MESSAGE_OTHER = 1 << 20  # anything but a DataRow
#: AuthenticationRequest codes -> what they ask for
AUTH_NAMES: Mapping[int, str] = {
    2: "kerberos",
    3: "cleartext password",
    5: "md5 password",
    7: "gss",
    9: "sspi",
    10: "sasl (scram-sha-256)",
}
_WRITE_CLAUSE = re.compile(r"\bINTO\b|\bFOR\s+(UPDATE|SHARE|NO\s+KEY|KEY)\b", re.IGNORECASE)
_LITERALS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"")


class PgUnsafe(UnsafeStatement):
    """A statement the PostgreSQL dialect check refuses."""


def guard_pg_sql(sql: str) -> str:
    """The shared read-only guard plus what a PostgreSQL/MySQL SELECT can still write or lock:
    ``SELECT ... INTO`` (creates a table / writes a file) and ``FOR UPDATE/SHARE``."""
    body = guard_sql(sql)
    if _WRITE_CLAUSE.search(_LITERALS.sub("''", body)):
        raise PgUnsafe("refused: INTO or a locking clause in a read statement")
    return body


def pg_ident(name: str) -> str:
    """A double-quoted identifier; refuses backslashes and NUL (no dialect ambiguity)."""
    if "\\" in name or "\x00" in name:
        raise PgUnsafe("refused: identifier with a backslash or NUL")
    return '"' + name.replace('"', '""') + '"'


def pg_literal(value: str) -> str:
    """A standard string literal; refuses backslashes and NUL (no dialect ambiguity)."""
    if "\\" in value or "\x00" in value:
        raise PgUnsafe("refused: literal with a backslash or NUL")
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True, slots=True)
class PgError:
    """An ErrorResponse: SQLSTATE ``code``, ``severity``; ``message`` only for parsing."""

    code: str
    severity: str
    message: str


@dataclass(frozen=True, slots=True)
class PgLogin:
    outcome: Literal["ok", "password", "refused"]
    #: the authentication request code when a password was asked for
    auth_code: int | None = None
    error: PgError | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


@dataclass(frozen=True, slots=True)
class PgResult:
    columns: tuple[str, ...] = ()
    type_oids: tuple[int, ...] = ()
    rows: tuple[tuple[str | None, ...], ...] = ()
    truncated: bool = False
    error: PgError | None = None
    tag: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None


def _cstr(value: str) -> bytes:
    if "\x00" in value:
        raise ValueError("NUL in a startup parameter")
    return value.encode("utf-8") + b"\x00"


def encode_startup(params: Mapping[str, str]) -> bytes:
    body = struct.pack("!i", PROTOCOL_3) + b"".join(_cstr(k) + _cstr(v) for k, v in params.items())
    body += b"\x00"
    return struct.pack("!i", len(body) + 4) + body


def encode_query(sql: str) -> bytes:
    body = _cstr(sql)
    return b"Q" + struct.pack("!i", len(body) + 4) + body


def parse_error(body: bytes) -> PgError:
    fields: dict[str, str] = {}
    for part in body.split(b"\x00"):
        if len(part) >= 1:
            fields.setdefault(chr(part[0]), part[1:].decode("utf-8", "replace")[:4096])
    return PgError(
        code=fields.get("C", "")[:5],
        severity=fields.get("V", fields.get("S", ""))[:16],
        message=fields.get("M", ""),
    )


def _plausible_auth(code: int, body: bytes) -> bool:
    """An authentication request shaped as the protocol defines it (positive evidence)."""
    if code in (0, 2, 3, 7, 9):
        return len(body) == 4
    if code == 5:
        return len(body) == 8  # a 4-byte salt
    if code == 10:
        return b"SCRAM-SHA-256" in body[4:200] and body.endswith(b"\x00\x00")
    return False


def _split_cstrings(body: bytes, count: int) -> list[str]:
    parts = body.split(b"\x00")
    if len(parts) < count + 1:
        raise ProtocolError("truncated string fields")
    return [p.decode("utf-8", "replace") for p in parts[:count]]


@dataclass(slots=True)
class PgClient:
    """One connection to a PostgreSQL-protocol server. ``login()`` first, then ``query()``."""

    network: Network
    ip: str
    port: int
    timeout: float
    reply_limit: int = 4 * 1024 * 1024
    statement_timeout_ms: int = 10_000
    tls: bool = False
    parameters: dict[str, str] = field(default_factory=dict)
    _conv: Conversation | None = None
    _stream: BudgetedReader | None = None

    @property
    def sent(self) -> list[str]:
        return self._conv.sent if self._conv is not None else []

    async def _message(self) -> tuple[bytes, bytes]:
        assert self._stream is not None
        head = await self._stream.readexactly(5)
        kind = head[:1]
        (length,) = struct.unpack("!i", head[1:])
        if length < 4:
            raise ProtocolError("message length below 4")
        if kind != b"D" and length > _MAX_MESSAGE_OTHER:
            raise ResponseTooLarge(f"{kind!r} message of {length} bytes")
        return kind, await self._stream.readexactly(length - 4)

    async def login(self, user: str, database: str) -> PgLogin:
        """Connect and start a session as ``user`` with no password (see the module doc)."""
        await self.close()
        self.parameters = {}
        reader, writer = await self.network.open_tcp(self.ip, self.port, tls=self.tls)
        self._conv = Conversation(reader, writer, reply_limit=_STARTUP_LIMIT, timeout=self.timeout)
        options = (
            "-c default_transaction_read_only=on "
            f"-c statement_timeout={max(1, self.statement_timeout_ms)}"
        )
        params = {
            "user": user,
            "database": database,
            "application_name": "leakmap",
            "client_encoding": "UTF8",
            "options": options,
        }
        try:
            self._stream = await self._conv.send("startup", encode_startup(params))
            kind, body = await self._message()
            if kind == b"E":
                await self.close()
                return PgLogin("refused", error=parse_error(body))
            if kind != b"R" or len(body) < 4:
                raise ProtocolError(f"startup answered with {kind!r}")
            (code,) = struct.unpack("!i", body[:4])
            if not _plausible_auth(code, body):
                raise ProtocolError("implausible authentication request")
            if code != 0:
                await self.close()
                return PgLogin("password", auth_code=code)
            # AuthenticationOk: parameters, key data, then ReadyForQuery (or an error)
            for _ in range(256):
                kind, body = await self._message()
                if kind == b"S":
                    name, value = _split_cstrings(body, 2)
                    if len(self.parameters) < 64:
                        self.parameters[name[:64]] = value[:256]
                elif kind == b"E":
                    error = parse_error(body)
                    await self.close()
                    return PgLogin("refused", error=error, parameters=dict(self.parameters))
                elif kind == b"Z":
                    return PgLogin("ok", parameters=dict(self.parameters))
                elif kind not in (b"K", b"N"):
                    raise ProtocolError(f"unexpected {kind!r} during startup")
            raise ProtocolError("startup never became ready")
        except BaseException:
            await self.close()
            raise

    async def query(self, sql: str, *, max_rows: int = 1000, limit: int | None = None) -> PgResult:
        """One read statement over the simple-query protocol (see the module doc)."""
        statement = guard_pg_sql(sql)
        if self._conv is None:
            raise ProtocolError("not logged in")
        try:
            self._stream = await self._conv.send(statement, encode_query(statement))
            self._stream.renew(limit=limit or self.reply_limit, timeout=self.timeout)
            return await self._read_result(max_rows)
        except BaseException:
            await self.close()
            raise

    async def _read_result(self, max_rows: int) -> PgResult:
        columns: tuple[str, ...] = ()
        oids: tuple[int, ...] = ()
        rows: list[tuple[str | None, ...]] = []
        dropped = 0
        error: PgError | None = None
        tag = ""
        read = 0
        while True:
            read += 1
            if read % YIELD_EVERY == 0:
                await asyncio.sleep(0)
            try:
                kind, body = await self._message()
            except ProtocolError:
                if error is None:
                    raise
                # ClickHouse's interface hangs up right after an ErrorResponse
                await self.close()
                return PgResult(columns, oids, tuple(rows), dropped > 0, error, tag)
            if kind == b"T":
                columns, oids = _row_description(body)
            elif kind == b"D":
                if len(rows) >= max_rows:
                    dropped += 1
                    if dropped > MAX_DROPPED_ROWS:
                        raise ResponseTooLarge(f"more than {MAX_DROPPED_ROWS} rows past the limit")
                    continue
                rows.append(_data_row(body, len(columns)))
            elif kind == b"C":
                tag = body.rstrip(b"\x00").decode("utf-8", "replace")[:64]
            elif kind == b"E":
                error = parse_error(body)
            elif kind == b"Z":
                return PgResult(columns, oids, tuple(rows), dropped > 0, error, tag)
            elif kind in (b"N", b"S", b"I", b"A"):
                continue
            else:
                raise ProtocolError(f"unexpected {kind!r} in a query reply")

    async def close(self) -> None:
        conv, self._conv, self._stream = self._conv, None, None
        if conv is not None:
            if not conv.writer.is_closing():
                with contextlib.suppress(OSError, RuntimeError):
                    conv.writer.write(b"X\x00\x00\x00\x04")  # Terminate
            await conv.close()


def _row_description(body: bytes) -> tuple[tuple[str, ...], tuple[int, ...]]:
    if len(body) < 2:
        raise ProtocolError("short RowDescription")
    (n,) = struct.unpack_from("!h", body)
    if not 0 <= n <= MAX_FIELDS:
        raise ProtocolError(f"RowDescription with {n} fields")
    pos = 2
    names: list[str] = []
    oids: list[int] = []
    for _ in range(n):
        end = body.find(b"\x00", pos)
        if end < 0 or end + 19 > len(body):
            raise ProtocolError("truncated RowDescription")
        names.append(body[pos:end].decode("utf-8", "replace"))
        (oid,) = struct.unpack_from("!I", body, end + 7)
        oids.append(int(oid))
        pos = end + 19
    return tuple(names), tuple(oids)


def _data_row(body: bytes, expected: int) -> tuple[str | None, ...]:
    if len(body) < 2:
        raise ProtocolError("short DataRow")
    (n,) = struct.unpack_from("!h", body)
    if n != expected:
        raise ProtocolError("DataRow does not match its RowDescription")
    pos = 2
    cells: list[str | None] = []
    for _ in range(n):
        if pos + 4 > len(body):
            raise ProtocolError("truncated DataRow")
        (length,) = struct.unpack_from("!i", body, pos)
        pos += 4
        if length == -1:
            cells.append(None)
            continue
        if length < 0 or pos + length > len(body):
            raise ProtocolError("DataRow cell outside its message")
        cells.append(body[pos : pos + length].decode("utf-8", "replace"))
        pos += length
    return tuple(cells)
