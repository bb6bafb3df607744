"""The PostgreSQL and MySQL wire clients against REAL servers (Debian's PostgreSQL 15 and
MariaDB 10.11): login without a password, the read-only session, chosen arithmetic, text
rows, refusals of the protected variants, and the servers' own statement logs."""

from __future__ import annotations

import asyncio
import secrets

from leakmap.net.bounded import Network
from leakmap.services.mysql.wire import MyLogin, MyResult, MysqlClient
from leakmap.services.postgresql.wire import PgClient, PgLogin, PgResult

from .servers import MariaDbServer, PgServer


def test_postgres_open_logs_in_reads_and_stays_read_only(pg_open: PgServer) -> None:
    a, b = secrets.randbelow(10**6), secrets.randbelow(10**6)

    async def go() -> tuple[PgLogin, PgResult, PgResult, PgResult]:
        c = PgClient(Network(), pg_open.ip, pg_open.port, timeout=5)
        login = await c.login("postgres", "chatbot")
        total = await c.query(f"SELECT {a} + {b}")
        ro = await c.query("SHOW default_transaction_read_only")
        rows = await c.query("SELECT level, message FROM log_stream ORDER BY id LIMIT 5")
        await c.close()
        return login, total, ro, rows

    # only this test's statements: the read-only proof's writing mutant shares the server
    earlier = len(pg_open.scanner_statements())
    login, total, ro, rows = asyncio.run(go())
    assert login.ok and login.parameters["server_version"].startswith("15.")
    assert total.rows == ((str(a + b),),)
    assert ro.rows == (("on",),)
    assert len(rows.rows) == 5 and rows.columns == ("level", "message")
    logged = pg_open.scanner_statements()[earlier:]
    assert f"SELECT {a} + {b}" in logged
    assert all(s.split(None, 1)[0].upper() in ("SELECT", "SHOW") for s in logged)


def test_postgres_protected_asks_for_a_password(pg_protected: PgServer) -> None:
    async def go() -> PgLogin:
        return await PgClient(Network(), pg_protected.ip, pg_protected.port, timeout=5).login(
            "postgres", "postgres"
        )

    login = asyncio.run(go())
    assert login.outcome == "password" and login.auth_code == 10
    assert pg_protected.scanner_statements() == []


def test_mariadb_open_logs_in_and_reads(mariadb_open: MariaDbServer) -> None:
    a, b = secrets.randbelow(10**6), secrets.randbelow(10**6)

    async def go() -> tuple[MyLogin, MyResult, MyResult]:
        c = MysqlClient(Network(), mariadb_open.ip, mariadb_open.port, timeout=5)
        login = await c.login("root")
        total = await c.query(f"SELECT {a} + {b}")
        rows = await c.query("SELECT level, message FROM chatbot.log_stream LIMIT 5")
        await c.close()
        return login, total, rows

    login, total, rows = asyncio.run(go())
    assert login.ok and login.greeting is not None and login.greeting.flavour == "mariadb"
    assert total.rows == ((str(a + b),),)
    assert len(rows.rows) == 5
    logged = mariadb_open.scanner_statements()
    assert f"SELECT {a} + {b}" in logged


def test_mariadb_protected_denies_access(mariadb_protected: MariaDbServer) -> None:
    async def go() -> MyLogin:
        c = MysqlClient(Network(), mariadb_protected.ip, mariadb_protected.port, timeout=5)
        return await c.login("root")

    login = asyncio.run(go())
    assert login.outcome == "password" and login.error is not None and login.error.code == 1045
    assert mariadb_protected.scanner_statements() == []
