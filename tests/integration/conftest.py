"""Real-server fixtures for the integration tests (everything on random 127.x.y.z addresses).

Session-scoped, started on first use and stopped (temp dirs removed) at session end, also on
failure. Every address is drawn from 127.64.0.1-127.250.255.254 after checking its ports are
free, so concurrent runs by different developers do not clash.

ClickHouse (Debian's clickhouse-server 18.16; skipped with a clear reason when missing), each a
:class:`leakmap.lab.clickhouse.ClickHouseInstance` with ``.ip``, ``.http_port`` (8123),
``.native_port`` (9000), ``.interserver_port`` (9009), ``.admin_query(sql)``,
``.logged_queries(since=...)`` and ``.summary.dataset`` (every planted fake):

``ch_open``      default user, empty password, timezone Asia/Shanghai, log_queries=1, seeded.
``ch_password``  default user needs ``.password`` (stored as sha256), seeded (to prove no data
                 leaks without it).
``ch_readonly``  default user in a readonly=1 profile, empty password, seeded.

Decoys (:mod:`tests.integration.servers`):

``decoy_ok_http``     answers ``200 Ok.`` to everything on ``.ip:8123``.
``garbage_tcp``       parametrised over every misbehaviour mode, ``.ip:9000`` (``.mode``).
``garbage_tcp_all``   one of each mode at once, each on its own address (a list).

Helpers: ``free_loopback`` - a function returning a fresh free 127.x.y.z for given ports;
``ch_factory`` - a function starting more (seeded) ClickHouse instances with any options,
all stopped at session end.

The seed data is random per session (``lab_seed``); ``LEAKMAP_TEST_SEED=N`` replays a run, and
a failed run prints its seed.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from leakmap.lab.addresses import random_loopback
from leakmap.lab.clickhouse import (
    ClickHouseInstance,
    server_binary_available,
    start_on_random_loopback,
    sweep_stale_dirs,
)

from .servers import GARBAGE_MODES, GarbageMode, GarbageTcp, OkHttpDecoy
from .sql.fixtures import mariadb_open, mariadb_protected, pg_app_only, pg_open, pg_protected

__all__ = [
    "CH_PORTS",
    "ch_factory",
    "ch_open",
    "ch_password",
    "ch_readonly",
    "decoy_ok_http",
    "free_loopback",
    "garbage_tcp",
    "garbage_tcp_all",
    "lab_seed",
    "mariadb_open",
    "mariadb_protected",
    "pg_app_only",
    "pg_open",
    "pg_protected",
    "start_clickhouse",
]

CH_PORTS = (8123, 9000, 9009)
SEED_ROWS = 1000
_INTEGRATION_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/integration/ carries the ``integration`` marker."""
    for item in items:
        if _INTEGRATION_DIR in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session", autouse=True)
def _sweep_stale_lab_dirs() -> None:
    """Remove temp server dirs a killed earlier run left behind (never a live one)."""
    sweep_stale_dirs()


def _require_clickhouse() -> None:
    if not server_binary_available():
        pytest.skip(
            "clickhouse-server not installed at /usr/sbin/clickhouse-server "
            "(run scripts/bootstrap: apt-get install clickhouse-server)"
        )


def start_clickhouse(
    *, seed_rows: int | None = SEED_ROWS, seed: int | None = None, **options: Any
) -> ClickHouseInstance:
    """Start (and seed) a ClickHouseInstance on a random free loopback address.

    Retries on a fresh address if another run grabbed the ports in between. The caller stops it.
    """
    return start_on_random_loopback(seed_rows=seed_rows, seed=seed, **options)


_SEED_KEY = pytest.StashKey[int]()


