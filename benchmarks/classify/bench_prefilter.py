"""The classifier's literal pass: pyahocorasick vs Hyperscan over whole file buffers.

Usage (from the repository root; the tree of ``bench_real_code`` by default)::

    python -m benchmarks.classify.bench_prefilter
    python -m benchmarks.classify.bench_prefilter --tree DIR --runs 5

Both passes get the same texts (each text file, whole) and the same literals (every
built-in rule's keywords and shapes, or ``--category``'s); each hit is handed to Python,
as in a scan. pyahocorasick reports every case-insensitive literal hit; Hyperscan only
those an anchored rule's regex can start with (letter case, the character before, the
first characters after: :mod:`leakmap.classify.prefilter`), so it reports fewer. It
prints the median time of each over ``--runs`` runs (each pass builds its own view of the
text, as in a scan), both hit counts, the ratio, and the time to build the Hyperscan
database (compiled; cached on disk in a scan). It always exits 0.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from leakmap.categories import DataCategory
from leakmap.classify import Classifier, engine

__all__ = ["main"]


def _texts(tree: Path, limit_mb: float) -> list[str]:
    out: list[str] = []
    total = 0
    for root, _, files in os.walk(tree):
        for name in sorted(files):
            data = (Path(root) / name).read_bytes()
            if b"\x00" in data[:8000]:
                continue
            out.append(data.decode("utf-8", "replace"))
            total += len(data)
            if total >= limit_mb * 1e6:
                return out
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = Path.home() / ".cache" / "leakmap-bench" / "tuning" / "tree"
    ap.add_argument("--tree", type=Path, default=default)
    ap.add_argument("--mb", type=float, default=200.0, help="read at most this much text")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument(
        "--category", action="append", choices=[c.value for c in DataCategory], default=[]
    )
    args = ap.parse_args(argv)
    texts = _texts(args.tree, args.mb)
    size = sum(map(len, texts)) / 1e6
    clf = Classifier.load()
    if args.category:
        clf = Classifier([r for r in clf.rules if r.category in args.category])
    owners = engine._literal_owners(clf._compiled)
    passes: dict[str, engine._AhoCorasick | engine._Hyperscan] = {
        "pyahocorasick": engine._AhoCorasick(owners, ascii_literals=True)
    }
    try:
        start = time.perf_counter()
        passes["hyperscan"] = engine._Hyperscan(clf._compiled, owners)
        print(f"Hyperscan database compiled in {time.perf_counter() - start:.2f} s")
    except ImportError:
        print("hyperscan is not installed: only pyahocorasick measured")
    print(f"{len(texts)} files, {size:.0f} MB of text, {len(owners)} literals")
    medians: dict[str, float] = {}
    for name, literal_pass in passes.items():
        times = []
        hits = 0
        for _ in range(max(1, args.runs)):
            hits = 0
            start = time.perf_counter()
            for text in texts:
                for _hit in literal_pass.hits(text):
                    hits += 1
            times.append(time.perf_counter() - start)
        medians[name] = statistics.median(times)
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(f"  {name:14s} {medians[name]:6.2f} s median ({runs}), {hits} hits")
    if len(medians) == 2:
        ratio = medians["pyahocorasick"] / medians["hyperscan"]
        print(f"  Hyperscan is {ratio:.1f}x faster on the same texts")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
