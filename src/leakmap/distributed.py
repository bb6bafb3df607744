"""Scans spread over many machines: Celery with a Redis broker.

``leakmap scan --distributed --broker URL`` (or ``LEAKMAP_BROKER``) resolves the targets on
the machine it runs on, cuts the hosts into shards of ``--shard-size`` addresses and sends one
Celery task per shard; ``leakmap worker --broker URL`` (one or more, on any machines that can
reach the broker and the targets) runs each shard through the same pipeline a local scan uses
and sends back its results. The coordinator merges them into one report, identical to a local
scan's: the same services, the same deterministic finding ids.

Nothing is lost when a worker dies mid-shard:

* ``task_acks_late``: a shard is acknowledged only after it finished, so a worker killed while
  scanning leaves it unacknowledged in Redis;
* Redis ``visibility_timeout`` (``--visibility-timeout``): an unacknowledged shard goes back
  to the queue after that many seconds, and another worker runs it again (set it above the
  longest time a shard can take, or a slow shard is run twice: harmless, just wasted work);
* ``task_reject_on_worker_lost`` and a prefetch of one: a shard waits for a free worker;
* duplicates (a shard run twice) are merged away by (address, port, service).

Nor does the coordinator wait for ever: when no worker has taken a shard and none answers a
ping for ``--worker-wait`` seconds, or no shard has finished for ``--stall-timeout`` seconds,
it stops, says which shards were not scanned, and cancels the scan: a key in the broker's
Redis (``leakmap-cancelled-SCAN``, kept a day) makes any worker that takes one of its shards
later drop it unscanned, so no target is scanned after the user was told the scan ended. The
same happens when the coordinator is interrupted.

``--rules`` files travel with the shards: the coordinator validates them, then each shard
carries their text (at most :data:`MAX_RULES_BYTES` in all), and the worker loads them as a
local scan would, in the same order.

Only JSON crosses the broker (no pickle): shards are lists of hosts and ports, results are
the same models the JSON report is made of. Sampled data never leaves the worker in the
clear: findings carry redacted examples only, exactly as in a local report.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import AsyncGenerator, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from leakmap.errors import UsageError
from leakmap.findings import Finding
from leakmap.pipeline import Note
from leakmap.services.base import OpenPort, ScanConfig, ServiceReport, ServiceResult
from leakmap.targets import ScanHost

__all__ = [
    "BROKER_ENV",
    "BrokerError",
    "Patience",
    "Shard",
    "ShardsMissed",
    "make_app",
    "mask_url",
    "read_rules",
    "run_distributed",
    "run_worker",
    "shards",
]

BROKER_ENV = "LEAKMAP_BROKER"
TASK_NAME = "leakmap.scan_shard"
DEFAULT_VISIBILITY_TIMEOUT = 900
DEFAULT_WORKER_WAIT = 60.0
#: ``--rules`` text sent with every shard, in all
MAX_RULES_BYTES = 1024 * 1024
CANCEL_TTL = 24 * 3600


class BrokerError(UsageError):
    """The broker cannot be reached (its URL is shown with the password masked)."""


def mask_url(url: str) -> str:
    """``redis://:secret@host:6379/0`` -> ``redis://:***@host:6379/0``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.password is None and "@" not in parts.netloc:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def make_app(broker: str, *, visibility_timeout: int = DEFAULT_VISIBILITY_TIMEOUT) -> Any:
    """The Celery app for ``broker`` (Redis; results go back through the same Redis)."""
    from celery import Celery

    app = Celery("leakmap", broker=broker, backend=broker, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_track_started=True,
        result_expires=24 * 3600,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": visibility_timeout,
            # look for abandoned shards every second, not every 100 s
            "unacked_restore_interval": 1,
            "unacked_restore_throttle": 1,
        },
        result_backend_transport_options={"visibility_timeout": visibility_timeout},
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    app.task(name=TASK_NAME, bind=True, acks_late=True)(_scan_shard_task)
    return app


