"""Start, inspect and stop THE demo lab: the library under ``leakmap lab up|status|down``.

:func:`lab_up` starts a deliberately exposed ClickHouse (no password, timezone Asia/Shanghai,
query logging on) on a loopback address, seeds it and records a
:class:`~leakmap.lab.state.LabState`; it is idempotent (a running lab is reported, not
started twice) and replaces a stale record.
:func:`lab_down` stops the server by its pid - only if that pid still runs OUR config file -
and removes its data. :func:`lab_status` tells running from stopped. All raise LabError.

The server directory is always ``<state_dir>/clickhouse``: nothing read from ``lab.json`` can
make ``down`` delete another directory or signal another process.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import httpx

from leakmap.errors import LabError
from leakmap.lab.addresses import ports_free, require_loopback
from leakmap.lab.clickhouse import (
    DEFAULT_SERVER_BINARY,
    ClickHouseInstance,
    pid_alive,
    pid_runs_config,
    terminate_pid,
)
from leakmap.lab.seed import DEFAULT_ROWS, DEFAULT_SEED, MAX_ROWS
from leakmap.lab.state import LabState, clear_state, load_state, save_state, state_lock

__all__ = [
    "DEFAULT_LAB_IP",
    "DEFAULT_LAB_TIMEZONE",
    "LabStatus",
    "UpResult",
    "lab_down",
    "lab_status",
    "lab_up",
    "server_dir",
]

DEFAULT_LAB_IP = "127.0.7.1"
DEFAULT_LAB_TIMEZONE = "Asia/Shanghai"
_PORTS = (8123, 9000, 9009)


@dataclass(frozen=True)
class UpResult:
    """What :func:`lab_up` did: ``started`` False means the lab was already running."""

    state: LabState
    started: bool


@dataclass(frozen=True)
class LabStatus:
    """``running`` (process alive and /ping answers), ``unresponsive`` (alive, no answer),
    ``stopped`` (no lab or its process is gone)."""

    status: Literal["running", "unresponsive", "stopped"]
    state: LabState | None


def server_dir(state_dir: Path) -> Path:
    """Where the lab server's config, data and logs live."""
    return state_dir / "clickhouse"


def _absolute(state_dir: Path) -> Path:
    return state_dir.expanduser().resolve()


def _alive(state_dir: Path, state: LabState) -> bool:
    return pid_alive(state.pid) and pid_runs_config(state.pid, server_dir(state_dir) / "config.xml")


def _remove_dir(state_dir: Path) -> None:
    shutil.rmtree(server_dir(state_dir), ignore_errors=True)


def lab_up(
    state_dir: Path,
    *,
    ip: str = DEFAULT_LAB_IP,
    rows: int = DEFAULT_ROWS,
    seed: int = DEFAULT_SEED,
    timezone: str = DEFAULT_LAB_TIMEZONE,
    server_binary: Path = DEFAULT_SERVER_BINARY,
) -> UpResult:
    """Start and seed the lab on ``ip`` unless it already runs. Raises LabError."""
    ip = require_loopback(ip)
    state_dir = _absolute(state_dir)
    if rows < 1 or rows > MAX_ROWS:
        raise LabError(f"--rows must be between 1 and {MAX_ROWS}")
    with state_lock(state_dir):
        current = load_state(state_dir)
        if current is not None:
            if _alive(state_dir, current):
                if current.ip != ip:
                    raise LabError(
                        f"the lab already runs on {current.ip}; run 'leakmap lab down' first"
                    )
                return UpResult(current, started=False)
            clear_state(state_dir)  # stale: the process is gone
        _remove_dir(state_dir)
        if not ports_free(ip, _PORTS):
            raise LabError(
                f"ports {', '.join(map(str, _PORTS))} on {ip} are in use; "
                "choose another loopback address with --ip"
            )
        ch = ClickHouseInstance(
            ip,
            timezone=timezone,
            log_queries=True,
            base_dir=server_dir(state_dir),
            keep_dir=True,
            server_binary=server_binary,
            die_with_parent=False,
        )
        ch.start()
        try:
            ch.seed(rows=rows, seed=seed)
            pid = ch.pid
            if pid is None:  # pragma: no cover - start() sets it or raises
                raise LabError("the lab server has no pid")
            state = LabState(
                pid=pid,
                ip=ip,
                http_port=ch.http_port,
                native_port=ch.native_port,
                interserver_port=ch.interserver_port,
                dir=ch.dir,
                config_file=ch.config_file,
                rows=rows,
                seed=seed,
                timezone=timezone,
                started=datetime.now(UTC),
            )
            save_state(state_dir, state)
        except BaseException:
            ch.stop()
            _remove_dir(state_dir)
            raise
        return UpResult(state, started=True)


def lab_down(state_dir: Path) -> LabState | None:
    """Stop the lab (by pid) and remove its data; returns what was recorded (None: nothing)."""
    state_dir = _absolute(state_dir)
    with state_lock(state_dir):
        current = load_state(state_dir)
        if current is not None and _alive(state_dir, current):
            terminate_pid(current.pid)
            if pid_alive(current.pid):
                raise LabError(f"the lab server (pid {current.pid}) did not stop")
        _remove_dir(state_dir)
        clear_state(state_dir)
        return current


def lab_status(state_dir: Path, *, timeout: float = 2.0) -> LabStatus:
    """Is the recorded lab running and answering?"""
    state_dir = _absolute(state_dir)
    current = load_state(state_dir)
    if current is None or not _alive(state_dir, current):
        return LabStatus("stopped", current)
    ip = require_loopback(current.ip)
    try:
        with httpx.Client(timeout=timeout, trust_env=False) as client:
            resp = client.get(f"http://{ip}:{current.http_port}/ping")
        answering = resp.status_code == 200 and resp.text.startswith("Ok.")
    except httpx.TransportError:
        answering = False
    return LabStatus("running" if answering else "unresponsive", current)
