"""HTML, Markdown and SARIF from a scan full of hostile strings; the same from a saved
result through ``leakmap report``; bad result files are one-line errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from leakmap.cli import _register_commands, app
from leakmap.report.json import build_document, dumps
from leakmap.report.load import ResultFileError, load_report, load_scan
from leakmap.report.markdown import md
from leakmap.report.model import Report, scan_report
from leakmap.report.writers import WRITERS, writer_for
from leakmap.services.clickhouse.rules import RULES

from .hostile_scan import MD_LINK, XSS_TABLE, hostile_summary

SARIF_SCHEMA = json.loads(
    (Path(__file__).parents[2] / "data" / "sarif-schema-2.1.0.json").read_text("utf-8")
)


def _report() -> Report:
    summary = hostile_summary()
    return scan_report(
        summary.findings,
        summary.services,
        notes=summary.notes,
        document=build_document(summary),
        generated=summary.finished,
    )


def test_html_escapes_every_server_string_and_loads_nothing() -> None:
    page = WRITERS["html"](_report())
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;script&gt;document.title=" in page
    for tag in ("<img", "<script", "<link", "<iframe", "<object", "<base"):
        assert tag not in page.lower()
    assert not re.search(r"<[^>]*\s(src|srcset|action|formaction|on\w+)\s*=", page)
    assert "\x1b" not in page and "\\x1b[2J" in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert 'href="javascript' not in page  # a non-https reference is text, not a link
    assert 'href="https://nvd.nist.gov/vuln/detail/CVE-2024-6873"' in page
    assert '<svg id="severity-chart"' in page
    for title in (RULES["clickhouse.open-access"].title, RULES["clickhouse.data.secret"].title):
        assert title in page
    assert RULES["clickhouse.data.secret"].remediation.split(",")[0] in page


def test_html_without_autoescape_would_be_caught() -> None:
    """The mutant: the same template rendered with autoescape off lets the tag through."""
    from leakmap.report import html

    mutant = html._environment().overlay(autoescape=False, cache_size=0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(html, "_environment", lambda: mutant)
        assert "<img src=x onerror=alert(1)>" in html.render_html(_report())
    assert "<img src=x" not in html.render_html(_report())


def test_markdown_is_disclosure_ready_and_escaped() -> None:
    text = WRITERS["md"](_report())
    for section in (
        "## Summary",
        "## Affected endpoints",
        "**Evidence**",
        "**Steps to fix:**",
        "**How to verify the fix:**",
        "leakmap verify",
    ):
        assert section in text
    assert "<img" not in text and "<script" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert MD_LINK not in text and md(MD_LINK) in text
    assert "\x1b" not in text
    assert "javascript:alert(1)>" not in text  # never an autolink


def test_md_escape() -> None:
    assert md("a|b*c_d`e<f>&[g](h)") == r"a\|b\*c\_d\`e&lt;f&gt;&amp;\[g\](h)"
    assert md("x\ny\x1b") == r"x\\x0ay\\x1b"


def test_scan_sarif_validates_with_catalogue_metadata() -> None:
    log = json.loads(WRITERS["sarif"](_report()))
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    run = log["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    meta = RULES["clickhouse.open-access"]
    assert rules[meta.id]["help"]["text"] == meta.remediation
    assert rules[meta.id]["defaultConfiguration"]["level"] == "error"
    assert rules["clickhouse.known-cves"]["properties"]["security-severity"] == "5.5"
    uris = [
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]
    ]
    assert uris == ["clickhouse://db.internal:8123"] * 2 + ["clickhouse://[::1]:9000"]
    (open_access,) = [r for r in run["results"] if r["ruleId"] == "clickhouse.open-access"]
    # raised from the rule's high to critical for this finding
    assert open_access["properties"]["security-severity"] == "9.5"
    assert {r["partialFingerprints"]["leakmapFindingId/v1"] for r in run["results"]} == {
        f.id for f in hostile_summary().findings
    }


def test_writer_registry_names() -> None:
    assert set(WRITERS) == {"json", "jsonl", "sarif", "md", "html", "text"}
    assert writer_for("markdown") is WRITERS["md"]
    with pytest.raises(Exception, match=r"--format must be one of html\|md"):
        writer_for("pdf", ("html", "md"))


def test_saved_result_reads_back_into_the_same_models(tmp_path: Path) -> None:
    summary = hostile_summary()
    path = tmp_path / "result.json"
    path.write_text(dumps(build_document(summary)), encoding="utf-8")
    loaded = load_scan(path)
    assert loaded.findings == summary.findings
    assert loaded.services == summary.services
    assert load_report(path).items == _report().items


runner = CliRunner()


def _cli(*args: str) -> tuple[int, str, str]:
    _register_commands(["report"])
    result = runner.invoke(app, ["report", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("fmt", ["html", "md", "sarif", "json", "text"])
def test_report_command_renders_a_saved_scan(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "result.json"
    path.write_text(dumps(build_document(hostile_summary())), encoding="utf-8")
    code, out, err = _cli(str(path), "--format", fmt)
    assert code == 0, err
    assert out == WRITERS[fmt](load_report(path))
    if fmt in ("html", "md"):
        assert XSS_TABLE not in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"schema": "leakmap.scan/1",\n "findings": [}', "line 2: not JSON"),
        ("[1, 2]", 'not a leakmap report (no "schema" field)'),
        ('{"schema": "other/1"}', "unknown report schema"),
        ('{"schema": "leakmap.scan/1", "findings": [{"id": 1}]}', "not a valid scan report"),
        ("\xff\xfe", "not UTF-8"),
    ],
)
def test_bad_result_file_is_one_line_exit_2(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content.encode("latin-1"))
    code, out, err = _cli(str(path), "--format", "md")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err and str(path) in err
    with pytest.raises(ResultFileError):
        load_report(path)


def test_missing_result_file(tmp_path: Path) -> None:
    code, _, err = _cli(str(tmp_path / "none.json"))
    assert code == 2 and "cannot read" in err


def test_code_span_cannot_be_broken_out_of() -> None:
    from leakmap.report.markdown import code

    assert code("a`b\nc") == "`a'b\\x0ac`"


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_classify_writes_md_and_html_through_the_shared_writers(tmp_path: Path, fmt: str) -> None:
    import secrets
    import string
    import subprocess
    import sys

    token = "ghp_" + "".join(
        secrets.choice(string.ascii_letters + string.digits) for _ in range(36)
    )
    src = tmp_path / "app.log"
    src.write_text(f"deploy key {token} <img src=x onerror=alert(1)>\n", encoding="utf-8")
    run = [sys.executable, "-m", "leakmap", "classify", str(src), "--format", fmt]
    proc = subprocess.run(run, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1, proc.stderr
    assert token not in proc.stdout and token[:12] not in proc.stdout.replace(token[:8], "")
    assert "GitHub personal access token" in proc.stdout
    assert "app.log" in proc.stdout
    refused = subprocess.run(
        [*run, "--show-secrets"], capture_output=True, text=True, timeout=60, check=False
    )
    assert refused.returncode == 2 and token not in refused.stdout + refused.stderr


def test_scan_catalogue_reads_every_plugins_catalogue(monkeypatch: pytest.MonkeyPatch) -> None:
    from leakmap.findings import Severity
    from leakmap.report import catalogue
    from leakmap.services.common.catalogue import Catalogue, rule
    from leakmap.services.registry import load_services

    class Fake:
        name = "fakestore"
        catalogue = Catalogue(
            "fakestore", [rule("fakestore.open-access", Severity.HIGH, "open", "close it")]
        )

    monkeypatch.setattr(
        "leakmap.services.registry.load_services", lambda: {**load_services(), "fakestore": Fake}
    )
    catalogue.scan_catalogue.cache_clear()
    try:
        found = catalogue.scan_catalogue()
        assert found["fakestore.open-access"].remediation == "close it"
        assert found["fakestore.data.secret"].severity is Severity.CRITICAL
        assert "clickhouse.open-access" in found and "leakmap.assessment-incomplete" in found
    finally:
        catalogue.scan_catalogue.cache_clear()
