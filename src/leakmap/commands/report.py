"""``leakmap report RESULT.json --format html|md|sarif``: render an earlier result.

Examples::

    leakmap scan HOST --format json -o result.json
    leakmap report result.json --format html -o report.html   # one self-contained page
    leakmap report result.json --format md -o disclosure.md   # to send to the owner
    leakmap report result.json --format sarif -o scan.sarif   # code scanning
    leakmap report audit.json --format html                   # an audit result too

Exit codes: 0 written, 2 bad input (an unreadable or malformed result file, a bad output
path): one line on stderr.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from leakmap.commands._common import OutputOption, fail, write_report
from leakmap.errors import UsageError

__all__ = ["FORMATS", "register", "report_command"]

FORMATS = ("html", "md", "sarif", "json", "text")


def report_command(
    result: Annotated[
        Path, typer.Argument(help="A --format json result of scan, audit or classify.")
    ],
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="html | md | sarif | json | text")
    ] = "html",
    output: OutputOption = None,
) -> None:
    """Render a saved result as HTML, Markdown (disclosure) or SARIF."""
    from leakmap.report.load import load_report

    try:
        write_report(output, output_format, FORMATS, lambda: load_report(result))
    except UsageError as exc:
        raise fail(exc) from None


def register(app: typer.Typer) -> None:
    """Add ``report`` to the app."""
    app.command("report", no_args_is_help=True)(report_command)
