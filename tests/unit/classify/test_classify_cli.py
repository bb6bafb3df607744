"""`leakmap classify` end to end: formats, redaction, filters, exit codes, bad input."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from leakmap.classify import filescan
from leakmap.commands import classify as cmd
from leakmap.errors import UsageError

from .classify_fakes import load_fixtures, render

FIXTURES = load_fixtures()
JSONL_KEYS = {"path", "line", "start", "end", "category", "rule", "redacted"}


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """test app"""

    cmd.register(app)
    return app


def _invoke(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(_app(), ["classify", *args], input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout


def _leakmap(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "leakmap", "classify", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def secrets_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """One line per positive secret fixture; returns the file and the raw fake values."""
    rng = random.Random(7)
    lines: list[str] = []
    values: list[str] = []
    for rule_id, fx in FIXTURES.items():
        if not rule_id.startswith("secret."):
            continue
        for template in fx["positive"]:
            rendered = render(template, rng)
            assert rendered.span is not None
            lines.extend(rendered.text.splitlines() or [""])
            values.append(rendered.text[rendered.span[0] : rendered.span[1]])
    path = tmp_path_factory.mktemp("cli") / "fake-secrets.log"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, values


def test_outputs_follow_their_json_schema(secrets_file: tuple[Path, list[str]]) -> None:
    import jsonschema

    path, _ = secrets_file
    jsonschema.Draft202012Validator.check_schema(cmd.DOCUMENT_SCHEMA)
    _, out = _invoke(str(path), "--format", "json")
    jsonschema.validate(json.loads(out), cmd.DOCUMENT_SCHEMA)
    for show in ([], ["--show-secrets"]):
        _, out = _invoke(str(path), "--format", "jsonl", *show)
        for line in out.splitlines():
            jsonschema.validate(json.loads(line), cmd.FINDING_SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"path": "-", "line": 0}, cmd.FINDING_SCHEMA)


@pytest.mark.parametrize("fmt", ["text", "json", "jsonl"])
def test_no_raw_secret_in_any_format(secrets_file: tuple[Path, list[str]], fmt: str) -> None:
    path, values = secrets_file
    code, out = _invoke(str(path), "--format", fmt)
    assert code == 1
    leaked = [v for v in values if len(v) >= 8 and v in out]
    assert leaked == [], f"{len(leaked)} raw values in {fmt} output"
    # every secret line produced a finding
    assert out.count("secret.") >= len(values) * 0.95


def test_show_secrets_prints_the_values(secrets_file: tuple[Path, list[str]]) -> None:
    path, values = secrets_file
    code, out = _invoke(str(path), "--format", "jsonl", "--show-secrets")
    assert code == 1
    shown = {json.loads(line)["value"] for line in out.splitlines()}
    assert sum(v in shown for v in values) >= len(values) * 0.9


def test_jsonl_record_shape(tmp_path: Path) -> None:
    src = tmp_path / "a.log"
    src.write_text(
        "first line\n"
        "mail: jane.doe@gmail.com\n"
        '{"role":"user","content":"hi there"} from 10.0.3.7:8123\n',
        encoding="utf-8",
    )
    code, out = _invoke(str(src), "--format", "jsonl")
    assert code == 1
    records = [json.loads(line) for line in out.splitlines()]
    assert all(set(r) == JSONL_KEYS for r in records)
    got = {(r["line"], r["start"], r["end"], r["category"], r["rule"]) for r in records}
    assert got == {
        (2, 6, 24, "pii", "pii.email"),
        (3, 26, 34, "chat", "chat.message.role-content"),
        (3, 42, 55, "infrastructure", "infra.ip.private-with-port"),
    }
    lines = src.read_text(encoding="utf-8").splitlines()
    assert lines[2][42:55] == "10.0.3.7:8123"


def test_json_document(tmp_path: Path) -> None:
    src = tmp_path / "a.log"
    src.write_text("jane.doe@gmail.com\nnothing\n", encoding="utf-8")
    out_file = tmp_path / "out.json"
    code, out = _invoke(str(src), "--format", "json", "-o", str(out_file))
    assert code == 1 and out == ""
    doc = json.loads(out_file.read_text(encoding="utf-8"))
    assert doc["schema"] == "leakmap.classify/1"
    assert [f["rule"] for f in doc["findings"]] == ["pii.email"]
    assert doc["summary"] == {"findings": 1, "by_category": {"pii": 1}, "suppressed": {}}


def test_text_strips_control_characters(tmp_path: Path) -> None:
    src = tmp_path / "evil\x1b[31m.log"
    src.write_text("jane.doe@gmail.com\n", encoding="utf-8")
    code, out = _invoke(str(src))
    assert code == 1
    assert "\x1b" not in out and "evil\\x1b[31m.log:1:0-18" in out
    assert "1 finding (pii: 1)" in out


def test_category_filter_and_disable(tmp_path: Path) -> None:
    src = tmp_path / "a.log"
    src.write_text("jane.doe@gmail.com 10.0.3.7:8123\n", encoding="utf-8")
    _, out = _invoke(str(src), "-f", "jsonl", "--category", "infrastructure")
    assert [json.loads(x)["rule"] for x in out.splitlines()] == ["infra.ip.private-with-port"]
    code, out = _invoke(str(src), "-f", "jsonl", "--disable", "infra.*", "--disable", "pii.email")
    assert (code, out) == (0, "")


def test_user_rules(tmp_path: Path) -> None:
    rules = tmp_path / "r.yaml"
    rules.write_text(
        "rules:\n  - id: custom.ticket\n    category: pii\n    description: ticket\n"
        "    keywords: [tkt-]\n    anchor: true\n    regex: 'TKT-\\d{6}'\n",
        encoding="utf-8",
    )
    code, out = _invoke("--rules", str(rules), "-f", "jsonl", stdin="see TKT-123456\n")
    assert code == 1
    assert json.loads(out)["rule"] == "custom.ticket"
    assert json.loads(out)["path"] == "-"


def test_recursive_directory(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.log").write_text("jane.doe@gmail.com\n", encoding="utf-8")
    (tmp_path / "b.bin").write_bytes(b"\x00\x01jane.doe@gmail.com")
    (tmp_path / "c.txt").write_text("nothing\n", encoding="utf-8")
    code, out = _invoke("-r", str(tmp_path), "-f", "jsonl")
    assert code == 1
    assert [json.loads(x)["path"] for x in out.splitlines()] == [str(tmp_path / "sub" / "a.log")]


def test_nothing_found_exit_zero() -> None:
    assert _invoke(stdin="all quiet\n") == (0, "no findings\n")


def test_long_line_and_crlf(tmp_path: Path) -> None:
    src = tmp_path / "long.log"
    filler = "x " * (3 * 1024 * 1024)
    src.write_bytes(b"a\r\n" + filler.encode() + b"jane.doe@gmail.com\r\n")
    code, out = _invoke(str(src), "-f", "jsonl")
    rec = json.loads(out)
    assert (code, rec["line"], rec["start"]) == (1, 2, len(filler))


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["/nonexistent/file.log"], "", "no such file"),
        (["{dir}"], "", "is a directory (use -r"),
        (["{bin}"], "", "binary data"),
        (["{latin1}"], "", "line 2 is not valid UTF-8"),
        (["--rules", "{bad_rules}", "-"], "", "not valid YAML"),
        (["--disable", "nope.*", "-"], "", "matches no rule"),
    ],
)
def test_bad_input_is_a_one_line_usage_error(
    tmp_path: Path, args: list[str], stdin: str, message: str
) -> None:
    (tmp_path / "bin.dat").write_bytes(b"\x7fELF\x00\x00\x01")
    (tmp_path / "latin1.txt").write_bytes(b"ok\ncaf\xe9\n")
    (tmp_path / "bad.yaml").write_text("rules: [", encoding="utf-8")
    subst = {
        "{dir}": str(tmp_path),
        "{bin}": str(tmp_path / "bin.dat"),
        "{latin1}": str(tmp_path / "latin1.txt"),
        "{bad_rules}": str(tmp_path / "bad.yaml"),
    }
    with pytest.raises(UsageError, match=re.escape(message)) as info:
        _invoke(*[subst.get(a, a) for a in args], stdin=stdin)
    assert "\n" not in str(info.value)


def test_exit_codes_end_to_end() -> None:
    """The real command line: 0 nothing, 1 found, 2 bad input with one line on stderr."""
    assert _leakmap("-", stdin=b"nothing to see\n").returncode == 0
    found = _leakmap("-f", "jsonl", stdin=b"jane.doe@gmail.com\n")
    assert found.returncode == 1
    assert json.loads(found.stdout)["rule"] == "pii.email"
    bad = _leakmap("-", stdin=b"caf\xe9\n")
    err = bad.stderr.decode()
    assert bad.returncode == 2
    assert err == "leakmap: error: <stdin>: line 1 is not valid UTF-8 text\n"


def test_worker_processes_give_the_same_findings_in_the_same_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file of 1 MiB or more is scanned by forked workers; output is byte-identical."""
    made: list[object] = []
    real_make_pool = filescan.make_pool

    def recording_make_pool(clf: object, opts: object, jobs: int) -> object:
        pool = real_make_pool(clf, opts, jobs)  # type: ignore[arg-type]
        made.append(pool)
        return pool

    monkeypatch.setattr(filescan, "make_pool", recording_make_pool)
    rng = random.Random(11)
    lines: list[str] = []
    for fx in FIXTURES.values():
        for template in fx["positive"]:
            lines.extend(render(template, rng).text.splitlines() or [""])
    filler = "2026-01-01T00:00:00Z level=info msg=ok duration_ms=12 " * 4
    body = "\n".join([*lines, filler]) + "\n"
    path = tmp_path / "big.log"
    path.write_text(body * (filescan.PARALLEL_BYTES // len(body) + 1), encoding="utf-8")
    assert path.stat().st_size >= filescan.PARALLEL_BYTES
    runs = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"out-{jobs}.jsonl"
        code, _ = _invoke(str(path), "--format", "jsonl", "-j", jobs, "-o", str(out))
        assert code == 1
        runs[jobs] = out.read_bytes()
    assert len(made) == 1 and made[0] is not None, "-j 2 on a large file uses worker processes"
    assert runs["1"] == runs["2"]
    assert runs["1"].count(b"\n") > 1000


def test_auto_jobs() -> None:
    assert filescan.auto_jobs(3) == 3
    assert 1 <= filescan.auto_jobs(0) <= 4


# --- SARIF ---------------------------------------------------------------------------------

SARIF_SCHEMA = json.loads(
    (Path(__file__).parents[2] / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8")
)


def test_sarif_follows_the_schema_and_matches_jsonl(secrets_file: tuple[Path, list[str]]) -> None:
    import jsonschema

    path, values = secrets_file
    code, out = _invoke(str(path), "--format", "sarif")
    assert code == 1
    log = json.loads(out)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    assert [v for v in values if len(v) >= 8 and v in out] == []
    (run,) = log["runs"]
    assert run["columnKind"] == "unicodeCodePoints"
    rules = run["tool"]["driver"]["rules"]
    assert len({r["id"] for r in rules}) == len(rules)
    _, jsonl = _invoke(str(path), "--format", "jsonl")
    expected = [json.loads(line) for line in jsonl.splitlines()]
    got = []
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] == rules[res["ruleIndex"]]["defaultConfiguration"]["level"]
        loc = res["locations"][0]["physicalLocation"]
        region = loc["region"]
        got.append(
            (res["ruleId"], region["startLine"], region["startColumn"] - 1, region["endColumn"] - 1)
        )
        assert loc["artifactLocation"]["uri"].endswith("fake-secrets.log")
        assert res["message"]["text"].endswith(res["properties"]["redacted"])
    assert got == [(f["rule"], f["line"], f["start"], f["end"]) for f in expected]


def test_sarif_levels_follow_rule_severity(tmp_path: Path) -> None:
    src = tmp_path / "mixed.log"
    src.write_text(
        "key ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A\nmail ann.lee@example.org\n", encoding="utf-8"
    )
    _, out = _invoke(str(src), "--format", "sarif")
    run = json.loads(out)["runs"][0]
    levels = {
        r["id"]: (r["defaultConfiguration"]["level"], r["properties"]["security-severity"])
        for r in run["tool"]["driver"]["rules"]
    }
    assert levels == {
        "secret.github.classic-pat": ("error", "9.5"),
        "pii.email": ("warning", "5.5"),
    }


def test_sarif_with_nothing_found_is_a_valid_empty_run(tmp_path: Path) -> None:
    import jsonschema

    src = tmp_path / "clean.log"
    src.write_text("nothing to see\n", encoding="utf-8")
    code, out = _invoke(str(src), "--format", "sarif")
    log = json.loads(out)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    assert code == 0 and log["runs"][0]["results"] == []


def test_sarif_refuses_show_secrets() -> None:
    proc = _leakmap("--format", "sarif", "--show-secrets", "-", stdin=b"x\n")
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert proc.stderr.decode().count("\n") == 1 and "SARIF" in proc.stderr.decode()


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        ("a.log", "a.log"),
        ("logs/my app#1.log", "logs/my%20app%231.log"),
        ("/var/log/x y.log", "file:///var/log/x%20y.log"),
        ("-", "-"),
    ],
)
def test_sarif_uri(path: str, uri: str) -> None:
    from leakmap.report.sarif import sarif_uri

    assert sarif_uri(path) == uri


