"""Read-only queries over ClickHouse's native TCP protocol (9000, TLS 9440), every byte bounded.

Choice: a small hand-written client that decodes only what the scanner asks for, not a
library. Tried first (2026-11-30): ``clickhouse-driver`` 0.2.11 (and ``asynch``, its asyncio
port) speaks the protocol to 18.16 and current servers, but (1) it trusts every length the
server sends (``read_binary_str`` reads a UVarInt length, then that many bytes: a hostile
2**62 allocates or waits forever), has no cap on the bytes of a result and no overall time
limit - only socket timeouts between reads, which a server dribbling a byte a second never
hits; (2) it opens its own sockets, so it cannot go through :class:`~leakmap.net.bounded.Network`
(the seam tests swap and where scope is enforced); (3) it is synchronous. ``clickhouse-connect``
is HTTP only and fails on 18.16. The protocol part needed here is small: Hello, one Query
packet, and Data blocks of String / integer / float / date columns.

What is sent (client revision :data:`QUERY_REVISION`; the used revision is the smaller of
ours and the server's, so Debian's 18.16 - revision 54412 - and current servers both work):

* Hello as user ``default`` with an empty password (or the given credentials);
* Query packets, stage Complete, **compression off**, ``query_id=leakmap-<scan>-<n>``, with the
  same server-side limits as HTTP (:func:`.http.safe_settings`: readonly=1,
  max_execution_time, max_result_rows/bytes with result_overflow_mode=break,
  max_rows_to_read/bytes with read_overflow_mode=break, max_threads, max_block_size,
  max_memory_usage; max_block_size at most 64 rows, so a reply cut by the byte limit
  keeps every block that arrived whole) as query settings: as typed binary values below
  revision 54429 (18.x), as strings with flags from 54429 on. A refusal naming a setting
  (164/115/452) drops it and retries, exactly as over HTTP;
* every statement passes :func:`.safety.guard_sql` first.

What is read, and the bounds: one deadline per query (``read_timeout + query_timeout_s``);
at most ``limit`` bytes (``max_response_bytes``) per query - past it the rows of complete
blocks come back with ``truncated=True`` and the connection is dropped; every string length
is checked against the bytes left before anything is read; at most :data:`MAX_COLUMNS`
columns and :data:`MAX_CELLS` cells per query; type names of at most 512 characters.
Column types decoded: String, FixedString(N), (U)Int8-256, Float32/64, Bool, Date,
DateTime (not DateTime64), UUID, Enum8/16, Nullable(T) of those. Anything else (Array, Map,
LowCardinality, Decimal, ...) stops the query with :class:`UnsupportedType`: its size is
unknown, so the stream cannot be skipped. Callers that read user tables cast every column
to String on the server (:func:`text_select`), so replies hold only types from this list.
Cells come back as text, like :func:`.tsv.parse_tsv` rows: the same inventory and
classification code serves both transports.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import re
import secrets
import struct
import uuid
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field

from leakmap.errors import ProbeError, ProtocolError, ResponseTooLarge
from leakmap.net.bounded import Network
from leakmap.sanitize import sanitize
from leakmap.services.base import AuthState, ScanConfig
from leakmap.services.clickhouse.codes import ChError, extract_version
from leakmap.services.clickhouse.http import QUERY_ID_PREFIX, refused_settings, safe_settings
from leakmap.services.clickhouse.native import (
    NativeException,
    NativeHello,
    encode_hello,
    encode_string,
    encode_uvarint,
    parse_server_packet_at,
)
from leakmap.services.clickhouse.query import Rows, prove_open
from leakmap.services.clickhouse.safety import guard_sql, quote_ident

__all__ = [
    "MAX_CELLS",
    "MAX_COLUMNS",
    "QUERY_REVISION",
    "ChNative",
    "NativeResult",
    "UnsupportedType",
    "encode_query",
    "text_select",
]

#: 54429 = settings serialised as strings (used only when the server has it too)
QUERY_REVISION = 54429
MAX_COLUMNS = 4096
MAX_CELLS = 1_000_000
_MAX_TYPE_NAME = 512
_MAX_NAME = 4096
_MAX_EXCEPTION_TEXT = 64 * 1024
_MAX_NESTED = 16
#: rows per reply block (max_block_size): a cut reply keeps every block that arrived whole
_BLOCK_ROWS = 64

_REV_TEMP_TABLES = 50264
_REV_TOTAL_ROWS = 51554
_REV_CLIENT_INFO = 54032
_REV_QUOTA_KEY = 54060
_REV_PATCH = 54401
_REV_WRITE_INFO = 54420
_REV_SETTINGS_STRINGS = 54429

# client packets
_C_HELLO, _C_QUERY, _C_DATA = 0, 1, 2
# server packets
_S_HELLO, _S_DATA, _S_EXCEPTION, _S_PROGRESS, _S_PONG, _S_END = 0, 1, 2, 3, 4, 5
_S_PROFILE_INFO, _S_TOTALS, _S_EXTREMES, _S_LOG, _S_TABLE_COLUMNS = 6, 7, 8, 10, 11
_STAGE_COMPLETE = 2
_SETTING_REFUSAL_CODES = frozenset({164, 115, 452})
_MAX_RETRIES = 16

#: the binary (pre-54429) serialisation of each safety setting: varint or string
_BINARY_SETTING_KIND: dict[str, str] = {
    "readonly": "uint",
    "max_execution_time": "uint",  # SettingSeconds
    "max_result_rows": "uint",
    "max_result_bytes": "uint",
    "result_overflow_mode": "str",  # SettingOverflowMode, written as its name
    "max_rows_to_read": "uint",
    "max_bytes_to_read": "uint",
    "read_overflow_mode": "str",
    "max_threads": "uint",  # SettingMaxThreads
    "max_block_size": "uint",
    "max_memory_usage": "uint",
}

_INTS: dict[str, tuple[int, bool]] = {
    "UInt8": (1, False),
    "UInt16": (2, False),
    "UInt32": (4, False),
    "UInt64": (8, False),
    "UInt128": (16, False),
    "UInt256": (32, False),
    "Int8": (1, True),
    "Int16": (2, True),
    "Int32": (4, True),
    "Int64": (8, True),
    "Int128": (16, True),
    "Int256": (32, True),
}
_ENUM_ITEM = re.compile(r"'((?:[^'\\]|\\.)*)'\s*=\s*(-?\d+)")
_EPOCH = _dt.date(1970, 1, 1)


class UnsupportedType(ProbeError):
    """A reply column of a type this client does not decode (its byte size is unknown)."""


@dataclass(frozen=True, slots=True)
class NativeResult:
    """One query's outcome. ``rows`` hold text cells (None for NULL), as TSV rows would."""

    columns: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    rows: tuple[tuple[str | None, ...], ...] = ()
    truncated: bool = False
    error: ChError | None = None
    #: settings dropped because the server refused them (for this endpoint)
    refused_settings: frozenset[str] = frozenset()
    bytes_read: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


