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
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from leakmap.commands._common import DbOption, OutputOption, fail, write_report
from leakmap.errors import UsageError

if TYPE_CHECKING:
    from leakmap.findings import Finding
    from leakmap.inputs import ListedPort
    from leakmap.pipeline import ScanSummary
    from leakmap.report.model import Report
    from leakmap.services.base import ScanConfig

__all__ = ["FORMATS", "register", "rescan", "verify_command"]

FORMATS = ("text", "json", "md", "html", "sarif")


def verify_command(
    result: Annotated[str, typer.Argument(help="Earlier scan: report file or history id.")],
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="text | json | md | html | sarif")
    ] = "text",
    output: OutputOption = None,
    db: DbOption = None,
    no_history: Annotated[
        bool, typer.Option("--no-history", help="Do not record the re-scan.")
    ] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Connect timeout, s.")] = 2.0,
    read_timeout: Annotated[float, typer.Option("--read-timeout", help="Read timeout, s.")] = 5.0,
    endpoint_timeout: Annotated[
        float, typer.Option("--endpoint-timeout", help="Budget per endpoint, s.")
    ] = 300.0,
    sample_rows: Annotated[
        int | None,
        typer.Option(
            "--sample-rows",
            min=0,
            help="Rows sampled per table [default: the earlier scan's, or 200].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Re-check the endpoints of earlier findings: fixed, open or unknown."""
    from leakmap.commands.diff import load_run
    from leakmap.commands.scan import scan_options
    from leakmap.history.store import open_history, record
    from leakmap.history.verify import endpoints, verify_report, verify_status
    from leakmap.report.console import sanitize
    from leakmap.report.json import build_document
    from leakmap.report.load import scan_from_document

    statuses: list[tuple[str, Finding]] = []
    notes: list[str] = []

    def build() -> Report:
        if timeout <= 0 or read_timeout <= 0 or endpoint_timeout <= 0:
            raise UsageError("--timeout, --read-timeout and --endpoint-timeout must be positive")
        earlier = load_run(result, db)
        store, note = open_history(db, enabled=not no_history)
        config, disabled = recheck_config(earlier.options, timeout, read_timeout, sample_rows)
        summary = rescan(endpoints(earlier), config, endpoint_timeout, disabled)
        summary.options = scan_options(config, disabled)
        document = build_document(summary)
        now = scan_from_document(document, "re-scan")
        statuses.extend(verify_status(earlier.findings, now))
        notes.append(record(store, document, kind="verify", scope=f"verify {result}") or note)
        return verify_report(statuses, result)

    try:
        write_report(output, output_format, FORMATS, build)
    except UsageError as exc:
        raise fail(exc) from None
    except KeyboardInterrupt:
        typer.echo("leakmap: interrupted", err=True)
        raise typer.Exit(130) from None
    for note in notes:
        if note:
            typer.echo(f"leakmap: {sanitize(note, 300)}", err=True)
    raise typer.Exit(0 if all(s == "fixed" for s, _ in statuses) else 1)


def recheck_config(
    earlier: dict[str, Any], timeout: float, read_timeout: float, sample_rows: int | None
) -> tuple[ScanConfig, list[str]]:
    """The re-scan's settings: the earlier scan's (its report's ``options``: sampling bounds,
    default credentials, disabled rules), so a finding is compared like with like; the
    timeouts and an explicit ``--sample-rows`` are this command's."""
    from leakmap.services.base import ScanConfig

    base = ScanConfig()

    def number(key: str, default: int) -> int:
        value = earlier.get(key)
        return (
            value
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0
            else default
        )

    rows = sample_rows if sample_rows is not None else number("sample_rows", base.sample_rows)
    disabled = [str(r) for r in earlier.get("disabled_rules") or [] if isinstance(r, str)]
    config = ScanConfig(
        sample_rows=rows,
        connect_timeout=timeout,
        read_timeout=read_timeout,
        max_resources=number("max_resources", base.max_resources),
        max_sampled=number("max_sampled", base.max_sampled),
        try_default_credentials=earlier.get("try_default_credentials") is True,
    )
    return config, disabled


def rescan(
    targets: list[ListedPort],
    config: ScanConfig,
    endpoint_timeout: float,
    disabled: Sequence[str] = (),
) -> ScanSummary:
    """Scan exactly these endpoints (host, address, port), nothing else."""
    from leakmap.inputs import listed_targets
    from leakmap.pipeline import Pipeline, ScanSummary
    from leakmap.services.registry import default_ports, load_services
    from leakmap.targets import TargetSet, parse_exclusions, parse_ports

    summary = ScanSummary()
    if targets:
        classes = load_services()
        pipeline = Pipeline.create(
            [cls() for cls in classes.values()],
            config,
            endpoint_timeout=endpoint_timeout,
            disabled=disabled,
        )
        ports = parse_ports(None, defaults=default_ports(classes), services={})
        target_set = TargetSet(tuple(listed_targets(targets)), parse_exclusions([]))

        async def run() -> None:
            async for event in pipeline.run(target_set, ports):
                summary.add(event)

        asyncio.run(run())
    summary.finish()
    return summary


def register(app: typer.Typer) -> None:
    """Add ``verify`` to the app."""
    app.command("verify", no_args_is_help=True)(verify_command)
