"""The store fixtures start what they promise: seeded, and protected where they should be."""

from __future__ import annotations

import socket

import httpx

from .servers import EtcdServer, MemcachedServer, RedisServer


def _raw(ip: str, port: int, payload: bytes) -> bytes:
    with socket.create_connection((ip, port), timeout=3) as sock:
        sock.sendall(payload)
        return sock.recv(4096)


def test_redis_fixtures(
    redis_open: RedisServer, redis_password: RedisServer, redis_acl: RedisServer
) -> None:
    assert _raw(redis_open.ip, 6379, b"DBSIZE\r\n").startswith(b":")
    assert _raw(redis_password.ip, 6379, b"DBSIZE\r\n").startswith(b"-NOAUTH")
    assert _raw(redis_acl.ip, 6379, b"CONFIG GET dir\r\n").startswith(b"-NOPERM")
    (size,) = redis_password.admin(("DBSIZE",))
    assert isinstance(size, int) and size > 300


def test_memcached_fixtures(
    memcached_open: MemcachedServer, memcached_auth: MemcachedServer
) -> None:
    assert _raw(memcached_open.ip, 11211, b"version\r\n").startswith(b"VERSION")
    assert _raw(memcached_auth.ip, 11211, b"stats\r\n").startswith(b"CLIENT_ERROR")
    assert memcached_auth.stats()["curr_items"] > 200


def test_etcd_fixtures(etcd_open: EtcdServer, etcd_auth: EtcdServer) -> None:
    body = {"key": "AA==", "range_end": "AA==", "count_only": True}
    opened = httpx.post(etcd_open.url + "/v3/kv/range", json=body, trust_env=False)
    assert int(opened.json()["count"]) > 100
    refused = httpx.post(etcd_auth.url + "/v3/kv/range", json=body, trust_env=False)
    assert refused.status_code == 400 and "user name is empty" in refused.text
    assert etcd_auth.revision() > 1  # the admin token reads it
