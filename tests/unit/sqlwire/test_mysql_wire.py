"""The MySQL wire client against scripted servers: ClickHouse's MySQL interface (recorded
exchange, rebuilt packet by packet from ClickHouse's MySQLHandler and the version its docs
show - Debian's 18.16 has no such interface, so it is not a capture), caching_sha2 logins and
hostile replies."""

from __future__ import annotations

import asyncio
import struct
import time

import pytest

from leakmap.errors import ProtocolError, ResponseTooLarge
from leakmap.net.bounded import Network
from leakmap.services.clickhouse.safety import UnsafeStatement
from leakmap.services.mysql.wire import MysqlClient, my_ident, my_literal, parse_greeting
from leakmap.services.postgresql.wire import MAX_DROPPED_ROWS

from .scripted import Scripted


def pkt(seq: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "little") + bytes([seq & 0xFF]) + payload


def greeting(version: str, plugin: str = "mysql_native_password") -> bytes:
    caps = 0x81BFF7FF
    return (
        b"\x0a"
        + version.encode()
        + b"\x00"
        + struct.pack("<I", 7)
        + b"abcdefgh\x00"
        + struct.pack("<H", caps & 0xFFFF)
        + b"\x21"
        + struct.pack("<H", 2)
        + struct.pack("<H", caps >> 16)
        + b"\x15"
        + b"\x00" * 10
        + b"ijklmnopqrst\x00"
        + plugin.encode()
        + b"\x00"
    )


OK = b"\x00\x00\x00\x02\x00\x00\x00"
EOF = b"\xfe\x00\x00\x02\x00"


def coldef(name: str) -> bytes:
    def lenenc(s: bytes) -> bytes:
        return bytes([len(s)]) + s

    return (
        lenenc(b"def") + lenenc(b"") + lenenc(b"") + lenenc(b"") + lenenc(name.encode())
        + lenenc(name.encode()) + b"\x0c\x21\x00\xff\xff\x00\x00\xfd\x00\x00\x00\x00\x00"
    )  # fmt: skip


def result_set(names: list[str], rows: list[list[str | None]]) -> bytes:
    out = pkt(1, bytes([len(names)]))
    seq = 2
    for n in names:
        out += pkt(seq, coldef(n))
        seq += 1
    out += pkt(seq, EOF)
    seq += 1
    for row in rows:
        payload = b"".join(b"\xfb" if c is None else bytes([len(c)]) + c.encode() for c in row)
        out += pkt(seq, payload)
        seq += 1
    return out + pkt(seq, EOF)


#: ClickHouse's MySQL interface: the greeting (version "<X.Y.Z.W>-ClickHouse"), OK to an
#: empty-password login as 'default', and the answer to SELECT 1 + 2
RECORDED_CH_GREETING = pkt(0, greeting("23.8.2.7-ClickHouse"))
RECORDED_CH_LOGIN_OK = pkt(2, OK)
RECORDED_CH_ONE_PLUS_TWO = result_set(["plus(1, 2)"], [["3"]])


def client(port: int, timeout: float = 1.0) -> MysqlClient:
    return MysqlClient(Network(connect_timeout=1.0), "127.0.0.1", port, timeout=timeout)


def test_recorded_clickhouse_greeting_login_and_query() -> None:
    replies = iter([RECORDED_CH_LOGIN_OK, RECORDED_CH_ONE_PLUS_TWO])

    async def go() -> None:
        async with Scripted(lambda _: next(replies), on_connect=RECORDED_CH_GREETING) as srv:
            c = client(srv.port)
            login = await c.login("default")
            assert login.ok and login.greeting is not None
            assert login.greeting.flavour == "clickhouse"
            assert login.greeting.version == "23.8.2.7-ClickHouse"
            res = await c.query("SELECT 1 + 2")
            assert res.columns == ("plus(1, 2)",) and res.rows == (("3",),)
            # the login sent an empty auth response for user 'default'
            assert b"default\x00\x00mysql_native_password\x00" in srv.requests[0]
            await c.close()

    asyncio.run(go())


def test_greeting_parse_mariadb() -> None:
    g = parse_greeting(greeting("5.5.5-10.11.6-MariaDB-0+deb12u1"))
    assert g.flavour == "mariadb" and g.auth_plugin == "mysql_native_password"
    assert g.connection_id == 7 and len(g.scramble) == 20


def test_caching_sha2_switch_and_fast_auth_with_an_empty_password() -> None:
    switch = pkt(2, b"\xfecaching_sha2_password\x00" + b"x" * 20 + b"\x00")
    replies = iter([switch, pkt(4, b"\x01\x03") + pkt(5, OK)])

    async def go() -> None:
        async with Scripted(lambda _: next(replies), on_connect=pkt(0, greeting("8.0.36"))) as srv:
            login = await client(srv.port).login("root")
            assert login.ok
            assert srv.requests[1] == pkt(3, b"")  # the empty password, nothing else

    asyncio.run(go())


def test_full_auth_request_means_a_password_is_set() -> None:
    g = pkt(0, greeting("8.0.36", "caching_sha2_password"))

    async def go() -> None:
        async with Scripted(lambda _: pkt(2, b"\x01\x04"), on_connect=g) as srv:
            assert (await client(srv.port).login("root")).outcome == "password"

    asyncio.run(go())


