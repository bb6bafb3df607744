"""Real Redis, memcached and etcd servers for the data-store plugin tests, and their seed data.

Each server runs Debian's binary from its own temporary directory on ONE random 127.x address
(:func:`leakmap.lab.addresses.random_loopback`), is seeded by the test's own admin client
(never by the scanner), and is stopped by the pid this module started. Nothing listens
anywhere else: etcd's peer URL is on the same loopback address.

Seed data is random per session (fake, format-valid secrets from :mod:`leakmap.lab.seed`),
and :class:`Planted` records every raw value so tests can check that none of them appears
in any output.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import httpx

from leakmap.lab.addresses import require_loopback
from leakmap.lab.seed import fake_card, fake_secret
from leakmap.net.stream import BudgetedReader
from leakmap.services.redis.resp import RespValue, encode_command, read_reply

__all__ = [
    "EtcdServer",
    "MemcachedServer",
    "Planted",
    "RedisServer",
    "make_planted",
]

REDIS_BIN = "/usr/bin/redis-server"
MEMCACHED_BIN = "/usr/bin/memcached"
ETCD_BIN = "/usr/bin/etcd"


@dataclass(frozen=True)
class Planted:
    """The fake sensitive values one server was seeded with (raw: tests only)."""

    openai: str
    github: str
    aws: str
    email: str
    card: str
    password: str

    @property
    def raw_values(self) -> tuple[str, ...]:
        return (self.openai, self.github, self.aws, self.email, self.card, self.password)


def make_planted(seed: int) -> Planted:
    rng = random.Random(seed)
    user = "".join(rng.choice("abcdefghijklmnop") for _ in range(8))
    return Planted(
        openai=fake_secret(rng, "openai").value,
        github=fake_secret(rng, "github").value,
        aws=fake_secret(rng, "aws").value,
        email=f"{user}.{rng.randint(100, 999)}@example-corp.com",
        card=fake_card(rng),
        password="".join(rng.choice("ABCDEFGHJKabcdefghjk23456789") for _ in range(20)),
    )


def binary_available(path: str) -> bool:
    return shutil.which(path) is not None


class _Process:
    """A server subprocess in its own temp dir, stopped by its pid."""

    name = "server"

    def __init__(self, ip: str) -> None:
        self.ip = require_loopback(ip)
        self.dir = Path(tempfile.mkdtemp(prefix=f"leakmap-{self.name}-"))
        self._proc: subprocess.Popen[bytes] | None = None
        self.planted: Planted | None = None

    def _spawn(self, argv: list[str]) -> None:
        log = (self.dir / "server.log").open("ab")
        try:
            self._proc = subprocess.Popen(
                argv,
                cwd=self.dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()

    def _wait(self, ready: Any, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                log = (self.dir / "server.log").read_text("utf-8", "replace")[-500:]
                raise RuntimeError(f"{self.name} on {self.ip} exited: {log}")
            try:
                if ready():
                    return
            except (OSError, httpx.HTTPError):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} on {self.ip} not ready after {timeout:.0f} s")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)
        self._proc = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------------------------- Redis


async def _redis_admin(
    ip: str, port: int, password: str | None, commands: list[tuple[str | bytes, ...]]
) -> list[RespValue]:
    reader, writer = await asyncio.open_connection(ip, port)
    try:
        if password is not None:
            commands = [("AUTH", password), *commands]
        writer.write(b"".join(encode_command(c) for c in commands))
        await writer.drain()
        stream = BudgetedReader(reader, limit=64 << 20, timeout=10.0)
        replies = [await read_reply(stream) for _ in commands]
    finally:
        writer.close()
    return replies[1:] if password is not None else replies


class RedisServer(_Process):
    """``redis-server`` on ``ip:port`` (6379 unless told). ``password`` sets requirepass;
    ``acl`` adds ACL ``user`` lines (the default user's rules); protected mode is on whenever
    a password is."""

    name = "redis"

    def __init__(
        self,
        ip: str,
        *,
        password: str | None = None,
        acl: tuple[str, ...] = (),
        port: int = 6379,
    ) -> None:
        super().__init__(ip)
        self.port = port
        self.password = password
        lines = [
            f"bind {self.ip}",
            f"port {self.port}",
            'save ""',
            "appendonly no",
            f"dir {self.dir}",
            f"protected-mode {'yes' if password else 'no'}",
            "daemonize no",
        ]
        if password:
            lines.append(f"requirepass {password}")
        lines += [f"user {rule}" for rule in acl]
        (self.dir / "redis.conf").write_text("\n".join(lines) + "\n")
        # the admin connection: a user of our own when the default user is restricted
        self._admin_password = password
        if acl:
            self._admin_password = secrets.token_hex(12)
            with (self.dir / "redis.conf").open("a") as fh:
                fh.write(f"user leakmap-admin on >{self._admin_password} ~* &* +@all\n")

    def start(self) -> Self:
        self._spawn([REDIS_BIN, str(self.dir / "redis.conf")])

        def ready() -> bool:
            with socket.create_connection((self.ip, self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith((b"+PONG", b"-NOAUTH"))

        self._wait(ready)
        return self

    def admin(self, *commands: tuple[str | bytes, ...]) -> list[RespValue]:
        """Run commands as the admin (never scanner code); replies in order."""
        if self._admin_password is not None and self._admin_password != self.password:
            auth: list[tuple[str | bytes, ...]] = [("AUTH", "leakmap-admin", self._admin_password)]
            return asyncio.run(_redis_admin(self.ip, self.port, None, auth + list(commands)))[1:]
        return asyncio.run(_redis_admin(self.ip, self.port, self.password, list(commands)))

    def commandstats(self) -> dict[str, dict[str, int]]:
        """``INFO commandstats``: command -> {calls, rejected_calls, failed_calls}."""
        (raw,) = self.admin(("INFO", "commandstats"))
        assert isinstance(raw, bytes)
        out: dict[str, dict[str, int]] = {}
        for line in raw.decode().splitlines():
            if not line.startswith("cmdstat_"):
                continue
            name, _, values = line[len("cmdstat_") :].partition(":")
            fields = dict(kv.split("=", 1) for kv in values.split(","))
            out[name] = {
                k: int(fields.get(k, "0")) for k in ("calls", "rejected_calls", "failed_calls")
            }
        return out

    def seed(self, planted: Planted, *, filler: int = 300) -> None:
        self.planted = planted
        chat = json.dumps(
            {
                "messages": [
                    {"role": "system", "content": "You are a helpful support assistant."},
                    {"role": "user", "content": f"my card is {planted.card}, mail {planted.email}"},
                    {"role": "assistant", "content": "Thanks, I have updated your payment."},
                ]
            }
        )
        commands: list[tuple[str | bytes, ...]] = [
            (
                "SET",
                "session:7f3a9c",
                json.dumps({"user": planted.email, "openai_api_key": planted.openai}),
            ),
            ("HSET", "user:1001", "email", planted.email, "github_token", planted.github),
            ("RPUSH", "chat:history:42", chat, chat),
            ("XADD", "events", "*", "msg", f"aws key {planted.aws} rotated", "level", "warn"),
            ("SADD", "tags", "alpha", "beta"),
            ("ZADD", "leaderboard", "1", "alice", "2", "bob"),
            ("SET", "blob:big", b"x" * (2 << 20)),
            ("SELECT", "3"),
            ("SET", "config:db", f"postgres://app:{planted.password}@db.internal:5432/app"),
            ("SELECT", "0"),
        ]
        commands += [("SET", f"cache:page:{i}", f"<html>page {i}</html>") for i in range(filler)]
        self.admin(*commands)


# ------------------------------------------------------------------------------ memcached


class MemcachedServer(_Process):
    """``memcached`` on ``ip:11211``; with ``password`` ascii auth (``-Y authfile``) is on."""

    name = "memcached"

    def __init__(self, ip: str, *, password: str | None = None) -> None:
        super().__init__(ip)
        self.port = 11211
        self.user = "app"
        self.password = password

    def start(self) -> Self:
        argv = [MEMCACHED_BIN, "-u", "root", "-l", self.ip, "-p", str(self.port), "-U", "0"]
        argv += ["-m", "64"]
        if self.password:
            auth = self.dir / "authfile"
            auth.write_text(f"{self.user}:{self.password}\n")
            argv += ["-Y", str(auth)]
        self._spawn(argv)

        def ready() -> bool:
            with socket.create_connection((self.ip, self.port), timeout=0.5) as sock:
                sock.sendall(b"version\r\n")
                return sock.recv(64).startswith((b"VERSION", b"CLIENT_ERROR"))

        self._wait(ready)
        return self

    def admin(self, payload: bytes) -> bytes:
        """Send raw text-protocol bytes (after ascii auth when on); what came back."""
        with socket.create_connection((self.ip, self.port), timeout=5) as sock:
            if self.password:
                cred = f"{self.user} {self.password}".encode()
                sock.sendall(b"set a 0 0 %d\r\n%s\r\n" % (len(cred), cred))
                assert sock.recv(64).startswith(b"STORED")
            sock.sendall(payload + b"version\r\n")
            out = b""
            while b"VERSION" not in out:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                out += chunk
        return out

    def stats(self) -> dict[str, int]:
        out = self.admin(b"stats\r\n").decode()
        return {
            p[1]: int(p[2])
            for p in (line.split() for line in out.splitlines())
            if len(p) == 3 and p[0] == "STAT" and p[2].isdigit()
        }

    def seed(self, planted: Planted, *, filler: int = 200) -> None:
        self.planted = planted
        items = {
            "session:9c1e": json.dumps({"email": planted.email, "token": planted.github}),
            "user:42:profile": json.dumps({"card": planted.card, "name": "Jo"}),
            "app:config": f"OPENAI_API_KEY={planted.openai}",
        }
        items |= {f"frag:{i}": f"<div>{i}</div>" for i in range(filler)}
        payload = b"".join(
            b"set %s 0 0 %d noreply\r\n%s\r\n" % (k.encode(), len(v.encode()), v.encode())
            for k, v in items.items()
        )
        self.admin(payload)


# ----------------------------------------------------------------------------------- etcd


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class EtcdServer(_Process):
    """``etcd`` 3.4 on ``ip:2379`` (peer on ``ip:2380``); ``password`` enables auth (root)."""

    name = "etcd"

    def __init__(self, ip: str, *, password: str | None = None) -> None:
        super().__init__(ip)
        self.port = 2379
        self.password = password
        self.url = f"http://{self.ip}:{self.port}"
        self._token: str | None = None

    def start(self) -> Self:
        peer = f"http://{self.ip}:2380"
        self._spawn(
            [
                ETCD_BIN,
                "--data-dir",
                str(self.dir / "data"),
                "--name",
                "lab",
                "--listen-client-urls",
                self.url,
                "--advertise-client-urls",
                self.url,
                "--listen-peer-urls",
                peer,
                "--initial-advertise-peer-urls",
                peer,
                "--initial-cluster",
                f"lab={peer}",
            ]
        )

        def ready() -> bool:
            return httpx.get(self.url + "/health", timeout=0.5, trust_env=False).status_code == 200

        self._wait(ready, timeout=30)
        return self

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": self._token} if self._token else {}
        resp = httpx.post(self.url + path, json=payload, headers=headers, trust_env=False)
        resp.raise_for_status()
        body: dict[str, Any] = resp.json()
        return body

    def put_many(self, items: dict[str, str]) -> None:
        """Write ``items`` in transactions of at most 100 puts (one disk sync each)."""
        pairs = list(items.items())
        for i in range(0, len(pairs), 100):
            puts = [
                {"request_put": {"key": _b64(k), "value": _b64(v)}} for k, v in pairs[i : i + 100]
            ]
            self._post("/v3/kv/txn", {"success": puts})

    def seed(self, planted: Planted, *, kubernetes: bool = True, filler: int = 100) -> None:
        self.planted = planted
        items: dict[str, str] = {}
        if kubernetes:
            secret = {
                "kind": "Secret",
                "metadata": {"name": "db-credentials", "namespace": "default"},
                "stringData": {"password": planted.password, "github_token": planted.github},
            }
            items["/registry/secrets/default/db-credentials"] = json.dumps(secret)
            items["/registry/pods/default/web-1"] = json.dumps({"kind": "Pod"})
        items["/config/app/openai_api_key"] = planted.openai
        items["/config/app/owner"] = planted.email
        for i in range(filler):
            items[f"/services/web/instances/{i:04d}"] = f'{{"port": {8000 + i}}}'
        self.put_many(items)
        if self.password:
            self._post("/v3/auth/user/add", {"name": "root", "password": self.password})
            self._post("/v3/auth/user/grant", {"user": "root", "role": "root"})
            self._post("/v3/auth/enable", {})
            token = self._post(
                "/v3/auth/authenticate", {"name": "root", "password": self.password}
            )["token"]
            self._token = token

    def revision(self) -> int:
        """The store's revision: any write (put, delete, txn) raises it."""
        body = self._post("/v3/kv/range", {"key": _b64("\0"), "count_only": True})
        return int(body["header"]["revision"])
