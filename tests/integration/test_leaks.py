"""Leak-proofing (issue 12 item 4): the scanner must not become the leak.

Random fake secrets and personal data are planted in a lab ClickHouse (the seeded ``ch_open``),
a Redis (string, hash, stream and list values) and in configuration files for the auditor
and a log for the classifier. Then every command
that handles them runs as a user would - ``scan`` in every format (with history), ``report``
in every format, ``history`` and ``history export``, ``diff``, ``verify``, ``audit`` and
``classify`` in every format - with ``HOME``, ``XDG_*`` and ``TMPDIR`` pointed into one
directory. Everything written there (reports, the SQLite history and its journal files,
anything else) and every command's stdout and stderr is searched for the raw values and for
every substring of them of 10 characters or more (16 for long values): none may appear.
leakmap writes no log file and has no debug switch; stderr is where its notes go.

:func:`test_the_search_catches_a_mutant_that_prints_raw_values` runs the scan in-process with
redaction switched off and shows the same search finding the planted values.
"""

from __future__ import annotations

import importlib
import json
import os
import secrets
import string
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import ahocorasick
import pytest
from typer.testing import CliRunner

from leakmap.lab.addresses import random_loopback
from leakmap.lab.clickhouse import ClickHouseInstance

from .stores.servers import Planted, RedisServer, make_planted

FAST = ["--timeout", "1", "--read-timeout", "3", "--no-progress"]
SCAN_FORMATS = ("json", "jsonl", "table", "html", "md", "sarif")
REPORT_FORMATS = ("html", "md", "sarif", "json", "text")
AUDIT_FORMATS = ("text", "json", "jsonl", "sarif", "md", "html")
CLASSIFY_FORMATS = ("text", "jsonl", "json", "sarif", "md", "html")