# --- suppressions: leakmap:allow markers and --baseline ------------------------------------

GHP_TOKEN = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A"
OTHER_TOKEN = "ghp_" + "Zy9xW8vU7tS6rQ5pO4nM3lK2jI1hG0fE9dC8"


def _rules_of(out: str) -> list[tuple[int, str]]:
    return [(json.loads(line)["line"], json.loads(line)["rule"]) for line in out.splitlines()]


def test_inline_allow_marker(tmp_path: Path) -> None:
    src = tmp_path / "config.env"
    src.write_text(
        f"A={GHP_TOKEN}  # leakmap:allow\n"
        f"B={GHP_TOKEN} ann.lee@example.org  # leakmap:allow=pii.*\n"
        f"C={GHP_TOKEN} ann.lee@example.org  # leakmap:allow=secret.github.*,pii.email\n"
        f"D={GHP_TOKEN}\n",
        encoding="utf-8",
    )
    code, out = _invoke(str(src), "--format", "jsonl")
    assert code == 1
    assert _rules_of(out) == [(2, "secret.github.classic-pat"), (4, "secret.github.classic-pat")]
    _, text = _invoke(str(src))
    assert text.splitlines()[-1].endswith("; 4 suppressed (leakmap:allow: 4)")
    _, out = _invoke(str(src), "--format", "jsonl", "--no-inline-allow")
    assert len(_rules_of(out)) == 6


