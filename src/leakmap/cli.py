"""The ``leakmap`` command: one Typer app; each command is a thin function over the library.

Commands live in :mod:`leakmap.commands` (one module each, each with ``register(app)``).
Exit codes: 0 ok, 1 findings reached the threshold (``--fail-on`` / classify found
something), 2 usage error or a lab that cannot start (one line on stderr, no traceback).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib import import_module

import typer

from leakmap import __version__
from leakmap.errors import LeakmapError

__all__ = ["COMMAND_MODULES", "app", "main"]

app = typer.Typer(
    name="leakmap",
    help="Find exposed data stores in your own infrastructure and show what they leak (read-only).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"leakmap {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """leakmap: discover, fingerprint, prove access, sample, classify, report."""


#: command name -> the module that registers it. Only the module of the command being run is
#: imported (``leakmap classify`` must not pay for the scanner's and the lab's imports).
COMMAND_MODULES = {
    "scan": "leakmap.commands.scan",
    "classify": "leakmap.commands.classify",
    "discover": "leakmap.commands.discover",
    "lab": "leakmap.commands.lab",
    "ports": "leakmap.commands.ports",
    "worker": "leakmap.commands.worker",
    "report": "leakmap.commands.report",
    "audit": "leakmap.commands.audit",
    "history": "leakmap.commands.history",
    "diff": "leakmap.commands.diff",
    "verify": "leakmap.commands.verify",
}


def _register_commands(argv: Sequence[str] = ()) -> None:
    """Register the command named first in ``argv``, or every command (for help and errors)."""
    first = next((arg for arg in argv if not arg.startswith("-")), None)
    names = [first] if first in COMMAND_MODULES else list(COMMAND_MODULES)
    registered = {info.name for info in app.registered_commands}
    registered |= {info.name for info in app.registered_groups}
    for name in names:
        if name not in registered:
            import_module(COMMAND_MODULES[name]).register(app)


def main() -> None:
    _register_commands(sys.argv[1:])
    try:
        app()
    except LeakmapError as exc:
        print(f"leakmap: error: {exc}", file=sys.stderr)
        sys.exit(2)
