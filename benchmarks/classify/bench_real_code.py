"""Real-code benchmark: leakmap vs Kingfisher on the text files of pinned, popular packages.

Usage (from the repository root, with the ``bench`` extra installed)::

    python -m benchmarks.classify.bench_real_code                    # the tuning set
    python -m benchmarks.classify.bench_real_code --set dev          # tuning, dev2, dev3, dev4
    python -m benchmarks.classify.bench_real_code --set heldout3     # never tuned on
    python -m benchmarks.classify.bench_real_code --set all --runs 3 # the five sets
    python -m benchmarks.classify.bench_real_code --set tuning --binaries --runs 3

What it does, in one run:

1. fetches the pinned wheels of the chosen set with ``pip download`` (cached under
   ``--cache``; the same pins give the same tree) and unpacks their *text* files (no NUL
   in the first 8000 bytes, as git decides) into a tree, or every file with
   ``--binaries`` (then both tools meet the binaries);
2. warms Kingfisher's rule cache on a tiny file (its first run compiles ~10 s of rules)
   and leakmap's Hyperscan database cache with one untimed run on the tree;
3. runs, ``--runs`` times in alternating order: ``leakmap classify -r TREE -c secret -f
   jsonl`` (default processes and ``-j 1``) and ``kingfisher scan TREE -n -f jsonl``
   (default jobs and ``--jobs 1``); the median wall time of each counts;
4. prints both finding counts, a sample of each tool's findings (values masked), the
   times and the speed ratios (Kingfisher's time / leakmap's: above 1 means leakmap is
   faster), one-process and default, and the same for CPU time (user + system of the
   whole process tree), which moves less than wall time on a shared machine.

Every finding on this tree is counted as false unless shown otherwise: these are
published packages, and the few real-looking keys in them are test fixtures or doc
examples. ``tuning``, ``dev2``, ``dev3`` and ``dev4`` are development sets: the real-code
precision work (leakmap.classify.names) was done on them. ``dev2`` and ``dev4`` were the
first and second held-out sets (``dev4`` was ``heldout2``); once their findings had been
read and filters changed after them, they no longer measured anything held out, so they
were renamed. ``heldout3`` (web frameworks, cloud SDKs, auth and crypto libraries with
RFC-style docs, data tools, bundled JavaScript, test helpers, an AI client) was chosen
before the filters written on ``dev4``; it is only measured, at the end of a piece of
work, never used to write a rule, a filter or a fixture; once work is tuned on it, it too
must become a development set and a new one be chosen. It always exits 0:
a measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["PACKAGE_SETS", "SET_GROUPS", "ToolRun", "build_tree", "main"]

#: Pinned wheels. ``tuning``, ``dev2``, ``dev3`` and ``dev4``: development sets, tuned on
#: (``dev2`` and ``dev4`` were the first and second held-out sets; their findings were read,
#: so they stopped being held out). ``heldout3``: chosen before the filters written on
#: ``dev4``, measured only, never used to write a rule, filter or fixture.
PACKAGE_SETS: dict[str, tuple[str, ...]] = {
    "tuning": (
        "openai==1.54.0",
        "anthropic==0.39.0",
        "langchain-core==0.3.15",
        "langchain==0.3.7",
        "langchain-community==0.3.5",
        "litellm==1.53.1",
        "transformers==4.46.2",
        "huggingface-hub==0.26.2",
        "boto3==1.35.54",
        "botocore==1.35.54",
        "google-auth==2.36.0",
        "google-cloud-storage==2.18.2",
        "azure-identity==1.19.0",
        "azure-core==1.32.0",
        "azure-storage-blob==12.24.0",
        "requests==2.32.3",
        "urllib3==2.2.3",
        "httpx==0.27.2",
        "sqlalchemy==2.0.36",
        "django==5.1.3",
        "fastapi==0.115.5",
        "starlette==0.41.2",
        "pydantic==2.9.2",
        "mlflow==2.17.2",
        "kubernetes==31.0.0",
        "paramiko==3.5.0",
        "cryptography==43.0.3",
        "celery==5.4.0",
        "redis==5.2.0",
        "numpy==2.1.3",
        "jupyterlab==4.2.5",
        "streamlit==1.40.1",
    ),
    "dev2": (
        "flask==3.0.3",
        "werkzeug==3.0.6",
        "scrapy==2.11.2",
        "pymongo==4.10.1",
        "psycopg==3.2.3",
        "ansible-core==2.17.6",
        "elasticsearch==8.16.0",
        "twilio==9.3.7",
        "stripe==11.2.0",
        "slack-sdk==3.33.3",
        "sentry-sdk==2.18.0",
        "google-cloud-bigquery==3.27.0",
        "openstacksdk==4.1.0",
        "notebook==7.2.2",
        "gradio==5.5.0",
        "dbt-core==1.8.8",
        "cohere==5.11.3",
        "mistralai==1.2.2",
        "groq==0.12.0",
        "tiktoken==0.8.0",
    ),
    "dev3": (
        "moto==5.0.20",
        "locust==2.32.3",
        "mysql-connector-python==9.1.0",
        "ldap3==2.9.1",
        "netmiko==4.4.0",
        "python-keycloak==4.7.3",
        "apache-libcloud==3.8.0",
        "pyramid==2.0.2",
        "simple-salesforce==1.12.6",
        "hypothesis==6.119.4",
        "oracledb==2.5.0",
        "snowflake-connector-python==3.12.3",
        "social-auth-core==4.5.4",
        "panel==1.5.4",
        "mitmproxy==11.0.0",
        "databricks-sdk==0.38.0",
    ),
    "dev4": (
        "tornado==6.4.1",
        "aiohttp==3.11.7",
        "djangorestframework==3.15.2",
        "sphinx==8.1.3",
        "awscli==1.36.7",
        "google-cloud-pubsub==2.27.1",
        "azure-keyvault-secrets==4.9.0",
        "firebase-admin==6.6.0",
        "hvac==2.3.0",
        "authlib==1.3.2",
        "pyjwt==2.10.0",
        "msal==1.31.1",
        "docker==7.1.0",
        "pymysql==1.1.1",
        "apache-airflow==2.10.3",
        "prefect==3.1.4",
        "pandas==2.2.3",
        "dask==2024.11.2",
        "networkx==3.4.2",
        "bokeh==3.6.1",
        "llama-index-core==0.12.2",
        "weaviate-client==4.9.4",
    ),
    "heldout3": (
        "falcon==3.1.3",
        "sanic==24.6.0",
        "oauthlib==3.2.2",
        "python-jose==3.3.0",
        "passlib==1.7.4",
        "itsdangerous==2.2.0",
        "google-cloud-secret-manager==2.21.1",
        "azure-mgmt-keyvault==10.3.1",
        "s3fs==2024.10.0",
        "python-gitlab==5.1.0",
        "dash==2.18.2",
        "flower==2.0.1",
        "kombu==5.4.2",
        "dlt==1.4.0",
        "dagster==1.9.3",
        "faker==33.0.0",
        "responses==0.25.3",
        "asyncpg==0.30.0",
        "langsmith==0.1.143",
    ),
}

#: Several sets in one run: the development sets, or every set.
SET_GROUPS: dict[str, tuple[str, ...]] = {
    "dev": ("tuning", "dev2", "dev3", "dev4"),
    "all": ("tuning", "dev2", "dev3", "dev4", "heldout3"),
}

_PIP_PLATFORM = ["--platform", "manylinux2014_x86_64", "--python-version", "3.11"]
_PROBE = 8000


@dataclass
class ToolRun:
    """One tool's runs on the tree: wall times, and the findings of the first run."""

    name: str
    command: list[str]
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # user + system time of the process tree
    findings: list[dict[str, object]] = field(default_factory=list)
    error: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.cpu) if self.cpu else float("nan")