def test_baseline_reports_only_new_findings(tmp_path: Path) -> None:
    src = tmp_path / "app.log"
    src.write_text(f"token {GHP_TOKEN}\nmail ann.lee@example.org\n", encoding="utf-8")
    base = tmp_path / "baseline.jsonl"
    code, _ = _invoke(str(src), "--format", "jsonl", "-o", str(base))
    assert code == 1
    code, out = _invoke(str(src), "--format", "jsonl", "--baseline", str(base))
    assert (code, out) == (0, "")
    # the known lines move down, a new secret and the known one in a new place appear
    src.write_text(
        f"new line\ntoken {GHP_TOKEN}\nmail ann.lee@example.org\nnext {OTHER_TOKEN}\n",
        encoding="utf-8",
    )
    code, out = _invoke(str(src), "--format", "jsonl", "--baseline", str(base))
    assert code == 1 and _rules_of(out) == [(4, "secret.github.classic-pat")]
    # a json document works as a baseline too, and the summary counts what it hid
    doc = tmp_path / "baseline.json"
    _invoke(str(src), "--format", "json", "-o", str(doc))
    code, out = _invoke(str(src), "--format", "json", "--baseline", str(doc))
    assert code == 0
    assert json.loads(out)["summary"]["suppressed"] == {"baseline": 3}


