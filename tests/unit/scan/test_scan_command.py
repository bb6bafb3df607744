"""``leakmap scan`` through Typer's CliRunner: formats, exit codes, one-line usage errors.

The service plugin is replaced by a test double (the real ClickHouse plugin is exercised end
to end in tests/integration/test_scan_cli.py); the port scan and the double's probe go to a
real loopback server started here.
"""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import ClassVar

import jsonschema
import pytest
import typer
from typer.testing import CliRunner

from leakmap.commands import scan as scan_command
from leakmap.findings import Finding, Severity
from leakmap.net.bounded import read_bounded
from leakmap.report.json import load_schema
from leakmap.services.base import (
    AuthState,
    Endpoint,
    OpenPort,
    PreProbe,
    ScanContext,
    Service,
    ServiceReport,
    ServiceResult,
    Transport,
)


class _Greeter(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.sendall(b"FAKEDB 9.9\n")


@pytest.fixture(scope="module")
def fakedb_port() -> Iterator[int]:
    """A real threaded TCP server on 127.0.0.1 greeting with ``FAKEDB 9.9``."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Greeter)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _double(port: int) -> type[Service]:
    class FakeDbDouble:
        """Test double of a service plugin (FAKEDB greeting -> one HIGH finding)."""

        name: ClassVar[str] = "fakedb"
        default_ports: ClassVar[Mapping[int, str]] = {port: Transport.NATIVE}
        protocols: ClassVar[frozenset[str]] = frozenset({"banner"})
        url_schemes: ClassVar[Mapping[str, tuple[int, str]]] = {}
        capabilities: ClassVar[Mapping[str, str]] = {}

        def accepts(self, pre: PreProbe) -> bool:
            return pre.banner.startswith(b"FAKEDB ")

        async def fingerprint(self, open_port: OpenPort, ctx: ScanContext) -> Endpoint | None:
            reader, writer = await ctx.network.open_tcp(open_port.ip, open_port.port)
            try:
                data = await read_bounded(reader, 64, ctx.config.read_timeout)
            finally:
                writer.close()
            if not data.startswith(b"FAKEDB "):
                return None
            return Endpoint(
                open_port.host,
                open_port.ip,
                open_port.port,
                self.name,
                Transport.NATIVE,
                "greeting",
                data[7:].strip().decode(),
            )

        async def assess(self, endpoint: Endpoint, ctx: ScanContext) -> ServiceResult:
            report = ServiceReport.for_endpoint(
                endpoint, auth=AuthState.NONE, proof="FAKEDB greeting"
            )
            finding = Finding.make(
                rule="fakedb.open",
                severity=Severity.HIGH,
                host=endpoint.host,
                port=endpoint.port,
                service=self.name,
                title="FAKEDB without a password",
                evidence=f"greeting {endpoint.version}",
                remediation="Set a password.",
            )
            return ServiceResult(report, (finding,))

    return FakeDbDouble


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, fakedb_port: int) -> typer.Typer:
    double = _double(fakedb_port)
    monkeypatch.setattr(scan_command, "load_services", lambda: {"fakedb": double})
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test app holding only the scan command."""

    scan_command.register(app)
    return app


runner = CliRunner()


def _validate(doc: object) -> None:
    jsonschema.Draft202012Validator(load_schema()).validate(doc)


def test_scan_json_finds_the_service(cli: typer.Typer, fakedb_port: int) -> None:
    result = runner.invoke(cli, ["scan", "127.0.0.1", "--format", "json", "--no-progress"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    _validate(doc)
    assert [(s["port"], s["service"], s["version"], s["auth"]) for s in doc["services"]] == [
        (fakedb_port, "fakedb", "9.9", "none")
    ]
    assert [f["rule"] for f in doc["findings"]] == ["fakedb.open"]


@pytest.mark.parametrize(
    ("fail_on", "code"),
    [(None, 0), ("none", 0), ("critical", 0), ("high", 1), ("HIGH", 1), ("info", 1)],
)
def test_fail_on_exit_codes(cli: typer.Typer, fail_on: str | None, code: int) -> None:
    args = ["scan", "127.0.0.1", "--format", "json", "--quiet"]
    if fail_on is not None:
        args += ["--fail-on", fail_on]
    assert runner.invoke(cli, args).exit_code == code


def test_targets_from_stdin_and_jsonl_file(
    cli: typer.Typer, tmp_path: Path, fakedb_port: int
) -> None:
    out = tmp_path / "scan.jsonl"
    result = runner.invoke(
        cli,
        ["scan", "-", "--ports", "+1", "--format", "jsonl", "-o", str(out), "-q"],
        input="# estate\n127.0.0.1\n",
    )
    assert result.exit_code == 0, result.output
    schema = load_schema()
    line_validator = jsonschema.Draft202012Validator(
        {"$ref": "#/$defs/jsonlLine", "$defs": schema["$defs"]}
    )
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    for line in lines:
        line_validator.validate(line)
    assert [x["type"] for x in lines] == ["scan", "service", "finding", "summary"]
    assert lines[1]["port"] == fakedb_port


def test_table_output(cli: typer.Typer, fakedb_port: int) -> None:
    result = runner.invoke(cli, ["scan", f"127.0.0.1:{fakedb_port}", "-q"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "fakedb" in result.stdout and "FAKEDB without a password" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scan", "not a target!"], "not an address"),
        (["scan", "127.0.0.1:99999"], "out of range"),
        (["scan", "127.0.0.1", "--ports", "80-x"], "bad port"),
        (["scan", "-l", "/nonexistent/targets.txt"], "cannot read target file"),
        (["scan", "127.0.0.0/8"], "--allow-large"),
        (["scan", "127.0.0.1", "--format", "xml"], "--format"),
        (["scan", "127.0.0.1", "--fail-on", "severe"], "--fail-on"),
        (["scan", "127.0.0.1", "--rules", "/nonexistent/rules.yaml"], "rules.yaml"),
        (["scan", "127.0.0.1", "--disable", "no.such.rule"], "matches no rule"),
        (["scan", "127.0.0.1", "-o", "/nonexistent/dir/out.json"], "does not exist"),
        (["scan", "127.0.0.1", "--exclude", "127.0.0.1:80"], "--exclude"),
        (["scan", "127.0.0.1", "--sample-rows", "-1"], "--sample-rows"),
    ],
)
def test_bad_input_is_one_line_exit_2(cli: typer.Typer, args: list[str], message: str) -> None:
    result = runner.invoke(cli, args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("leakmap: error: ")
    assert message in lines[0]
    assert "Traceback" not in result.output


def test_unresolved_name_is_a_note_not_an_error(
    cli: typer.Typer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no DNS query leaves the machine: the system resolver is replaced by a test double
    from leakmap import targets
    from leakmap.net.dns import ResolutionError

    async def no_such_name(name: str) -> list[str]:
        raise ResolutionError(f"{name}: no address")

    monkeypatch.setattr(targets, "resolve_system", no_such_name)
    result = runner.invoke(cli, ["scan", "nowhere.internal", "127.0.0.1", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "not resolved: nowhere.internal" in result.stderr
    doc = json.loads(result.stdout)
    assert any("nowhere.internal" in n for n in doc["notes"]) and doc["services"]
