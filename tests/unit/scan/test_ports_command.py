"""``leakmap ports``: only the port stage, one JSON object a line per open port, nothing else
on stdout; against real listeners on loopback."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner

from leakmap.commands import ports as ports_command

runner = CliRunner()


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    ports_command.register(app)

    @app.command("noop", hidden=True)
    def _noop() -> None:  # a second command keeps "ports" a sub-command
        """Nothing."""

    return app


@pytest.fixture
def listeners() -> Iterator[tuple[str, list[int]]]:
    """Two real listening sockets on one loopback address."""
    ip = "127.0.0.1"
    socks = []
    for _ in range(2):
        s = socket.socket()
        s.bind((ip, 0))
        s.listen(16)
        socks.append(s)
    try:
        yield ip, sorted(s.getsockname()[1] for s in socks)
    finally:
        for s in socks:
            s.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_one_json_object_per_open_port_and_nothing_else(
    cli: typer.Typer, listeners: tuple[str, list[int]]
) -> None:
    ip, open_ports = listeners
    spec = ",".join(map(str, [*open_ports, _free_port()]))
    result = runner.invoke(cli, ["ports", ip, "nowhere.invalid", "--ports", spec])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert sorted(json.loads(line)["port"] for line in lines) == open_ports
    assert all(json.loads(line) == {"ip": ip, "port": json.loads(line)["port"]} for line in lines)
    # the unresolved name is a note on stderr, never on stdout
    assert "nowhere.invalid" in result.stderr and "nowhere" not in result.stdout


def test_a_name_target_carries_its_host(cli: typer.Typer, listeners: tuple[str, list[int]]) -> None:
    _, open_ports = listeners
    result = runner.invoke(cli, ["ports", "localhost", "--ports", str(open_ports[0])])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert {"host": "localhost", "ip": "127.0.0.1", "port": open_ports[0]} in records


def test_excluded_address_is_not_probed(cli: typer.Typer, listeners: tuple[str, list[int]]) -> None:
    ip, open_ports = listeners
    result = runner.invoke(
        cli, ["ports", "127.0.0.0/30", "--ports", str(open_ports[0]), "--exclude", ip]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "excluded: 1" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ports", "127.0.0.0/8"], "--allow-large"),
        (["ports", "127.0.0.1", "--ports", "x"], "bad port"),
        (["ports", "127.0.0.1", "--rate", "0"], "--rate"),
        (["ports", "127.0.0.1", "--exclude", "@/nonexistent/list"], "cannot read"),
    ],
)
def test_bad_input_is_one_line_exit_2(cli: typer.Typer, args: list[str], message: str) -> None:
    result = runner.invoke(cli, args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("leakmap: error: ") and message in lines[0]
    assert result.stdout == ""
