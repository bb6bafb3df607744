"""`leakmap discover DOMAIN...`: the names under a domain, their addresses and how each was found.

A table (or ``--format jsonl``: one JSON object a line) on stdout; notes (wildcards, zone
transfers, what was skipped and why) on stderr. The options are shared with
``leakmap scan --domain`` (:func:`discovery_options` builds them once for both).
Bad input: one line, exit 2.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import typer
from rich.console import Console
from rich.table import Table

from leakmap.discovery import (
    Discovery,
    DiscoveryError,
    discover,
    parse_domain,
    read_ct_file,
    read_wordlist,
    summary_notes,
)
from leakmap.errors import UsageError
from leakmap.net.dnsclient import DnsClient, NameServer, parse_resolver
from leakmap.report.console import sanitize
from leakmap.targets import Exclusions, parse_exclusions

__all__ = ["DiscoveryOptions", "discover_command", "register", "run_discovery"]


@dataclass(frozen=True, slots=True)
class DiscoveryOptions:
    """What ``discover`` and ``scan --domain`` need, checked."""

    domains: tuple[str, ...]
    resolvers: tuple[NameServer, ...] = ()
    wordlist: tuple[str, ...] | None = None
    ct_names: tuple[str, ...] = ()
    axfr: bool = True
    ns_port: int = 53
    follow_out_of_scope: bool = False
    dns_timeout: float = 3.0
    dns_concurrency: int = 64

    @classmethod
    def build(
        cls,
        domains: Sequence[str],
        *,
        resolvers: Sequence[str] = (),
        wordlist: str | None = None,
        ct_files: Sequence[str] = (),
        axfr: bool = True,
        ns_port: int = 53,
        follow_out_of_scope: bool = False,
        dns_timeout: float = 3.0,
        dns_concurrency: int = 64,
    ) -> DiscoveryOptions:
        """Parse and read everything up front; raises UsageError (one line)."""
        if not domains:
            raise UsageError("give at least one domain")
        parsed = tuple(dict.fromkeys(parse_domain(d) for d in domains))
        try:
            servers = tuple(parse_resolver(r) for r in resolvers)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if not 1 <= ns_port <= 65535:
            raise UsageError("--ns-port must be 1-65535")
        if dns_timeout <= 0 or dns_concurrency < 1:
            raise UsageError("--dns-timeout must be positive and --dns-concurrency at least 1")
        labels = tuple(read_wordlist(wordlist)) if wordlist is not None else None
        ct: dict[str, None] = {}
        for path in ct_files:
            ct.update(dict.fromkeys(read_ct_file(path)))
        return cls(
            parsed,
            servers,
            labels,
            tuple(ct),
            axfr,
            ns_port,
            follow_out_of_scope,
            dns_timeout,
            dns_concurrency,
        )


async def run_discovery(options: DiscoveryOptions, exclusions: Exclusions) -> Discovery:
    client = DnsClient(
        options.resolvers, timeout=options.dns_timeout, concurrency=options.dns_concurrency
    )
    return await discover(
        options.domains,
        client,
        wordlist=options.wordlist,
        ct_names=options.ct_names,
        axfr=options.axfr,
        ns_port=options.ns_port,
        exclusions=exclusions,
        follow_out_of_scope=options.follow_out_of_scope,
    )


def _table(result: Discovery) -> Table:
    table = Table(show_header=True, header_style="bold", box=None)
    for column in ("name", "addresses", "found by", "CNAME chain", "scan"):
        table.add_column(column)
    for name in result.names:
        table.add_row(
            sanitize(name.name, limit=120),
            ", ".join(name.addresses) or name.status,
            ", ".join(sorted(name.sources)),
            " -> ".join(sanitize(c, limit=120) for c in name.cnames),
            "yes" if name.in_scope else f"no: {sanitize(name.skipped, limit=200)}",
        )
    return table


def discover_command(
    domains: list[str] = typer.Argument(..., help="Domain names (example.com)."),  # noqa: B008
    resolver: list[str] | None = typer.Option(  # noqa: B008
        None, "--resolver", help="DNS server IP[:PORT] to ask (repeatable; default: system's)."
    ),
    wordlist: str | None = typer.Option(
        None, "--wordlist", help="Labels to try, one a line (replaces the bundled list)."
    ),
    ct_file: list[str] | None = typer.Option(  # noqa: B008
        None, "--ct-file", help="Certificate-transparency names: crt.sh JSON or one a line."
    ),
    no_axfr: bool = typer.Option(False, "--no-axfr", help="Do not try zone transfers."),
    ns_port: int = typer.Option(53, "--ns-port", help="Port of the zone's name servers (AXFR)."),
    exclude: list[str] | None = typer.Option(  # noqa: B008
        None, "--exclude", help="Address, network or name to leave out, or @FILE."
    ),
    follow_out_of_scope: bool = typer.Option(
        False, "--follow-out-of-scope", help="Mark names CNAMEd outside the domains as in scope."
    ),
    output_format: str = typer.Option("table", "--format", "-f", help="table | jsonl"),
    dns_timeout: float = typer.Option(3.0, "--dns-timeout", help="Seconds per DNS query."),
    dns_concurrency: int = typer.Option(64, "--dns-concurrency", help="DNS queries at once."),
) -> None:
    """Find the names under DOMAINs: wordlist, zone transfer, CT logs; A/AAAA and CNAMEs."""
    try:
        fmt = output_format.strip().lower()
        if fmt not in ("table", "jsonl"):
            raise UsageError(f"--format must be table or jsonl, not {output_format!r}")
        options = DiscoveryOptions.build(
            domains,
            resolvers=resolver or [],
            wordlist=wordlist,
            ct_files=ct_file or [],
            axfr=not no_axfr,
            ns_port=ns_port,
            follow_out_of_scope=follow_out_of_scope,
            dns_timeout=dns_timeout,
            dns_concurrency=dns_concurrency,
        )
        exclusions = parse_exclusions(exclude or [])
        result = asyncio.run(run_discovery(options, exclusions))
    except (UsageError, DiscoveryError) as exc:
        typer.echo(f"leakmap: error: {exc}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        typer.echo("leakmap: interrupted", err=True)
        raise typer.Exit(130) from None
    for note in [*result.notes, *summary_notes(result)]:
        typer.echo(f"leakmap: note: {sanitize(note, limit=400)}", err=True)
    if fmt == "jsonl":
        for name in result.names:
            sys.stdout.write(json.dumps(name.record(), separators=(",", ":")) + "\n")
    else:
        Console().print(_table(result))


def register(app: typer.Typer) -> None:
    """Add ``discover`` to the app."""
    app.command("discover", no_args_is_help=True)(discover_command)
