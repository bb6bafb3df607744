"""`leakmap lab up|status|down` through the CLI, against a temp state dir and a random address."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from leakmap.commands.lab import register
from leakmap.lab.clickhouse import ClickHouseInstance, pid_alive, server_binary_available
from leakmap.lab.control import lab_down, server_dir
from leakmap.lab.state import load_state

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not server_binary_available(), reason="clickhouse-server not installed (scripts/bootstrap)"
    ),
]


@pytest.fixture()
def cli() -> Callable[..., tuple[int, str, str]]:
    app = typer.Typer()
    register(app)

    @app.callback()
    def _root() -> None:
        """Test root so that `lab` stays a sub-command."""

    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, list(args))
        return result.exit_code, result.stdout, result.stderr

    return invoke


@pytest.fixture(scope="module")
def lab(
    tmp_path_factory: pytest.TempPathFactory, free_loopback: Callable[..., str]
) -> Iterator[tuple[Path, str]]:
    """A state dir and address for the module's lab; always torn down."""
    state_dir = tmp_path_factory.mktemp("labstate")
    ip = free_loopback()
    try:
        yield state_dir, ip
    finally:
        lab_down(state_dir)


def _post(ip: str, sql: str) -> str:
    with httpx.Client(timeout=10, trust_env=False) as client:
        resp = client.post(f"http://{ip}:8123/", content=sql.encode())
    assert resp.status_code == 200, resp.text
    return resp.text


def test_up_status_idempotent_down(
    cli: Callable[..., tuple[int, str, str]], lab: tuple[Path, str]
) -> None:
    state_dir, ip = lab
    started = time.monotonic()
    code, out, _ = cli("lab", "up", "--ip", ip, "--rows", "500", "--state-dir", str(state_dir))
    assert code == 0, out
    assert time.monotonic() - started < 60
    assert f"leakmap scan {ip}" in out
    state = load_state(state_dir)
    assert state is not None and state.ip == ip and state.rows == 500
    assert pid_alive(state.pid)
    # the deliberately exposed server: open, non-UTC, seeded
    assert _post(ip, "SELECT timezone()").strip() == "Asia/Shanghai"
    assert _post(ip, "SELECT count() FROM chatbot.log_stream").strip() == "500"
    assert _post(ip, "SELECT count() FROM analytics.page_views").strip() == "500"

    # idempotent: a second up keeps the one instance
    code, out, _ = cli("lab", "up", "--ip", ip, "--state-dir", str(state_dir))
    assert code == 0 and "already running" in out
    again = load_state(state_dir)
    assert again is not None and again.pid == state.pid

    code, out, _ = cli("lab", "status", "--state-dir", str(state_dir))
    assert code == 0 and "running" in out and ip in out and str(state.pid) in out

    code, out, _ = cli("lab", "down", "--state-dir", str(state_dir))
    assert code == 0 and "stopped" in out
    deadline = time.monotonic() + 10
    while pid_alive(state.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(state.pid)
    assert load_state(state_dir) is None
    assert not server_dir(state_dir).exists()
    with pytest.raises(httpx.TransportError):
        _post(ip, "SELECT 1")

    code, out, _ = cli("lab", "status", "--state-dir", str(state_dir))
    assert code == 0 and "stopped" in out
    code, out, _ = cli("lab", "down", "--state-dir", str(state_dir))
    assert code == 0 and "No lab" in out


def test_stale_state_is_replaced(
    cli: Callable[..., tuple[int, str, str]], lab: tuple[Path, str]
) -> None:
    state_dir, ip = lab
    code, out, _ = cli("lab", "up", "--ip", ip, "--rows", "50", "--state-dir", str(state_dir))
    assert code == 0, out
    first = load_state(state_dir)
    assert first is not None
    # the server dies behind our back (we started it: we end it by its pid)
    os.kill(first.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while pid_alive(first.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    code, out, _ = cli("lab", "status", "--state-dir", str(state_dir))
    assert "stopped" in out
    code, out, _ = cli("lab", "up", "--ip", ip, "--rows", "50", "--state-dir", str(state_dir))
    assert code == 0 and "Lab up" in out
    second = load_state(state_dir)
    assert second is not None and second.pid != first.pid
    assert _post(ip, "SELECT count() FROM chatbot.log_stream").strip() == "50"
    code, out, _ = cli("lab", "down", "--state-dir", str(state_dir))
    assert code == 0


def test_down_never_signals_a_foreign_pid(
    cli: Callable[..., tuple[int, str, str]], tmp_path: Path
) -> None:
    """A tampered lab.json pointing at another process must not get that process killed."""
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        outside = tmp_path / "outside"
        outside.mkdir()
        (tmp_path / "lab.json").write_text(
            json.dumps(
                {
                    "schema": "leakmap.lab/1",
                    "pid": victim.pid,
                    "ip": "127.0.7.1",
                    "http_port": 8123,
                    "native_port": 9000,
                    "interserver_port": 9009,
                    "dir": str(outside),
                    "config_file": str(outside / "config.xml"),
                    "rows": 1,
                    "seed": 1,
                    "timezone": "UTC",
                    "started": "2025-01-29T00:00:00Z",
                }
            )
        )
        code, _, _ = cli("lab", "down", "--state-dir", str(tmp_path))
        assert code == 0
        assert victim.poll() is None  # still running
        assert outside.exists()  # a directory named in the file is never deleted
    finally:
        victim.kill()
        victim.wait()


@pytest.mark.parametrize("ip", ["10.0.0.1", "0.0.0.0", "::1", "192.168.7.1", "example.org"])
def test_up_refuses_non_loopback(
    cli: Callable[..., tuple[int, str, str]], tmp_path: Path, ip: str
) -> None:
    code, _, err = cli("lab", "up", "--ip", ip, "--state-dir", str(tmp_path))
    assert code == 2
    assert re.fullmatch(r"leakmap: error: [^\n]+\n", err), err
    assert not (tmp_path / "lab.json").exists()


def test_real_entry_point_one_line_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "leakmap", "lab", "up", "--ip", "10.1.2.3", "--state-dir",
         str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "loopback" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_up_refuses_busy_ports(
    cli: Callable[..., tuple[int, str, str]], ch_open: ClickHouseInstance, tmp_path: Path
) -> None:
    ip = ch_open.ip
    code, _, err = cli("lab", "up", "--ip", ip, "--state-dir", str(tmp_path))
    assert code == 2 and "in use" in err
    assert not (tmp_path / "lab.json").exists()
