"""`leakmap scan`: port scan -> fingerprint -> access -> enumerate -> sample -> classify -> report.

A thin layer over :mod:`leakmap.targets`, :mod:`leakmap.pipeline` and :mod:`leakmap.report`.
Bad input (a target, a target file, a port list, a rule file, an option value) prints one
line on stderr and exits 2; ``--fail-on SEVERITY`` exits 1 when a finding reaches it.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.text import Text

from leakmap.distributed import (
    BROKER_ENV,
    DEFAULT_VISIBILITY_TIMEOUT,
    DEFAULT_WORKER_WAIT,
    Patience,
    ShardsMissed,
    check_broker,
    make_app,
    read_rules,
    run_distributed,
)
from leakmap.errors import UsageError
from leakmap.findings import Severity
from leakmap.history.store import open_history, record
from leakmap.inputs import FORMATS as INPUT_FORMATS
from leakmap.inputs import ListedPorts, listed_targets, read_input
from leakmap.net.dns import Resolver
from leakmap.net.portscan import PortScanner
from leakmap.net.rate import RateLimiter
from leakmap.pipeline import Note, Pipeline, ScanEvent, ScanSummary, fails
from leakmap.report.console import ScanProgress, render_summary, sanitize
from leakmap.report.json import build_document, write_json
from leakmap.report.jsonl import JsonlWriter
from leakmap.report.model import scan_report
from leakmap.report.output import check_output, open_output, write_output
from leakmap.report.writers import writer_for
from leakmap.services.base import ScanConfig, Service
from leakmap.services.registry import default_ports, load_services
from leakmap.targets import (
    DEFAULT_MAX_HOSTS,
    TargetSet,
    collect_targets,
    parse_exclusions,
    parse_ports,
    resolve_targets,
)

__all__ = ["FORMATS", "parse_fail_on", "register", "run_scan", "scan", "write_scan_output"]

FORMATS = ("table", "json", "jsonl", "html", "md", "sarif")


def parse_fail_on(value: str | None) -> Severity | None:
    """``--fail-on`` value -> Severity (``none`` or absent: never fail)."""
    if value is None or value.strip().lower() in ("", "none", "never"):
        return None
    try:
        return Severity(value.strip().lower())
    except ValueError:
        names = "|".join(s.value for s in Severity)
        raise UsageError(f"--fail-on must be one of {names}|none, not {value!r}") from None


async def run_scan(
    pipeline: Pipeline,
    targets: TargetSet,
    ports: tuple[int, ...],
    *,
    progress: ScanProgress,
    jsonl: JsonlWriter | None = None,
    show_notes: bool = True,
    notes: Sequence[str] = (),
    source: AsyncIterator[ScanEvent] | None = None,
) -> ScanSummary:
    """Run the pipeline, feeding the progress bar and the JSONL stream as events come
    (``notes``, e.g. from discovery, come first)."""
    summary = ScanSummary()
    if jsonl is not None:
        jsonl.start(summary)

    async def events() -> AsyncGenerator[ScanEvent, None]:
        for message in notes:
            yield Note(message)
        async for event in source if source is not None else pipeline.run(targets, ports):
            yield event

    try:
        async for event in events():
            summary.add(event)
            progress.update(event)
            if jsonl is not None:
                jsonl.event(event)
            if show_notes and isinstance(event, Note):
                progress.note(event)
    finally:
        summary.finish()
    if jsonl is not None:
        jsonl.finish(summary)
    return summary


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise UsageError(message)


def scan(
    targets: list[str] | None = typer.Argument(  # noqa: B008
        None,
        help="IP, hostname, host:port, \\[v6]:port, CIDR or URL; '-' reads targets from stdin.",
        show_default=False,
    ),
    target_files: list[str] | None = typer.Option(  # noqa: B008
        None, "-l", "--list", help="File with one target a line ('-' = stdin; '#' comments)."
    ),
    domain: list[str] | None = typer.Option(  # noqa: B008
        None,
        "--domain",
        "-d",
        help="Discover the names under DOMAIN (wordlist, AXFR, --ct-file) and scan them "
        "(repeatable).",
    ),
    resolver: list[str] | None = typer.Option(  # noqa: B008
        None, "--resolver", help="DNS server IP[:PORT] for names (repeatable; default: system's)."
    ),
    wordlist: str | None = typer.Option(
        None, "--wordlist", help="--domain: labels to try, one a line (replaces the bundled list)."
    ),
    ct_file: list[str] | None = typer.Option(  # noqa: B008
        None, "--ct-file", help="--domain: CT names, crt.sh JSON or one a line (repeatable)."
    ),
    no_axfr: bool = typer.Option(False, "--no-axfr", help="--domain: no zone-transfer attempt."),
    ns_port: int = typer.Option(53, "--ns-port", help="--domain: port of the name servers."),
    follow_out_of_scope: bool = typer.Option(
        False,
        "--follow-out-of-scope",
        help="--domain: also scan names CNAMEd outside the domains (never --exclude'd ones).",
    ),
    distributed: bool = typer.Option(
        False, "--distributed", help="Run the scan on Celery workers (leakmap worker)."
    ),
    broker: str | None = typer.Option(
        None,
        "--broker",
        help="--distributed: Redis URL, e.g. redis://:PASSWORD@10.0.0.5:6379/0 "
        f"(or ${BROKER_ENV}).",
        show_default=False,
    ),
    shard_size: int = typer.Option(
        16, "--shard-size", help="--distributed: addresses per shard (one task each)."
    ),
    visibility_timeout: int = typer.Option(
        DEFAULT_VISIBILITY_TIMEOUT,
        "--visibility-timeout",
        help="--distributed: seconds before a dead worker's shard is run again.",
    ),
    worker_wait: float = typer.Option(
        DEFAULT_WORKER_WAIT,
        "--worker-wait",
        help="--distributed: give up when no worker takes a shard or answers for this long.",
    ),
    stall_timeout: float | None = typer.Option(
        None,
        "--stall-timeout",
        help="--distributed: give up when no shard finishes for this long "
        "[default: 2 x --visibility-timeout + 60].",
        show_default=False,
    ),
    input_file: str | None = typer.Option(
        None,
        "--input",
        "-i",
        help="Open ports found by another tool ('-' = stdin): nmap XML, masscan JSON or list, "
        "naabu JSON lines, host:port lines. Skips leakmap's own port scan.",
    ),
    ports: str | None = typer.Option(
        None,
        "--ports",
        "-p",
        help="Ports: 8123,9000-9010 or service names; '+LIST' adds to the default set.",
    ),
    exclude: list[str] | None = typer.Option(  # noqa: B008
        None,
        "--exclude",
        help="Address, network or name not to scan, or @FILE with one a line (repeatable).",
    ),
    max_hosts: int | None = typer.Option(
        None,
        "--max-hosts",
        help=f"Refuse targets expanding beyond this many addresses "
        f"(default {DEFAULT_MAX_HOSTS}; none with --allow-large).",
        show_default=False,
    ),
    allow_large: bool = typer.Option(
        False, "--allow-large", help="Allow networks larger than a /16 (streamed, not listed)."
    ),
    rate: float | None = typer.Option(
        None, "--rate", help="At most N new connections a second, overall (default: no cap)."
    ),
    sample_rows: int = typer.Option(200, "--sample-rows", help="Rows sampled per table."),
    no_sample: bool = typer.Option(False, "--no-sample", help="Enumerate, but sample no rows."),
    output_format: str = typer.Option(
        "table", "--format", "-f", help="table | json | jsonl | html | md | sarif"
    ),
    output: Path | None = typer.Option(  # noqa: B008
        None, "-o", "--output", help="Write the report to FILE (a regular file atomically)."
    ),
    fail_on: str | None = typer.Option(
        None, "--fail-on", help="Exit 1 when a finding reaches SEVERITY (critical..info)."
    ),
    timeout: float = typer.Option(2.0, "--timeout", help="Connect timeout, seconds."),
    read_timeout: float = typer.Option(5.0, "--read-timeout", help="Read timeout, seconds."),
    endpoint_timeout: float = typer.Option(
        300.0, "--endpoint-timeout", help="Overall budget per endpoint, seconds."
    ),
    concurrency: int = typer.Option(256, "--concurrency", help="Parallel connections, total."),
    per_host: int = typer.Option(32, "--per-host", help="Parallel connections per address."),
    max_resources: int = typer.Option(
        50_000,
        "--max-resources",
        "--max-tables",
        help="Resources (tables, keys, indices, ...) listed per endpoint.",
    ),
    max_sampled: int = typer.Option(
        500,
        "--max-sampled",
        help="Resources sampled per endpoint: leak-suggesting names first, then the largest.",
    ),
    rules: list[Path] | None = typer.Option(  # noqa: B008
        None, "--rules", help="Extra classifier rule file (repeatable)."
    ),
    disable: list[str] | None = typer.Option(  # noqa: B008
        None, "--disable", help="Classifier rule id (or glob) to disable (repeatable)."
    ),
    try_default_credentials: bool = typer.Option(
        False,
        "--try-default-credentials",
        help="Where anonymous access is refused, try the short documented list of default "
        "credentials (at most 3 per endpoint; an accepted one is reported by user only).",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar, no notes."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar."),
    db: Path | None = typer.Option(  # noqa: B008
        None, "--db", help="History database (default: in the user's data directory)."
    ),
    no_history: bool = typer.Option(False, "--no-history", help="Do not record this scan."),
) -> None:
    """Scan targets for exposed data stores and show what they leak (read-only)."""
    try:
        code = _scan(
            targets=targets or [],
            target_files=target_files or [],
            domains=domain or [],
            resolvers=resolver or [],
            wordlist=wordlist,
            ct_files=ct_file or [],
            axfr=not no_axfr,
            ns_port=ns_port,
            follow_out_of_scope=follow_out_of_scope,
            distributed=distributed,
            broker=broker,
            shard_size=shard_size,
            visibility_timeout=visibility_timeout,
            patience=Patience(worker_wait=worker_wait, stall=stall_timeout),
            input_file=input_file,
            ports=ports,
            exclude=exclude or [],
            max_hosts=max_hosts,
            allow_large=allow_large,
            rate=rate,
            sample_rows=0 if no_sample else sample_rows,
            output_format=output_format,
            output=output,
            fail_on=fail_on,
            timeout=timeout,
            read_timeout=read_timeout,
            endpoint_timeout=endpoint_timeout,
            concurrency=concurrency,
            per_host=per_host,
            max_resources=max_resources,
            max_sampled=max_sampled,
            rules=rules or [],
            disable=disable or [],
            try_default_credentials=try_default_credentials,
            quiet=quiet,
            progress=not (quiet or no_progress),
            db=db,
            history=not no_history,
        )
    except UsageError as exc:
        typer.echo(f"leakmap: error: {exc}", err=True)
        raise typer.Exit(2) from None
    except OSError as exc:  # writing the report (-o) failed after the checks above
        where = f" {exc.filename}" if exc.filename else ""
        typer.echo(f"leakmap: error: cannot write{where}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        typer.echo("leakmap: interrupted", err=True)
        raise typer.Exit(130) from None
    raise typer.Exit(code)


def _scan(
    *,
    targets: list[str],
    target_files: list[str],
    domains: list[str],
    resolvers: list[str],
    wordlist: str | None,
    ct_files: list[str],
    axfr: bool,
    ns_port: int,
    follow_out_of_scope: bool,
    distributed: bool,
    broker: str | None,
    shard_size: int,
    visibility_timeout: int,
    patience: Patience,
    input_file: str | None,
    ports: str | None,
    exclude: list[str],
    max_hosts: int | None,
    allow_large: bool,
    rate: float | None,
    sample_rows: int,
    output_format: str,
    output: Path | None,
    fail_on: str | None,
    timeout: float,
    read_timeout: float,
    endpoint_timeout: float,
    concurrency: int,
    per_host: int,
    max_resources: int,
    max_sampled: int,
    rules: list[Path],
    disable: list[str],
    quiet: bool,
    progress: bool,
    db: Path | None = None,
    history: bool = False,
    try_default_credentials: bool = False,
) -> int:
    fmt = output_format.strip().lower()
    _check(fmt in FORMATS, f"--format must be one of {'|'.join(FORMATS)}, not {output_format!r}")
    threshold = parse_fail_on(fail_on)
    _check(sample_rows >= 0, "--sample-rows must be 0 or more")
    _check(max_hosts is None or max_hosts >= 1, "--max-hosts must be at least 1")
    _check(rate is None or rate > 0, "--rate must be positive")
    if max_hosts is None and not allow_large:
        max_hosts = DEFAULT_MAX_HOSTS
    _check(timeout > 0 and read_timeout > 0, "--timeout and --read-timeout must be positive")
    _check(endpoint_timeout > 0, "--endpoint-timeout must be positive")
    _check(concurrency >= 1 and per_host >= 1, "--concurrency and --per-host must be at least 1")
    _check(max_resources >= 0, "--max-resources must be 0 or more")
    _check(max_sampled >= 0, "--max-sampled must be 0 or more")
    check_output(output)
    store, history_note = open_history(db, enabled=history)

    classes = load_services()
    port_map = default_ports(classes)
    named = {name: list(cls.default_ports) for name, cls in classes.items()}
    port_list = parse_ports(ports, defaults=port_map, services=named)
    scanner: PortScanner
    pre_notes: list[str] = []
    celery_app = None
    if distributed:
        broker = broker or os.environ.get(BROKER_ENV, "")
        _check(bool(broker), f"--distributed needs --broker URL or {BROKER_ENV}")
        _check(input_file is None, "--input cannot be combined with --distributed")
        _check(shard_size >= 1, "--shard-size must be at least 1")
        _check(visibility_timeout >= 1, "--visibility-timeout must be at least 1 second")
        _check(
            patience.worker_wait > 0 and (patience.stall is None or patience.stall > 0),
            "--worker-wait and --stall-timeout must be positive",
        )
        assert broker is not None
        celery_app = make_app(broker, visibility_timeout=visibility_timeout)
        check_broker(celery_app, broker)
    dns_resolver = None
    discovery_options = None
    # dnspython is imported only here, not by scans of addresses (start-up time)
    from leakmap.commands.discover import DiscoveryOptions, run_discovery
    from leakmap.discovery import names_by_address, scan_targets, summary_notes
    from leakmap.net.dnsclient import DnsClient, parse_resolver

    if domains:
        _check(input_file is None, "--domain and --input cannot be combined")
        discovery_options = DiscoveryOptions.build(
            domains,
            resolvers=resolvers,
            wordlist=wordlist,
            ct_files=ct_files,
            axfr=axfr,
            ns_port=ns_port,
            follow_out_of_scope=follow_out_of_scope,
        )
    if resolvers:
        try:
            servers = [parse_resolver(r) for r in resolvers]
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        dns_resolver = DnsClient(servers).resolve
    if input_file is not None:
        _check(
            not targets and not target_files,
            "--input gives the open ports to scan: do not add targets or -l files to it",
        )
        _check(ports is None, "--input gives the ports to scan: do not add --ports to it")
        kind, listed = read_input(input_file, sys.stdin)
        _check(bool(listed), f"--input {input_file}: {INPUT_FORMATS[kind]} lists no open TCP port")
        target_set = TargetSet(tuple(listed_targets(listed)), parse_exclusions(exclude))
        scanner = ListedPorts()
    else:

        def given() -> TargetSet:
            return collect_targets(
                targets,
                target_files,
                stdin=sys.stdin,
                excludes=exclude,
                max_hosts=max_hosts,
                allow_large=allow_large,
            )

        if discovery_options is not None:
            exclusions = parse_exclusions(exclude)
            found = asyncio.run(run_discovery(discovery_options, exclusions))
            pre_notes = [*found.notes, *summary_notes(found)]
            pre_notes += [
                f"{ip}: named {', '.join(names)} (scanned once, reported as {names[0]})"
                for ip, names in names_by_address(found).items()
                if len(names) > 1
            ]
            explicit = given().targets if targets or target_files else ()
            target_set = TargetSet((*explicit, *scan_targets(found)), exclusions)
        else:
            target_set = given()
        scanner = PortScanner(
            concurrency=concurrency, per_host=per_host, timeout=timeout, rate=rate
        )
    # --rate is one budget for the whole scan: the port probes and every plugin connection
    limiter = scanner.limiter or (RateLimiter(rate) if rate is not None else None)
    config = ScanConfig(
        sample_rows=sample_rows,
        connect_timeout=timeout,
        read_timeout=read_timeout,
        concurrency=concurrency,
        per_host_concurrency=per_host,
        max_resources=max_resources,
        max_sampled=max_sampled,
        try_default_credentials=try_default_credentials,
    )
    services: list[Service] = [cls() for cls in classes.values()]
    pipeline = Pipeline.create(
        services,
        config,
        rule_files=rules,
        disabled=disable,
        endpoint_timeout=endpoint_timeout,
        scanner=scanner,
        resolver=dns_resolver,
    )
    pipeline.context.network.limiter = limiter
    # --distributed: the rule files (validated just now) travel with the shards
    rule_texts = read_rules(rules) if celery_app is not None else []

    err = Console(stderr=True)
    with ExitStack() as stack:
        jsonl: JsonlWriter | None = None
        if fmt == "jsonl":
            jsonl = JsonlWriter(stack.enter_context(open_output(output)))
        bar = stack.enter_context(ScanProgress(err, enabled=progress))
        source = None
        missed: list[int] = []
        if celery_app is not None:
            source = _distributed_events(
                celery_app,
                target_set,
                port_list,
                config=config,
                resolver=dns_resolver,
                shard_size=shard_size,
                endpoint_timeout=endpoint_timeout,
                disabled=disable,
                rate=rate,
                patience=patience,
                visibility_timeout=visibility_timeout,
                missed=missed,
                rules=rule_texts,
            )
        job = run_scan(
            pipeline,
            target_set,
            port_list,
            progress=bar,
            jsonl=jsonl,
            show_notes=not quiet,
            notes=pre_notes,
            source=source,
        )
        summary = asyncio.run(job)
    summary.options = scan_options(config, disable)

    write_scan_output(summary, fmt, output)
    scope = " ".join([*targets, *target_files, *([input_file] if input_file else [])])
    history_note = record(store, build_document(summary), kind="scan", scope=scope) or history_note
    if history_note and not quiet:
        err.print(Text(sanitize(history_note, 300), style="dim"))
    if fails(summary.findings, threshold):
        return 1
    return 3 if missed else 0


def scan_options(config: ScanConfig, disabled: Sequence[str]) -> dict[str, Any]:
    """What ``leakmap verify`` re-uses to re-check like with like (the report's "options")."""
    return {
        "sample_rows": config.sample_rows,
        "max_resources": config.max_resources,
        "max_sampled": config.max_sampled,
        "try_default_credentials": config.try_default_credentials,
        "disabled_rules": list(disabled),
    }


def write_scan_output(summary: ScanSummary, fmt: str, output: Path | None) -> None:
    """Write the finished scan in ``fmt`` (jsonl was streamed already)."""
    if fmt == "table":
        if output is None:
            render_summary(summary, Console())
        else:
            with open_output(output) as handle:
                render_summary(summary, Console(file=handle, no_color=True, width=160))
    elif fmt == "json":
        with open_output(output) as handle:
            write_json(summary, handle)
    elif fmt != "jsonl":
        report = scan_report(
            summary.findings,
            summary.services,
            notes=summary.notes,
            document=build_document(summary),
            generated=summary.finished,
        )
        write_output(output, writer_for(fmt)(report))


async def _distributed_events(
    app: Any,
    targets: TargetSet,
    ports: tuple[int, ...],
    *,
    config: ScanConfig,
    resolver: Resolver | None,
    shard_size: int,
    endpoint_timeout: float,
    disabled: Sequence[str],
    rate: float | None,
    patience: Patience,
    visibility_timeout: int,
    missed: list[int],
    rules: Sequence[tuple[str, str]],
) -> AsyncGenerator[ScanEvent, None]:
    """Resolve here, scan on the workers (see :mod:`leakmap.distributed`); shards given up
    on are counted in ``missed``."""
    resolved = await resolve_targets(targets, ports, resolver=resolver)
    for message in resolved.notes:
        yield Note(message)
    if not resolved.hosts:
        yield Note("nothing to scan: no target resolved to an address")
        return
    async for event in run_distributed(
        app,
        resolved.hosts,
        config=config,
        shard_size=shard_size,
        endpoint_timeout=endpoint_timeout,
        disabled_rules=disabled,
        rate=rate,
        patience=patience,
        visibility_timeout=visibility_timeout,
        rules=rules,
    ):
        if isinstance(event, ShardsMissed):
            missed.append(event.shards)
        yield event


def register(app: typer.Typer) -> None:
    """Add ``scan`` to the app."""
    app.command("scan", no_args_is_help=True)(scan)
