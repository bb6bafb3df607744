"""``leakmap scan --input``: open ports from nmap (a real ``nmap -oX`` run), masscan (JSON and
list) and naabu (JSON lines) drive a scan to the same services and findings as leakmap's own
port scan of the same host."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from leakmap.lab.clickhouse import ClickHouseInstance

from .test_scan_cli import FAST, leakmap_scan

pytestmark = pytest.mark.integration

PORTS = (8123, 9000, 9009)


def _essence(doc: dict[str, Any]) -> tuple[list[Any], list[str]]:
    return doc["services"], sorted(f["id"] for f in doc["findings"])


@pytest.fixture(scope="module")
def own_scan(ch_open: ClickHouseInstance) -> dict[str, Any]:
    run = leakmap_scan(ch_open.ip, "--ports", ",".join(map(str, PORTS)), "--format", "json", *FAST)
    assert run.code == 0, run.stderr
    doc: dict[str, Any] = run.json()
    assert {s["port"] for s in doc["services"]} >= {8123, 9000}
    return doc


def _nmap_xml(ip: str, out: Path) -> str:
    if shutil.which("nmap") is None:
        pytest.skip("nmap not installed (scripts/bootstrap installs it)")
    subprocess.run(
        ["nmap", "-sT", "-n", "-Pn", "-p", ",".join(map(str, PORTS)), ip, "-oX", str(out)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out.read_text()


def _masscan_json(ip: str) -> str:
    records = [
        f'{{   "ip": "{ip}",   "timestamp": "1700000000", "ports": [ {{"port": {p}, '
        f'"proto": "tcp", "status": "open", "reason": "syn-ack", "ttl": 64}} ] }}'
        for p in PORTS
    ]
    return "[\n" + "\n,\n".join(records) + "\n]\n"


def _masscan_list(ip: str) -> str:
    return "#masscan\n" + "".join(f"open tcp {p} {ip} 1700000000\n" for p in PORTS) + "# end\n"


def _naabu(ip: str) -> str:
    return "".join(
        json.dumps({"host": ip, "ip": ip, "port": p, "protocol": "tcp", "tls": False}) + "\n"
        for p in PORTS
    )


@pytest.mark.parametrize("tool", ["nmap", "masscan-json", "masscan-list", "naabu"])
def test_tool_output_drives_the_same_scan(
    tool: str, ch_open: ClickHouseInstance, own_scan: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / f"{tool}.out"
    if tool == "nmap":
        text = _nmap_xml(ch_open.ip, path)
        assert "<nmaprun" in text and 'portid="8123"' in text
    else:
        text = {"masscan-json": _masscan_json, "masscan-list": _masscan_list, "naabu": _naabu}[
            tool
        ](ch_open.ip)
        path.write_text(text)
    run = leakmap_scan("--input", str(path), "--format", "json", *FAST)
    assert run.code == 0, run.stderr
    assert _essence(run.json()) == _essence(own_scan)


def test_input_from_stdin_and_excludes(ch_open: ClickHouseInstance) -> None:
    listed = "".join(f"{ch_open.ip}:{p}\n" for p in PORTS)
    run = leakmap_scan("--input", "-", "--format", "json", *FAST, stdin=listed)
    assert run.code == 0, run.stderr
    assert {s["port"] for s in run.json()["services"]} >= {8123, 9000}
    run = leakmap_scan(
        "--input", "-", "--format", "json", "--exclude", ch_open.ip, *FAST, stdin=listed
    )
    assert run.code == 0, run.stderr
    assert run.json()["services"] == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("this is not a scan\n", "format not recognised (understood: nmap XML (-oX)"),
        ("#masscan\n# end\n", "lists no open TCP port"),
    ],
)
def test_unrecognised_input_is_one_line_exit_2(content: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_text(content)
    run = leakmap_scan("--input", str(path))
    assert run.code == 2
    assert run.stderr.count("\n") == 1 and message in run.stderr
