"""Classifier benchmark: leakmap vs detect-secrets on a generated, labelled log corpus.

Usage (from the repository root)::

    python -m benchmarks.classify.bench_classify                 # ~5 MB, seed 1, main style
    python -m benchmarks.classify.bench_classify --style heldout --seed 7 --json out.json
    python -m benchmarks.classify.bench_classify --mb 1 --skip-detect-secrets

What it does, in one run:

1. generates the corpus (:mod:`benchmarks.classify.corpus`) into a temporary directory;
2. runs ``leakmap classify --format jsonl FILE`` as a subprocess, ``--repeat`` times (3;
   start-up included, the median wall time counts; its modules byte-compiled first, as an
   installed package has them) and scores precision / recall / F1 per category at line
   level: a line counts as predicted for a category when leakmap reported at least one
   finding of that category on it. A line is not scored for the categories the generator
   lists in its ``unscored``;
3. runs ``detect-secrets scan --all-files --no-verify FILE`` (PyPI detect-secrets 1.5) on
   the same file, scores it for ``secret`` the same way, and compares wall time and MB/s;
4. prints a one-screen summary with the most frequent false positives / false negatives per
   category, named by template family, inserted kind and rule id only (never a raw value).

It always exits 0: it is a measurement, not a test. A leakmap failure (command missing,
crash, malformed output) is reported and the detect-secrets part still runs.
``--debug FILE`` writes the raw mis-scored lines (fake values) to a local file for
inspection; keep such files out of the repository.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.classify.corpus import write_corpus

__all__ = ["Run", "Score", "main", "parse_detect_secrets", "parse_leakmap_jsonl", "score"]

CATEGORIES = ("secret", "pii", "chat", "infrastructure")


@dataclass
class Run:
    """One tool run: wall time, exit code, per-line predictions and rule ids."""

    tool: str
    ok: bool
    seconds: float = 0.0
    returncode: int | None = None
    error: str = ""
    # line -> category -> rule ids
    predicted: dict[int, dict[str, set[str]]] = field(default_factory=dict)
    findings: int = 0
    malformed: int = 0
    raw_leaks: int = 0


@dataclass
class Score:
    """Line-level confusion counts for one category."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


def _script(name: str) -> str | None:
    """The console script next to this interpreter (no pyenv shim in the timing), else PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


def _leakmap_cmd(override: str | None) -> list[str]:
    if override:
        return override.split()
    exe = _script("leakmap")
    return [exe] if exe else [sys.executable, "-m", "leakmap"]


def snapshot(rev: str, dest: Path) -> list[str]:
    """Export ``src/`` of git revision ``rev`` to ``dest`` and return a command running that
    leakmap (so the measurement does not follow uncommitted edits in the working tree)."""
    repo = Path(__file__).resolve().parents[2]
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", rev, "src"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return ["env", f"PYTHONPATH={dest / 'src'}", sys.executable, "-m", "leakmap"]


def parse_leakmap_jsonl(stdout: str, lines: list[str] | None = None) -> Run:
    """Parse leakmap's JSONL findings (``{"path","line","start","end","category","rule",
    "redacted"}``). With the corpus ``lines``, also count findings whose ``redacted`` field
    contains the raw matched text (a leak; should be 0)."""
    run = Run("leakmap", ok=True)
    for raw in stdout.splitlines():
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
            line = int(obj["line"])
            cat = str(obj["category"])
            rule = str(obj.get("rule", "?"))
        except (ValueError, KeyError, TypeError):
            run.malformed += 1
            continue
        run.findings += 1
        run.predicted.setdefault(line, {}).setdefault(cat, set()).add(rule)
        if lines is not None and 1 <= line <= len(lines):
            try:
                start, end = int(obj["start"]), int(obj["end"])
            except (KeyError, TypeError, ValueError):
                continue
            value = lines[line - 1][start:end]
            if len(value) >= 12 and value in str(obj.get("redacted", "")):
                run.raw_leaks += 1
    return run


def parse_detect_secrets(stdout: str) -> Run:
    """Parse ``detect-secrets scan`` JSON; every result counts as category ``secret``."""
    run = Run("detect-secrets", ok=True)
    data = json.loads(stdout)
    for results in data.get("results", {}).values():
        for r in results:
            run.findings += 1
            line = int(r["line_number"])
            rule = str(r.get("type", "?")).replace(" ", "")
            run.predicted.setdefault(line, {}).setdefault("secret", set()).add(rule)
    return run


def _last_message(stderr: str) -> str:
    """The last stderr line with words in it, without Rich box-drawing borders."""
    for raw in reversed(stderr.strip().splitlines()):
        line = raw.strip(" │╭╮╰╯─┃━\t")
        if any(c.isalpha() for c in line):
            return line[:200]
    return "(no stderr)"


def _timed(
    cmd: list[str], cwd: Path, timeout: float
) -> tuple[subprocess.CompletedProcess[str] | None, float, str]:
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError as exc:
        return None, time.perf_counter() - t0, f"cannot run {cmd[0]}: {exc}"
    except subprocess.TimeoutExpired:
        return None, time.perf_counter() - t0, f"timed out after {timeout:.0f} s"
    return proc, time.perf_counter() - t0, ""


def byte_compile(package_dir: Path) -> None:
    """Write the bytecode of leakmap's modules, as ``pip install`` does for a package (and
    as detect-secrets has it): an editable checkout under PYTHONDONTWRITEBYTECODE would
    otherwise recompile every module on every timed run."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package_dir)], check=False)