@dataclass(frozen=True, slots=True)
class Shard:
    """A part of a scan: hosts with their ports, and the settings every worker uses."""

    hosts: list[dict[str, Any]]
    config: dict[str, Any]
    endpoint_timeout: float
    disabled_rules: list[str] = field(default_factory=list)
    #: ``--rate``: new connections a second, on each worker
    rate: float | None = None
    #: the scan it belongs to (a cancelled scan's shards are dropped unscanned)
    scan: str = ""
    #: ``--rules`` files: [name, YAML text] in load order
    rules: list[list[str]] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        return asdict(self)


def _host_payload(host: ScanHost) -> dict[str, Any]:
    return {
        "host": host.host,
        "ip": host.ip,
        "ports": list(host.ports),
        "hints": {str(p): str(t) for p, t in host.hints.items()},
    }


def _host_from(payload: dict[str, Any]) -> ScanHost:
    return ScanHost(
        str(payload["host"]),
        str(payload["ip"]),
        tuple(int(p) for p in payload["ports"]),
        {int(p): str(t) for p, t in dict(payload.get("hints") or {}).items()},
    )


def shards(
    hosts: Iterable[ScanHost],
    size: int,
    config: ScanConfig,
    endpoint_timeout: float,
    disabled_rules: Sequence[str] = (),
    rate: float | None = None,
) -> Iterator[Shard]:
    """Cut ``hosts`` (read lazily) into shards of at most ``size`` addresses."""
    settings = asdict(config)
    batch: list[dict[str, Any]] = []
    for host in hosts:
        batch.append(_host_payload(host))
        if len(batch) >= size:
            yield Shard(batch, settings, endpoint_timeout, list(disabled_rules), rate)
            batch = []
    if batch:
        yield Shard(batch, settings, endpoint_timeout, list(disabled_rules), rate)


def _result_payload(result: ServiceResult) -> dict[str, Any]:
    return {
        "report": result.report.model_dump(mode="json"),
        "findings": [f.model_dump(mode="json") for f in result.findings],
    }


def _result_from(payload: dict[str, Any]) -> ServiceResult:
    return ServiceResult(
        ServiceReport.model_validate(payload["report"]),
        tuple(Finding.model_validate(f) for f in payload["findings"]),
    )


async def _run_shard(payload: dict[str, Any]) -> dict[str, Any]:
    shard = Shard(**payload)
    if shard.rules:
        with tempfile.TemporaryDirectory(prefix="leakmap-rules-") as tmp:
            paths = []
            for index, (name, text) in enumerate(shard.rules):
                path = Path(tmp) / f"{index:03d}-{Path(name).name or 'rules'}"
                path.write_text(text, encoding="utf-8")
                paths.append(path)
            return await _run_shard_with(shard, paths)
    return await _run_shard_with(shard, [])


async def _run_shard_with(shard: Shard, rule_files: list[Path]) -> dict[str, Any]:
    from leakmap.net.portscan import PortScanner
    from leakmap.pipeline import Note, Pipeline, PortChecked, ServiceFound, Unidentified
    from leakmap.services.registry import load_services

    config = ScanConfig(**shard.config)
    services = [cls() for cls in load_services().values()]
    scanner = PortScanner(
        concurrency=config.concurrency,
        per_host=config.per_host_concurrency,
        timeout=config.connect_timeout,
        rate=shard.rate,
    )
    pipeline = Pipeline.create(
        services,
        config,
        rule_files=rule_files,
        disabled=shard.disabled_rules,
        endpoint_timeout=shard.endpoint_timeout,
        scanner=scanner,
    )
    pipeline.context.network.limiter = scanner.limiter
    out: dict[str, Any] = {
        "results": [],
        "unidentified": [],
        "notes": [],
        "checked": 0,
        "open": 0,
    }
    async for event in pipeline.scan_hosts([_host_from(h) for h in shard.hosts]):
        if isinstance(event, ServiceFound):
            out["results"].append(_result_payload(event.result))
        elif isinstance(event, Unidentified):
            out["unidentified"].append(asdict(event.port))
        elif isinstance(event, Note):
            out["notes"].append([event.message, event.level])
        elif isinstance(event, PortChecked):
            out["checked"] += 1
            out["open"] += event.result.state.value == "open"
    return out


def _cancel_key(scan: str) -> str:
    return f"leakmap-cancelled-{scan}"