def test_baseline_applies_in_worker_processes(tmp_path: Path) -> None:
    src = tmp_path / "big.log"
    body = f"token {GHP_TOKEN}\n" + ("2026-01-01T00:00:00Z level=info msg=ok\n" * 50)
    src.write_text(body * (filescan.PARALLEL_BYTES // len(body) + 1), encoding="utf-8")
    base = tmp_path / "b.jsonl"
    _invoke(str(src), "--format", "jsonl", "-j", "1", "-o", str(base))
    code, out = _invoke(str(src), "--format", "jsonl", "-j", "2", "--baseline", str(base))
    assert (code, out) == (0, "")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json\n", "line 1 is not JSON"),
        ('{"path": "a", "rule": "r"}\n', "finding 1 has no path, rule and redacted"),
        ("[1, 2]\n", "finding 1 has no path"),
    ],
)
def test_bad_baseline_is_a_usage_error(tmp_path: Path, body: str, message: str) -> None:
    base = tmp_path / "b.jsonl"
    base.write_text(body, encoding="utf-8")
    with pytest.raises(UsageError, match=message):
        cmd.load_baseline(base)
    proc = _leakmap("--baseline", str(base), "-", stdin=b"x\n")
    assert proc.returncode == 2 and proc.stderr.decode().count("\n") == 1