def _package_dir() -> Path | None:
    spec = importlib.util.find_spec("leakmap")
    locations = spec.submodule_search_locations if spec is not None else None
    return Path(next(iter(locations))) if locations else None


def run_leakmap(
    corpus: Path,
    lines: list[str],
    cmd: list[str],
    timeout: float,
    repeat: int = 1,
    jobs: int | None = None,
) -> Run:
    """Run leakmap ``repeat`` times on the corpus; the wall time is the median (a one-second
    run is more exposed to a moment's noise on a shared machine than a 30-second one), the
    output must be the same every time and is scored once."""
    times: list[float] = []
    first: subprocess.CompletedProcess[str] | None = None
    for _ in range(max(1, repeat)):
        extra = [] if jobs is None else ["--jobs", str(jobs)]
        proc, secs, err = _timed(
            [*cmd, "classify", *extra, "--format", "jsonl", str(corpus)], corpus.parent, timeout
        )
        if proc is None:
            return Run("leakmap", ok=False, seconds=secs, error=err)
        times.append(secs)
        if first is None:
            first = proc
        elif proc.stdout != first.stdout:
            return Run("leakmap", ok=False, seconds=secs, error="output differs between runs")
    assert first is not None
    proc, secs = first, statistics.median(times)
    print("  leakmap runs: " + ", ".join(f"{t:.2f}" for t in times) + " s (median used)")
    if proc.returncode not in (0, 1):
        return Run(
            "leakmap",
            ok=False,
            seconds=secs,
            returncode=proc.returncode,
            error=f"exit {proc.returncode}: {_last_message(proc.stderr)}",
        )
    run = parse_leakmap_jsonl(proc.stdout, lines)
    run.seconds, run.returncode = secs, proc.returncode
    if run.findings == 0 and run.malformed:
        run.ok, run.error = False, f"output not in the JSONL contract ({run.malformed} bad lines)"
    return run


def run_detect_secrets(corpus: Path, timeout: float) -> Run:
    exe = _script("detect-secrets")
    cmd = [exe] if exe else [sys.executable, "-m", "detect_secrets"]
    # --all-files: the temp dir is not a git repository; the file is named relative to cwd
    proc, secs, err = _timed(
        [*cmd, "scan", "--all-files", "--no-verify", corpus.name], corpus.parent, timeout
    )
    if proc is None:
        return Run("detect-secrets", ok=False, seconds=secs, error=err)
    if proc.returncode != 0:
        return Run("detect-secrets", ok=False, seconds=secs, error=_last_message(proc.stderr))
    run = parse_detect_secrets(proc.stdout)
    run.seconds, run.returncode = secs, proc.returncode
    return run


