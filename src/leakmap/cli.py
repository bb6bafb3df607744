"""The ``leakmap`` command: one Typer app; each command is a thin function over the library.

Commands live in :mod:`leakmap.commands` (one module each, each with ``register(app)``).
Exit codes: 0 ok, 1 findings reached the threshold (``--fail-on`` / classify found
something), 2 usage error or a lab that cannot start (one line on stderr, no traceback).
"""

from __future__ import annotations

import sys

import typer

from leakmap import __version__
from leakmap.errors import LeakmapError

__all__ = ["app", "main"]

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


def _register_commands() -> None:
    from leakmap.commands import classify, lab, scan

    for module in (scan, classify, lab):
        module.register(app)


def main() -> None:
    _register_commands()
    try:
        app()
    except LeakmapError as exc:
        print(f"leakmap: error: {exc}", file=sys.stderr)
        sys.exit(2)