def _scan_shard_task(task: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """The Celery task: scan one shard on this worker, unless its scan was cancelled."""
    scan = str(payload.get("scan") or "")
    if scan and task.app.backend.client.exists(_cancel_key(scan)):
        return {"results": [], "unidentified": [], "notes": [], "cancelled": True}
    return asyncio.run(_run_shard(payload))


def _cancel(app: Any, scan: str) -> None:
    """Mark ``scan`` cancelled in the broker's Redis (best effort: the coordinator is
    stopping anyway, and says so)."""
    try:
        app.backend.client.set(_cancel_key(scan), b"1", ex=CANCEL_TTL)
    except Exception:  # nothing more can be done from here
        return


def _workers_alive(app: Any, timeout: float = 1.0) -> bool:
    """True when at least one worker answers a ping (a busy solo worker does not: callers
    also count a started shard as a sign of life)."""
    try:
        return bool(app.control.ping(timeout=timeout))
    except Exception:  # a broker hiccup is not a worker
        return False


@dataclass(frozen=True, slots=True)
class ShardsMissed(Note):
    """The error note of a distributed scan that gave up: ``shards`` were not scanned (the
    scan command exits 3: the report is incomplete)."""

    shards: int = 0


@dataclass(frozen=True, slots=True)
class Patience:
    """How long the coordinator waits for workers (see the module docstring)."""

    #: no shard started and no worker answers a ping for this long: no worker is running
    worker_wait: float = DEFAULT_WORKER_WAIT
    #: no shard finished for this long (None: ``2 x visibility timeout + 60``)
    stall: float | None = None
    #: seconds between two liveness checks while no worker has been seen
    check_every: float = 2.0


def read_rules(paths: Sequence[Path]) -> list[tuple[str, str]]:
    """The ``--rules`` files as (name, text) to send with the shards (they were validated
    already); :class:`UsageError` when they exceed :data:`MAX_RULES_BYTES` together."""
    out: list[tuple[str, str]] = []
    total = 0
    for path in paths:
        text = path.read_text(encoding="utf-8")
        total += len(text.encode("utf-8"))
        if total > MAX_RULES_BYTES:
            raise UsageError(
                f"--rules with --distributed: the files exceed {MAX_RULES_BYTES // 1024} KiB "
                "together (every shard carries them)"
            )
        out.append((path.name, text))
    return out


def check_broker(app: Any, broker: str, timeout: float = 5.0) -> None:
    """Raise :class:`BrokerError` (password masked) when the broker does not answer."""
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)
    except Exception as exc:
        reason = str(exc).replace(broker, mask_url(broker))[:160] or type(exc).__name__
        raise BrokerError(f"cannot reach the broker {mask_url(broker)}: {reason}") from None


@dataclass(slots=True)
class _Merged:
    results: dict[tuple[str, int, str], ServiceResult] = field(default_factory=dict)
    unidentified: dict[tuple[str, int], OpenPort] = field(default_factory=dict)


async def run_distributed(
    app: Any,
    hosts: Iterable[ScanHost],
    *,
    config: ScanConfig,
    shard_size: int,
    endpoint_timeout: float,
    disabled_rules: Sequence[str] = (),
    rate: float | None = None,
    poll: float = 0.2,
    patience: Patience | None = None,
    visibility_timeout: int = DEFAULT_VISIBILITY_TIMEOUT,
    rules: Sequence[tuple[str, str]] = (),
) -> AsyncGenerator[Any, None]:
    """Send the shards, then yield pipeline events as their results come back: ``Note``,
    ``PortChecked`` counts are not replayed; ``ServiceFound`` and ``Unidentified`` once per
    (address, port), whatever a re-run shard sent twice. Gives up as :class:`Patience`
    says, with an error note naming the shards not scanned."""
    patience = patience or Patience()
    stall = patience.stall if patience.stall is not None else 2.0 * visibility_timeout + 60
    scan_id = uuid.uuid4().hex[:12]
    pending: dict[str, Any] = {}
    addresses: dict[str, list[str]] = {}
    finished_ok = False
    try:
        for index, shard in enumerate(
            shards(hosts, shard_size, config, endpoint_timeout, disabled_rules, rate)
        ):
            task_id = f"leakmap-{scan_id}-{index}"
            shard = replace(shard, scan=scan_id, rules=[[n, t] for n, t in rules])
            addresses[task_id] = [str(h["ip"]) for h in shard.hosts]
            pending[task_id] = app.send_task(TASK_NAME, args=[shard.payload()], task_id=task_id)
        yield Note(f"distributed: {len(pending)} shard(s) sent to the workers", level="info")
        async for event in _collect(app, pending, poll, patience, stall):
            yield event
        if pending:
            _cancel(app, scan_id)
            missed = sorted({a for tid in pending for a in addresses[tid]})
            more = f" and {len(missed) - 8} more" if len(missed) > 8 else ""
            shown = ", ".join(missed[:8]) + more
            yield ShardsMissed(
                f"error: {len(pending)} shard(s) not scanned ({len(missed)} address(es): "
                f"{shown}); the scan was cancelled on the broker",
                level="error",
                shards=len(pending),
            )
        finished_ok = True
    finally:
        if not finished_ok and pending:
            _cancel(app, scan_id)  # interrupted: no worker scans for a coordinator gone


