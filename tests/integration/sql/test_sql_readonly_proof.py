"""The read-only proofs for PostgreSQL and MariaDB can fail (issue 12 item 6, "likewise for
the other stores' proofs").

The proof reads what the server itself logged for the scanner's sessions - PostgreSQL with
``log_statement=all`` (plus the ``STATEMENT:`` line of a statement refused before it was
logged, e.g. one that does not parse), MariaDB's general log - and requires every statement to
be a read. A mutant client whose statement guard is switched off and which also sends writes
(refused here: a read-only transaction on PostgreSQL, a missing table on MariaDB) must fail
that proof, and the server must be intact.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from leakmap.net.bounded import Network
from leakmap.services.mysql import wire as my_wire
from leakmap.services.mysql.wire import MysqlClient
from leakmap.services.postgresql import wire as pg_wire
from leakmap.services.postgresql.wire import PgClient

from .servers import MariaDbServer, PgServer, start_mariadb, start_postgres

READS = ("SELECT", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "SET", "USE")
_FIRST = re.compile(r"\s*(?:/\*.*?\*/\s*)*([A-Za-z]+)", re.DOTALL)


def non_reads(statements: list[str]) -> list[str]:
    """Statements whose first keyword is not a read (SET/USE only change the session)."""
    out = []
    for s in statements:
        m = _FIRST.match(s)
        if m is None or m.group(1).upper() not in READS:
            out.append(s)
    return out


def pg_logged(log: Path) -> list[str]:
    """Every statement of a non-psql session: ``statement:`` lines and ``STATEMENT:`` lines
    (the text of a statement that failed before log_statement saw it)."""
    out = []
    for line in log.read_text(errors="replace").splitlines():
        app, sep, rest = line.partition("|")
        if not sep or app == "psql":
            continue
        m = re.match(r"\s*(?:LOG:\s+statement:|STATEMENT:)\s?(.*)", rest)
        if m:
            out.append(m.group(1))
    return out


@pytest.fixture(scope="module")
def pg_private(lab_seed: int) -> Iterator[PgServer]:
    """A server of its own: the mutant's refused writes must not reach the shared one's log."""
    server = start_postgres(seed=lab_seed + 60)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def mariadb_private(lab_seed: int) -> Iterator[MariaDbServer]:
    server = start_mariadb(seed=lab_seed + 61)
    try:
        yield server
    finally:
        server.stop()


PG_WRITES = ("CREATE TABLE leakmap_mutant (x int)", "DELETE FROM log_stream", "DROP TABLE x y z")
MY_WRITES = ("INSERT INTO leakmap_nowhere.t VALUES (1)", "DROP TABLE leakmap_nowhere.t")


async def _pg_session(server: PgServer, extra: tuple[str, ...]) -> None:
    client = PgClient(Network(), server.ip, server.port, timeout=5)
    try:
        login = await client.login("postgres", "chatbot")
        assert login.ok
        await client.query(f"SELECT {secrets.randbelow(10**6)} + 1")
        await client.query("SELECT count(*) FROM log_stream")
        for statement in extra:
            await client.query(statement)
    finally:
        await client.close()


async def _my_session(server: MariaDbServer, extra: tuple[str, ...]) -> None:
    client = MysqlClient(Network(), server.ip, server.port, timeout=5)
    try:
        login = await client.login("root")
        assert login.ok
        await client.query(f"SELECT {secrets.randbelow(10**6)} + 1")
        await client.query("SELECT count(*) FROM chatbot.log_stream")
        for statement in extra:
            await client.query(statement)
    finally:
        await client.close()


def test_postgres_proof_passes_reads_and_catches_a_writing_mutant(
    pg_private: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    asyncio.run(_pg_session(pg_private, ()))
    logged = pg_logged(pg_private.log)
    assert len(logged) >= 2 and not non_reads(logged)

    monkeypatch.setattr(pg_wire, "guard_pg_sql", lambda sql: sql)  # the mutant: no guard
    asyncio.run(_pg_session(pg_private, PG_WRITES))
    caught = non_reads(pg_log_after(pg_private.log, len(logged)))
    assert {c.split()[0] for c in caught} == {"CREATE", "DELETE", "DROP"}
    # refused by the read-only transaction (or the parser): nothing changed
    assert (
        pg_private.admin("SELECT to_regclass('leakmap_mutant') IS NULL", db="chatbot").strip()
        == "t"
    )


def pg_log_after(log: Path, skip: int) -> list[str]:
    return pg_logged(log)[skip:]


def test_mariadb_proof_passes_reads_and_catches_a_writing_mutant(
    mariadb_private: MariaDbServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    asyncio.run(_my_session(mariadb_private, ()))
    logged = mariadb_private.scanner_statements()
    assert len(logged) >= 2 and not non_reads(logged)

    monkeypatch.setattr(my_wire, "guard_pg_sql", lambda sql: sql)  # the mutant: no guard
    asyncio.run(_my_session(mariadb_private, MY_WRITES))
    caught = non_reads(mariadb_private.scanner_statements()[len(logged) :])
    assert {c.split()[0] for c in caught} == {"INSERT", "DROP"}
