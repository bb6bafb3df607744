"""``leakmap audit PATH...``: the offline configuration auditor (no network).

Examples::

    leakmap audit /etc/clickhouse-server            # config.xml + config.d/ + users.xml + users.d/
    leakmap audit deploy/ --format sarif -o audit.sarif
    leakmap audit docker-compose.yml k8s/ values.yaml .env main.tf --fail-on critical
    leakmap audit deploy/ --baseline known.json     # only findings not in an earlier json/jsonl

Exit codes: 0 no finding reached ``--fail-on`` (default ``high``), 1 one did, 2 bad input
(a path that does not exist, a named file that does not parse or that no parser takes,
a bad output path): one line on stderr. Under a directory a file that does not parse is a
note and the other files are still audited.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from leakmap.commands._common import OutputOption, fail, write_report
from leakmap.errors import UsageError

if TYPE_CHECKING:
    from leakmap.report.model import Report

__all__ = ["FORMATS", "audit_command", "register"]

FORMATS = ("text", "json", "jsonl", "sarif", "md", "html")


def audit_command(
    paths: Annotated[
        list[str], typer.Argument(help="Config files or directories.", show_default=False)
    ],
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="text | json | jsonl | sarif | md | html")
    ] = "text",
    output: OutputOption = None,
    fail_on: Annotated[
        str,
        typer.Option("--fail-on", help="Exit 1 when a finding reaches SEVERITY (or 'none')."),
    ] = "high",
    skip_other: Annotated[
        bool,
        typer.Option(
            "--skip-other-files",
            help="Ignore named files no parser takes (for pre-commit), instead of exit 2.",
        ),
    ] = False,
    inline_allow: Annotated[
        bool,
        typer.Option(
            "--inline-allow/--no-inline-allow",
            help="Honour 'leakmap:allow[=RULE-GLOB,...]' comments on a finding's line.",
        ),
    ] = True,
    baseline: Annotated[
        Path | None,
        typer.Option(
            "--baseline",
            help="An earlier audit --format json or jsonl: its findings (same path, rule and "
            "evidence; lines may move) are known and not reported again.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Audit configuration for exposed data stores, offline.

    ClickHouse server configs, docker-compose files, Kubernetes manifests, Helm values,
    .env files and Terraform."""
    from leakmap.audit.engine import AuditResult, audit_paths, fails
    from leakmap.audit.report import SCHEMA, audit_report
    from leakmap.classify.suppress import load_baseline
    from leakmap.commands.scan import parse_fail_on
    from leakmap.report.console import sanitize

    result = AuditResult()

    def build() -> Report:
        known = (
            load_baseline(baseline, schema=SCHEMA, value="evidence")
            if baseline is not None
            else frozenset()
        )
        found = audit_paths(paths, skip_other=skip_other, inline_allow=inline_allow, baseline=known)
        result.findings, result.files, result.notes = found.findings, found.files, found.notes
        result.suppressed = found.suppressed
        return audit_report(found)

    try:
        threshold = parse_fail_on(fail_on)
        write_report(output, output_format, FORMATS, build)
    except UsageError as exc:
        raise fail(exc) from None
    if output is not None or output_format != "text":
        for note in result.notes:
            typer.echo(f"leakmap: {sanitize(note, 500)}", err=True)
    raise typer.Exit(1 if fails(result, threshold) else 0)


def register(app: typer.Typer) -> None:
    """Add ``audit`` to the app."""
    app.command("audit", no_args_is_help=True)(audit_command)
