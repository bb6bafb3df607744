"""Benchmark: ``leakmap ports`` against ``nmap -sT -n -Pn`` on 16,384 loopback addresses.

Not a test: it prints what it measured and exits 0 (1 when the open-port sets differ).
Everything stays on loopback: a real ClickHouse (Debian's clickhouse-server, no data) is
started on a random 127.x.y.z address, and both tools scan the /18 around it (16,384
addresses) on the 8 default ports, each as a fresh process, alternately ``--reps`` times.

Printed: each tool's median wall time and probes a second, its median CPU time (user +
system, of the process and its children: steadier than wall time on a busy machine), the
size of each tool's set of open (address, port) pairs and whether the sets are equal, and
the ratios ``nmap time / leakmap time`` (above 1: leakmap is faster), on wall and CPU time.

Usage::

    python -m benchmarks.bench_ports [--reps 3] [--prefix 18]

nmap scans every address of the range; leakmap skips the network and broadcast addresses
(2 of 16,384), which hold no listener: the open sets are compared as they are.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from leakmap.lab.addresses import require_loopback
from leakmap.lab.clickhouse import server_binary_available, start_on_random_loopback
from leakmap.services.registry import default_ports, load_services

__all__ = ["main", "nmap_open", "run_leakmap", "run_nmap"]

OpenSet = set[tuple[str, int]]


def run_leakmap(network: str, ports: str) -> tuple[float, OpenSet]:
    """``leakmap ports NETWORK --ports PORTS`` as a subprocess: wall time, open pairs."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "leakmap", "ports", network, "--ports", ports],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - started
    found = {(r["ip"], int(r["port"])) for r in map(json.loads, proc.stdout.splitlines())}
    return seconds, found


def nmap_open(grepable: str) -> OpenSet:
    """Open (address, port) pairs from nmap's ``-oG`` output."""
    found: OpenSet = set()
    for line in grepable.splitlines():
        match = re.match(r"Host: (\S+) .*Ports: (.*)", line)
        if not match:
            continue
        for entry in match.group(2).split(","):
            fields = entry.strip().split("/")
            if len(fields) > 1 and fields[1] == "open":
                found.add((match.group(1), int(fields[0])))
    return found


def run_nmap(network: str, ports: str) -> tuple[float, OpenSet]:
    """``nmap -sT -n -Pn -p PORTS NETWORK -oG FILE``: wall time, open pairs."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "scan.gnmap"
        started = time.perf_counter()
        subprocess.run(
            ["nmap", "-sT", "-n", "-Pn", "-p", ports, network, "-oG", str(out)],
            capture_output=True,
            check=True,
        )
        seconds = time.perf_counter() - started
        return seconds, nmap_open(out.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="runs of each tool (median)")
    parser.add_argument("--prefix", type=int, default=18, help="range size (/18: 16,384)")
    args = parser.parse_args(argv)
    if shutil.which("nmap") is None or not server_binary_available():
        print("needs nmap and clickhouse-server (scripts/bootstrap installs both)")
        return 2
    port_list = sorted(default_ports(load_services()))
    ports = ",".join(map(str, port_list))
    ch = start_on_random_loopback(seed_rows=None)
    try:
        network = ipaddress.ip_network(f"{require_loopback(ch.ip)}/{args.prefix}", strict=False)
        for address in (network.network_address, network.broadcast_address):
            require_loopback(str(address))
        target = str(network)
        probes = network.num_addresses * len(port_list)
        print(f"range {target} ({network.num_addresses:,} addresses) x {len(port_list)} ports")
        print(f"ClickHouse inside it on {ch.ip} (ports {ch.http_port}, {ch.native_port}, ...)")
        times: dict[str, list[float]] = {"leakmap": [], "nmap": []}
        cpu: dict[str, list[float]] = {"leakmap": [], "nmap": []}
        found: dict[str, OpenSet] = {}
        same_runs = 0
        for _ in range(max(1, args.reps)):
            for tool, run in (("nmap", run_nmap), ("leakmap", run_leakmap)):
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                seconds, pairs = run(target, ports)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                times[tool].append(seconds)
                cpu[tool].append(
                    after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
                )
                found[tool] = pairs
            # back to back, the two tools see the same listeners (other programs on this
            # machine may open and close loopback ports between repetitions)
            same_runs += found["nmap"] == found["leakmap"]
    finally:
        ch.stop()
    for tool in ("nmap", "leakmap"):
        median = statistics.median(times[tool])
        runs = ", ".join(f"{t:.2f}" for t in times[tool])
        print(
            f"{tool:8} median {median:6.2f} s ({probes / median:9,.0f} probes/s), "
            f"CPU {statistics.median(cpu[tool]):5.2f} s, runs [{runs}]; "
            f"open ports: {len(found[tool])}"
        )
    same = found["nmap"] == found["leakmap"]
    ch_ports = {(ch.ip, p) for p in (ch.http_port, ch.native_port)}
    print(
        f"open-port sets identical: {same}; ClickHouse ports in both: "
        f"{ch_ports <= found['nmap'] and ch_ports <= found['leakmap']}"
    )
    if not same:
        print(f"  only nmap: {sorted(found['nmap'] - found['leakmap'])[:10]}")
        print(f"  only leakmap: {sorted(found['leakmap'] - found['nmap'])[:10]}")
    ratio = statistics.median(times["nmap"]) / statistics.median(times["leakmap"])
    cpu_ratio = statistics.median(cpu["nmap"]) / statistics.median(cpu["leakmap"])
    print(f"ratio nmap time / leakmap time: {ratio:.2f} (leakmap at {ratio:.2f}x nmap's rate)")
    print(f"ratio on CPU time: {cpu_ratio:.2f}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
