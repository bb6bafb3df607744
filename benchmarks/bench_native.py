"""Benchmark: the whole ClickHouse chain over the native protocol alone vs over HTTP alone,
on the same lab server, in one run.

Not a test: it prints what it measured and exits 0. Everything stays on loopback: a lab
ClickHouse (Debian's clickhouse-server 18.16, seeded like ``leakmap lab up``) on a random
127.x.y.z address; ``leakmap scan IP --ports 9000`` and ``--ports 8123`` are run alternately
(``--reps`` times each, so drift on a shared machine hits both alike), and the medians and
their ratio are printed, with what each run found (tables, rows, data categories,
capabilities) - the two must agree for the timing to mean anything.

Goal (issue 8): native-only within 1.5x the HTTP-only time.

Usage::

    python -m benchmarks.bench_native [--reps 5] [--rows 1000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from typing import Any

from leakmap.lab.addresses import require_loopback
from leakmap.lab.clickhouse import server_binary_available, start_on_random_loopback

__all__ = ["main", "run_scan", "summary"]


def run_scan(ip: str, port: int) -> tuple[float, dict[str, Any]]:
    """``leakmap scan IP --ports PORT --format json`` as a subprocess: (seconds, report)."""
    require_loopback(ip)
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "leakmap", "scan", ip, "--ports", str(port), "--format", "json",
         "--no-progress"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"leakmap scan failed ({proc.returncode}): {proc.stderr.strip()[:300]}")
    doc: dict[str, Any] = json.loads(proc.stdout)
    return seconds, doc


def summary(doc: dict[str, Any]) -> str:
    """What one scan found: transport, auth, tables with rows, categories, capabilities."""
    parts = []
    for s in doc.get("services", []):
        tables = sorted(
            f"{r.get('name') or r.get('database', '') + '.' + r.get('table', '')}={r.get('rows')}"
            for r in s.get("resources", [])
        )
        cats = sorted({f["category"] for r in s.get("resources", []) for f in r["data_findings"]})
        caps = s.get("capabilities") or {}
        usable = sorted(k for k, v in caps.items() if v is True) if isinstance(caps, dict) else []
        parts.append(
            f"{s['transport']} auth={s['auth']} tables=[{', '.join(tables)}] "
            f"data={','.join(cats) or '-'} usable={','.join(usable) or '-'}"
        )
    return "; ".join(parts) or "(nothing found)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--rows", type=int, default=1000)
    args = parser.parse_args(argv)
    if not server_binary_available():
        print("clickhouse-server is not installed: nothing to measure")
        return 0
    ch = start_on_random_loopback(seed_rows=args.rows, seed=1)
    try:
        run_scan(ch.ip, ch.http_port)  # warm both paths once (imports, server caches)
        run_scan(ch.ip, ch.native_port)
        times: dict[str, list[float]] = {"http": [], "native": []}
        found: dict[str, str] = {}
        for _ in range(max(1, args.reps)):
            for label, port in (("native", ch.native_port), ("http", ch.http_port)):
                seconds, doc = run_scan(ch.ip, port)
                times[label].append(seconds)
                found[label] = summary(doc)
    finally:
        ch.stop()
    http, native = statistics.median(times["http"]), statistics.median(times["native"])
    print(f"lab ClickHouse 18.16 on {ch.ip}, {args.rows} rows, {args.reps} runs each (median)")
    print(f"  HTTP only   (--ports {ch.http_port}): {http:6.2f} s   {found['http']}")
    print(f"  native only (--ports {ch.native_port}): {native:6.2f} s   {found['native']}")
    print(f"  native / HTTP = {native / http:.2f}x  (goal: at most 1.5x)")
    same = found["http"].split(" ", 1)[1] == found["native"].split(" ", 1)[1]
    print(f"  same tables, rows, data categories and capabilities: {'yes' if same else 'NO'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
