"""Session fixtures: real Redis, memcached and etcd servers, open and protected, each on its
own random 127.x address and seeded with random fake secrets (``.planted``).

``redis_open``        no password, protected mode off, seeded (db0 and db3).
``redis_password``    ``requirepass`` (``.password``) and protected mode on, seeded.
``redis_acl``         default user without a password whose ACL denies CONFIG, MODULE,
                      DEBUG, SLAVEOF/REPLICAOF, EVAL/EVALSHA/SCRIPT; seeded.
``memcached_open``    no auth, seeded.
``memcached_auth``    ascii auth (``-Y authfile``), seeded.
``etcd_open``         no auth, Kubernetes keys (/registry/...) and config keys.
``etcd_auth``         auth enabled (root, ``.password``), same keys.

A missing binary skips (in CI a skip is a failure: tests/conftest.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from leakmap.lab.addresses import random_loopback

from .servers import (
    ETCD_BIN,
    MEMCACHED_BIN,
    REDIS_BIN,
    EtcdServer,
    MemcachedServer,
    RedisServer,
    binary_available,
    make_planted,
)

S = TypeVar("S", RedisServer, MemcachedServer, EtcdServer)

#: the default user's ACL in ``redis_acl``: everything but the routes to code execution
REDIS_HARDENED_ACL = (
    "default on nopass ~* &* +@all -config -module -debug -slaveof -replicaof "
    "-eval -evalsha -eval_ro -evalsha_ro -script -fcall -function",
)


def _need(binary: str) -> None:
    if not binary_available(binary):
        pytest.skip(f"{binary} not installed (scripts/bootstrap installs it)")


def _run(make: Callable[[], S], seed: Callable[[S], None]) -> Iterator[S]:
    server = make()
    try:
        server.start()
        seed(server)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_open(lab_seed: int) -> Iterator[RedisServer]:
    _need(REDIS_BIN)
    yield from _run(
        lambda: RedisServer(random_loopback((6379,))),
        lambda s: s.seed(make_planted(lab_seed + 100)),
    )


@pytest.fixture(scope="session")
def redis_password(lab_seed: int) -> Iterator[RedisServer]:
    _need(REDIS_BIN)
    yield from _run(
        lambda: RedisServer(random_loopback((6379,)), password=secrets.token_urlsafe(16)),
        lambda s: s.seed(make_planted(lab_seed + 101)),
    )


@pytest.fixture(scope="session")
def redis_acl(lab_seed: int) -> Iterator[RedisServer]:
    _need(REDIS_BIN)
    yield from _run(
        lambda: RedisServer(random_loopback((6379,)), acl=REDIS_HARDENED_ACL),
        lambda s: s.seed(make_planted(lab_seed + 102), filler=20),
    )


@pytest.fixture(scope="session")
def memcached_open(lab_seed: int) -> Iterator[MemcachedServer]:
    _need(MEMCACHED_BIN)
    yield from _run(
        lambda: MemcachedServer(random_loopback((11211,))),
        lambda s: s.seed(make_planted(lab_seed + 110)),
    )


@pytest.fixture(scope="session")
def memcached_auth(lab_seed: int) -> Iterator[MemcachedServer]:
    _need(MEMCACHED_BIN)
    yield from _run(
        lambda: MemcachedServer(random_loopback((11211,)), password=secrets.token_urlsafe(12)),
        lambda s: s.seed(make_planted(lab_seed + 111)),
    )


@pytest.fixture(scope="session")
def etcd_open(lab_seed: int) -> Iterator[EtcdServer]:
    _need(ETCD_BIN)
    yield from _run(
        lambda: EtcdServer(random_loopback((2379, 2380))),
        lambda s: s.seed(make_planted(lab_seed + 120)),
    )


@pytest.fixture(scope="session")
def etcd_auth(lab_seed: int) -> Iterator[EtcdServer]:
    _need(ETCD_BIN)
    yield from _run(
        lambda: EtcdServer(random_loopback((2379, 2380)), password=secrets.token_urlsafe(12)),
        lambda s: s.seed(make_planted(lab_seed + 121)),
    )
