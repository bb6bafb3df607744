"""Session fixtures: real PostgreSQL 15 and MariaDB servers from Debian, open and protected,
each on its own random 127.x address, seeded with the lab's chat-log pool (``.dataset``).
Registered for every integration test by tests/integration/conftest.py (one server of each
per session, shared by tests/integration/sql and the one-scan test of tests/integration/stores).

``pg_open``          every role over TCP by ``trust`` (``postgres`` is a superuser), seeded.
``pg_protected``     ``scram-sha-256`` over TCP, ``postgres`` has ``.password``, seeded.
``pg_app_only``      ``postgres`` needs ``.password``; role ``app`` is trusted over TCP and may
                     only SELECT chatbot's ``log_stream``, seeded.
``mariadb_open``     ``root@'%'`` without a password (all privileges), seeded.
``mariadb_protected`` ``root@'%'`` with ``.password``, seeded.

Statement logs: ``.scanner_statements()`` (PostgreSQL ``log_statement=all``, MariaDB's general
log), admin statements excluded. A missing binary skips (in CI a skip is a failure).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from .servers import (
    MariaDbServer,
    PgServer,
    mariadb_available,
    postgres_available,
    start_mariadb,
    start_postgres,
)

__all__ = ["mariadb_open", "mariadb_protected", "pg_app_only", "pg_open", "pg_protected"]


def _need_postgres() -> None:
    if not postgres_available():
        pytest.skip("postgresql 15 not installed (scripts/bootstrap installs it)")


def _need_mariadb() -> None:
    if not mariadb_available():
        pytest.skip("mariadb-server not installed (scripts/bootstrap installs it)")


@pytest.fixture(scope="session")
def pg_open(lab_seed: int) -> Iterator[PgServer]:
    _need_postgres()
    server = start_postgres(seed=lab_seed + 40)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_protected(lab_seed: int) -> Iterator[PgServer]:
    _need_postgres()
    server = start_postgres(seed=lab_seed + 41, password=secrets.token_urlsafe(16))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_app_only(lab_seed: int) -> Iterator[PgServer]:
    _need_postgres()
    server = start_postgres(
        seed=lab_seed + 44, password=secrets.token_urlsafe(16), trust_users=("app",)
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def mariadb_open(lab_seed: int) -> Iterator[MariaDbServer]:
    _need_mariadb()
    server = start_mariadb(seed=lab_seed + 42)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def mariadb_protected(lab_seed: int) -> Iterator[MariaDbServer]:
    _need_mariadb()
    server = start_mariadb(seed=lab_seed + 43, password=secrets.token_urlsafe(16))
    try:
        yield server
    finally:
        server.stop()