def score(
    labels: list[dict[str, Any]], run: Run, category: str
) -> tuple[Score, Counter[str], Counter[str]]:
    """Score ``run`` on ``category``; also return the most common FP and FN descriptions
    (family + inserted kinds/decoys + rule ids, never raw values)."""
    s = Score()
    fps: Counter[str] = Counter()
    fns: Counter[str] = Counter()
    for rec in labels:
        if category in rec["unscored"]:
            continue
        truth = category in rec["labels"]
        rules = run.predicted.get(rec["line"], {}).get(category)
        pred = bool(rules)
        if truth and pred:
            s.tp += 1
        elif truth:
            s.fn += 1
            kinds = sorted({k for k in rec["kinds"] if k.startswith(category + ".")})
            fns[f"{rec['family']}: {','.join(kinds)}"] += 1
        elif pred:
            s.fp += 1
            assert rules is not None
            decoys = ",".join(sorted(set(rec["decoys"]))) or "-"
            other = ",".join(rec["labels"]) or "clean"
            fps[f"{rec['family']} [{other}] rule={','.join(sorted(rules))} decoys={decoys}"] += 1
        else:
            s.tn += 1
    return s, fps, fns


def _debug_dump(path: Path, lines: list[str], labels: list[dict[str, Any]], run: Run) -> None:
    with path.open("w", encoding="utf-8") as f:
        for rec in labels:
            got = run.predicted.get(rec["line"], {})
            for cat in CATEGORIES:
                if cat in rec["unscored"]:
                    continue
                truth = cat in rec["labels"]
                pred = bool(got.get(cat))
                if truth != pred:
                    tag = "FN" if truth else "FP"
                    rules = ",".join(sorted(got.get(cat, ())))
                    f.write(
                        f"{tag} {cat} line={rec['line']} family={rec['family']} "
                        f"kinds={rec['kinds']} rules={rules}\n    {lines[rec['line'] - 1][:600]}\n"
                    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.classify.bench_classify", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--lines", type=int, help="corpus size in lines (instead of --mb)")
    ap.add_argument("--mb", type=float, default=5.0, help="corpus size in MB (default 5)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--style", choices=["main", "heldout"], default="main")
    ap.add_argument("--json", type=Path, help="also write the numbers to this file")
    ap.add_argument("--leakmap-cmd", help="command prefix for leakmap (default: leakmap on PATH)")
    ap.add_argument(
        "--rev",
        help="measure leakmap as committed at this git revision (e.g. HEAD) instead of the "
        "working tree",
    )
    ap.add_argument("--timeout", type=float, default=900, help="per-tool timeout in s (900)")
    ap.add_argument(
        "--repeat", type=int, default=3, help="leakmap runs; the median wall time counts (3)"
    )
    ap.add_argument(
        "--leakmap-jobs", type=int, help="leakmap classify --jobs (default: its own, per core)"
    )
    ap.add_argument("--skip-detect-secrets", action="store_true")
    ap.add_argument("--top", type=int, default=5, help="FP/FN examples per category (default 5)")
    ap.add_argument("--keep", type=Path, help="keep the corpus and labels in this directory")
    ap.add_argument("--debug", type=Path, help="write raw mis-scored lines here (local only!)")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="leakmap-bench-"))
    try:
        return _bench(args, args.keep or tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _bench(args: argparse.Namespace, work: Path) -> int:
    work.mkdir(parents=True, exist_ok=True)
    corpus, labels_path = work / "corpus.log", work / "labels.jsonl"
    t0 = time.perf_counter()
    st = write_corpus(
        corpus,
        labels_path,
        seed=args.seed,
        style=args.style,
        lines=args.lines,
        mb=None if args.lines else args.mb,
    )
    gen_s = time.perf_counter() - t0
    size_mb = corpus.stat().st_size / 1e6
    lines = corpus.read_text(encoding="utf-8").split("\n")[:-1]
    labels = [json.loads(x) for x in labels_path.read_text(encoding="utf-8").splitlines()]
    scored = sum(1 for r in labels if not r["unscored"])
    print(
        f"corpus: style={args.style} seed={args.seed} {st.lines} lines "
        f"({st.lines - scored} partly unscored), "
        f"{size_mb:.2f} MB, clean {st.per_label['(clean)'] / st.lines:.1%}, generated in "
        f"{gen_s:.1f}s"
    )
    print("  positives: " + ", ".join(f"{c}={st.per_label[c]}" for c in CATEGORIES))

    out: dict[str, Any] = {
        "corpus": {
            "style": args.style,
            "seed": args.seed,
            "lines": st.lines,
            "partly_unscored": st.lines - scored,
            "mb": round(size_mb, 3),
            "positives": {c: st.per_label[c] for c in CATEGORIES},
        },
    }
    runs: list[Run] = []
    if args.rev:
        cmd = snapshot(args.rev, work / "leakmap-snapshot")
        rev = subprocess.run(
            [
                "git",
                "-C",
                str(Path(__file__).resolve().parents[2]),
                "rev-parse",
                "--short",
                args.rev,
            ],
            capture_output=True,
            text=True,
        ).stdout.strip()
        print(f"  leakmap: git revision {rev}")
        out["leakmap_rev"] = rev
        byte_compile(work / "leakmap-snapshot" / "src")
    else:
        cmd = _leakmap_cmd(args.leakmap_cmd)
        print("  leakmap: working tree")
        package = _package_dir()
        if package is not None and not args.leakmap_cmd:
            byte_compile(package)
    lm = run_leakmap(corpus, lines, cmd, args.timeout, args.repeat, args.leakmap_jobs)
    runs.append(lm)
    if not args.skip_detect_secrets:
        runs.append(run_detect_secrets(corpus, args.timeout))

    print()
    print(f"{'tool':<15}{'category':<16}{'P':>7}{'R':>7}{'F1':>7}{'TP':>7}{'FP':>7}{'FN':>7}")
    examples: list[str] = []
    for run in runs:
        if not run.ok:
            print(f"{run.tool:<15}FAILED: {run.error}")
            out[run.tool] = {"ok": False, "error": run.error, "seconds": round(run.seconds, 3)}
            continue
        cats = CATEGORIES if run.tool == "leakmap" else ("secret",)
        res: dict[str, Any] = {
            "ok": True,
            "seconds": round(run.seconds, 3),
            "mb_per_s": round(size_mb / run.seconds, 4) if run.seconds else None,
            "findings": run.findings,
            "malformed": run.malformed,
        }
        if run.tool == "leakmap":
            res["raw_leaks"] = run.raw_leaks
        for cat in cats:
            s, fps, fns = score(labels, run, cat)
            res[cat] = s.as_dict()
            print(
                f"{run.tool:<15}{cat:<16}{s.precision:>7.3f}{s.recall:>7.3f}{s.f1:>7.3f}"
                f"{s.tp:>7}{s.fp:>7}{s.fn:>7}"
            )
            res[cat]["top_fp"] = fps.most_common(args.top)
            res[cat]["top_fn"] = fns.most_common(args.top)
            for tag, ctr in (("FP", fps), ("FN", fns)):
                for desc, n in ctr.most_common(args.top):
                    examples.append(f"  {run.tool} {cat} {tag} x{n}: {desc}")
        out[run.tool] = res
        if args.debug and run.tool == "leakmap":
            _debug_dump(args.debug, lines, labels, run)

    print()
    for run in runs:
        if run.ok and run.seconds:
            print(
                f"{run.tool:<15}{run.seconds:>8.2f} s wall, {size_mb / run.seconds:>8.3f} MB/s, "
                f"{run.findings} findings"
            )
    if len(runs) == 2 and all(r.ok and r.seconds for r in runs):
        ratio = (size_mb / runs[0].seconds) / (size_mb / runs[1].seconds)
        out["speed_ratio"] = round(ratio, 2)
        print(f"speed ratio (leakmap MB/s / detect-secrets MB/s): {ratio:.1f}x")
    if lm.ok:
        print(
            f"leakmap: {lm.malformed} malformed output lines, {lm.raw_leaks} findings whose "
            "'redacted' field contains the raw match"
        )
    if examples:
        print("\nmost frequent errors (family / inserted kinds / rule ids; no raw values):")
        print("\n".join(examples))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
        print(f"\nnumbers written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
