"""``scan --distributed`` on Celery with a real Redis broker (password-protected) and two real
``leakmap worker`` processes on loopback: the merged report equals a local scan's (services
and finding ids); with one worker killed (SIGKILL) while it holds a shard, the shard is run
again by the other after the visibility timeout and the report is still complete; an
unreachable broker is one line with the password masked, exit 2."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from leakmap.lab.addresses import random_loopback
from leakmap.lab.clickhouse import ClickHouseInstance

from .test_scan_cli import FAST, leakmap_scan

pytestmark = pytest.mark.integration

VISIBILITY = 4  # seconds before a dead worker's shard is handed out again


class Redis:
    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server not installed (scripts/bootstrap: apt redis-server)")
        self.ip = random_loopback((6379,))
        self.password = secrets.token_urlsafe(12)
        self.dir = tempfile.mkdtemp(prefix="leakmap-redis-")
        self.proc = subprocess.Popen(
            [
                binary,
                "--bind",
                self.ip,
                "--port",
                "6379",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "no",
                "--requirepass",
                self.password,
                "--dir",
                self.dir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        import socket

        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex((self.ip, 6379)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@{self.ip}:6379/0"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


class Worker:
    def __init__(self, url: str, name: str, log: Path) -> None:
        self.name = name
        self.log = log
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "leakmap",
                "worker",
                "--broker",
                url,
                "--name",
                name,
                "--visibility-timeout",
                str(VISIBILITY),
            ],
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            env={**os.environ, "C_FORCE_ROOT": "1"},
        )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def received(self) -> list[str]:
        return re.findall(r"Task leakmap\.scan_shard\[([\w-]+)\] received", self.text())

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready." in self.text():
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited: {self.text()[-800:]}")
            time.sleep(0.1)
        raise RuntimeError(f"worker {self.name} not ready: {self.text()[-800:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture(scope="module")
def redis() -> Iterator[Redis]:
    server = Redis()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def workers(redis: Redis, tmp_path: Path) -> Iterator[Callable[[], list[Worker]]]:
    made: list[Worker] = []

    def start() -> list[Worker]:
        pair = [
            Worker(redis.url, f"w{i}-{secrets.token_hex(3)}", tmp_path / f"w{i}.log")
            for i in (1, 2)
        ]
        made.extend(pair)
        for w in pair:
            w.wait_ready()
        return pair

    try:
        yield start
    finally:
        for w in made:
            w.stop()


def _essence(doc: dict[str, Any]) -> tuple[list[Any], list[str]]:
    return doc["services"], sorted(f["id"] for f in doc["findings"])


def _targets(*servers: ClickHouseInstance) -> list[str]:
    # the ClickHouse servers, each with its neighbours (nothing listens there)
    out = []
    for ch in servers:
        out.append(ch.ip)
        base = ch.ip.rsplit(".", 1)[0]
        last = int(ch.ip.rsplit(".", 1)[1])
        out += [f"{base}.{n}" for n in (last % 250 + 2, (last + 5) % 250 + 2)]
    return out


@pytest.fixture(scope="module")
def local_scan(ch_open: ClickHouseInstance, ch_password: ClickHouseInstance) -> dict[str, Any]:
    run = leakmap_scan(*_targets(ch_open, ch_password), "--format", "json", *FAST)
    assert run.code == 0, run.stderr
    doc: dict[str, Any] = run.json()
    assert len(doc["services"]) >= 4
    return doc


def test_distributed_scan_equals_local(
    redis: Redis,
    workers: Callable[[], list[Worker]],
    ch_open: ClickHouseInstance,
    ch_password: ClickHouseInstance,
    local_scan: dict[str, Any],
) -> None:
    pair = workers()
    run = leakmap_scan(
        *_targets(ch_open, ch_password),
        "--distributed",
        "--broker",
        redis.url,
        "--shard-size",
        "1",
        "--visibility-timeout",
        str(VISIBILITY),
        "--format",
        "json",
        *FAST,
    )
    assert run.code == 0, run.stderr
    assert _essence(run.json()) == _essence(local_scan)
    # both workers took part
    assert all(w.received() for w in pair), [w.text()[-400:] for w in pair]


def _distributed_scan(redis: Redis, targets: list[str], *extra: str) -> subprocess.Popen[str]:
    """A distributed scan of ``targets`` (one address a shard) running in the background,
    the broker given by the environment; its JSON report on stdout."""
    env = {**os.environ, "LEAKMAP_BROKER": redis.url, "COLUMNS": "200"}
    argv = [sys.executable, "-m", "leakmap", "scan", *targets, "--distributed"]
    argv += ["--shard-size", "1", "--visibility-timeout", str(VISIBILITY), *extra]
    return subprocess.Popen(
        [*argv, "--format", "json", *FAST],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _kill_while_running(victim: Worker, redis: Redis) -> list[str]:
    """SIGKILL ``victim`` while a shard it took is STARTED (its result backend state): by
    then a worker without late acknowledgement has acknowledged it, so it would be lost."""
    import json

    import redis as redis_client

    client = redis_client.Redis(host=redis.ip, port=6379, password=redis.password)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for task_id in victim.received():
            meta = client.get(f"celery-task-meta-{task_id}")
            if meta is not None and json.loads(meta)["status"] == "STARTED":
                victim.proc.send_signal(signal.SIGKILL)  # no chance to ack or requeue
                victim.proc.wait(5)
                client.close()
                return [task_id]
        time.sleep(0.002)
    raise AssertionError(f"the victim never ran a shard: {victim.text()[-800:]}")


def test_a_worker_killed_mid_shard_loses_nothing(
    redis: Redis,
    workers: Callable[[], list[Worker]],
    ch_open: ClickHouseInstance,
    ch_password: ClickHouseInstance,
    local_scan: dict[str, Any],
) -> None:
    victim, survivor = workers()
    scan = _distributed_scan(redis, _targets(ch_open, ch_password))
    try:
        held = _kill_while_running(victim, redis)
        out, err = scan.communicate(timeout=120)
    finally:
        if scan.poll() is None:
            scan.kill()
    assert scan.returncode == 0, err
    import json

    assert _essence(json.loads(out)) == _essence(local_scan)
    # the shard the victim held was run again by the survivor
    assert set(held) <= set(survivor.received()), (held, survivor.received())


def test_unreachable_broker_is_one_line_with_the_password_masked() -> None:
    ip = random_loopback((6379,))
    run = leakmap_scan(
        "127.0.0.1", "--distributed", "--broker", f"redis://:hunter2-fake@{ip}:6379/0"
    )
    assert run.code == 2
    assert run.stderr.count("\n") == 1 and "hunter2" not in run.stderr
    assert f"redis://:***@{ip}:6379/0" in run.stderr


class _Listener:
    """A TCP port on a loopback address that counts the connections it accepts: the target
    of a scan whose shards must never be run."""

    def __init__(self) -> None:
        import socket
        import threading

        self.ip = random_loopback((8123,))
        self.sock = socket.create_server((self.ip, 8123))
        self.sock.settimeout(0.2)
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


def _cancelled_keys(redis: Redis) -> list[bytes]:
    import redis as redis_client

    client = redis_client.Redis(host=redis.ip, port=6379, password=redis.password)
    try:
        return list(client.scan_iter("leakmap-cancelled-*"))
    finally:
        client.close()


def test_no_worker_gives_up_and_a_late_worker_drops_the_cancelled_shard(
    redis: Redis, tmp_path: Path
) -> None:
    """No worker: the scan stops after --worker-wait with exit 3 and the address it left out;
    a worker started afterwards takes the leftover shard and drops it (the target never sees
    a connection). Mutant caught: without the worker's cancel check, the late worker scans
    the listener (accepted > 0)."""
    target = _Listener()
    late: Worker | None = None
    try:
        before = set(_cancelled_keys(redis))
        started = time.monotonic()
        run = leakmap_scan(
            target.ip,
            "--ports",
            "8123",
            "--distributed",
            "--broker",
            redis.url,
            "--worker-wait",
            "3",
            "--format",
            "json",
            *FAST,
        )
        assert run.code == 3, run.stderr
        assert time.monotonic() - started < 60
        notes = " ".join(run.json()["notes"])
        assert "--worker-wait" in notes and f"not scanned (1 address(es): {target.ip})" in notes
        assert len(set(_cancelled_keys(redis)) - before) == 1
        assert target.accepted == 0
        late = Worker(redis.url, f"late-{secrets.token_hex(3)}", tmp_path / "late.log")
        late.wait_ready()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if re.search(r"Task leakmap\.scan_shard\[[\w-]+\] succeeded", late.text()):
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"the late worker never took the shard: {late.text()[-800:]}")
        time.sleep(0.5)
        assert target.accepted == 0, "a shard of a cancelled scan was scanned"
    finally:
        if late is not None:
            late.stop()
        target.close()


def test_all_workers_dead_stalls_out(
    redis: Redis,
    workers: Callable[[], list[Worker]],
    ch_open: ClickHouseInstance,
    ch_password: ClickHouseInstance,
) -> None:
    """Both workers killed mid-scan: the coordinator stops --stall-timeout seconds after the
    last finished shard, exit 3, the report says what was not scanned. Mutant caught: with
    no stall limit the scan never ends (the subprocess times out)."""
    first, second = workers()
    second.proc.send_signal(signal.SIGKILL)
    second.proc.wait(5)
    scan = _distributed_scan(redis, _targets(ch_open, ch_password), "--stall-timeout", "8")
    try:
        _kill_while_running(first, redis)
        out, err = scan.communicate(timeout=90)
    finally:
        if scan.poll() is None:
            scan.kill()
    import json

    assert scan.returncode == 3, err
    notes = " ".join(json.loads(out)["notes"])
    assert "--stall-timeout" in notes and "shard(s) not scanned" in notes


CUSTOM_RULES = """rules:
- id: custom.chat-service-name
  category: infrastructure
  description: the chat service's name in a log row (a rule only this test has)
  regex: '\\bchat-api\\b'
"""


def test_rule_files_travel_to_the_workers(
    redis: Redis,
    workers: Callable[[], list[Worker]],
    ch_open: ClickHouseInstance,
    tmp_path: Path,
) -> None:
    """--rules with --distributed: the workers classify with the scanning machine's rule
    file, so the report equals a local scan with it (and holds the custom rule's data)."""
    rules = tmp_path / "custom.yaml"
    rules.write_text(CUSTOM_RULES, encoding="utf-8")
    args = [ch_open.ip, "--ports", str(ch_open.http_port), "--rules", str(rules)]
    local = leakmap_scan(*args, "--format", "json", *FAST)
    assert local.code == 0, local.stderr
    workers()
    run = leakmap_scan(
        *args, "--distributed", "--broker", redis.url, "--format", "json", *FAST
    )  # fmt: skip
    assert run.code == 0, run.stderr
    assert _essence(run.json()) == _essence(local.json())
    rules_seen = {
        d["rule"]
        for s in run.json()["services"]
        for r in s["resources"]
        for d in r["data_findings"]
    }
    assert "custom.chat-service-name" in rules_seen
