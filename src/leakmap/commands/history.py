"""``leakmap history``: the recorded scans; ``leakmap history export RUN``: one of them.

Examples::

    leakmap history                              # the last 50 runs
    leakmap history --format json
    leakmap history export 12 --format html -o run12.html

Every scan is recorded (``--no-history`` to skip) in ``--db PATH`` or the default database
in the user's data directory (``$XDG_DATA_HOME/leakmap/history.sqlite3``), owner-only.
Exit codes: 0 ok, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from leakmap.commands._common import DbOption, OutputOption, fail, write_report
from leakmap.errors import UsageError

if TYPE_CHECKING:
    from leakmap.history.store import HistoryStore
    from leakmap.report.model import Report

__all__ = ["EXPORT_FORMATS", "history_app", "register"]

EXPORT_FORMATS = ("json", "html", "md", "sarif", "text")

history_app = typer.Typer(
    name="history",
    help="List recorded scans; export one.",
    invoke_without_command=True,
    no_args_is_help=False,
    add_completion=False,
)


def _store(db: Path | None) -> HistoryStore:
    from leakmap.history.store import HistoryStore, default_db_path

    return HistoryStore(db or default_db_path())


@history_app.callback()
def history_list(
    ctx: typer.Context,
    db: DbOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Runs shown.")] = 50,
    output_format: Annotated[str, typer.Option("--format", "-f", help="text | json")] = "text",
) -> None:
    """List the recorded runs, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    from leakmap.report.console import sanitize

    try:
        if output_format not in ("text", "json"):
            raise UsageError(f"--format must be one of text|json, not {output_format!r}")
        with _store(db) as store:
            runs = store.runs(limit)
    except UsageError as exc:
        raise fail(exc) from None
    if output_format == "json":
        doc = {"schema": "leakmap.history/1", "runs": [r.as_dict() for r in runs]}
        typer.echo(json.dumps(doc, indent=2, ensure_ascii=True))
        return
    for run in runs:
        counts = ", ".join(f"{n} {s}" for s, n in run.severities.items() if n) or "none"
        typer.echo(
            f"{run.id:>5}  {run.kind:<6} {run.finished or run.started:<24}  "
            f"{run.services:>3} service(s)  {run.findings:>3} finding(s) ({counts})  "
            f"{sanitize(run.scope, 80)}"
        )
    if not runs:
        typer.echo("no runs recorded")


@history_app.command("export")
def history_export(
    run: Annotated[int, typer.Argument(help="Run id (see leakmap history).")],
    db: DbOption = None,
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="json | html | md | sarif | text")
    ] = "json",
    output: OutputOption = None,
) -> None:
    """Write one recorded run in any report format."""

    def build() -> Report:
        with _store(db) as store:
            return store.scan(run).report(scope=f"run {run}")

    try:
        write_report(output, output_format, EXPORT_FORMATS, build)
    except UsageError as exc:
        raise fail(exc) from None


def register(app: typer.Typer) -> None:
    """Add ``history`` to the app."""
    app.add_typer(history_app, name="history")