def _fetch(packages: tuple[str, ...], wheels: Path) -> list[Path]:
    """The pinned wheels, downloaded once into ``wheels``."""
    wheels.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    for spec in packages:
        name, version = spec.split("==")
        stem = name.replace("-", "_").lower()
        found = [w for w in wheels.glob("*.whl") if w.name.lower().startswith(f"{stem}-{version}-")]
        if not found:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
            cmd += [*_PIP_PLATFORM, "-q", "-d", str(wheels), spec]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600)
            if proc.returncode != 0:
                print(f"  pip download {spec} failed: {proc.stderr.strip().splitlines()[-1:]}")
                continue
            found = [
                w for w in wheels.glob("*.whl") if w.name.lower().startswith(f"{stem}-{version}-")
            ]
        out.extend(found[:1])
    return out


def build_tree(wheels: list[Path], tree: Path, binaries: bool) -> tuple[int, int, int]:
    """Unpack the wheels into ``tree`` (text files only unless ``binaries``); returns
    (files, bytes, binary files left out or kept)."""
    if tree.exists():
        shutil.rmtree(tree)
    tree.mkdir(parents=True)
    files = size = binary = 0
    for wheel in wheels:
        root = tree / wheel.name.removesuffix(".whl")
        with zipfile.ZipFile(wheel) as zf:
            for info in zf.infolist():
                if info.is_dir() or ".." in Path(info.filename).parts:
                    continue
                data = zf.read(info)
                is_binary = b"\x00" in data[:_PROBE]
                binary += is_binary
                if is_binary and not binaries:
                    continue
                dest = root / info.filename
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(data)
                files += 1
                size += len(data)
    return files, size, binary


