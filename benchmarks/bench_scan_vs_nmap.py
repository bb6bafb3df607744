"""Benchmark: ``leakmap scan`` against ``nmap -sV`` on the same lab ClickHouse, in one run.

Not a test: it prints what it measured and exits 0. Everything stays on loopback: a lab
ClickHouse (Debian's clickhouse-server) is started on a random 127.x.y.z address, and both
tools are pointed ONLY at that address and its ports (nmap with ``-n``, so it does not even
ask a DNS server for a reverse name).

Part 1 - leakmap vs nmap -sV on ports 8123, 9000, 9009: wall time of each (the leakmap
time includes Python start-up and the full chain: fingerprint, auth, enumeration, bounded
sampling, classification, capabilities), their ratio, and what each identified per port
(nmap's answer parsed from ``-oX``).

Part 2 - table growth: ``chatbot.log_stream`` seeded with 1 thousand rows, then 3 million;
leakmap's scan timed a few times at each size (median), and the ratio printed, to show the
bounded sampling does not get slower with the table.

Usage::

    python -m benchmarks.bench_scan_vs_nmap [--reps 3] [--big-rows 3000000] [--skip-nmap]

See benchmarks/SCAN.md for what the figures mean.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leakmap.lab.addresses import random_loopback, require_loopback
from leakmap.lab.clickhouse import ClickHouseInstance, server_binary_available
from leakmap.lab.seed import seed_clickhouse

__all__ = ["Identified", "main", "run_leakmap", "run_nmap"]

PORTS = (8123, 9000, 9009)
EXPECTED = {8123: "http", 9000: "native", 9009: "interserver"}


@dataclass
class Identified:
    """What one tool said about each port, and how long it took."""

    tool: str
    seconds: float
    ports: dict[int, str] = field(default_factory=dict)
    clickhouse: set[int] = field(default_factory=set)
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def in_scan_seconds(self) -> float | None:
        """leakmap's own started..finished (without Python start-up), when known."""
        if "started" not in self.raw or "finished" not in self.raw:
            return None
        started = datetime.fromisoformat(self.raw["started"])
        finished = datetime.fromisoformat(self.raw["finished"])
        return (finished - started).total_seconds()


def run_leakmap(ip: str, ports: tuple[int, ...] = PORTS) -> Identified:
    """``leakmap scan IP --ports ... --format json`` as a subprocess, timed."""
    require_loopback(ip)
    started = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "leakmap",
            "scan",
            ip,
            "--ports",
            ",".join(map(str, ports)),
            "--format",
            "json",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"leakmap scan failed ({proc.returncode}): {proc.stderr.strip()[:300]}")
    doc: dict[str, Any] = json.loads(proc.stdout)
    out = Identified("leakmap scan", seconds, raw=doc)
    for service in doc["services"]:
        tables = len(service["resources"])
        label = (
            f"{service['service']} {service['transport']} {service['version'] or '?'} "
            f"auth={service['auth']}" + (f" tables={tables}" if tables else "")
        )
        out.ports[int(service["port"])] = label
        if service["service"] == "clickhouse":
            out.clickhouse.add(int(service["port"]))
    return out


def run_nmap(ip: str, ports: tuple[int, ...] = PORTS) -> Identified:
    """``nmap -sV -Pn -n -p PORTS IP -oX -``, timed; the XML is parsed per port."""
    require_loopback(ip)
    nmap = shutil.which("nmap")
    if nmap is None:
        raise RuntimeError("nmap is not installed (apt-get install nmap)")
    started = time.perf_counter()
    proc = subprocess.run(
        [nmap, "-sV", "-Pn", "-n", "-p", ",".join(map(str, ports)), "-oX", "-", ip],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"nmap failed ({proc.returncode}): {proc.stderr.strip()[:300]}")
    out = Identified("nmap -sV", seconds)
    root = ET.fromstring(proc.stdout)  # our own nmap's output about our own lab server
    for port in root.iter("port"):
        number = int(port.get("portid", "0"))
        state = port.find("state")
        service = port.find("service")
        if state is not None and state.get("state") != "open":
            out.ports[number] = state.get("state", "?")
            continue
        if service is None:
            out.ports[number] = "open, no service"
            continue
        parts = [service.get("name", "?")]
        for key in ("product", "version", "extrainfo"):
            if service.get(key):
                parts.append(service.get(key, ""))
        if service.get("method") == "table":
            parts.append("(a guess from the port number: not recognised)")
        elif service.get("servicefp") and not service.get("version"):
            parts.append("(no version)")
        out.ports[number] = " ".join(parts)
        if "clickhouse" in " ".join(parts).lower() and service.get("method") != "table":
            out.clickhouse.add(number)
    return out


def _table(results: list[Identified], ports: tuple[int, ...]) -> str:
    width = max(36, *(len(r.ports.get(p, "")) for r in results for p in ports))
    lines = [f"{'port':<6} " + " ".join(f"{r.tool:<{width}}" for r in results)]
    for port in ports:
        lines.append(
            f"{port:<6} " + " ".join(f"{r.ports.get(port, '-'):<{width}}" for r in results)
        )
    return "\n".join(lines)


def _all_identified(result: Identified) -> bool:
    doc = result.raw
    found = {
        (int(s["port"]), s["transport"])
        for s in doc.get("services", [])
        if s["service"] == "clickhouse"
    }
    return all((port, transport) in found for port, transport in EXPECTED.items())


