"""``leakmap diff RUN_A RUN_B``: new, fixed, unchanged (and unknown) findings.

A run is a history id (``leakmap history``) or a ``--format json`` report file::

    leakmap diff 3 4
    leakmap diff before.json after.json --format md -o changes.md

A finding missing from RUN_B is ``fixed`` only when RUN_B assessed its endpoint and decided
its access state; otherwise ``unknown``. Exit codes: 0 no new finding, 1 new findings,
2 bad input (one line on stderr).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from leakmap.commands._common import DbOption, OutputOption, fail, write_report
from leakmap.errors import UsageError

if TYPE_CHECKING:
    from leakmap.report.load import ScanResult
    from leakmap.report.model import Report

__all__ = ["FORMATS", "diff_command", "load_run", "register"]

FORMATS = ("text", "json", "md", "html", "sarif")


def load_run(ref: str, db: Path | None) -> ScanResult:
    """A history run id (digits, not an existing file) or a report file, as a ScanResult."""
    from leakmap.history.store import HistoryStore, default_db_path
    from leakmap.report.load import load_scan

    if ref.isdigit() and not Path(ref).exists():
        with HistoryStore(db or default_db_path()) as store:
            return store.scan(int(ref))
    return load_scan(Path(ref))


def diff_command(
    run_a: Annotated[str, typer.Argument(help="Earlier run: history id or report file.")],
    run_b: Annotated[str, typer.Argument(help="Later run: history id or report file.")],
    db: DbOption = None,
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="text | json | md | html | sarif")
    ] = "text",
    output: OutputOption = None,
) -> None:
    """Compare two scans: new, fixed and unchanged findings."""
    from leakmap.history.diff import Change, diff_report, diff_scans

    changes: list[Change] = []

    def build() -> Report:
        changes.extend(diff_scans(load_run(run_a, db), load_run(run_b, db)))
        return diff_report(changes, run_a, run_b)

    try:
        write_report(output, output_format, FORMATS, build)
    except UsageError as exc:
        raise fail(exc) from None
    raise typer.Exit(1 if any(c.status == "new" for c in changes) else 0)


def register(app: typer.Typer) -> None:
    """Add ``diff`` to the app."""
    app.command("diff")(diff_command)
