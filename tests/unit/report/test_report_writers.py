"""JSON and JSONL writers against the published schema; console escaping of hostile text."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from rich.console import Console

from leakmap.findings import Finding, Severity
from leakmap.pipeline import Note, ScanEvent, ScanSummary, ServiceFound, Unidentified
from leakmap.report.console import ScanProgress, render_summary, sanitize, where
from leakmap.report.json import (
    SCHEMA,
    atomic_write_text,
    build_document,
    dumps,
    load_schema,
    read_document,
    service_dict,
    write_json,
)
from leakmap.report.jsonl import JsonlWriter
from leakmap.services.base import (
    AuthState,
    Capabilities,
    Column,
    DataCategory,
    DataFinding,
    OpenPort,
    Resource,
    ServiceReport,
    ServiceResult,
    Transport,
)

HOSTILE_VERSION = "18.16.1\x1b[2J\x1b]0;pwned\x07"
HOSTILE_TABLE = "[bold red]log_stream[/bold red]\u202e"


def _result(version: str = "18.16.1", table: str = "log_stream") -> ServiceResult:
    report = ServiceReport(
        host="db.internal",
        ip="127.0.0.2",
        port=8123,
        service="clickhouse",
        transport=Transport.HTTP,
        version=version,
        auth=AuthState.NONE,
        resources=(
            Resource(
                database="chatbot",
                table=table,
                engine="MergeTree",
                rows=1_000_000,
                columns=(Column(name="message", type="String"),),
                data_findings=(
                    DataFinding(
                        category=DataCategory.SECRET,
                        rule="secret.openai.project-key",
                        count=12,
                        example="sk-proj-…#8f3a1c",
                    ),
                ),
                sampled_rows=200,
            ),
            Resource(database="analytics", table="page_views", engine=None, rows=None),
        ),
        capabilities=Capabilities.of(
            file=True, url=None, remote=False, write=True, ddl=None, s3=False
        ),
        proof="SELECT version(), A * B answered with the exact product",
        notes=("pre-RBAC server",),
    )
    findings = (
        Finding.make(
            rule="clickhouse.open-access",
            severity=Severity.CRITICAL,
            host="db.internal",
            port=8123,
            service="clickhouse",
            title="default user without a password",
            evidence="SELECT 1 answered as default",
            remediation="Set a password.",
        ),
        Finding.make(
            rule="clickhouse.known-cves",
            severity=Severity.HIGH,
            host="db.internal",
            port=8123,
            service="clickhouse",
            resource=f"chatbot.{table}",
            title="known CVEs",
            evidence=version,
            remediation="Upgrade.",
            references=("https://nvd.nist.gov/vuln/detail/CVE-2024-6873",),
        ),
    )
    return ServiceResult(report, findings)


def _summary(result: ServiceResult | None = None) -> ScanSummary:
    summary = ScanSummary(started=datetime(2026, 11, 26, 2, 0, tzinfo=UTC))
    summary.add(ServiceFound(result or _result()))
    summary.add(Unidentified(OpenPort("127.0.0.3", "127.0.0.3", 9000)))
    summary.add(Note("not resolved: x.internal: no address"))
    summary.finished = datetime(2026, 11, 26, 2, 0, 3, 500000, tzinfo=UTC)
    return summary


def _validator(ref: str | None = None) -> jsonschema.Draft202012Validator:
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    if ref is not None:
        schema = {"$ref": ref, "$defs": schema["$defs"]}
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def test_json_document_matches_the_contract() -> None:
    doc = build_document(_summary())
    _validator().validate(doc)
    assert doc["schema"] == SCHEMA == "leakmap.scan/2"
    assert doc["started"] == "2026-11-26T02:00:00.000Z"
    assert doc["finished"] == "2026-11-26T02:00:03.500Z"
    (service,) = doc["services"]
    assert list(service)[:9] == [
        "host",
        "ip",
        "port",
        "service",
        "transport",
        "version",
        "auth",
        "resources",
        "capabilities",
    ]
    # capabilities: the names the plugin declared, flat
    assert service["capabilities"] == {
        "file": True,
        "url": None,
        "remote": False,
        "write": True,
        "ddl": None,
        "s3": False,
    }
    assert service["resources"][0]["data_findings"][0]["example"] == "sk-proj-…#8f3a1c"
    assert [f["severity"] for f in doc["findings"]] == ["critical", "high"]
    assert doc["findings"][1]["resource"] == "chatbot.log_stream"
    assert doc["findings"][0]["resource"] is None
    assert doc["open_ports"] == [{"host": "127.0.0.3", "ip": "127.0.0.3", "port": 9000}]
    assert doc["stats"]["severities"]["critical"] == 1


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("services", 0, "auth"), "secure"),
        (("services", 0, "transport"), ""),
        (("services", 0, "proof"), None),  # auth none needs its proof
        (("services", 0, "resources", 0, "kind"), ""),
        (("services", 0, "port"), 0),
        (("services", 0, "capabilities", "file"), "yes"),
        (("services", 0, "capabilities", "s3"), 1),
        (("services", 0, "resources", 0, "rows"), -1),
        (("services", 0, "resources", 0, "data_findings", 0, "category"), "password"),
        (("findings", 0, "severity"), "severe"),
        (("schema",), "leakmap.scan/1"),
        (("started",), "yesterday"),
    ],
)
def test_schema_rejects_broken_documents(path: tuple[str | int, ...], value: Any) -> None:
    doc = build_document(_summary())
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        _validator().validate(doc)


@pytest.mark.parametrize(
    "missing", ["host", "ip", "port", "service", "transport", "version", "auth", "capabilities"]
)
def test_schema_requires_service_fields(missing: str) -> None:
    doc = build_document(_summary())
    del doc["services"][0][missing]
    with pytest.raises(jsonschema.ValidationError):
        _validator().validate(doc)


def test_report_reads_back_into_the_same_models_exactly() -> None:
    summary = _summary()
    doc = json.loads(dumps(build_document(summary)))
    services, findings, ports = read_document(doc)
    assert services == summary.services
    assert findings == summary.findings
    assert ports == summary.open_ports
    assert services[0].resources[0].name == "chatbot.log_stream"
    assert services[0].resources[0].kind == "table"
    # the fields scripts already read keep their names
    res = doc["services"][0]["resources"][0]
    assert {"database", "table", "rows", "data_findings"} <= set(res)
    assert set(res["data_findings"][0]) == {"category", "rule", "count", "example"}


def test_read_document_refuses_another_schema() -> None:
    doc = build_document(_summary())
    doc["schema"] = "leakmap.scan/1"
    with pytest.raises(ValueError, match=r"leakmap\.scan/2"):
        read_document(doc)


def test_json_output_is_ascii_and_escapes_control_characters() -> None:
    out = io.StringIO()
    write_json(_summary(_result(version=HOSTILE_VERSION, table=HOSTILE_TABLE)), out)
    text = out.getvalue()
    assert text.isascii()
    assert "\x1b" not in text and "\x07" not in text
    doc = json.loads(text)
    _validator().validate(doc)
    assert doc["services"][0]["version"] == HOSTILE_VERSION  # lossless, just escaped


def test_atomic_write(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old", encoding="utf-8")
    write_json(_summary(), target)
    assert json.loads(target.read_text(encoding="utf-8"))["schema"] == SCHEMA
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]

    # a failure half-way leaves the old file and no temporary behind
    with pytest.raises(TypeError):
        atomic_write_text(target, 42)  # type: ignore[arg-type]
    assert json.loads(target.read_text(encoding="utf-8"))["schema"] == SCHEMA
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_jsonl_lines_validate_and_stream_in_order() -> None:
    out = io.StringIO()
    writer = JsonlWriter(out)
    summary = ScanSummary(started=datetime(2026, 11, 26, tzinfo=UTC))
    writer.start(summary)
    events: list[ScanEvent] = [
        Note("not resolved: x.internal: no address"),
        ServiceFound(_result()),
        Unidentified(OpenPort("127.0.0.3", "127.0.0.3", 9000)),
    ]
    for event in events:
        summary.add(event)
        writer.event(event)
    summary.finish()
    writer.finish(summary)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    validator = _validator("#/$defs/jsonlLine")
    for line in lines:
        validator.validate(line)
        assert line["schema"] == SCHEMA
    assert [line["type"] for line in lines] == [
        "scan",
        "note",
        "service",
        "finding",
        "finding",
        "open_port",
        "summary",
    ]
    assert lines[3]["severity"] == "critical"
    assert lines[2] == {"schema": SCHEMA, "type": "service", **service_dict(_result().report)}
    assert lines[-1]["services"] == 1 and lines[-1]["findings"] == 2


@pytest.mark.parametrize(
    "line",
    [
        {"schema": SCHEMA, "type": "service"},
        {"schema": SCHEMA, "type": "bogus"},
        {"type": "scan", "started": "2026-11-26T00:00:00Z"},
        {"schema": SCHEMA, "type": "summary", "finished": "2026-11-26T00:00:00Z"},
    ],
)
def test_jsonl_schema_rejects(line: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        _validator("#/$defs/jsonlLine").validate(line)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain 18.16.1", "plain 18.16.1"),
        ("\x1b[2J", "\\x1b[2J"),
        ("a\x07b\rc\nd\x00", "a\\x07b\\x0dc\\x0ad\\x00"),
        ("\x9b31m", "\\x9b31m"),
        ("abc\u202edef", "abc\\u202edef"),
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("[bold]x[/bold]", "[bold]x[/bold]"),
        ("ünïcödé ok", "ünïcödé ok"),
    ],
)
def test_sanitize(raw: str, expected: str) -> None:
    assert sanitize(raw) == expected


def test_sanitize_bounds_length() -> None:
    assert len(sanitize("x" * 10_000, limit=50)) == 50


def test_console_neutralises_hostile_server_strings() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, color_system="truecolor", width=200)
    summary = _summary(_result(version=HOSTILE_VERSION, table=HOSTILE_TABLE))
    render_summary(summary, console)
    out = buffer.getvalue()
    assert "\x1b[2J" not in out and "\x1b]0;" not in out and "\x07" not in out
    assert "\u202e" not in out
    assert "\\x1b[2J" in out
    # markup from the server is printed literally, not interpreted
    plain = Console(file=io.StringIO(), width=200, no_color=True)
    render_summary(summary, plain)
    text = plain.file.getvalue()  # type: ignore[attr-defined]
    assert "[bold red]log_stream[/bold red]" in text
    assert "critical" in text and "sk-proj-…#8f3a1c" in text
    assert "127.0.0.3:9000" in text  # the unrecognised open port is listed
    assert "1 service(s), 2 finding(s)" in text


def test_progress_is_silent_off_a_terminal() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False)
    with ScanProgress(console, enabled=True) as bar:
        bar.update(ServiceFound(_result()))
    assert buffer.getvalue() == ""


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [("127.0.0.2", 8123, "127.0.0.2:8123"), ("::1", 9000, "[::1]:9000"), ("db", 1, "db:1")],
)
def test_where(host: str, port: int, expected: str) -> None:
    assert where(host, port) == expected