@pytest.fixture(scope="session")
def lab_seed(request: pytest.FixtureRequest) -> int:
    """The session's data seed: random, or ``$LEAKMAP_TEST_SEED`` to replay a failed run.

    Printed at the end of a failed run.
    """
    fixed = os.environ.get("LEAKMAP_TEST_SEED", "").strip()
    seed = int(fixed) if fixed.isdigit() else secrets.randbits(31)
    request.config.stash[_SEED_KEY] = seed
    return seed


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    """After a failed run, say how to replay the same seed data."""
    seed = config.stash.get(_SEED_KEY, None)
    if seed is not None and exitstatus != 0:
        terminalreporter.write_line(
            f"lab data seed {seed}: rerun with LEAKMAP_TEST_SEED={seed} to replay the same data"
        )


@pytest.fixture(scope="session")
def free_loopback() -> Callable[..., str]:
    """``free_loopback(ports=(8123, 9000, 9009))`` -> a random 127.x.y.z with those ports free."""

    def pick(ports: tuple[int, ...] = CH_PORTS) -> str:
        return random_loopback(ports)

    return pick


@pytest.fixture(scope="session")
def ch_factory(lab_seed: int) -> Iterator[Callable[..., ClickHouseInstance]]:
    """``ch_factory(seed_rows=1000, **options)`` starts an extra ClickHouseInstance on a random
    address (options as for ClickHouseInstance: timezone, password, readonly_profile, ...).
    Every instance it made is stopped at session end; stopping one earlier is fine."""
    _require_clickhouse()
    made: list[ClickHouseInstance] = []

    def make(*, seed_rows: int | None = SEED_ROWS, **options: Any) -> ClickHouseInstance:
        options.setdefault("seed", lab_seed + 10 + len(made))
        ch = start_clickhouse(seed_rows=seed_rows, **options)
        made.append(ch)
        return ch

    try:
        yield make
    finally:
        for ch in made:
            ch.stop()


@pytest.fixture(scope="session")
def ch_open(lab_seed: int) -> Iterator[ClickHouseInstance]:
    """Open ClickHouse: no password, Asia/Shanghai, log_queries=1, seeded with the demo data."""
    _require_clickhouse()
    ch = start_clickhouse(seed=lab_seed, timezone="Asia/Shanghai", log_queries=True)
    try:
        yield ch
    finally:
        ch.stop()


@pytest.fixture(scope="session")
def ch_password(lab_seed: int) -> Iterator[ClickHouseInstance]:
    """ClickHouse whose default user needs ``ch_password.password`` (random), seeded."""
    _require_clickhouse()
    ch = start_clickhouse(
        seed=lab_seed + 1,
        timezone="Europe/Berlin",
        password=secrets.token_urlsafe(16),
        password_sha256=True,
        log_queries=True,
    )
    try:
        yield ch
    finally:
        ch.stop()


@pytest.fixture(scope="session")
def ch_readonly(lab_seed: int) -> Iterator[ClickHouseInstance]:
    """ClickHouse whose default user (no password) is in a readonly=1 profile, seeded."""
    _require_clickhouse()
    ch = start_clickhouse(
        seed=lab_seed + 2, timezone="UTC", readonly_profile=True, log_queries=True
    )
    try:
        yield ch
    finally:
        ch.stop()


@pytest.fixture(scope="session")
def decoy_ok_http() -> Iterator[OkHttpDecoy]:
    """An HTTP server answering ``200 Ok.`` to every request on its own ``.ip:8123``."""
    decoy = OkHttpDecoy(random_loopback((8123,)), 8123).start()
    try:
        yield decoy
    finally:
        decoy.stop()


@pytest.fixture(scope="session", params=GARBAGE_MODES)
def garbage_tcp(request: pytest.FixtureRequest) -> Iterator[GarbageTcp]:
    """A TCP server on ``.ip:9000`` misbehaving in mode ``.mode`` (one test per mode)."""
    mode: GarbageMode = request.param
    server = GarbageTcp(random_loopback((9000,)), mode, 9000).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def garbage_tcp_all() -> Iterator[list[GarbageTcp]]:
    """One GarbageTcp per mode, each on its own address, all at once."""
    servers: list[GarbageTcp] = []
    try:
        for mode in GARBAGE_MODES:
            servers.append(GarbageTcp(random_loopback((9000,)), mode, 9000).start())
        yield servers
    finally:
        for server in servers:
            server.stop()