def _token(n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


@dataclass
class Fakes:
    """Random fake secrets for the files the auditor and the classifier read."""

    ch_password: str = field(default_factory=lambda: "Pw" + _token(22))
    compose_password: str = field(default_factory=lambda: "Cp" + _token(22))
    env_password: str = field(default_factory=lambda: "Ev" + _token(22))
    openai: str = field(default_factory=lambda: "sk-proj-" + _token(64) + "T3BlbkFJ" + _token(64))
    github: str = field(default_factory=lambda: "ghp_" + _token(36))
    aws_secret: str = field(default_factory=lambda: _token(40))

    def values(self) -> list[str]:
        return [self.ch_password, self.compose_password, self.env_password, self.openai,
                self.github, self.aws_secret]  # fmt: skip

    def write(self, root: Path) -> tuple[Path, Path]:
        cfg = root / "config"
        cfg.mkdir()
        (cfg / "users.xml").write_text(
            "<clickhouse><users><app>"
            f"<password>{self.ch_password}</password>"
            "<networks><ip>::/0</ip></networks></app></users></clickhouse>\n"
        )
        (cfg / "docker-compose.yml").write_text(
            "services:\n  clickhouse:\n    image: clickhouse/clickhouse-server:24.8\n"
            f'    environment:\n      CLICKHOUSE_PASSWORD: "{self.compose_password}"\n'
            f'      OPENAI_API_KEY: "{self.openai}"\n'
            '    ports: ["8123:8123"]\n'
        )
        (cfg / ".env").write_text(
            f"POSTGRES_PASSWORD={self.env_password}\nGITHUB_TOKEN={self.github}\n"
            f"AWS_SECRET_ACCESS_KEY={self.aws_secret}\n"
        )
        log = root / "app.log"
        log.write_text(
            f"2026-11-30 INFO calling openai with key {self.openai}\n"
            f"2026-11-30 DEBUG env GITHUB_TOKEN={self.github} "
            f"aws_secret_access_key={self.aws_secret}\n"
        )
        return cfg, log


def planted_values(ch: ClickHouseInstance, fakes: Fakes) -> list[str]:
    assert ch.summary is not None
    ds = ch.summary.dataset
    values = [s.value for s in ds.secrets] + list(ds.emails) + list(ds.phones) + list(ds.cards)
    return [v for v in values + fakes.values() if v]


def needles(values: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(needle, the value it comes from): the value itself and every substring of
    ``max(10, min(16, len // 2))`` characters (the whole value when shorter)."""
    for value in set(values):
        size = min(len(value), max(10, min(16, len(value) // 2)))
        for i in range(len(value) - size + 1):
            yield value[i : i + size], value


class LeakSearch:
    """One Aho-Corasick automaton over every needle, run over bytes (UTF-8 and Latin-1)."""

    def __init__(self, values: Iterable[str]) -> None:
        self._auto = ahocorasick.Automaton()
        for needle, value in needles(values):
            self._auto.add_word(needle, (needle, value))
        self._auto.make_automaton()

    def find(self, data: bytes) -> list[str]:
        hits = []
        for text in {data.decode("utf-8", "replace"), data.decode("latin-1")}:
            hits += [value for _, (_, value) in self._auto.iter(text)]
        return sorted(set(hits))


@dataclass
class Run:
    label: str
    code: int
    stdout: str
    stderr: str


@dataclass
class LeakRun:
    work: Path
    runs: list[Run]
    values: list[str]

    def outputs(self) -> Iterator[tuple[str, bytes]]:
        for run in self.runs:
            yield f"{run.label} stdout", run.stdout.encode()
            yield f"{run.label} stderr", run.stderr.encode()
        for path in sorted(self.work.rglob("*")):
            if path.is_file() and "input" not in path.relative_to(self.work).parts:
                yield str(path.relative_to(self.work)), path.read_bytes()


@pytest.fixture(scope="module")
def redis_planted(lab_seed: int) -> Iterator[RedisServer]:
    """A Redis of its own, seeded with random fakes (keys, hashes, a stream, a list)."""
    server = RedisServer(random_loopback((6379,)))
    try:
        server.start()
        server.seed(make_planted(lab_seed + 200))
        yield server
    finally:
        server.stop()


def redis_values(server: RedisServer) -> list[str]:
    planted: Planted | None = server.planted
    assert planted is not None
    return list(planted.raw_values)


@pytest.fixture(scope="module")
def leak_run(
    ch_open: ClickHouseInstance,
    redis_planted: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> LeakRun:
    work = tmp_path_factory.mktemp("leaks")
    inputs = work / "input"  # what the user hands in (holds the fakes by design)
    inputs.mkdir()
    fakes = Fakes()
    cfg, log = fakes.write(inputs)
    out = work / "out"
    out.mkdir()
    env = {
        **os.environ,
        "HOME": str(work / "home"),
        "XDG_DATA_HOME": str(work / "data"),
        "XDG_CONFIG_HOME": str(work / "config"),
        "XDG_CACHE_HOME": str(work / "cache"),
        "XDG_STATE_HOME": str(work / "state"),
        "TMPDIR": str(work / "tmp"),
        "NO_COLOR": "1",
        "COLUMNS": "200",
        "PYTHONWARNINGS": "always",
    }
    for d in ("home", "tmp"):
        (work / d).mkdir()
    runs: list[Run] = []

    def leakmap(label: str, *args: str, ok: tuple[int, ...] = (0, 1)) -> Run:
        proc = subprocess.run(
            [sys.executable, "-m", "leakmap", *args],
            capture_output=True, text=True, timeout=300, env=env, cwd=work,
        )  # fmt: skip
        run = Run(label, proc.returncode, proc.stdout, proc.stderr)
        runs.append(run)
        assert proc.returncode in ok, (label, proc.stderr[-2000:])
        return run

    targets = [ch_open.ip, f"{redis_planted.ip}:6379"]
    for fmt in SCAN_FORMATS:
        args = ["scan", *targets, "--format", fmt, *FAST]
        if fmt in ("json", "html", "md", "sarif"):
            args += ["-o", str(out / f"scan.{fmt}")]
        leakmap(f"scan {fmt}", *args)
    first = out / "scan.json"
    for fmt in REPORT_FORMATS:
        leakmap(f"report {fmt}", "report", str(first), "--format", fmt,
                "-o", str(out / f"report.{fmt}"))  # fmt: skip
    listing = leakmap("history json", "history", "--format", "json")
    leakmap("history text", "history")
    ids = [int(r["id"]) for r in json.loads(listing.stdout)["runs"]]
    assert len(ids) == len(SCAN_FORMATS)
    for fmt in ("json", "html", "md", "sarif", "text"):
        leakmap(f"history export {fmt}", "history", "export", str(ids[-1]), "--format", fmt)
    for fmt in ("text", "json", "md", "html", "sarif"):
        leakmap(f"diff {fmt}", "diff", str(ids[0]), str(ids[-1]), "--format", fmt)
    leakmap("diff files", "diff", str(first), str(first))
    for fmt in ("text", "json", "md", "html", "sarif"):
        leakmap(f"verify {fmt}", "verify", str(first), "--format", fmt, "-o",
                str(out / f"verify.{fmt}"), "--timeout", "1", "--read-timeout", "3")  # fmt: skip
    for fmt in AUDIT_FORMATS:
        leakmap(f"audit {fmt}", "audit", str(cfg), "--format", fmt, "--fail-on", "none")
    for fmt in CLASSIFY_FORMATS:
        leakmap(f"classify {fmt}", "classify", str(log), "--format", fmt)
    return LeakRun(work, runs, planted_values(ch_open, fakes) + redis_values(redis_planted))


def test_the_commands_saw_the_planted_values(leak_run: LeakRun) -> None:
    """Not vacuous: the scan classified the planted data, the auditor and the classifier
    flagged the planted files (each run reports the findings, redacted)."""
    by = {r.label: r for r in leak_run.runs}
    scan = json.loads((leak_run.work / "out" / "scan.json").read_text())
    rules = {f["rule"] for f in scan["findings"]}
    assert {"clickhouse.data.secret", "clickhouse.data.pii"} <= rules
    assert any(r.startswith("redis.data") for r in rules), sorted(rules)
    assert "…#" in by["classify jsonl"].stdout  # redacted values, so findings were made
    assert json.loads(by["audit json"].stdout)["findings"]
    assert (leak_run.work / "data" / "leakmap").is_dir()  # the history database is searched


def test_nothing_written_holds_a_planted_value(leak_run: LeakRun) -> None:
    search = LeakSearch(leak_run.values)
    leaks = {}
    names = []
    for name, data in leak_run.outputs():
        names.append(name)
        found = search.find(data)
        if found:
            leaks[name] = [v[:4] + "…" for v in found]  # never print the raw value
    assert any("history" in n for n in names if n.startswith("data"))
    assert not leaks, leaks


def test_the_search_catches_a_mutant_that_prints_raw_values(
    ch_open: ClickHouseInstance, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Redaction switched off (every ``redact`` bound in a loaded module returns the value):
    the same search over the scan's JSON finds planted values."""
    from leakmap.classify import engine
    from leakmap.cli import _register_commands, app

    _register_commands(["scan"])  # load the command's modules before patching them
    original = importlib.import_module("leakmap.classify.redact").redact
    for module in list(sys.modules.values()):
        if module is not None and getattr(module, "redact", None) is original:
            monkeypatch.setattr(module, "redact", lambda value, keep=None: value)
    assert getattr(engine, "redact") is not original  # noqa: B009 - not exported
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    result = CliRunner().invoke(
        app, ["scan", ch_open.ip, "--format", "json", "--no-history", *FAST]
    )
    assert result.exit_code in (0, 1), result.output[-2000:]
    found = LeakSearch(planted_values(ch_open, Fakes())).find(result.stdout.encode())
    assert found  # the mutant leaks, and the search sees it
