"""``leakmap verify RESULT``: re-probe only the endpoints of the earlier findings and mark
each finding ``fixed``, ``open`` or ``unknown``.

RESULT is a ``--format json`` scan report or a history run id::

    leakmap scan db.internal --format json -o before.json
    # ... fix: set a password for 'default' ...
    leakmap verify before.json                     # fixed / open / unknown per finding
    leakmap verify before.json --format json       # each finding with a "status"

``unknown`` (endpoint unreachable, not recognised, access state undecided) is never
counted as fixed. The re-scan is recorded in the history (``--no-history`` to skip), so
``leakmap diff`` can compare it with the earlier run. Exit codes: 0 every finding fixed,
1 some finding open or unknown, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from leakmap.errors import UsageError

__all__ = ["FORMATS", "register", "verify_command"]

FORMATS = ("text", "json", "md", "html", "sarif")


def verify_command(
    result: Annotated[str, typer.Argument(help="Earlier scan: report file or history id.")],
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="text | json | md | html | sarif")
    ] = "text",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write to FILE ('-' = stdout).")
    ] = None,
    db: Annotated[Path | None, typer.Option("--db", help="History database.")] = None,
    no_history: Annotated[
        bool, typer.Option("--no-history", help="Do not record the re-scan.")
    ] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Connect timeout, s.")] = 2.0,
    read_timeout: Annotated[float, typer.Option("--read-timeout", help="Read timeout, s.")] = 5.0,
    endpoint_timeout: Annotated[
        float, typer.Option("--endpoint-timeout", help="Budget per endpoint, s.")
    ] = 300.0,
    sample_rows: Annotated[
        int, typer.Option("--sample-rows", min=0, help="Rows sampled per table.")
    ] = 200,
) -> None:
    """Re-check the endpoints of earlier findings: fixed, open or unknown."""
    from leakmap.commands.diff import load_run
    from leakmap.history.store import open_history, record
    from leakmap.history.verify import endpoints, verify_report, verify_status
    from leakmap.inputs import listed_targets
    from leakmap.pipeline import Pipeline, ScanSummary
    from leakmap.report.console import sanitize
    from leakmap.report.json import build_document
    from leakmap.report.load import scan_from_document
    from leakmap.report.output import check_output, write_output
    from leakmap.report.writers import writer_for
    from leakmap.services.base import ScanConfig
    from leakmap.services.registry import default_ports, load_services
    from leakmap.targets import TargetSet, parse_exclusions, parse_ports

    try:
        writer = writer_for(output_format, FORMATS)
        if timeout <= 0 or read_timeout <= 0 or endpoint_timeout <= 0:
            raise UsageError("--timeout, --read-timeout and --endpoint-timeout must be positive")
        check_output(output)
        earlier = load_run(result, db)
        store, note = open_history(db, enabled=not no_history)
        summary = ScanSummary()
        targets = endpoints(earlier)
        if targets:
            classes = load_services()
            config = ScanConfig(
                sample_rows=sample_rows, connect_timeout=timeout, read_timeout=read_timeout
            )
            pipeline = Pipeline.create(
                [cls() for cls in classes.values()], config, endpoint_timeout=endpoint_timeout
            )
            ports = parse_ports(None, defaults=default_ports(classes), services={})
            target_set = TargetSet(tuple(listed_targets(targets)), parse_exclusions([]))

            async def run() -> None:
                async for event in pipeline.run(target_set, ports):
                    summary.add(event)

            asyncio.run(run())
        summary.finish()
        document = build_document(summary)
        now = scan_from_document(document, "re-scan")
        statuses = verify_status(earlier.findings, now)
        write_output(output, writer(verify_report(statuses, result)))
        scope = f"verify {result}"
        note = record(store, document, kind="verify", scope=scope) or note
    except UsageError as exc:
        typer.echo(f"leakmap: error: {sanitize(exc, 500)}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        typer.echo("leakmap: interrupted", err=True)
        raise typer.Exit(130) from None
    if note:
        typer.echo(f"leakmap: {sanitize(note, 300)}", err=True)
    raise typer.Exit(0 if all(s == "fixed" for s, _ in statuses) else 1)


def register(app: typer.Typer) -> None:
    """Add ``verify`` to the app."""
    app.command("verify", no_args_is_help=True)(verify_command)
