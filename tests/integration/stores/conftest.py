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
``es_recorded``       recorded Elasticsearch 8.11 (open) on ``ip:9200`` (recorded_servers.py).
``mongo_recorded``    recorded MongoDB 6.0 (open) on ``ip:27017``.

A missing binary skips (in CI a skip is a failure: tests/conftest.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from leakmap.lab.addresses import random_loopback
from tests.unit.stores.recorded import Planted as RecordedPlanted

from .recorded_servers import RecordedEsServer, RecordedMongoServer
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


def _recorded_planted(seed: int) -> RecordedPlanted:
    planted = make_planted(seed)
    return RecordedPlanted(secret=planted.openai, email=planted.email)


@pytest.fixture(scope="session")
def es_recorded(lab_seed: int) -> Iterator[RecordedEsServer]:
    server = RecordedEsServer("es-open", _recorded_planted(lab_seed + 130)).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def mongo_recorded(lab_seed: int) -> Iterator[RecordedMongoServer]:
    server = RecordedMongoServer("open", _recorded_planted(lab_seed + 140)).start()
    try:
        yield server
    finally:
        server.stop()
