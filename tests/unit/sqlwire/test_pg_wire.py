"""The PostgreSQL wire client against scripted servers: ClickHouse's PostgreSQL interface
(recorded exchange, rebuilt message by message from ClickHouse's PostgreSQLHandler - Debian's
18.16 has no such interface, so it is not a capture) and hostile replies."""

from __future__ import annotations

import asyncio
import struct
import time

import pytest

from leakmap.errors import ProtocolError, ResponseTooLarge
from leakmap.net.bounded import Network
from leakmap.services.clickhouse.safety import UnsafeStatement
from leakmap.services.postgresql.wire import (
    MAX_DROPPED_ROWS,
    PgClient,
    encode_startup,
    guard_pg_sql,
    pg_ident,
    pg_literal,
)

from .scripted import Scripted


def msg(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def param(name: str, value: str) -> bytes:
    return msg(b"S", name.encode() + b"\x00" + value.encode() + b"\x00")


def row_description(*names: str, oid: int = 25) -> bytes:
    body = struct.pack("!h", len(names))
    for n in names:
        body += n.encode() + b"\x00" + struct.pack("!IhIhih", 0, 0, oid, -1, -1, 0)
    return msg(b"T", body)


def data_row(*cells: str | None) -> bytes:
    body = struct.pack("!h", len(cells))
    for c in cells:
        body += struct.pack("!i", -1) if c is None else struct.pack("!i", len(c)) + c.encode()
    return msg(b"D", body)


READY = msg(b"Z", b"I")
AUTH_OK = msg(b"R", struct.pack("!i", 0))
#: ClickHouse 23.8's PostgreSQL handler after a startup as 'default' without a password:
#: AuthenticationOk, the parameters it echoes or fixes, BackendKeyData, ReadyForQuery
RECORDED_CH_STARTUP = (
    AUTH_OK
    + param("application_name", "leakmap")
    + param("client_encoding", "UTF8")
    + param("server_version", "23.8.2.7")
    + param("server_encoding", "UTF8")
    + param("DateStyle", "ISO")
    + msg(b"K", struct.pack("!ii", 1, 123456))
    + READY
)
#: ... and its answer to "SELECT 1 + 2" (PostgreSQLWire output format, then CommandComplete)
RECORDED_CH_ONE_PLUS_TWO = (
    row_description("plus(1, 2)", oid=21) + data_row("3") + msg(b"C", b"SELECT 1\x00") + READY
)


def client(port: int, timeout: float = 1.0) -> PgClient:
    return PgClient(Network(connect_timeout=1.0), "127.0.0.1", port, timeout=timeout)


def test_startup_message_carries_read_only_options() -> None:
    packet = encode_startup({"user": "postgres", "options": "-c default_transaction_read_only=on"})
    (length,) = struct.unpack("!i", packet[:4])
    assert length == len(packet) and packet[4:8] == struct.pack("!i", 196608)
    assert b"default_transaction_read_only=on\x00\x00" in packet


def test_recorded_clickhouse_interface_logs_in_and_answers() -> None:
    replies = iter([RECORDED_CH_STARTUP, RECORDED_CH_ONE_PLUS_TWO])

    async def go() -> None:
        async with Scripted(lambda _: next(replies)) as srv:
            c = client(srv.port)
            login = await c.login("default", "default")
            assert login.ok and login.parameters["server_version"] == "23.8.2.7"
            res = await c.query("SELECT 1 + 2")
            assert res.ok and res.columns == ("plus(1, 2)",) and res.rows == (("3",),)
            assert res.tag == "SELECT 1"
            await c.close()

    asyncio.run(go())


@pytest.mark.parametrize(
    ("code", "extra"),
    [(3, b""), (5, b"salt"), (10, b"SCRAM-SHA-256\x00SCRAM-SHA-256-PLUS\x00\x00")],
)
def test_a_password_request_means_required_and_no_password_is_sent(code: int, extra: bytes) -> None:
    async def go() -> None:
        async with Scripted(lambda _: msg(b"R", struct.pack("!i", code) + extra)) as srv:
            login = await client(srv.port).login("postgres", "postgres")
            assert login.outcome == "password" and login.auth_code == code
            assert len(srv.requests) == 1  # the startup message only

    asyncio.run(go())


@pytest.mark.parametrize(
    "body", [struct.pack("!i", 5), struct.pack("!i", 10) + b"PLAIN\x00\x00", struct.pack("!i", 99)]
)
def test_a_malformed_authentication_request_is_not_evidence(body: bytes) -> None:
    async def go() -> None:
        async with Scripted(lambda _: msg(b"R", body)) as srv:
            with pytest.raises(ProtocolError):
                await client(srv.port).login("postgres", "postgres")

    asyncio.run(go())


def test_error_at_startup_is_refused_with_sqlstate() -> None:
    error = msg(b"E", b"SFATAL\x00VFATAL\x00C28000\x00Mno pg_hba.conf entry\x00\x00")

    async def go() -> None:
        async with Scripted(lambda _: error) as srv:
            login = await client(srv.port).login("postgres", "postgres")
            assert login.outcome == "refused" and login.error is not None
            assert login.error.code == "28000" and login.error.severity == "FATAL"

    asyncio.run(go())


def test_rows_beyond_max_rows_are_dropped_and_flagged() -> None:
    rows = b"".join(data_row(str(i), None) for i in range(50))
    answer = row_description("n", "x") + rows + msg(b"C", b"SELECT 50\x00") + READY
    replies = iter([AUTH_OK + READY, answer])

    async def go() -> None:
        async with Scripted(lambda _: next(replies)) as srv:
            c = client(srv.port)
            assert (await c.login("postgres", "postgres")).ok
            res = await c.query("SELECT n, x FROM t", max_rows=10)
            assert res.truncated and len(res.rows) == 10 and res.rows[3] == ("3", None)

    asyncio.run(go())


# --------------------------------------------------------------------------- hostile


def test_rows_far_past_the_limit_are_refused_not_read_to_the_budget() -> None:
    """A server that ignores LIMIT without end (tiny rows: each costs CPU, and buffered rows
    never yield to the event loop): at most MAX_DROPPED_ROWS past ``max_rows`` are read,
    then the reply is refused - well inside the byte budget."""
    n = 10 + MAX_DROPPED_ROWS + 1
    rows = b"".join(data_row(str(i)) for i in range(n))
    answer = row_description("n") + rows + msg(b"C", b"SELECT\x00") + READY
    assert len(answer) < 64 * 1024
    replies = iter([AUTH_OK + READY, answer])

    async def go() -> None:
        async with Scripted(lambda _: next(replies)) as srv:
            c = client(srv.port)
            assert (await c.login("postgres", "postgres")).ok
            with pytest.raises(ResponseTooLarge):
                await c.query("SELECT n FROM t LIMIT 10", max_rows=10)

    asyncio.run(go())


def test_two_gigabyte_startup_answer_is_refused_unread() -> None:
    async def go() -> None:
        huge = b"R" + struct.pack("!i", 0x7FFFFFF0)
        async with Scripted(lambda _: huge, flood=b"A" * 65536) as srv:
            started = time.monotonic()
            with pytest.raises(ResponseTooLarge):
                await client(srv.port).login("postgres", "postgres")
            assert time.monotonic() - started < 2

    asyncio.run(go())


def test_two_gigabyte_data_row_is_refused_unread() -> None:
    huge = row_description("x") + b"D" + struct.pack("!i", 0x7FFFFFF0)
    replies = iter([AUTH_OK + READY, huge])

    async def go() -> None:
        async with Scripted(lambda _: next(replies)) as srv:
            c = client(srv.port)
            assert (await c.login("postgres", "postgres")).ok
            with pytest.raises(ResponseTooLarge):
                await c.query("SELECT x FROM t")
            assert c.sent == []  # the connection was dropped

    asyncio.run(go())


def test_endless_notices_hit_the_byte_budget() -> None:
    notice = msg(b"N", b"SNOTICE\x00Mhello\x00\x00")
    replies = iter([AUTH_OK + READY, notice])

    async def go() -> None:
        async with Scripted(lambda _: next(replies), flood=notice * 2000) as srv:
            c = client(srv.port, timeout=5.0)
            c.reply_limit = 1 << 20
            assert (await c.login("postgres", "postgres")).ok
            with pytest.raises(ResponseTooLarge):
                await c.query("SELECT 1")

    asyncio.run(go())


def test_silent_and_dribbling_servers_hit_the_deadline() -> None:
    async def go() -> None:
        async with Scripted(lambda _: None) as srv:
            with pytest.raises(TimeoutError):
                await client(srv.port).login("postgres", "postgres")
        async with Scripted(lambda _: RECORDED_CH_STARTUP * 20, dribble=0.05) as srv:
            started = time.monotonic()
            with pytest.raises(TimeoutError):
                c = client(srv.port)
                await c.login("postgres", "postgres")
                await c.query("SELECT 1")
            assert time.monotonic() - started < 3

    asyncio.run(go())


def test_garbage_message_kind_is_a_protocol_error() -> None:
    async def go() -> None:
        async with Scripted(lambda _: b"HTTP/1.1 400 Bad Request\r\n\r\n") as srv:
            with pytest.raises((ProtocolError, ResponseTooLarge)):
                await client(srv.port).login("postgres", "postgres")

    asyncio.run(go())


def test_data_row_that_lies_about_its_cells_is_a_protocol_error() -> None:
    bad = row_description("x") + msg(b"D", struct.pack("!hi", 1, 1000) + b"abc") + READY
    replies = iter([AUTH_OK + READY, bad])

    async def go() -> None:
        async with Scripted(lambda _: next(replies)) as srv:
            c = client(srv.port)
            await c.login("postgres", "postgres")
            with pytest.raises(ProtocolError):
                await c.query("SELECT x FROM t")

    asyncio.run(go())


# --------------------------------------------------------------------------- guard, quoting


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO t VALUES (1)",
        "SELECT * INTO copy FROM t",
        "SELECT * FROM t FOR UPDATE",
        "SELECT 1; DROP TABLE t",
        "COPY t TO PROGRAM 'id'",
        "SET default_transaction_read_only = off",
    ],
)
def test_guard_refuses_writes(sql: str) -> None:
    with pytest.raises(UnsafeStatement):
        guard_pg_sql(sql)


def test_guard_accepts_into_inside_a_literal() -> None:
    assert guard_pg_sql("SELECT 'copy into t' AS x") == "SELECT 'copy into t' AS x"


def test_quoting() -> None:
    assert pg_ident('a"; DROP TABLE x; --') == '"a""; DROP TABLE x; --"'
    assert pg_literal("it's") == "'it''s'"
    with pytest.raises(UnsafeStatement):
        pg_ident("a\\")
