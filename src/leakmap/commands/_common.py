"""What the report-writing commands share: the ``-o``/``--db`` options, the one-line
error, and "pick a writer, check the output path, build the report, write it"."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from leakmap.errors import UsageError

if TYPE_CHECKING:
    from leakmap.report.model import Report

__all__ = ["DbOption", "OutputOption", "fail", "write_report"]

OutputOption = Annotated[
    Path | None, typer.Option("-o", "--output", help="Write to FILE ('-' = stdout).")
]
DbOption = Annotated[
    Path | None, typer.Option("--db", help="History database (default: user data dir).")
]


def fail(exc: UsageError) -> typer.Exit:
    """Print ``exc`` as one terminal-safe line on stderr; the Exit(2) to raise."""
    from leakmap.report.console import sanitize

    typer.echo(f"leakmap: error: {sanitize(exc, 500)}", err=True)
    return typer.Exit(2)


def write_report(
    output: Path | None, fmt: str, formats: tuple[str, ...], build: Callable[[], Report]
) -> None:
    """Choose the writer (UsageError for a bad format) and check ``output`` before the
    work in ``build`` starts; then write the report."""
    from leakmap.report.output import check_output, write_output
    from leakmap.report.writers import writer_for

    writer = writer_for(fmt, formats)
    check_output(output)
    write_output(output, writer(build()))
