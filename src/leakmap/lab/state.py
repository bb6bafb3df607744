"""What ``leakmap lab up`` records, so that ``status`` and ``down`` find the running lab.

The state directory (default ``$XDG_STATE_HOME/leakmap/lab``, else
``~/.local/state/leakmap/lab``) holds ``lab.json`` (:class:`LabState`), the server's directory
``clickhouse/`` (config, data, logs) and a ``lock`` file that serialises concurrent
``up``/``down`` calls. Example ``lab.json``::

    {"schema": "leakmap.lab/1", "pid": 4242, "ip": "127.0.7.1", "http_port": 8123,
     "native_port": 9000, "interserver_port": 9009,
     "dir": "/home/me/.local/state/leakmap/lab/clickhouse",
     "config_file": "/home/me/.local/state/leakmap/lab/clickhouse/config.xml",
     "rows": 1000, "seed": 20250129,
     "timezone": "Asia/Shanghai", "started": "2025-01-29T10:00:00Z"}

No secret is stored: the open lab has no password, and the lab admin password exists only as
a sha256 in the server's users.xml.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from leakmap.errors import LabError

__all__ = [
    "STATE_FILE",
    "STATE_SCHEMA",
    "LabState",
    "clear_state",
    "default_state_dir",
    "load_state",
    "save_state",
    "state_lock",
]

STATE_SCHEMA = "leakmap.lab/1"
STATE_FILE = "lab.json"


class LabState(BaseModel):
    """The running lab: enough to check it (pid + config) and to stop it by pid."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid")

    schema_: Literal["leakmap.lab/1"] = Field(default="leakmap.lab/1", alias="schema")
    pid: int = Field(gt=1)
    ip: str
    http_port: int
    native_port: int
    interserver_port: int
    dir: Path
    config_file: Path
    rows: int
    seed: int
    timezone: str | None
    started: datetime


def default_state_dir(environ: Mapping[str, str]) -> Path:
    """``$XDG_STATE_HOME/leakmap/lab`` or ``$HOME/.local/state/leakmap/lab``."""
    xdg = environ.get("XDG_STATE_HOME", "").strip()
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "leakmap" / "lab"
    home = environ.get("HOME", "").strip()
    base = Path(home) if home else Path.home()
    return base / ".local" / "state" / "leakmap" / "lab"


@contextmanager
def state_lock(state_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``state_dir/lock`` (creates the directory)."""
    try:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(state_dir / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise LabError(f"cannot use state directory {state_dir}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def load_state(state_dir: Path) -> LabState | None:
    """The recorded state, or None when there is none. A corrupt file raises LabError."""
    path = state_dir / STATE_FILE
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise LabError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return LabState.model_validate_json(raw)
    except ValidationError:
        raise LabError(
            f"{path} is not a leakmap lab state file; remove it or use another --state-dir"
        ) from None


def save_state(state_dir: Path, state: LabState) -> Path:
    """Write ``lab.json`` atomically (mode 0600) and return its path."""
    path = state_dir / STATE_FILE
    tmp = state_dir / f".{STATE_FILE}.tmp"
    try:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(state.model_dump_json(by_alias=True, indent=2) + "\n")
        os.replace(tmp, path)
    except OSError as exc:
        raise LabError(f"cannot write {path}: {exc.strerror}") from None
    return path


def clear_state(state_dir: Path) -> None:
    """Remove ``lab.json`` (if any)."""
    (state_dir / STATE_FILE).unlink(missing_ok=True)
