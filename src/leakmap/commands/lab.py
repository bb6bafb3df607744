"""`leakmap lab up|status|down`: the deliberately exposed demo ClickHouse, on loopback only.

A thin layer over :mod:`leakmap.lab.control`. ``up`` starts Debian's clickhouse-server on
127.0.7.1 (``--ip``; anything outside 127.0.0.0/8 is refused) with no password, seeds it with
synthetic AI-chat logs and prints what to scan next; running it twice keeps one instance.
``down`` stops it by pid and removes its data. ``status`` shows running/stopped.
Errors print one line on stderr and exit 2.

Example::

    $ leakmap lab up
    Lab up: ClickHouse on 127.0.7.1 (HTTP 8123, native 9000), no password, 1000 chat-log rows
    Next: leakmap scan 127.0.7.1
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from leakmap.errors import LabError
from leakmap.lab.control import DEFAULT_LAB_IP, lab_down, lab_status, lab_up
from leakmap.lab.seed import ANALYTICS_DB, ANALYTICS_TABLE, CHAT_DB, CHAT_TABLE, DEFAULT_ROWS
from leakmap.lab.state import LabState, default_state_dir

__all__ = ["down", "lab_app", "register", "status", "up"]

lab_app = typer.Typer(
    name="lab",
    help="The demo lab: a deliberately exposed ClickHouse on a loopback address.",
    no_args_is_help=True,
)

StateDirOption = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        help="Where the lab keeps its state and data (default: $XDG_STATE_HOME/leakmap/lab).",
    ),
]


def _state_dir(value: Path | None) -> Path:
    return value if value is not None else default_state_dir(os.environ)


def _fail(exc: LabError) -> typer.Exit:
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    print(f"leakmap: error: {message}", file=sys.stderr)
    return typer.Exit(2)


def _describe(console: Console, state: LabState) -> None:
    console.print(
        f"  ClickHouse on [bold]{state.ip}[/]: HTTP {state.http_port}, native "
        f"{state.native_port}, interserver {state.interserver_port}"
    )
    console.print(f"  user [bold]default[/], [bold red]no password[/]; timezone {state.timezone}")
    console.print(f"  {CHAT_DB}.{CHAT_TABLE}: {state.rows} rows of synthetic AI-chat logs")
    console.print(f"  {ANALYTICS_DB}.{ANALYTICS_TABLE}: {state.rows} harmless rows")
    console.print(f"  data in {state.dir}")


@lab_app.command()
def up(
    ip: Annotated[
        str, typer.Option("--ip", help="Loopback address (127.0.0.0/8) to use.")
    ] = DEFAULT_LAB_IP,
    rows: Annotated[int, typer.Option("--rows", help="Rows of chat logs to seed.")] = DEFAULT_ROWS,
    state_dir: StateDirOption = None,
) -> None:
    """Start and seed the lab (idempotent), then print what to scan."""
    console = Console(highlight=False)
    try:
        with console.status("Starting the lab ClickHouse and seeding it..."):
            result = lab_up(_state_dir(state_dir), ip=ip, rows=rows)
    except LabError as exc:
        raise _fail(exc) from None
    state = result.state
    if result.started:
        console.print("[bold green]Lab up[/]: deliberately exposed, loopback only.")
    else:
        console.print(f"[bold]Lab already running[/] (pid {state.pid}): nothing to do.")
    _describe(console, state)
    console.print(f"Next: [bold cyan]leakmap scan {state.ip}[/]")
    console.print("Stop it: leakmap lab down")


@lab_app.command()
def status(
    state_dir: StateDirOption = None,
) -> None:
    """Show whether the lab runs, where, and with what."""
    console = Console(highlight=False)
    try:
        st = lab_status(_state_dir(state_dir))
    except LabError as exc:
        raise _fail(exc) from None
    colour = {"running": "green", "unresponsive": "yellow", "stopped": "red"}[st.status]
    table = Table(title="leakmap lab", show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row("status", f"[{colour}]{st.status}[/]")
    if st.state is not None and st.status != "stopped":
        s = st.state
        table.add_row("address", s.ip)
        table.add_row("ports", f"HTTP {s.http_port}, native {s.native_port}, "
                      f"interserver {s.interserver_port}")  # fmt: skip
        table.add_row("pid", str(s.pid))
        table.add_row("rows", str(s.rows))
        table.add_row("timezone", str(s.timezone))
        table.add_row("started", s.started.isoformat(timespec="seconds"))
        table.add_row("data", str(s.dir))
    console.print(table)
    if st.status == "stopped":
        console.print("Start it: leakmap lab up")
    else:
        console.print(f"Scan it: leakmap scan {st.state.ip if st.state else DEFAULT_LAB_IP}")


@lab_app.command()
def down(
    state_dir: StateDirOption = None,
) -> None:
    """Stop the lab (by pid) and remove its data."""
    console = Console(highlight=False)
    try:
        previous = lab_down(_state_dir(state_dir))
    except LabError as exc:
        raise _fail(exc) from None
    if previous is None:
        console.print("No lab was running.")
    else:
        console.print(f"Lab on {previous.ip} stopped (pid {previous.pid}); data removed.")


def register(app: typer.Typer) -> None:
    """Add ``leakmap lab`` to the app."""
    app.add_typer(lab_app, name="lab")
