"""`leakmap ports`: only the port stage, one JSON object a line for each open port.

``{"ip": "192.0.2.10", "port": 8123}`` (plus ``"host"`` when the target was a name), as
ports are found, and nothing else on stdout, so it can feed another tool (or
``leakmap scan --input -``). Notes (names that did not resolve, exclusions) go to stderr.
Bad input: one line on stderr, exit 2.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import TextIO

import typer

from leakmap.errors import UsageError
from leakmap.net.portscan import PortScanner, PortState
from leakmap.services.registry import default_ports, load_services
from leakmap.targets import (
    DEFAULT_MAX_HOSTS,
    TargetSet,
    collect_targets,
    parse_ports,
    resolve_targets,
)

__all__ = ["open_port_line", "ports", "register", "run_ports"]


def open_port_line(host: str, ip: str, port: int) -> str:
    """The JSON line for one open port (``host`` only when it is a name)."""
    record: dict[str, str | int] = {"ip": ip, "port": port}
    if host != ip:
        record = {"host": host, **record}
    return json.dumps(record, separators=(",", ":"))


async def run_ports(
    targets: TargetSet,
    port_list: tuple[int, ...],
    scanner: PortScanner,
    out: TextIO,
    err: TextIO,
) -> int:
    """Scan and print; returns the number of open ports."""
    resolved = await resolve_targets(targets, port_list)
    for note in resolved.notes:
        print(f"leakmap: note: {note}", file=err)
    found = 0
    async for batch in scanner.batches(resolved.hosts):
        lines = [open_port_line(r.host, r.ip, r.port) for r in batch if r.state is PortState.OPEN]
        if lines:
            found += len(lines)
            out.write("\n".join(lines) + "\n")
            out.flush()
    return found


def ports(
    targets: list[str] | None = typer.Argument(  # noqa: B008
        None, help="IP, hostname, host:port, CIDR or URL; '-' reads targets from stdin."
    ),
    target_files: list[str] | None = typer.Option(  # noqa: B008
        None, "-l", "--list", help="File with one target a line ('-' = stdin; '#' comments)."
    ),
    port_spec: str | None = typer.Option(
        None, "--ports", "-p", help="Ports: 8123,9000-9010 or service names; '+LIST' adds."
    ),
    exclude: list[str] | None = typer.Option(  # noqa: B008
        None, "--exclude", help="Address, network or name not to scan, or @FILE (repeatable)."
    ),
    max_hosts: int | None = typer.Option(
        None, "--max-hosts", help=f"Refuse targets beyond this many (default {DEFAULT_MAX_HOSTS})."
    ),
    allow_large: bool = typer.Option(
        False, "--allow-large", help="Allow networks larger than a /16 (streamed)."
    ),
    rate: float | None = typer.Option(None, "--rate", help="At most N new connections a second."),
    timeout: float = typer.Option(2.0, "--timeout", help="Connect timeout, seconds."),
    concurrency: int = typer.Option(256, "--concurrency", help="Connections in flight, total."),
    per_host: int = typer.Option(32, "--per-host", help="Connections in flight per address."),
) -> None:
    """Find open TCP ports only: one JSON object a line on stdout per open port."""
    try:
        if timeout <= 0:
            raise UsageError("--timeout must be positive")
        if concurrency < 1 or per_host < 1:
            raise UsageError("--concurrency and --per-host must be at least 1")
        if rate is not None and rate <= 0:
            raise UsageError("--rate must be positive")
        if max_hosts is not None and max_hosts < 1:
            raise UsageError("--max-hosts must be at least 1")
        classes = load_services()
        named = {name: list(cls.default_ports) for name, cls in classes.items()}
        port_list = parse_ports(port_spec, defaults=default_ports(classes), services=named)
        target_set = collect_targets(
            targets or [],
            target_files or [],
            stdin=sys.stdin,
            excludes=exclude or [],
            max_hosts=max_hosts if max_hosts or allow_large else DEFAULT_MAX_HOSTS,
            allow_large=allow_large,
        )
        scanner = PortScanner(
            concurrency=concurrency, per_host=per_host, timeout=timeout, rate=rate, open_only=True
        )
        asyncio.run(run_ports(target_set, port_list, scanner, sys.stdout, sys.stderr))
    except UsageError as exc:
        typer.echo(f"leakmap: error: {exc}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        typer.echo("leakmap: interrupted", err=True)
        raise typer.Exit(130) from None
    except BrokenPipeError:  # `leakmap ports ... | head`
        raise typer.Exit(0) from None


def register(app: typer.Typer) -> None:
    """Add ``ports`` to the app."""
    app.command("ports", no_args_is_help=True)(ports)