def test_access_denied_and_host_not_allowed() -> None:
    denied = pkt(2, b"\xff\x15\x04#28000Access denied for user 'root'")
    blocked = pkt(0, b"\xff\x6a\x04Host '10.0.0.1' is not allowed to connect")

    async def go() -> None:
        g = pkt(0, greeting("8.0.36"))
        async with Scripted(lambda _: denied, on_connect=g) as srv:
            login = await client(srv.port).login("root")
            assert login.outcome == "password" and login.error is not None
            assert login.error.code == 1045 and login.error.sqlstate == "28000"
        async with Scripted(lambda _: None, on_connect=blocked) as srv:
            login = await client(srv.port).login("root")
            assert login.outcome == "refused" and login.error is not None
            assert login.error.code == 1130

    asyncio.run(go())


def test_rows_beyond_max_rows_are_dropped_and_flagged() -> None:
    answer = result_set(["n", "x"], [[str(i), None] for i in range(40)])
    replies = iter([pkt(2, OK), answer])

    async def go() -> None:
        async with Scripted(lambda _: next(replies), on_connect=pkt(0, greeting("8.0.36"))) as srv:
            c = client(srv.port)
            assert (await c.login("root")).ok
            res = await c.query("SELECT n, x FROM t", max_rows=5)
            assert res.truncated and res.rows == tuple((str(i), None) for i in range(5))

    asyncio.run(go())


# --------------------------------------------------------------------------- hostile


def test_rows_far_past_the_limit_are_refused_not_read_to_the_budget() -> None:
    """The hostile fleet's mysql-endless-rows: rows past LIMIT without end. Read to the 4 MB
    budget, 20-byte rows cost ~18 s of CPU in one scan and starved every other endpoint (the
    real ClickHouse's 8123 timed out); now at most MAX_DROPPED_ROWS are dropped, then refused."""
    answer = result_set(["n"], [[str(i)] for i in range(10 + MAX_DROPPED_ROWS + 1)])
    assert len(answer) < 64 * 1024
    replies = iter([pkt(2, OK), answer])

    async def go() -> None:
        async with Scripted(lambda _: next(replies), on_connect=pkt(0, greeting("8.0.36"))) as srv:
            c = client(srv.port)
            assert (await c.login("root")).ok
            with pytest.raises(ResponseTooLarge):
                await c.query("SELECT n FROM t LIMIT 10", max_rows=10)

    asyncio.run(go())


def test_endless_greeting_packets_hit_the_budget() -> None:
    async def go() -> None:
        flood = b"\xff\xff\xff\x00" + b"A" * 0xFFFFFF
        async with Scripted(lambda _: None, on_connect=flood) as srv:
            started = time.monotonic()
            with pytest.raises(ResponseTooLarge):
                await client(srv.port).login("root")
            assert time.monotonic() - started < 2

    asyncio.run(go())


def test_endless_row_continuation_hits_the_budget() -> None:
    head = pkt(1, b"\x01") + pkt(2, coldef("x")) + pkt(3, EOF)
    replies = iter([pkt(2, OK), head])

    async def go() -> None:
        g = pkt(0, greeting("8.0.36"))
        flood = b"\xff\xff\xff\x04" + b"A" * 0xFFFFFF
        async with Scripted(lambda _: next(replies), on_connect=g, flood=flood) as srv:
            c = client(srv.port, timeout=5.0)
            c.reply_limit = 8 << 20
            assert (await c.login("root")).ok
            with pytest.raises(ResponseTooLarge):
                await c.query("SELECT x FROM t")

    asyncio.run(go())


def test_silent_server_hits_the_deadline() -> None:
    async def go() -> None:
        async with Scripted(lambda _: None) as srv:
            started = time.monotonic()
            with pytest.raises(TimeoutError):
                await client(srv.port).login("root")
            assert time.monotonic() - started < 3

    asyncio.run(go())


@pytest.mark.parametrize("payload", [b"\x05garbage", b"\x0a" + b"x" * 300, b"\x0a5.7\x00\x01"])
def test_not_a_greeting_is_a_protocol_error(payload: bytes) -> None:
    async def go() -> None:
        async with Scripted(lambda _: None, on_connect=pkt(0, payload)) as srv:
            with pytest.raises(ProtocolError):
                await client(srv.port).login("root")

    asyncio.run(go())


def test_implausible_column_count_is_a_protocol_error() -> None:
    replies = iter([pkt(2, OK), pkt(1, b"\xfc\xff\xff")])

    async def go() -> None:
        async with Scripted(lambda _: next(replies), on_connect=pkt(0, greeting("8.0.36"))) as srv:
            c = client(srv.port)
            await c.login("root")
            with pytest.raises(ProtocolError):
                await c.query("SELECT 1")

    asyncio.run(go())


def test_quoting_and_guard() -> None:
    assert my_ident("a`b") == "`a``b`"
    assert my_literal("it's") == "'it''s'"
    for bad in ("a\\", "x\x00"):
        with pytest.raises(UnsafeStatement):
            my_ident(bad)

    async def go() -> None:
        async with Scripted(lambda _: pkt(2, OK), on_connect=pkt(0, greeting("8.0.36"))) as srv:
            c = client(srv.port)
            await c.login("root")
            for sql in ("SELECT * FROM t INTO OUTFILE '/tmp/x'", "DROP TABLE t", "LOAD DATA"):
                with pytest.raises(UnsafeStatement):
                    await c.query(sql)
            assert len(srv.requests) == 1  # only the login

    asyncio.run(go())