async def _collect(
    app: Any, pending: dict[str, Any], poll: float, patience: Patience, stall: float
) -> AsyncGenerator[Any, None]:
    """Yield the shards' events as they finish; return (leaving ``pending`` non-empty)
    when the workers are gone or stalled."""
    from leakmap.pipeline import ServiceFound, Unidentified

    merged = _Merged()
    started = last_progress = last_check = time.monotonic()
    seen_worker = False
    while pending:
        finished = [tid for tid, res in pending.items() if res.ready()]
        now = time.monotonic()
        if not finished:
            if now - last_progress >= stall:
                yield Note(
                    f"error: distributed: no shard finished in {stall:.0f} s "
                    "(--stall-timeout); giving up",
                    level="error",
                )
                return
            if not seen_worker and now - last_check >= patience.check_every:
                last_check = now
                seen_worker = any(res.state != "PENDING" for res in pending.values()) or (
                    await asyncio.to_thread(_workers_alive, app)
                )
                if not seen_worker and now - started >= patience.worker_wait:
                    yield Note(
                        f"error: distributed: no worker took a shard or answered in "
                        f"{patience.worker_wait:.0f} s (--worker-wait); start one with "
                        "'leakmap worker --broker URL'",
                        level="error",
                    )
                    return
            await asyncio.sleep(poll)
            continue
        last_progress = now
        seen_worker = True
        for tid in finished:
            res = pending.pop(tid)
            if res.failed():
                yield Note(
                    f"error: shard {tid} failed on its worker ({type(res.result).__name__})",
                    level="error",
                )
                continue
            payload: dict[str, Any] = res.get(timeout=30)
            res.forget()
            for message, level in payload.get("notes", []):
                yield Note(str(message), level=str(level))
            for item in payload.get("results", []):
                result = _result_from(item)
                key = (result.report.ip, result.report.port, result.report.service)
                if key not in merged.results:
                    merged.results[key] = result
                    yield ServiceFound(result)
            for item in payload.get("unidentified", []):
                port = OpenPort(**item)
                if (port.ip, port.port) not in merged.unidentified:
                    merged.unidentified[(port.ip, port.port)] = port
                    yield Unidentified(port)
    yield Note(f"distributed: all shards done in {time.monotonic() - started:.1f} s", level="info")


def run_worker(
    broker: str,
    *,
    name: str | None = None,
    visibility_timeout: int = DEFAULT_VISIBILITY_TIMEOUT,
    loglevel: str = "INFO",
) -> None:
    """Start a worker in this process (solo pool: one shard at a time; run more workers for
    more parallelism). Blocks until stopped."""
    app = make_app(broker, visibility_timeout=visibility_timeout)
    check_broker(app, broker)
    # JSON only is accepted (no pickle), the case Celery's root check guards against
    os.environ.setdefault("C_FORCE_ROOT", "1")
    argv = ["worker", "--pool=solo", "--concurrency=1", f"--loglevel={loglevel}"]
    argv.append(f"--hostname={name or 'leakmap-' + uuid.uuid4().hex[:6]}@%h")
    app.worker_main(argv)