def _leakmap_findings(out: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line]


def _kingfisher_findings(out: Path) -> list[dict[str, object]]:
    """Kingfisher's JSON-lines records that are findings (not its summary line)."""
    found = []
    for line in out.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict) and "rule" in rec and "finding" in rec:
            found.append(rec)
    return found


def _run(tool: ToolRun, out: Path, parse: bool) -> None:
    out.unlink(missing_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [*tool.command, str(out)], capture_output=True, text=True, check=False, timeout=1800
    )
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    ok_codes = {0, 1} if tool.name.startswith("leakmap") else {0, 200, 205}
    if proc.returncode not in ok_codes:
        tool.error = f"exit {proc.returncode}: {proc.stderr.strip()[-300:]}"
        return
    tool.seconds.append(elapsed)
    tool.cpu.append(cpu)
    if parse:
        reader = _leakmap_findings if tool.name.startswith("leakmap") else _kingfisher_findings
        tool.findings = reader(out)


def _kingfisher_rule(rec: dict[str, object]) -> str:
    rule = rec.get("rule")
    return str(rule.get("id")) if isinstance(rule, dict) else "?"


def _mask(value: str) -> str:
    from leakmap.classify.redact import redact

    return redact(value, 4)


def _sample_leakmap(findings: list[dict[str, object]], tree: Path, n: int) -> list[str]:
    rows = []
    for f in findings[:n]:
        path = str(f["path"]).removeprefix(str(tree) + "/")
        rows.append(f"  {path}:{f['line']}  {f['rule']}  {f['redacted']}")
    return rows


def _sample_kingfisher(findings: list[dict[str, object]], tree: Path, n: int) -> list[str]:
    rows = []
    for rec in findings[:n]:
        rule = rec.get("rule", {})
        fnd = rec.get("finding", {})
        assert isinstance(rule, dict) and isinstance(fnd, dict)
        path = str(fnd.get("path", "?")).removeprefix(str(tree) + "/")
        snippet = str(fnd.get("snippet", "")).splitlines()[0] if fnd.get("snippet") else ""
        rows.append(f"  {path}:{fnd.get('line')}  {rule.get('id')}  {_mask(snippet)}")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", choices=[*PACKAGE_SETS, *SET_GROUPS], default="tuning")
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "leakmap-bench")
    ap.add_argument("--runs", type=int, default=3, help="timed runs per tool (median; >= 3)")
    ap.add_argument("--binaries", action="store_true", help="keep binary files in the tree")
    ap.add_argument("--sample", type=int, default=12, help="findings shown per tool")
    ap.add_argument("--leakmap", default="leakmap", help="leakmap command (default on PATH)")
    ap.add_argument("--kingfisher", default="kingfisher", help="kingfisher command")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args(argv)
    sets = list(SET_GROUPS.get(args.set, (args.set,)))
    report: dict[str, object] = {}
    for name in sets:
        report[name] = _bench_set(name, args)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