def test_missing_baseline_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read"):
        cmd.load_baseline(tmp_path / "nope.jsonl")


# --- compressed input (rotated logs) -------------------------------------------------------


@pytest.mark.parametrize("kind", ["gzip", "bz2", "lzma"])
def test_compressed_files_are_read_decompressed(tmp_path: Path, kind: str) -> None:
    import bz2
    import gzip
    import lzma

    compressors: dict[str, Callable[[bytes], bytes]] = {
        "gzip": gzip.compress,
        "bz2": bz2.compress,
        "lzma": lzma.compress,
    }
    compress = compressors[kind]
    plain = tmp_path / "app.log"
    plain.write_text(f"start\ntoken {GHP_TOKEN}\nmail ann.lee@example.org\n", encoding="utf-8")
    packed = tmp_path / "app.log.1"  # known by its first bytes, whatever its name
    packed.write_bytes(compress(plain.read_bytes()))
    _, expected = _invoke(str(plain), "--format", "jsonl")
    code, out = _invoke(str(packed), "--format", "jsonl")
    assert code == 1 and out == expected.replace(str(plain), str(packed))
    assert _rules_of(out) == [(2, "secret.github.classic-pat"), (3, "pii.email")]


@pytest.mark.parametrize("cut", [10, 40])
def test_damaged_compressed_file_is_a_one_line_error(tmp_path: Path, cut: int) -> None:
    import gzip

    src = tmp_path / "app.log.gz"
    src.write_bytes(gzip.compress(f"token {GHP_TOKEN}\n".encode() * 50)[:cut])
    proc = _leakmap(str(src))
    assert proc.returncode == 2
    assert proc.stderr.decode().count("\n") == 1 and "not a valid gzip file" in proc.stderr.decode()
    # inside a directory it is skipped with a note, and the other files are still scanned
    (tmp_path / "ok.log").write_text(f"token {GHP_TOKEN}\n", encoding="utf-8")
    proc = _leakmap("-r", str(tmp_path), "--format", "jsonl")
    assert proc.returncode == 1 and proc.stdout.count(b"\n") == 1
    assert b"skipped" in proc.stderr and b"not a valid gzip file" in proc.stderr


# --- the suppression library (reused by other commands) ------------------------------------


def test_suppression_reason() -> None:
    from leakmap.classify.suppress import Suppression

    sup = Suppression(baseline=frozenset({("a.env", "secret.x", "r…#000000")}))
    assert sup.reason("a.env", "secret.x", "r…#000000", "plain line") == "baseline"
    assert sup.reason("b.env", "secret.x", "r…#000000", "plain line") is None
    assert sup.reason("b.env", "pii.email", "r", "x # leakmap:allow") == "leakmap:allow"
    assert sup.reason("b.env", "pii.email", "r", "x # leakmap:allow=secret.*") is None
    assert sup.reason("b.env", "secret.y", "r", "x # leakmap:allow=pii.*,secret.*") == (
        "leakmap:allow"
    )
    off = Suppression(inline_allow=False)
    assert off.reason("b.env", "pii.email", "r", "x # leakmap:allow") is None
