"""The auditor on hand-written bad and good fixtures: every rule fires where it should (exact
rule, file and line) and nowhere on the good fixtures; the hardened ClickHouse config gives
no critical or high finding."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from leakmap.audit import engine
from leakmap.audit.checks import CHECKS, Hit, load_checks
from leakmap.audit.engine import audit_paths
from leakmap.audit.model import AuditInputError, FileStatus
from leakmap.audit.rules import RULES
from leakmap.audit.schema import AUDIT_SCHEMA, FINDING_SCHEMA
from leakmap.cli import _register_commands, app
from leakmap.findings import Severity

FIXTURES = Path(__file__).parent / "fixtures"
SARIF_SCHEMA = json.loads(
    (Path(__file__).parents[2] / "data" / "sarif-schema-2.1.0.json").read_text("utf-8")
)

#: fixture directory -> {(rule, file relative to the directory, line, severity)}
BAD: dict[str, set[tuple[str, str, int, str]]] = {
    "ch-bad": {
        ("clickhouse-config.user-empty-password", "users.xml", 8, "critical"),
        ("clickhouse-config.listen-wildcard", "config.xml", 3, "high"),
        ("clickhouse-config.user-files-path-sensitive", "config.xml", 12, "high"),
        ("clickhouse-config.networks-open", "users.xml", 9, "high"),
        ("clickhouse-config.access-management-remote", "users.xml", 14, "high"),
        ("clickhouse-config.remote-url-allow-hosts-missing", "config.xml", 2, "medium"),
        ("clickhouse-config.plaintext-port-public", "config.xml", 4, "medium"),
        ("clickhouse-config.plaintext-port-public", "config.xml", 5, "medium"),
        ("clickhouse-config.interserver-no-credentials", "config.xml", 6, "medium"),
        ("clickhouse-config.mysql-port", "config.xml", 7, "medium"),
        ("clickhouse-config.postgresql-port", "config.xml", 8, "medium"),
        ("clickhouse-config.no-readonly-profile", "users.xml", 10, "medium"),
        ("clickhouse-config.user-plaintext-password", "users.xml", 13, "medium"),
        ("clickhouse-config.prometheus-port", "config.xml", 9, "low"),
        ("clickhouse-config.user-unsalted-hash", "users.xml", 19, "low"),
    },
    # config.d overrides listen_host and removes mysql_port; a YAML fragment adds a port;
    # users.d removes the default user's password; incl= takes ::/0 from include_from.
    "ch-merge": {
        ("clickhouse-config.listen-wildcard", "config.d/10-listen.xml", 2, "high"),
        ("clickhouse-config.user-empty-password", "users.xml", 6, "high"),
        ("clickhouse-config.networks-open", "users.xml", 13, "high"),
        ("clickhouse-config.postgresql-port", "config.d/20-ports.yaml", 1, "medium"),
        ("clickhouse-config.user-unsalted-hash", "users.xml", 12, "low"),
    },
    "ch-yaml": {
        ("clickhouse-config.user-empty-password", "users.yaml", 6, "critical"),
        ("clickhouse-config.listen-wildcard", "config.yaml", 3, "high"),
        ("clickhouse-config.networks-open", "users.yaml", 7, "high"),
        ("clickhouse-config.plaintext-port-public", "config.yaml", 4, "medium"),
    },
    "compose-bad": {
        ("deploy.clickhouse-empty-password", "docker-compose.yml", 5, "critical"),
        ("deploy.clickhouse-access-management-no-password", "docker-compose.yml", 12, "critical"),
        ("deploy.datastore-port-published", "docker-compose.yml", 7, "high"),
        ("deploy.store-without-auth", "docker-compose.yml", 14, "high"),
        ("deploy.datastore-port-published", "docker-compose.yml", 15, "high"),
        ("deploy.store-without-auth", "docker-compose.yml", 19, "high"),
        ("deploy.store-without-auth", "docker-compose.yml", 22, "high"),
        ("deploy.store-without-auth", "docker-compose.yml", 25, "high"),
        ("deploy.store-without-auth", "docker-compose.yml", 26, "high"),
        ("deploy.datastore-port-published", "docker-compose.yml", 29, "high"),
    },
    "k8s-bad": {
        ("deploy.clickhouse-empty-password", "clickhouse.yaml", 22, "critical"),
        ("deploy.datastore-port-published", "clickhouse.yaml", 8, "high"),
        ("deploy.datastore-port-published", "clickhouse.yaml", 25, "high"),
        ("deploy.datastore-port-published", "clickhouse.yaml", 42, "high"),
        ("deploy.store-without-auth", "clickhouse.yaml", 52, "high"),
    },
    "helm-bad": {
        ("deploy.datastore-port-published", "values.yaml", 6, "high"),
        ("deploy.datastore-port-published", "values.yaml", 7, "high"),
        ("deploy.store-without-auth", "values.yaml", 9, "high"),
        ("deploy.clickhouse-empty-password", "values.yaml", 11, "high"),
    },
    "env-bad": {
        ("deploy.clickhouse-access-management-no-password", ".env", 1, "critical"),
        ("deploy.clickhouse-empty-password", ".env.staging", 2, "high"),
        ("deploy.store-without-auth", ".env.staging", 3, "high"),
    },
    "tf-bad": {
        ("terraform.datastore-port-open-world", "main.tf", 9, "high"),
        ("terraform.datastore-port-open-world", "main.tf", 17, "high"),
        ("terraform.datastore-port-open-world", "main.tf", 26, "high"),
        ("terraform.datastore-port-open-world", "main.tf", 37, "high"),
        ("terraform.datastore-port-open-world", "main.tf", 44, "high"),
        ("terraform.datastore-port-open-world", "main.tf", 73, "high"),
    },
}
GOOD = ["ch-hardened", "compose-good", "k8s-good", "helm-good", "env-good", "tf-good"]


def _found(directory: Path) -> set[tuple[str, str, int, str]]:
    result = audit_paths([str(directory)])
    assert all(f.status is FileStatus.AUDITED for f in result.files), result.files
    return {
        (f.rule, str(Path(f.path).relative_to(directory)), f.line, f.severity.value)
        for f in result.findings
    }


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_fixture_gives_exactly_these_findings(name: str) -> None:
    assert _found(FIXTURES / name) == BAD[name]


@pytest.mark.parametrize("name", GOOD)
def test_good_fixture_gives_nothing(name: str) -> None:
    assert _found(FIXTURES / name) == set()


def test_every_rule_has_a_bad_fixture_and_a_check() -> None:
    fired = {rule for expected in BAD.values() for rule, *_ in expected}
    assert fired == set(RULES)


def test_hardened_clickhouse_has_no_critical_or_high() -> None:
    result = audit_paths([str(FIXTURES / "ch-hardened")])
    (main,) = result.files
    assert main.path.endswith("config.xml")
    assert any(m.endswith("users.d/users.xml") for m in main.merged)
    assert not [f for f in result.findings if f.severity.at_least(Severity.HIGH)]


def test_a_crashing_check_makes_the_file_unknown_not_a_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    load_checks()

    def boom(doc: object) -> list[Hit]:
        raise RuntimeError("bug")

    monkeypatch.setitem(CHECKS, "compose", [("boom", boom), *CHECKS["compose"]])
    result = audit_paths([str(FIXTURES / "compose-bad")])
    (file_result,) = result.files
    assert file_result.status is FileStatus.UNKNOWN
    assert file_result.reasons == ["check boom failed (RuntimeError)"]
    assert len(result.findings) == len(BAD["compose-bad"])  # the other checks still ran


def test_malformed_file_named_is_an_error_with_its_line() -> None:
    with pytest.raises(AuditInputError, match=r"broken/config.xml:4: not valid XML"):
        audit_paths([str(FIXTURES / "broken" / "config.xml")])


def test_malformed_file_under_a_directory_is_a_note(tmp_path: Path) -> None:
    result = audit_paths([str(FIXTURES / "broken"), str(FIXTURES / "tf-bad")])
    assert any("config.xml:4: not valid XML" in n for n in result.notes)
    assert [f.status for f in result.files] == [FileStatus.ERROR, FileStatus.AUDITED]
    assert len(result.findings) == len(BAD["tf-bad"])


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "config.xml",
            '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "b">]>\n<yandex/>',
            "DOCTYPE",
        ),
        ("docker-compose.yml", "a: &x [1]\nb: *x\n", "aliases"),
        ("main.tf", 'resource "x" "y" {\n  a = \n}\n', "not valid HCL"),
        (".env", "A=1\nnot a line\n", ":2: not a KEY=VALUE line"),
        ("values.yaml", "a: [\n", "not valid YAML"),
    ],
)
def test_hostile_or_broken_input_is_one_error(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AuditInputError, match=message):
        audit_paths([str(path)])


def test_file_no_parser_takes_is_an_error_when_named(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\n", encoding="utf-8")
    with pytest.raises(AuditInputError, match="not a configuration file"):
        audit_paths([str(path)])
    assert audit_paths([str(path)], skip_other=True).files == []
    assert audit_paths([str(tmp_path)]).files == []


def test_parsers_each_take_their_files() -> None:
    names = {
        "config.xml": "clickhouse",
        "docker-compose.yml": "compose",
        "compose.prod.yaml": "compose",
        "values.yaml": "helm",
        "values-prod.yaml": "helm",
        ".env": "dotenv",
        ".env.staging": "dotenv",
        "main.tf": "terraform",
    }
    for name, parser in names.items():
        takers = [p.NAME for p in engine.PARSERS if p.takes(Path(name), "")]
        assert takers[:1] == [parser], name
    manifest = "apiVersion: v1\nkind: Service\n"
    assert [p.NAME for p in engine.PARSERS if p.takes(Path("svc.yaml"), manifest)] == ["kubernetes"]
    assert not any(
        p.takes(Path("chart/templates/svc.yaml"), manifest + "{{ .x }}") for p in engine.PARSERS
    )
    assert not any(p.takes(Path("other.xml"), "<beans/>") for p in engine.PARSERS)


runner = CliRunner()


def _cli(*args: str) -> tuple[int, str, str]:
    _register_commands(["audit"])
    result = runner.invoke(app, ["audit", *args])
    return result.exit_code, result.stdout, result.stderr


def test_cli_json_follows_the_audit_schema() -> None:
    code, out, _ = _cli(str(FIXTURES / "ch-bad"), "--format", "json")
    assert code == 1
    doc = json.loads(out)
    jsonschema.Draft202012Validator(AUDIT_SCHEMA).validate(doc)
    assert doc["schema"] == "leakmap.audit/1"
    required = {"id", "rule", "severity", "path", "line", "title", "remediation"}
    assert doc["findings"] and all(required <= set(f) for f in doc["findings"])
    assert doc["summary"]["severities"]["critical"] == 1


@pytest.mark.parametrize(("fail_on", "code"), [("critical", 1), ("none", 0)])
def test_cli_fail_on(fail_on: str, code: int) -> None:
    assert _cli(str(FIXTURES / "env-bad"), "--fail-on", fail_on)[0] == code
    assert _cli(str(FIXTURES / "env-good"), "--fail-on", "info")[0] == 0


def test_cli_sarif_validates_and_points_at_file_and_line() -> None:
    _, out, _ = _cli(str(FIXTURES / "tf-bad"), "--format", "sarif")
    log = json.loads(out)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    results = log["runs"][0]["results"]
    lines = sorted(r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results)
    assert lines == [9, 17, 26, 37, 44, 73]
    (rule,) = log["runs"][0]["tool"]["driver"]["rules"]
    assert rule["properties"]["security-severity"] == "8.0"
    assert rule["help"]["text"] == RULES["terraform.datastore-port-open-world"].remediation


@pytest.mark.parametrize("fmt", ["text", "jsonl", "md", "html"])
def test_cli_other_formats(fmt: str) -> None:
    code, out, _ = _cli(str(FIXTURES / "compose-bad"), "--format", fmt, "--fail-on", "none")
    assert code == 0 and "store" in out.lower()
    if fmt == "jsonl":
        lines = [json.loads(line) for line in out.splitlines()]
        for line in lines:
            jsonschema.Draft202012Validator(FINDING_SCHEMA).validate(line)
        assert len(lines) == len(BAD["compose-bad"])
        assert {line["schema"] for line in lines} == {"leakmap.audit/1"}


def test_cli_missing_path_is_exit_2() -> None:
    code, out, err = _cli(str(FIXTURES / "nope"))
    assert code == 2 and out == "" and err.count("\n") == 1 and "no such file" in err


def test_pre_commit_hook_runs_the_auditor_on_matching_files() -> None:
    import re
    import shlex
    import subprocess
    import sys

    import yaml

    root = Path(__file__).parents[3]
    hooks = {h["id"]: h for h in yaml.safe_load((root / ".pre-commit-hooks.yaml").read_text())}
    hook = hooks["leakmap-audit"]
    pattern = re.compile(hook["files"])
    argv = shlex.split(hook["entry"])
    assert argv[:2] == ["leakmap", "audit"]

    def run(directory: Path) -> int:
        files = [str(p) for p in sorted(directory.rglob("*")) if p.is_file()]
        files.append(str(root / "pyproject.toml"))  # a file no parser takes
        chosen = [f for f in files if pattern.search(f)] + [str(root / "README.md")]
        proc = subprocess.run(
            [sys.executable, "-m", "leakmap", *argv[1:], *chosen],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return proc.returncode

    assert run(FIXTURES / "compose-bad") == 1
    assert run(FIXTURES / "k8s-good") == 0


def test_inline_allow_marker_drops_only_the_named_rule(tmp_path: Path) -> None:
    compose = (FIXTURES / "compose-bad" / "docker-compose.yml").read_text(encoding="utf-8")
    lines = compose.splitlines()
    lines[6] += "  # leakmap:allow=deploy.datastore-port-published"  # line 7: "8123:8123"
    lines[4] += "  # leakmap:allow=deploy.store-*"  # line 5: a different rule: kept
    (tmp_path / "docker-compose.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = audit_paths([str(tmp_path)])
    got = {(f.rule, f.line) for f in result.findings}
    expected = {(rule, line) for rule, _, line, _ in BAD["compose-bad"]}
    assert got == expected - {("deploy.datastore-port-published", 7)}
    assert result.suppressed == 1
    unfiltered = audit_paths([str(tmp_path)], inline_allow=False)
    assert {(f.rule, f.line) for f in unfiltered.findings} == expected


def test_walk_skips_vcs_and_vendor_dirs(tmp_path: Path) -> None:
    for sub in (".git", "node_modules/pkg"):
        (tmp_path / sub).mkdir(parents=True)
        (tmp_path / sub / ".env").write_text("CLICKHOUSE_PASSWORD=\n", encoding="utf-8")
    assert audit_paths([str(tmp_path)]).files == []
    with pytest.raises(AuditInputError, match="standard input"):
        audit_paths(["-"])


def test_yaml_config_with_an_explicit_root_key(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        "clickhouse:\n  listen_host: '::'\n  remote_url_allow_hosts: {host: a}\n", encoding="utf-8"
    )
    result = audit_paths([str(tmp_path)])
    assert {(f.rule, f.line) for f in result.findings} == {("clickhouse-config.listen-wildcard", 2)}


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_baseline_drops_known_findings_and_keeps_new_ones(tmp_path: Path, fmt: str) -> None:
    """An earlier json or jsonl output is a baseline: the same findings (lines moved) are
    suppressed and counted; a new finding is still reported. Mutant caught: a baseline that
    is read but not applied leaves the known findings (exit 1, count unchanged)."""
    compose = (FIXTURES / "compose-bad" / "docker-compose.yml").read_text(encoding="utf-8")
    target = tmp_path / "deploy" / "docker-compose.yml"
    target.parent.mkdir()
    target.write_text(compose, encoding="utf-8")
    known = tmp_path / f"known.{fmt}"
    code, out, _ = _cli(str(target.parent), "-f", fmt, "-o", str(known))
    assert code == 1 and known.stat().st_size > 0
    total = len(BAD["compose-bad"])
    # the same file, every line moved down by two comment lines: nothing new
    target.write_text("# moved\n# down\n" + compose, encoding="utf-8")
    code, out, err = _cli(str(target.parent), "-f", "json", "--baseline", str(known))
    doc = json.loads(out)
    assert (code, doc["findings"], doc["summary"]["suppressed"]) == (0, [], total), err
    # a new finding: a second ClickHouse service publishing its native port
    extra = '  extra:\n    image: clickhouse/clickhouse-server\n    ports:\n      - "9000:9000"\n'
    target.write_text(compose.rstrip("\n") + "\n" + extra, encoding="utf-8")
    code, out, _ = _cli(str(target.parent), "-f", "json", "--baseline", str(known))
    doc = json.loads(out)
    assert code == 1 and doc["summary"]["suppressed"] == total
    assert [f["evidence"] for f in doc["findings"]] == [
        "extra: ports: 9000:9000 (ClickHouse native)"
    ]


def test_a_baseline_that_is_not_an_audit_output_is_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"path": "a", "rule": "r"}\n', encoding="utf-8")
    code, _, err = _cli(str(FIXTURES / "compose-bad"), "--baseline", str(bad))
    assert code == 2 and "has no path, rule and evidence" in err
