"""Against a real lab ClickHouse: the HTML report in headless Chromium, and scan -> fix ->
verify -> diff.

* A table named ``<img src=x onerror=alert(1)>`` (and one whose onerror would mark the
  page) is created on the server; the scan's HTML report, loaded by Chromium (Debian's
  package, sandboxed flags as in the project notes, a fresh profile, no network), shows
  the findings and the names as text: no ``<img>`` element exists and nothing marked the
  page. The screenshot is written to ``docs/report-screenshot.png`` when
  ``LEAKMAP_UPDATE_SCREENSHOT=1``.
* ``verify`` on the unchanged server marks nothing fixed; after a password is set for
  ``default`` the open-access finding is ``fixed``; ``diff`` of the scan and the
  verification run lists it under ``fixed``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import jsonschema
import pytest

from leakmap.lab.clickhouse import ClickHouseInstance

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
XSS = "<img src=x onerror=alert(1)>"
MARKER = "<img src=x onerror=document.body.setAttribute('data-pwned',1)>"
DOCS = Path(__file__).parents[2] / "docs"
SARIF_SCHEMA = json.loads(
    (Path(__file__).parents[1] / "data" / "sarif-schema-2.1.0.json").read_text("utf-8")
)


def _leakmap(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leakmap", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        stdin=subprocess.DEVNULL,
        env=env,
    )


def _chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM, "chromium is not installed (scripts/deps/apt/report.txt)"
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=3000",
            *extra,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def lab(ch_factory: Callable[..., ClickHouseInstance]) -> ClickHouseInstance:
    ch = ch_factory(seed_rows=50)
    for name in (XSS, MARKER):
        quoted = name.replace("\\", "\\\\").replace("`", "\\`")
        ch.admin_query(f"CREATE TABLE default.`{quoted}` (message String) ENGINE = Log")
        ch.admin_query(f"INSERT INTO default.`{quoted}` VALUES ('hello')")
    return ch


def _scan(lab: ClickHouseInstance, db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _leakmap(
        "scan",
        lab.ip,
        "--ports",
        str(lab.http_port),
        "-q",
        "--db",
        str(db),
        "--sample-rows",
        "20",
        *args,
    )


def test_html_report_renders_in_chromium_without_running_server_strings(
    lab: ClickHouseInstance, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    proc = _scan(lab, tmp_path / "h.sqlite3", "--format", "html", "-o", str(page))
    assert proc.returncode == 0, proc.stderr
    html = page.read_text(encoding="utf-8")
    assert "&lt;img src=x onerror=alert(1)&gt;" in html

    dom = _chromium(page, tmp_path / "profile-dom", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    text = dom.stdout
    assert "ClickHouse accepts the default user without a password" in text
    assert 'class="mono resource-name">default.&lt;img src=x onerror=alert(1)&gt;<' in text
    assert "<img" not in text.lower()  # no element was made from a server string
    assert "data-pwned" not in text.replace("data-pwned',1", "")  # the marker never ran
    assert "document.body.setattribute" not in text.lower().replace(
        "onerror=document.body.setattribute", ""
    )

    shot = tmp_path / "shot.png"
    proc = _chromium(
        page,
        tmp_path / "profile-shot",
        f"--screenshot={shot}",
        "--window-size=1280,1400",
        "--hide-scrollbars",
    )
    assert proc.returncode == 0 and shot.stat().st_size > 10_000, proc.stderr[-2000:]
    sarif = _scan(lab, tmp_path / "h.sqlite3", "--format", "sarif")
    assert sarif.returncode == 0, sarif.stderr
    log = json.loads(sarif.stdout)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in log["runs"][0]["results"]
    }
    assert uris == {f"clickhouse://{lab.ip}:{lab.http_port}"}
    if os.environ.get("LEAKMAP_UPDATE_SCREENSHOT") == "1":
        DOCS.mkdir(exist_ok=True)
        shutil.copyfile(shot, DOCS / "report-screenshot.png")


def _statuses(out: str) -> dict[str, str]:
    doc = json.loads(out)
    assert doc["schema"] == "leakmap.verify/1"
    return {f["rule"] + "|" + (f["resource"] or ""): f["status"] for f in doc["findings"]}


def _set_password(lab: ClickHouseInstance, password: str) -> None:
    lab.password = password
    lab.users_file.write_text(lab.users_xml(), encoding="utf-8")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the server reloads users.xml by itself
        answer = httpx.get(lab.http_url, params={"query": "SELECT 1"}, timeout=5)
        if answer.status_code != 200:
            return
        time.sleep(0.5)
    raise AssertionError("the server did not reload users.xml")


def test_scan_fix_verify_diff(lab: ClickHouseInstance, tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    result = tmp_path / "before.json"
    proc = _scan(lab, db, "--format", "json", "-o", str(result))
    assert proc.returncode == 0, proc.stderr
    findings = json.loads(result.read_text(encoding="utf-8"))["findings"]
    assert "clickhouse.open-access" in {f["rule"] for f in findings}
    assert oct(db.stat().st_mode & 0o777) == "0o600"

    # Unchanged server: nothing is fixed.
    unchanged = _leakmap("verify", str(result), "--format", "json", "--db", str(db))
    assert unchanged.returncode == 1, unchanged.stderr
    statuses = _statuses(unchanged.stdout)
    assert "fixed" not in statuses.values()
    assert statuses["clickhouse.open-access|"] == "open"

    _set_password(lab, "fixed-" + os.urandom(8).hex())
    fixed = _leakmap("verify", str(result), "--format", "json", "--db", str(db))
    statuses = _statuses(fixed.stdout)
    assert statuses["clickhouse.open-access|"] == "fixed"
    assert "open" not in {s for k, s in statuses.items() if "clickhouse.data." in k}

    runs = json.loads(_leakmap("history", "--db", str(db), "--format", "json").stdout)["runs"]
    assert [r["kind"] for r in runs] == ["verify", "verify", "scan"]
    first, last = runs[-1]["id"], runs[0]["id"]
    diff = _leakmap("diff", str(first), str(last), "--db", str(db), "--format", "json")
    assert diff.returncode == 0, diff.stderr
    changes = {f["rule"]: f["status"] for f in json.loads(diff.stdout)["findings"]}
    assert changes["clickhouse.open-access"] == "fixed"
    text = _leakmap("diff", str(result), str(last), "--db", str(db)).stdout
    assert "fixed" in text and "clickhouse.open-access" in text

    raw = db.read_bytes()
    assert lab.password is not None and lab.password.encode() not in raw
    assert lab.summary is not None
    dataset = lab.summary.dataset
    planted = [s.value for s in dataset.secrets] + list(dataset.emails) + list(dataset.cards)
    assert planted
    for value in planted:
        assert value.encode() not in raw, "a sampled value reached the history in the clear"