def _bench_set(name: str, args: argparse.Namespace) -> dict[str, object]:
    base = args.cache / name
    wheels = _fetch(PACKAGE_SETS[name], base / "wheels")
    tree = base / ("tree-binaries" if args.binaries else "tree")
    files, size, binary = build_tree(wheels, tree, args.binaries)
    kept = "kept" if args.binaries else "left out"
    print(f"\n=== set {name}: {len(wheels)} wheels, {files} files, {size / 1e6:.0f} MB in {tree}")
    print(f"    ({binary} binary files {kept})")
    kf = shutil.which(args.kingfisher) or args.kingfisher
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tiny = work / "tiny.txt"
        tiny.write_text("nothing here\n", encoding="utf-8")
        subprocess.run(
            [kf, "scan", str(tiny), "-n", "-f", "jsonl", "-o", str(work / "warm.jsonl")],
            capture_output=True,
            check=False,
            timeout=600,
        )
        lm = [*args.leakmap.split(), "classify", "-r", str(tree), "-c", "secret", "-f", "jsonl"]
        tools = [
            ToolRun("leakmap (default)", [*lm, "-o"]),
            ToolRun("leakmap -j 1", [*lm, "-j", "1", "-o"]),
            ToolRun("kingfisher (default)", [kf, "scan", str(tree), "-n", "-f", "jsonl", "-o"]),
            ToolRun(
                "kingfisher --jobs 1",
                [kf, "scan", str(tree), "-n", "--jobs", "1", "-f", "jsonl", "-o"],
            ),
        ]
        # Kingfisher reports each (rule, value) once by default; --no-dedup counts every
        # occurrence, as leakmap does: one untimed run for the like-for-like count.
        every = ToolRun(
            "kingfisher --no-dedup",
            [kf, "scan", str(tree), "-n", "--no-dedup", "-f", "jsonl", "-o"],
        )
        _run(every, work / "out.jsonl", parse=True)
        # leakmap's counterpart of Kingfisher's rule cache: its first run on a large input
        # compiles the Hyperscan database of its rules and caches it on disk (untimed)
        _run(ToolRun("leakmap warm-up", [*lm, "-j", "1", "-o"]), work / "out.jsonl", parse=False)
        for i in range(max(1, args.runs)):
            order = tools if i % 2 == 0 else list(reversed(tools))
            for tool in order:
                if not tool.error:
                    _run(tool, work / "out.jsonl", parse=not tool.seconds)
    lm_default, lm_one, kf_default, kf_one = tools
    for tool in tools:
        if tool.error:
            print(f"  {tool.name}: FAILED {tool.error}")
    print("\nfindings (secrets; every one counted as false unless shown otherwise):")
    rules = Counter(str(f["rule"]) for f in lm_default.findings)
    print(f"  leakmap     {len(lm_default.findings):5d}   by rule: {dict(rules.most_common(8))}")
    kf_rules = Counter(_kingfisher_rule(r) for r in kf_default.findings)
    print(f"  kingfisher  {len(kf_default.findings):5d}   by rule: {dict(kf_rules.most_common(8))}")
    lm_distinct = len({(f["rule"], f["redacted"]) for f in lm_default.findings})
    print(
        f"  every occurrence: leakmap {len(lm_default.findings)}, kingfisher --no-dedup "
        f"{len(every.findings)}; distinct (rule, value): leakmap {lm_distinct}, "
        f"kingfisher (its default) {len(kf_default.findings)}"
    )
    print(f"\nsample of leakmap's findings (first {args.sample}):")
    print("\n".join(_sample_leakmap(lm_default.findings, tree, args.sample)) or "  (none)")
    print(f"sample of Kingfisher's findings (first {args.sample}):")
    print("\n".join(_sample_kingfisher(kf_default.findings, tree, args.sample)) or "  (none)")
    print(f"\ntimes (median of {args.runs} runs, same machine, alternating order):")
    for tool in tools:
        runs = ", ".join(f"{s:.2f}" for s in tool.seconds)
        cpu = f"CPU {tool.median_cpu:6.2f} s"
        print(f"  {tool.name:22s} {tool.median:7.2f} s   {cpu}   ({runs})")
    ratio_default = kf_default.median / lm_default.median
    ratio_one = kf_one.median / lm_one.median
    print(
        f"speed ratio (Kingfisher time / leakmap time; >1 = leakmap faster): "
        f"default {ratio_default:.2f}, one process {ratio_one:.2f}"
    )
    cpu_default = kf_default.median_cpu / lm_default.median_cpu
    cpu_one = kf_one.median_cpu / lm_one.median_cpu
    print(
        f"CPU ratio (Kingfisher CPU / leakmap CPU; steadier on a busy machine): "
        f"default {cpu_default:.2f}, one process {cpu_one:.2f}"
    )
    return {
        "wheels": len(wheels),
        "files": files,
        "bytes": size,
        "binary_files": binary,
        "binaries_kept": args.binaries,
        "leakmap_findings": len(lm_default.findings),
        "kingfisher_findings": len(kf_default.findings),
        "leakmap_distinct_findings": lm_distinct,
        "kingfisher_no_dedup_findings": len(every.findings),
        "leakmap_by_rule": dict(rules),
        "kingfisher_by_rule": dict(kf_rules),
        "seconds": {t.name: t.seconds for t in tools},
        "median_seconds": {t.name: t.median for t in tools},
        "ratio_default": ratio_default,
        "ratio_one_process": ratio_one,
        "median_cpu_seconds": {t.name: t.median_cpu for t in tools},
        "cpu_ratio_default": cpu_default,
        "cpu_ratio_one_process": cpu_one,
    }


if __name__ == "__main__":
    raise SystemExit(main())