def encode_settings(settings: dict[str, str], revision: int) -> tuple[bytes, set[str]]:
    """Settings in the server's format; returns (bytes, names that could not be encoded)."""
    out = bytearray()
    skipped: set[str] = set()
    for name, value in settings.items():
        if revision >= _REV_SETTINGS_STRINGS:
            # name, flags (1 = important: an old server must refuse, not ignore, it), value
            out += encode_string(name) + encode_uvarint(1) + encode_string(value)
            continue
        kind = _BINARY_SETTING_KIND.get(name)
        if kind == "uint" and value.isdigit():
            out += encode_string(name) + encode_uvarint(int(value))
        elif kind == "str":
            out += encode_string(name) + encode_string(value)
        else:
            skipped.add(name)
    out += encode_string("")
    return bytes(out), skipped


def _empty_block(revision: int) -> bytes:
    """A Data packet with an empty block: "no external tables" after a Query."""
    out = bytearray(encode_uvarint(_C_DATA))
    if revision >= _REV_TEMP_TABLES:
        out += encode_string("")
    # block info: field 1 is_overflows=0, field 2 bucket_num=-1, 0 = end; 0 columns, 0 rows
    out += b"\x01\x00\x02" + struct.pack("<i", -1) + b"\x00"
    out += encode_uvarint(0) + encode_uvarint(0)
    return bytes(out)


