"""One `leakmap scan` over every hostile behaviour at once, plus a real open ClickHouse.

The scan runs in a subprocess whose own resource usage is read with ``os.wait4``: its peak
resident memory must stay under the bound stated in SECURITY.md, and it must end within the
budget its configured timeouts give. Every hostile server must have been contacted (else the
test proves nothing), none may be reported open, none may crash the scan, and the real server
next to them must still be found open with its tables.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from leakmap.lab.clickhouse import ClickHouseInstance
from leakmap.services.registry import load_services

from .behaviours import BEHAVIOURS, by_protocol
from .fleet import Fleet
from .known import KNOWN_OPEN

ROOT = Path(__file__).resolve().parents[3]
CONNECT, READ, ENDPOINT = 1.0, 2.0, 20.0
OPTIONS = [
    "--timeout", str(CONNECT), "--read-timeout", str(READ),
    "--endpoint-timeout", str(ENDPOINT), "--no-progress",
]  # fmt: skip
#: the pipeline's assessment slots (Pipeline(assess_concurrency=16))
ASSESS_SLOTS = 16


def security_bound(name: str) -> int:
    """A number stated in SECURITY.md as ``<!-- bound:NAME -->N``: the doc and the test agree."""
    text = (ROOT / "SECURITY.md").read_text("utf-8")
    m = re.search(rf"<!-- bound:{name} -->\s*\**(\d+)", text)
    assert m, f"SECURITY.md states no bound {name}"
    return int(m.group(1))


@dataclass
class Measured:
    code: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_mib: float


#: ``launcher FD ARGV...`` runs ARGV as its own child and writes that child's exit code and
#: peak RSS (KiB) to file descriptor FD.
#: Measuring through this small launcher matters: a process forked from the pytest process
#: inherits its resident set, and exec() keeps that high-water mark in ru_maxrss, so a scan
#: started straight from a big test process would report the test process's memory.
_LAUNCHER = (
    "import os,sys\n"
    "fd=int(sys.argv[1])\n"
    "pid=os.fork()\n"
    "if pid==0:\n"
    "    os.close(fd)\n"
    "    os.execv(sys.argv[2],sys.argv[2:])\n"
    "_,status,usage=os.wait4(pid,0)\n"
    "os.write(fd,b'%d %d' % (os.waitstatus_to_exitcode(status),usage.ru_maxrss))\n"
)


def measured_scan(*args: str, timeout: float = 600) -> Measured:
    """Run ``leakmap scan ARGS`` through a small launcher that reports its peak RSS."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        read_end, write_end = os.pipe()
        cmd = [sys.executable, "-S", "-c", _LAUNCHER, str(write_end)]
        cmd += [sys.executable, "-m", "leakmap", "scan"]
        start = time.monotonic()
        proc = subprocess.Popen(
            [*cmd, *args],
            stdout=out,
            stderr=err,
            env=env,
            pass_fds=(write_end,),
            start_new_session=True,
        )
        os.close(write_end)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
        with os.fdopen(read_end, "rb") as pipe:
            report = pipe.read().split()
        code, rss_kib = (int(report[0]), int(report[1])) if len(report) == 2 else (-9, 0)
        seconds = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        return Measured(
            code,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            seconds,
            rss_kib / 1024,  # KiB on Linux
        )


def time_budget(targets: int) -> float:
    """What the configured timeouts allow: every plugin may spend its fingerprint budget
    (connect + 2 reads) on a port, then one assessment its endpoint budget, ``ASSESS_SLOTS``
    ports at a time; plus 15 s of start-up and slack."""
    per_port = len(load_services()) * (CONNECT + 2 * READ) + ENDPOINT
    return math.ceil(targets / ASSESS_SLOTS) * per_port + 15


@pytest.fixture(scope="module")
def hostile_scan(hostile_fleet: Fleet, ch_open: ClickHouseInstance) -> Measured:
    targets = [r.target for r in hostile_fleet.running.values()]
    return measured_scan(*targets, ch_open.ip, "--format", "json", *OPTIONS)