def _wait_for_merges(ch: ClickHouseInstance, limit: float = 300.0) -> float:
    """Wait until the lab server has no background merge running (they would compete for
    the CPU with the scan being timed); returns the seconds waited."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        if ch.admin_query("SELECT count() FROM system.merges").strip() == "0":
            break
        time.sleep(0.5)
    time.sleep(1.0)
    return time.perf_counter() - started


def _interleaved(ref_ip: str, test_ip: str, reps: int) -> tuple[list[float], list[float]]:
    """In-scan times of ``reps`` alternating scans of the reference and the test server, so
    that a change in machine load hits both alike."""
    ref: list[float] = []
    test: list[float] = []
    for _ in range(reps):
        for ip, out in ((ref_ip, ref), (test_ip, test)):
            run = run_leakmap(ip)
            out.append(run.in_scan_seconds or run.seconds)
    return ref, test


def _fmt(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f} s ({', '.join(f'{v:.2f}' for v in values)})"


def _growth(test: ClickHouseInstance, small_rows: int, big_rows: int, reps: int) -> None:
    """Time the scan of ``test`` before and after its table grows, each time interleaved with
    a reference server that keeps ``small_rows`` rows: the ratio of ratios cancels load drift
    on a shared machine (the first pair also shows the two servers' baseline)."""
    print(
        f"\n== table growth: chatbot.log_stream {small_rows} -> {big_rows} rows; "
        f"{reps} scans each, interleaved with a reference server that keeps {small_rows} ==",
        flush=True,
    )
    ref_ip = require_loopback(random_loopback(PORTS))
    with ClickHouseInstance(ref_ip, timezone="Asia/Shanghai") as ref:
        seed_clickhouse(ref.admin_query, rows=small_rows, analytics_rows=small_rows)
        for ip in (ref_ip, test.ip):
            run_leakmap(ip)  # warm-up: page cache and server caches
        ref_before, small = _interleaved(ref_ip, test.ip, reps)
        started = time.perf_counter()
        seed_clickhouse(test.admin_query, rows=big_rows, analytics_rows=small_rows)
        rows = int(test.admin_query("SELECT count() FROM chatbot.log_stream").strip())
        seeded = time.perf_counter() - started
        waited = _wait_for_merges(test)
        print(f"grew it to {rows} rows in {seeded:.1f} s (+{waited:.1f} s for merges to end)")
        run_leakmap(test.ip)
        ref_after, big = _interleaved(ref_ip, test.ip, reps)
    print("in-scan times (leakmap's own started..finished, without Python start-up):")
    print(f"  reference, {small_rows:>9} rows: {_fmt(ref_before)}")
    print(f"  test,      {small_rows:>9} rows: {_fmt(small)}")
    print(f"  reference, {small_rows:>9} rows: {_fmt(ref_after)}")
    print(f"  test,      {rows:>9} rows: {_fmt(big)}")
    med = statistics.median
    pairs_before = med(t / r for t, r in zip(small, ref_before, strict=True))
    pairs_after = med(t / r for t, r in zip(big, ref_after, strict=True))
    print(f"ratio big/small, plain medians:            {med(big) / med(small):.2f}")
    print(f"ratio big/small, fastest runs:             {min(big) / min(small):.2f}")
    print(
        "ratio big/small, corrected for load drift: "
        f"{pairs_after / pairs_before:.2f}  (median test/reference ratio per interleaved pair, "
        f"after {pairs_after:.2f} / before {pairs_before:.2f})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--reps", type=int, default=7, help="leakmap runs per table size")
    parser.add_argument("--small-rows", type=int, default=1_000)
    parser.add_argument("--big-rows", type=int, default=3_000_000)
    parser.add_argument("--skip-nmap", action="store_true", help="only the table-growth part")
    parser.add_argument("--skip-growth", action="store_true", help="only leakmap vs nmap")
    args = parser.parse_args(argv)

    if not server_binary_available():
        print("clickhouse-server is not installed (scripts/bootstrap installs it); nothing run.")
        return 0
    ip = require_loopback(random_loopback(PORTS))
    print(f"lab ClickHouse on {ip} (loopback only), ports {', '.join(map(str, PORTS))}")
    with ClickHouseInstance(ip, timezone="Asia/Shanghai") as ch:
        seed_clickhouse(ch.admin_query, rows=args.small_rows, analytics_rows=args.small_rows)
        print(f"seeded chatbot.log_stream and analytics.page_views with {args.small_rows} rows")

        if not args.skip_nmap:
            print("\n== leakmap scan vs nmap -sV, same host and ports, one run ==")
            ours = run_leakmap(ip)
            print(f"leakmap scan: {ours.seconds:7.2f} s (wall, with Python start-up)", flush=True)
            theirs = run_nmap(ip)
            print(f"nmap -sV:     {theirs.seconds:7.2f} s")
            print(f"ratio:        {theirs.seconds / ours.seconds:7.1f}x faster (leakmap)")
            print()
            print(_table([ours, theirs], PORTS))
            print()
            for result in (ours, theirs):
                where = ", ".join(map(str, sorted(result.clickhouse))) or "none"
                print(f"{result.tool} recognised ClickHouse on: {where}")
            verdict = "yes" if _all_identified(ours) else "NO"
            print(
                "leakmap identified every ClickHouse endpoint (8123 http, 9000 native, "
                f"9009 interserver): {verdict}"
            )

        if not args.skip_growth:
            _growth(ch, args.small_rows, args.big_rows, args.reps)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("NO_COLOR", "1")
    sys.exit(main())
