"""The history store (owner-only, redacted documents only, read back into the models),
diff statuses and verify statuses (unknown is never fixed)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.unit.report.hostile_scan import hostile_summary

from leakmap.findings import Finding, Severity
from leakmap.history.diff import diff_scans
from leakmap.history.store import HistoryError, HistoryStore, default_db_path, open_history
from leakmap.history.verify import endpoints, verify_document, verify_status
from leakmap.report.json import build_document
from leakmap.report.load import ScanResult, scan_from_document
from leakmap.services.base import AuthState, ServiceReport, Transport


def _doc() -> dict[str, object]:
    return build_document(hostile_summary())


def test_store_is_owner_only_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "history.sqlite3"
    old = os.umask(0o022)
    try:
        with HistoryStore(path) as store:
            run = store.add(_doc(), scope="db.internal")
            result = store.scan(run)
            (info,) = store.runs()
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert result.findings == hostile_summary().findings
    assert result.services == hostile_summary().services
    assert (info.id, info.kind, info.findings, info.severities["critical"]) == (run, "scan", 3, 2)


def test_existing_loose_file_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    path.touch(mode=0o644)
    path.chmod(0o644)
    HistoryStore(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("content", [b"not sqlite at all" * 100, None])
def test_bad_db_is_a_history_error(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "h.sqlite3"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    with pytest.raises(HistoryError, match=str(path)):
        HistoryStore(path)


def test_default_path_follows_xdg_and_failure_there_is_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_db_path() == tmp_path / "data" / "leakmap" / "history.sqlite3"
    (tmp_path / "blocker").write_text("", encoding="utf-8")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "blocker"))
    store, note = open_history(None)
    assert store is None and note.startswith("history not saved")
    assert open_history(None, enabled=False) == (None, "")
    with pytest.raises(HistoryError):
        open_history(tmp_path / "blocker" / "x.sqlite3")


def _finding(rule: str, resource: str | None = None, port: int = 8123) -> Finding:
    return Finding.make(
        rule=rule,
        severity=Severity.HIGH,
        host="h",
        port=port,
        service="clickhouse",
        title=rule,
        evidence="e",
        remediation="r",
        resource=resource,
    )


def _scan(findings: list[Finding], auth: dict[int, AuthState]) -> ScanResult:
    services = [
        ServiceReport(
            host="h",
            ip="127.0.0.9",
            port=port,
            service="clickhouse",
            transport=Transport.HTTP,
            auth=state,
        )
        for port, state in auth.items()
    ]
    return ScanResult(None, None, services, findings)


OPEN = _finding("clickhouse.open-access")
DATA = _finding("clickhouse.data.secret", resource="db.t")
OTHER = _finding("clickhouse.open-access", port=9000)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # unchanged server: everything open again
        (_scan([OPEN, DATA], {8123: AuthState.NONE}), {OPEN.id: "open", DATA.id: "open"}),
        # a password set: access refused, both fixed
        (_scan([], {8123: AuthState.REQUIRED}), {OPEN.id: "fixed", DATA.id: "fixed"}),
        # still open, another sample missed the data: unknown, not fixed
        (_scan([OPEN], {8123: AuthState.NONE}), {OPEN.id: "open", DATA.id: "unknown"}),
        # endpoint gone or undecided: unknown
        (_scan([], {}), {OPEN.id: "unknown", DATA.id: "unknown"}),
        (_scan([], {8123: AuthState.UNKNOWN}), {OPEN.id: "unknown", DATA.id: "unknown"}),
        (
            _scan([_finding("leakmap.assessment-incomplete")], {8123: AuthState.REQUIRED}),
            {OPEN.id: "unknown", DATA.id: "unknown"},
        ),
    ],
)
def test_verify_status(now: ScanResult, expected: dict[str, str]) -> None:
    assert {f.id: s for s, f in verify_status([OPEN, DATA], now)} == expected


DEFAULT_CRED = _finding("postgresql.default-credential")


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        # the re-scan tried the default credentials and none was accepted: fixed
        ({"try_default_credentials": True}, "fixed"),
        # it did not try them (or a report without options): the finding cannot be gone
        ({"try_default_credentials": False}, "unknown"),
        ({}, "unknown"),
    ],
)
def test_a_default_credential_is_fixed_only_when_tried_again(
    options: dict[str, object], expected: str
) -> None:
    now = _scan([], {8123: AuthState.REQUIRED})
    now.options = dict(options)
    assert verify_status([DEFAULT_CRED], now) == [(expected, DEFAULT_CRED)]


@pytest.mark.parametrize(
    ("earlier", "rows", "expected"),
    [
        (
            {
                "sample_rows": 7,
                "max_resources": 9,
                "max_sampled": 3,
                "try_default_credentials": True,
                "disabled_rules": ["pii.*"],
            },
            None,
            (7, 9, 3, True, ["pii.*"]),
        ),
        # an explicit --sample-rows wins; hostile or missing values fall back to defaults
        (
            {"sample_rows": -1, "max_resources": "x", "try_default_credentials": "yes"},
            5,
            (5, 50_000, 500, False, []),
        ),
        ({}, None, (200, 50_000, 500, False, [])),
    ],
)
def test_verify_rescans_with_the_earlier_scans_settings(
    earlier: dict[str, object], rows: int | None, expected: tuple[object, ...]
) -> None:
    from leakmap.commands.verify import recheck_config

    config, disabled = recheck_config(dict(earlier), 1.0, 2.0, rows)
    got = (
        config.sample_rows,
        config.max_resources,
        config.max_sampled,
        config.try_default_credentials,
        disabled,
    )
    assert got == expected
    assert (config.connect_timeout, config.read_timeout) == (1.0, 2.0)


def test_verify_probes_only_the_findings_endpoints() -> None:
    earlier = _scan(
        [OPEN, DATA, OTHER], {8123: AuthState.NONE, 9000: AuthState.NONE, 9009: AuthState.NONE}
    )
    assert [(e.host, e.ip, e.port) for e in endpoints(earlier)] == [
        ("h", "127.0.0.9", 8123),
        ("h", "127.0.0.9", 9000),
    ]


def test_diff_statuses() -> None:
    new = _finding("clickhouse.capability.file")
    a = _scan([OPEN, DATA, OTHER], {8123: AuthState.NONE, 9000: AuthState.NONE})
    b = _scan([DATA, new], {8123: AuthState.NONE})
    got = {c.finding.id: c.status for c in diff_scans(a, b)}
    assert got == {new.id: "new", DATA.id: "unchanged", OPEN.id: "fixed", OTHER.id: "unknown"}


def _leakmap(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leakmap", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def _validator(name: str) -> Any:
    """A validator for a published schema (``report/schema/NAME.json``), the others
    registered so that the ``$ref`` between the files resolve as they would for a user."""
    from importlib import resources

    import jsonschema
    from referencing import Registry, Resource

    base = resources.files("leakmap.report").joinpath("schema")
    loaded = {
        n: json.loads(base.joinpath(f"{n}.json").read_text("utf-8"))
        for n in ("scan-2", "verify-1", "diff-1")
    }
    for schema in loaded.values():
        jsonschema.Draft202012Validator.check_schema(schema)
    registry: Registry[Any] = Registry().with_resources(
        (str(s["$id"]), Resource.from_contents(s)) for s in loaded.values()
    )
    return jsonschema.Draft202012Validator(loaded[name], registry=registry)


def test_verify_document_follows_its_schema() -> None:
    now = _scan([OPEN], {8123: AuthState.NONE})
    document = verify_document(verify_status([OPEN, DATA, DEFAULT_CRED], now), "before.json")
    _validator("verify-1").validate(document)
    assert document["summary"] == {"open": 1, "unknown": 2, "fixed": 0}
    # the schema has teeth: a status from diff, or a finding without its id, is refused
    bad = json.loads(json.dumps(document))
    bad["findings"][0]["status"] = "new"
    assert list(_validator("verify-1").iter_errors(bad))
    del document["findings"][1]["id"]
    assert list(_validator("verify-1").iter_errors(document))


def test_cli_history_diff_and_export(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    with HistoryStore(db) as store:
        first = store.add(_doc(), scope="a")
        doc = _doc()
        doc["findings"] = doc["findings"][:1]  # type: ignore[index]
        second = store.add(doc, scope="b")
    listing = json.loads(_leakmap("history", "--db", str(db), "--format", "json").stdout)
    assert [r["id"] for r in listing["runs"]] == [second, first]
    text = _leakmap("history", "--db", str(db)).stdout
    assert "\x1b" not in text and f"{first}  scan" in text.replace("    ", " ")
    diff = _leakmap("diff", str(first), str(second), "--db", str(db), "--format", "json")
    assert diff.returncode == 0, diff.stderr
    _validator("diff-1").validate(json.loads(diff.stdout))
    statuses = sorted(f["status"] for f in json.loads(diff.stdout)["findings"])
    # kept: the data finding; gone: open-access at an assessed endpoint (fixed) and the CVE
    # finding on [::1]:9000, an endpoint the second run does not have (unknown)
    assert statuses == ["fixed", "unchanged", "unknown"]
    export = _leakmap("history", "export", str(first), "--db", str(db), "--format", "json")
    assert scan_from_document(json.loads(export.stdout)).findings == hostile_summary().findings
    for fmt in ("html", "md", "sarif", "text"):
        assert _leakmap("history", "export", str(first), "--db", str(db), "-f", fmt).returncode == 0
    saved = tmp_path / "diff.json"
    saved.write_text(diff.stdout, encoding="utf-8")
    page = _leakmap("report", str(saved), "--format", "md")
    assert (
        page.returncode == 0 and "## Fixed (1)" in page.stdout and "## Unchanged (1)" in page.stdout
    )
    missing = _leakmap("history", "export", "99", "--db", str(db))
    assert missing.returncode == 2 and "no run 99" in missing.stderr
    bad = _leakmap("diff", str(first), str(tmp_path / "none.json"), "--db", str(db))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