def services_at(doc: dict[str, Any], ip: str, port: int) -> list[dict[str, Any]]:
    return [s for s in doc["services"] if s["ip"] == ip and s["port"] == port]


def test_the_suite_covers_thirty_behaviours_across_protocols() -> None:
    protocols = by_protocol()
    assert len(BEHAVIOURS) >= 30
    for protocol in ("clickhouse-http", "clickhouse-native", "tls", "http-json"):
        assert len(protocols[protocol]) >= 3, protocol


def test_scan_ends_cleanly_within_its_timeouts(
    hostile_fleet: Fleet, hostile_scan: Measured
) -> None:
    assert hostile_scan.code in (0, 1), hostile_scan.stderr[-3000:]
    assert "Traceback" not in hostile_scan.stderr
    budget = time_budget(len(hostile_fleet.running) + 8)  # + the real server's port set
    assert hostile_scan.seconds < budget, (hostile_scan.seconds, budget)
    json.loads(hostile_scan.stdout)


def test_peak_memory_stays_under_the_stated_bound(hostile_scan: Measured) -> None:
    bound = security_bound("scan-memory-mib")
    assert hostile_scan.max_rss_mib < bound, (hostile_scan.max_rss_mib, bound)


def test_every_hostile_server_was_reached(hostile_fleet: Fleet, hostile_scan: Measured) -> None:
    assert hostile_scan.stdout
    missed = [name for name, r in hostile_fleet.running.items() if r.connections == 0]
    assert not missed


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(b.name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_OPEN[b.name]))
        if b.name in KNOWN_OPEN
        else b.name
        for b in BEHAVIOURS
    ],
)
def test_no_hostile_server_is_called_open(
    hostile_fleet: Fleet, hostile_scan: Measured, name: str
) -> None:
    doc = json.loads(hostile_scan.stdout)
    run = hostile_fleet.running[name]
    for service in services_at(doc, run.ip, run.port):
        assert service["auth"] == "unknown", (name, service["auth"], service["notes"])
        assert service["resources"] == [], name
    for finding in doc["findings"]:
        if (finding["host"], finding["port"]) == (run.ip, run.port):
            assert not finding["rule"].endswith(("open-access", ".data.secret")), finding


def test_the_real_server_next_to_them_is_still_scanned(
    ch_open: ClickHouseInstance, hostile_scan: Measured
) -> None:
    doc = json.loads(hostile_scan.stdout)
    (http,) = services_at(doc, ch_open.ip, ch_open.http_port)
    assert http["auth"] == "none"
    assert {(r["database"], r["table"]) for r in http["resources"]} >= {("chatbot", "log_stream")}
    (native,) = services_at(doc, ch_open.ip, ch_open.native_port)
    assert native["auth"] == "none"


def test_off_host_redirect_is_not_followed(hostile_fleet: Fleet, hostile_scan: Measured) -> None:
    assert hostile_fleet.running["ch-http-redirect-offhost"].connections > 0
    assert hostile_fleet.sink.connections == 0, hostile_fleet.sink.first_bytes


CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def test_terminal_output_has_no_control_characters_from_servers(hostile_fleet: Fleet) -> None:
    """The table report of the servers that put escapes in everything they send."""
    names = ("ch-http-nasty-text", "ch-http-exception-flood", "json-escapes-html",
             "tls-port-plaintext-garbage", "mysql-ch-huge-greeting")  # fmt: skip
    targets = [hostile_fleet.running[n].target for n in names]
    run = measured_scan(*targets, "--format", "table", *OPTIONS)
    assert run.code in (0, 1), run.stderr[-2000:]
    for stream in (run.stdout, run.stderr):
        assert not CONTROL.search(stream.replace("\n", "")), CONTROL.findall(stream)[:10]