def encode_query(
    query_id: str,
    statement: str,
    settings: dict[str, str],
    revision: int,
    *,
    client_name: str = "leakmap",
) -> tuple[bytes, set[str]]:
    """A Query packet plus the empty external-tables block; (bytes, settings not encodable)."""
    out = bytearray(encode_uvarint(_C_QUERY))
    out += encode_string(query_id)
    if revision >= _REV_CLIENT_INFO:
        out += b"\x01"  # query kind: initial query
        out += encode_string("") + encode_string("") + encode_string("0.0.0.0:0")
        out += b"\x01"  # interface: TCP
        out += encode_string("") + encode_string("") + encode_string(client_name)
        out += encode_uvarint(18) + encode_uvarint(16) + encode_uvarint(QUERY_REVISION)
        if revision >= _REV_QUOTA_KEY:
            out += encode_string("")
        if revision >= _REV_PATCH:
            out += encode_uvarint(0)
    encoded, skipped = encode_settings(settings, revision)
    out += encoded
    out += encode_uvarint(_STAGE_COMPLETE) + encode_uvarint(0)  # stage, compression off
    out += encode_string(statement)
    out += _empty_block(revision)
    return bytes(out), skipped


def text_select(columns: Sequence[str], source: str, limit: int) -> str:
    """``SELECT toString(`c`) AS `c`, ... FROM source LIMIT n``: every cell comes back as a
    String (or Nullable(String)), which this client always decodes."""
    exprs = ", ".join(f"toString({quote_ident(c)}) AS {quote_ident(c)}" for c in columns)
    return f"SELECT {exprs} FROM {source} LIMIT {max(0, limit)}"  # noqa: S608 - quote_ident()


class _Budget(Exception):
    """The byte limit of the current query was reached."""


