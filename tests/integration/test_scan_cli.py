"""`leakmap scan` end to end: a subprocess against real ClickHouse servers and decoys on loopback.

One scan per scenario (module-scoped), then assertions on its JSON / JSONL / table output:
the open server is found on 8123 and 9000 with auth ``none``; the password-protected one gets
``required`` and no data; the readonly profile shows ``file``/``write`` false; a decoy that
answers ``Ok.`` and misbehaving TCP servers on 9000 are not ClickHouse and do not break the
scan; ``--fail-on`` sets the exit code; targets come from stdin; every output validates
against the published schema; no planted raw secret appears in any output format.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import jsonschema
import pytest

from leakmap.lab.clickhouse import ClickHouseInstance
from leakmap.report.json import load_schema

from .servers import GarbageTcp, OkHttpDecoy

pytestmark = pytest.mark.integration

# Short timeouts keep the misbehaving servers (silent, flood) from slowing the suite.
FAST = ["--timeout", "1", "--read-timeout", "2", "--endpoint-timeout", "60", "--no-progress"]


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.stdout)
        return doc


def leakmap_scan(*args: str, stdin: str | None = None) -> Run:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "leakmap", "scan", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def validate_document(doc: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(load_schema()).validate(doc)


def validate_lines(text: str) -> list[dict[str, Any]]:
    schema = load_schema()
    validator = jsonschema.Draft202012Validator(
        {"$ref": "#/$defs/jsonlLine", "$defs": schema["$defs"]}
    )
    lines = [json.loads(line) for line in text.splitlines()]
    for line in lines:
        validator.validate(line)
    return lines


def by_port(doc: dict[str, Any], ip: str) -> dict[int, dict[str, Any]]:
    return {s["port"]: s for s in doc["services"] if s["ip"] == ip}


@pytest.fixture(scope="module")
def open_scan(ch_open: ClickHouseInstance) -> Run:
    return leakmap_scan(ch_open.ip, "--format", "json", *FAST)


def test_open_server_found_on_http_and_native(open_scan: Run, ch_open: ClickHouseInstance) -> None:
    assert open_scan.code == 0, open_scan.stderr
    doc = open_scan.json()
    validate_document(doc)
    services = by_port(doc, ch_open.ip)
    assert services[8123]["service"] == services[9000]["service"] == "clickhouse"
    assert (services[8123]["transport"], services[9000]["transport"]) == ("http", "native")
    assert services[8123]["auth"] == services[9000]["auth"] == "none"
    assert services[8123]["version"] == services[9000]["version"]
    assert (services[8123]["version"] or "").startswith("18.16")


def test_open_server_tables_rows_and_data(open_scan: Run, ch_open: ClickHouseInstance) -> None:
    assert ch_open.summary is not None
    http = by_port(open_scan.json(), ch_open.ip)[8123]
    tables = {f"{r['database']}.{r['table']}": r for r in http["resources"]}
    for name, rows in ch_open.summary.tables.items():
        assert tables[name]["rows"] == rows, name
    chat = {d["category"] for d in tables["chatbot.log_stream"]["data_findings"]}
    assert chat == {"secret", "pii", "chat", "infrastructure"}
    assert tables["analytics.page_views"]["data_findings"] == []


def test_open_server_findings(open_scan: Run, ch_open: ClickHouseInstance) -> None:
    findings = open_scan.json()["findings"]
    assert findings and findings[0]["severity"] == "critical"
    ranks = ["critical", "high", "medium", "low", "info"]
    assert [ranks.index(f["severity"]) for f in findings] == sorted(
        ranks.index(f["severity"]) for f in findings
    )
    assert len({f["id"] for f in findings}) == len(findings)


def test_password_server_is_required_without_data(ch_password: ClickHouseInstance) -> None:
    run = leakmap_scan(ch_password.ip, "--format", "json", *FAST)
    assert run.code == 0, run.stderr
    doc = run.json()
    validate_document(doc)
    services = by_port(doc, ch_password.ip)
    assert services[8123]["auth"] == services[9000]["auth"] == "required"
    assert all(s["resources"] == [] for s in services.values())


def test_readonly_profile_capabilities(ch_readonly: ClickHouseInstance) -> None:
    run = leakmap_scan(
        ch_readonly.ip, "--ports", "8123", "--format", "json", "--sample-rows", "7",
        "--disable", "pii.phone*", *FAST,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    doc = run.json()
    validate_document(doc)
    # the settings a later 'leakmap verify' re-uses
    assert doc["options"] == {
        "sample_rows": 7,
        "max_resources": 50_000,
        "max_sampled": 500,
        "try_default_credentials": False,
        "disabled_rules": ["pii.phone*"],
    }
    http = by_port(doc, ch_readonly.ip)[8123]
    assert http["auth"] == "none"
    assert http["capabilities"]["file"] is False
    assert http["capabilities"]["write"] is False


def test_decoys_are_not_clickhouse_and_the_scan_completes(
    decoy_ok_http: OkHttpDecoy, garbage_tcp_all: list[GarbageTcp], ch_open: ClickHouseInstance
) -> None:
    targets = [f"{decoy_ok_http.ip}:8123"] + [f"{g.ip}:9000" for g in garbage_tcp_all]
    # the open server in the same run proves the scan still finds what is there
    run = leakmap_scan(
        *targets, f"{ch_open.ip}:8123", "--format", "json", "--fail-on", "info", *FAST
    )
    doc = run.json()
    validate_document(doc)
    decoys = {decoy_ok_http.ip} | {g.ip for g in garbage_tcp_all}
    assert [s for s in doc["services"] if s["ip"] in decoys] == []
    assert [f for f in doc["findings"] if f["host"] in decoys] == []
    unrecognised = {p["ip"] for p in doc["open_ports"]}
    assert decoy_ok_http.ip in unrecognised
    assert by_port(doc, ch_open.ip)[8123]["auth"] == "none"
    assert run.code == 1  # the open server's findings reach --fail-on info


def test_fail_on_exit_codes(ch_open: ClickHouseInstance, decoy_ok_http: OkHttpDecoy) -> None:
    target = f"{ch_open.ip}:8123"
    assert leakmap_scan(target, "-q", "--format", "json", *FAST).code == 0
    assert leakmap_scan(target, "-q", "--format", "json", "--fail-on", "critical", *FAST).code == 1
    decoy = f"{decoy_ok_http.ip}:8123"
    assert leakmap_scan(decoy, "-q", "--format", "json", "--fail-on", "info", *FAST).code == 0


def test_targets_from_stdin_jsonl(ch_open: ClickHouseInstance) -> None:
    run = leakmap_scan(
        "-", "--ports", "9000", "--format", "jsonl", *FAST, stdin=f"# estate\n{ch_open.ip}\n"
    )
    assert run.code == 0, run.stderr
    lines = validate_lines(run.stdout)
    assert lines[0]["type"] == "scan" and lines[-1]["type"] == "summary"
    services = [line for line in lines if line["type"] == "service"]
    assert [(s["ip"], s["port"], s["auth"]) for s in services] == [(ch_open.ip, 9000, "none")]


def test_bad_input_exit_2_one_line() -> None:
    run = leakmap_scan("127.0.0.1", "--ports", "9000-80")
    assert run.code == 2
    assert run.stderr.strip().count("\n") == 0 and "Traceback" not in run.stderr


def test_no_raw_secret_in_any_output(ch_open: ClickHouseInstance, open_scan: Run) -> None:
    assert ch_open.summary is not None
    dataset = ch_open.summary.dataset
    raw = [s.value for s in dataset.secrets] + list(dataset.cards) + list(dataset.emails)
    assert len(raw) > 10
    jsonl = leakmap_scan(ch_open.ip, "--format", "jsonl", *FAST)
    table = leakmap_scan(ch_open.ip, *FAST)
    outputs = {
        "json": open_scan.stdout,
        "jsonl": jsonl.stdout,
        "table": table.stdout,
    }
    for name, text in outputs.items():
        assert "log_stream" in text, name  # the scan did reach the data
    outputs["stderr"] = open_scan.stderr + jsonl.stderr + table.stderr
    for name, text in outputs.items():
        leaked = [value[:6] + "…" for value in raw if value in text]
        assert leaked == [], f"raw values in the {name} output: {leaked}"
