"""`leakmap worker --broker URL`: run scan shards sent by `leakmap scan --distributed`.

Start as many as you like, on any machines that reach the broker and the targets; each runs
one shard at a time (see :mod:`leakmap.distributed`). A broker that cannot be reached is one
line on stderr (password masked) and exit 2.
"""

from __future__ import annotations

import os

import typer

from leakmap.distributed import BROKER_ENV, DEFAULT_VISIBILITY_TIMEOUT, BrokerError, run_worker
from leakmap.errors import UsageError

__all__ = ["register", "worker"]


def worker(
    broker: str | None = typer.Option(
        None,
        "--broker",
        help=f"Redis URL, e.g. redis://:PASSWORD@10.0.0.5:6379/0 (or ${BROKER_ENV}).",
        show_default=False,
    ),
    name: str | None = typer.Option(None, "--name", help="Worker name (default: random)."),
    visibility_timeout: int = typer.Option(
        DEFAULT_VISIBILITY_TIMEOUT,
        "--visibility-timeout",
        help="Seconds before a shard a dead worker held is run again (the same on every node).",
    ),
    loglevel: str = typer.Option("INFO", "--loglevel", help="Celery log level."),
) -> None:
    """Run scan shards from the broker until stopped (Ctrl-C)."""
    url = broker or os.environ.get(BROKER_ENV, "")
    try:
        if not url:
            raise UsageError(f"give --broker URL or set {BROKER_ENV}")
        if visibility_timeout < 1:
            raise UsageError("--visibility-timeout must be at least 1 second")
        run_worker(url, name=name, visibility_timeout=visibility_timeout, loglevel=loglevel)
    except (UsageError, BrokerError) as exc:
        typer.echo(f"leakmap: error: {exc}", err=True)
        raise typer.Exit(2) from None


def register(app: typer.Typer) -> None:
    """Add ``worker`` to the app."""
    app.command("worker")(worker)