class _Stream:
    """A buffered reader over one connection with a deadline and a byte budget."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader
        self._buf = bytearray()
        self._pos = 0
        self.deadline = 0.0
        self.budget = 0  # bytes this query may still read from the socket
        self.read_total = 0

    def start(self, deadline: float, budget: int) -> None:
        self.deadline, self.budget, self.read_total = deadline, budget, 0

    def buffered(self) -> bytes:
        return bytes(self._buf[self._pos :])

    async def _fill(self, need: int) -> None:
        loop = asyncio.get_running_loop()
        while len(self._buf) - self._pos < need:
            if self._pos and self._pos > 65536:
                del self._buf[: self._pos]
                self._pos = 0
            if self.budget <= 0:
                raise _Budget
            remaining = self.deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError("native query deadline")
            chunk = await asyncio.wait_for(self._reader.read(min(65536, self.budget)), remaining)
            if not chunk:
                raise ProtocolError("connection closed mid-packet")
            self.budget -= len(chunk)
            self.read_total += len(chunk)
            self._buf += chunk

    def room(self) -> int:
        """Bytes this query can still get: what is buffered plus the unread budget."""
        return len(self._buf) - self._pos + self.budget

    async def exactly(self, n: int) -> bytes:
        if n > self.room():
            raise _Budget
        await self._fill(n)
        out = bytes(self._buf[self._pos : self._pos + n])
        self._pos += n
        return out

    async def uvarint(self) -> int:
        result = 0
        for shift in range(0, 70, 7):
            (byte,) = await self.exactly(1)
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
        raise ProtocolError("varint longer than 10 bytes")

    async def string_bytes(self, cap: int | None = None) -> bytes:
        length = await self.uvarint()
        if cap is not None and length > cap:
            raise ProtocolError(f"string of {min(length, 2**63)} bytes over its cap {cap}")
        return await self.exactly(length)

    async def string(self, cap: int | None = None) -> str:
        return (await self.string_bytes(cap)).decode("utf-8", "replace")

    async def int32(self) -> int:
        (v,) = struct.unpack("<i", await self.exactly(4))
        return int(v)


def _strip_wrapper(type_name: str, wrapper: str) -> str | None:
    if type_name.startswith(wrapper + "(") and type_name.endswith(")"):
        return type_name[len(wrapper) + 1 : -1].strip()
    return None


def _fmt_float(v: float) -> str:
    if v != v:
        return "nan"
    if v in (float("inf"), float("-inf")):
        return "inf" if v > 0 else "-inf"
    return repr(v) if not v.is_integer() else str(int(v))


class _Columns:
    """Decodes one column of ``n`` values of a (supported) type to text cells."""

    def __init__(self, timezone: str | None) -> None:
        self._tz: _dt.tzinfo = _dt.UTC
        if timezone:
            with contextlib.suppress(zoneinfo.ZoneInfoNotFoundError, ValueError):
                self._tz = zoneinfo.ZoneInfo(timezone)

    async def read(self, s: _Stream, type_name: str, n: int) -> list[str | None]:
        t = type_name.strip()
        inner = _strip_wrapper(t, "Nullable")
        if inner is not None:
            mask = await s.exactly(n)
            values = await self.read(s, inner, n)
            return [None if mask[i] else values[i] for i in range(n)]
        if t == "Nothing":  # the type of a NULL literal: one placeholder byte each
            await s.exactly(n)
            return [None] * n
        if t == "String":
            return [(await s.string_bytes()).decode("utf-8", "replace") for _ in range(n)]
        fixed = _strip_wrapper(t, "FixedString")
        if fixed is not None:
            if not re.fullmatch(r"[0-9]{1,7}", fixed) or not 0 < int(fixed) <= 1 << 20:
                raise UnsupportedType(f"FixedString({sanitize(fixed, 20)})")
            size = int(fixed)
            raw = await s.exactly(size * n)
            return [raw[i * size : (i + 1) * size].decode("utf-8", "replace") for i in range(n)]
        if t in _INTS:
            size, signed = _INTS[t]
            raw = await s.exactly(size * n)
            return [
                str(int.from_bytes(raw[i * size : (i + 1) * size], "little", signed=signed))
                for i in range(n)
            ]
        if t == "Bool":
            raw = await s.exactly(n)
            return ["true" if b else "false" for b in raw]
        if t in ("Float32", "Float64"):
            size, fmt = (4, "<f") if t == "Float32" else (8, "<d")
            raw = await s.exactly(size * n)
            return [_fmt_float(struct.unpack_from(fmt, raw, i * size)[0]) for i in range(n)]
        if t == "Date":
            raw = await s.exactly(2 * n)
            return [
                (_EPOCH + _dt.timedelta(days=struct.unpack_from("<H", raw, 2 * i)[0])).isoformat()
                for i in range(n)
            ]
        if t == "DateTime" or (t.startswith("DateTime(") and t.endswith(")")):
            raw = await s.exactly(4 * n)
            tz = self._tz
            if t != "DateTime":
                name = t[len("DateTime(") : -1].strip().strip("'")
                with contextlib.suppress(zoneinfo.ZoneInfoNotFoundError, ValueError):
                    tz = zoneinfo.ZoneInfo(name)
            return [
                _dt.datetime.fromtimestamp(struct.unpack_from("<I", raw, 4 * i)[0], tz).strftime(
                    "%Y-%m-%d %H:%M:%S"
                )
                for i in range(n)
            ]
        if t == "UUID":
            raw = await s.exactly(16 * n)
            out: list[str | None] = []
            for i in range(n):
                chunk = raw[16 * i : 16 * i + 16]
                # two little-endian UInt64 halves, high half first
                out.append(str(uuid.UUID(bytes=chunk[7::-1] + chunk[15:7:-1])))
            return out
        for enum, size, fmt in (("Enum8", 1, "<b"), ("Enum16", 2, "<h")):
            body = _strip_wrapper(t, enum)
            if body is not None:
                names = {int(v): k for k, v in _ENUM_ITEM.findall(body)}
                raw = await s.exactly(size * n)
                return [names.get(struct.unpack_from(fmt, raw, size * i)[0], "?") for i in range(n)]
        raise UnsupportedType(f"column type {sanitize(t, 80)}")


@dataclass(slots=True)
class _Block:
    columns: list[str]
    types: list[str]
    rows: list[tuple[str | None, ...]]


@dataclass(slots=True)
class ChNative:
    """Queries one ClickHouse native endpoint (plain or TLS) as ``user``; one query at a time.

    ``connect()`` first; then :meth:`query` as often as needed. A query that hit its byte
    limit or deadline drops the connection; the next query reconnects.
    """

    network: Network
    ip: str
    port: int
    config: ScanConfig
    tls: bool = False
    user: str = "default"
    password: str = ""
    scan_tag: str = field(default_factory=lambda: secrets.token_hex(4))
    refused: set[str] = field(default_factory=set)
    sent: list[str] = field(default_factory=list)
    hello: NativeHello | None = None
    _counter: int = 0
    _reader: asyncio.StreamReader | None = None
    _writer: asyncio.StreamWriter | None = None
    _stream: _Stream | None = None
    _revision: int = 0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    # ------------------------------------------------------------------ connection
    async def connect(self) -> NativeHello | NativeException:
        """Open the connection and log in. Returns the server's Hello, or its Exception
        (the login was refused). Raises ProtocolError / TimeoutError / OSError otherwise."""
        await self.close()
        reader, writer = await self.network.open_tcp(self.ip, self.port, tls=self.tls)
        self._reader, self._writer = reader, writer
        stream = _Stream(reader)
        loop = asyncio.get_running_loop()
        stream.start(loop.time() + self.config.connect_timeout + self.config.read_timeout, 65536)
        try:
            writer.write(
                encode_hello(user=self.user, password=self.password, revision=QUERY_REVISION)
            )
            await asyncio.wait_for(writer.drain(), self.config.read_timeout)
            packet = await self._read_first(stream)
        except BaseException:
            await self.close()
            raise
        if isinstance(packet, NativeException):
            await self.close()
            return packet
        self.hello = packet
        self._revision = min(QUERY_REVISION, packet.revision)
        self._stream = stream
        return packet

    async def _read_first(self, stream: _Stream) -> NativeHello | NativeException:
        need = 1
        while True:
            try:
                await stream._fill(need)
            except _Budget:
                raise ProtocolError("first packet larger than 64 KiB") from None
            data = stream.buffered()
            try:
                packet, used = parse_server_packet_at(data, QUERY_REVISION)
            except ProtocolError as exc:
                if "truncated" not in str(exc):
                    raise
                need = len(data) + 1
                continue
            await stream.exactly(used)
            return packet

    async def close(self) -> None:
        writer, self._writer, self._reader, self._stream = self._writer, None, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    @property
    def revision(self) -> int:
        return self._revision

    def _query_id(self) -> str:
        self._counter += 1
        return f"{QUERY_ID_PREFIX}{self.scan_tag}-{self._counter}"

    # ------------------------------------------------------------------ queries
    async def query(
        self,
        sql: str,
        *,
        limit: int | None = None,
        allow_truncate: bool = False,
        readonly: bool = True,
    ) -> NativeResult:
        """Run one read statement (it must pass :func:`guard_sql`). ``readonly=False``
        leaves out only the ``readonly`` setting, as over HTTP.

        Server exceptions come back as ``error``; a byte limit hit raises ResponseTooLarge
        unless ``allow_truncate``; the deadline raises TimeoutError; garbage raises
        ProtocolError; an unsupported reply column raises UnsupportedType."""
        statement = guard_sql(sql)
        limit = self.config.max_response_bytes if limit is None else limit
        wanted = safe_settings(self.config)
        # columnar blocks: a block cut by the byte limit yields no whole row, so keep them small
        wanted["max_block_size"] = str(min(int(wanted.get("max_block_size", "64")), _BLOCK_ROWS))
        if not readonly:
            wanted.pop("readonly")
        async with self._lock:
            retries = 0
            while True:
                if self._stream is None:
                    first = await self.connect()
                    if isinstance(first, NativeException):
                        return NativeResult(error=_ch_error(first))
                settings = {k: v for k, v in wanted.items() if k not in self.refused}
                result = await self._run_once(statement, settings, limit, allow_truncate)
                err = result.error
                refusal = err is not None and err.code in _SETTING_REFUSAL_CODES
                if err is not None and refusal and retries < _MAX_RETRIES:
                    named = refused_settings(err.message, set(settings) - self.refused)
                    if named:
                        self.refused |= named
                        retries += 1
                        continue
                return result

    async def _run_once(
        self, statement: str, settings: dict[str, str], limit: int, allow_truncate: bool
    ) -> NativeResult:
        assert self._stream is not None and self._writer is not None
        packet, skipped = encode_query(self._query_id(), statement, settings, self._revision)
        if skipped:
            self.refused |= skipped  # an old server cannot be sent them: say so in the notes
        self.sent.append(statement)
        stream = self._stream
        loop = asyncio.get_running_loop()
        timeout = self.config.read_timeout + self.config.query_timeout_s
        stream.start(loop.time() + timeout, limit)
        try:
            self._writer.write(packet)
            await asyncio.wait_for(self._writer.drain(), timeout)
            return await self._read_reply(stream, allow_truncate)
        except BaseException:
            # mid-reply: the connection's state is unknown, drop it (the next query reconnects)
            await self.close()
            raise

    async def _read_reply(self, s: _Stream, allow_truncate: bool) -> NativeResult:
        columns: tuple[str, ...] = ()
        types: tuple[str, ...] = ()
        rows: list[tuple[str | None, ...]] = []
        decoder = _Columns(self.hello.timezone if self.hello else None)
        rev = self._revision
        truncated = False
        try:
            while True:
                kind = await s.uvarint()
                if kind in (_S_DATA, _S_TOTALS, _S_EXTREMES, _S_LOG):
                    cells_left = MAX_CELLS - len(rows) * max(1, len(columns))
                    block = await self._read_block(s, decoder, cells_left)
                    if kind != _S_DATA or not block.columns:
                        continue
                    if not columns:
                        columns, types = tuple(block.columns), tuple(block.types)
                    elif tuple(block.columns) != columns:
                        raise ProtocolError("blocks of one result disagree on their columns")
                    rows.extend(block.rows)
                elif kind == _S_PROGRESS:
                    for _ in range(2 + (rev >= _REV_TOTAL_ROWS) + 2 * (rev >= _REV_WRITE_INFO)):
                        await s.uvarint()
                elif kind == _S_PROFILE_INFO:
                    await s.uvarint(), await s.uvarint(), await s.uvarint()
                    await s.exactly(1)
                    await s.uvarint()
                    await s.exactly(1)
                elif kind == _S_TABLE_COLUMNS:
                    await s.string(_MAX_NAME)
                    await s.string(_MAX_EXCEPTION_TEXT)
                elif kind == _S_EXCEPTION:
                    exc = await self._read_exception(s)
                    # whether the server still reads our external-tables block after an
                    # error differs by version (18.16 then answers 101 and hangs up): a fresh
                    # connection for the next query is the one state both agree on
                    await self.close()
                    return NativeResult(
                        columns, types, (), False, exc, frozenset(self.refused), s.read_total
                    )
                elif kind == _S_END:
                    break
                else:
                    raise ProtocolError(f"unexpected server packet {min(kind, 2**63)}")
        except _Budget:
            if not allow_truncate:
                raise ResponseTooLarge("native reply exceeded its byte limit") from None
            truncated = True
            await self.close()
        return NativeResult(
            columns, types, tuple(rows), truncated, None, frozenset(self.refused), s.read_total
        )

    async def _read_block(self, s: _Stream, decoder: _Columns, cells_left: int) -> _Block:
        if self._revision >= _REV_TEMP_TABLES:
            await s.string(_MAX_NAME)
        while True:  # block info
            field_num = await s.uvarint()
            if field_num == 0:
                break
            if field_num == 1:
                await s.exactly(1)
            elif field_num == 2:
                await s.exactly(4)
            else:
                raise ProtocolError("unknown block info field")
        ncols = await s.uvarint()
        nrows = await s.uvarint()
        if ncols > MAX_COLUMNS:
            raise ProtocolError(f"block of {min(ncols, 2**63)} columns")
        if ncols and nrows > s.room():
            raise _Budget  # every value takes at least one byte
        if ncols * nrows > cells_left:
            raise _Budget
        names: list[str] = []
        types: list[str] = []
        data: list[list[str | None]] = []
        for _ in range(ncols):
            names.append(await s.string(_MAX_NAME))
            types.append(await s.string(_MAX_TYPE_NAME))
            data.append(await decoder.read(s, types[-1], nrows) if nrows else [])
        rows = [tuple(col[i] for col in data) for i in range(nrows)] if ncols else []
        return _Block(names, types, rows)

    async def _read_exception(self, s: _Stream) -> ChError:
        first: ChError | None = None
        for _ in range(_MAX_NESTED):
            code = await s.int32()
            name = await s.string(_MAX_NAME)
            message = await s.string(_MAX_EXCEPTION_TEXT)
            await s.string(_MAX_EXCEPTION_TEXT)  # stack trace
            nested = (await s.exactly(1))[0]
            if first is None:
                first = _ch_error(NativeException(code, name, message))
            if not nested:
                return first
        raise ProtocolError("exception nested too deep")

    async def rows(
        self,
        sql: str,
        *,
        names: bool = False,
        limit: int | None = None,
        allow_truncate: bool = False,
        readonly: bool = True,
        max_rows: int | None = None,
    ) -> Rows:
        """:meth:`~.query.ChSession.rows` over the native protocol (column names always
        arrive; ``names`` is accepted for the interface). A reply column of a type this
        client does not decode is a ``failure``, not an exception."""
        try:
            res = await self.query(
                sql, limit=limit, allow_truncate=allow_truncate, readonly=readonly
            )
        except UnsupportedType as exc:
            return Rows(failure=f"native reply: {exc}", complete=False)
        rows = res.rows if max_rows is None else res.rows[: max(0, max_rows)]
        return Rows(
            rows=rows,
            names=res.columns,
            error=res.error,
            truncated=res.truncated or len(rows) < len(res.rows),
            complete=not res.truncated,
            refused_settings=res.refused_settings,
        )

    async def prove_open(self) -> bool:
        """Open means proven: the shared proof question (``SELECT version(), A * B``) must be
        answered exactly (:func:`~.query.prove_open`)."""
        return (await prove_open(self)).auth is AuthState.NONE


def _ch_error(exc: NativeException) -> ChError:
    """A native Exception as a ChError (the message is kept only for parsing, as over HTTP)."""
    name = exc.name.removeprefix("DB::")
    return ChError(
        code=exc.code,
        name="" if name == "Exception" else sanitize(name, 60),
        message=sanitize(exc.message, 300),
        version=extract_version(exc.message[:4096]),
    )
