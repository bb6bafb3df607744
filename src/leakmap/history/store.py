"""The history database: one row per scan, holding its ``leakmap.scan`` JSON document.

The document is what ``--format json`` writes (masked examples and evidence, hashes, no
raw sample), so the database holds nothing a report does not. The file and its
directory are created owner-only (0600 / 0700) before SQLite opens them, with a 077
umask while SQLite creates its journal.

Schema ``leakmap.history/1``::

    meta(key PRIMARY KEY, value)            -- schema version
    runs(id INTEGER PRIMARY KEY, kind, started, finished, scope, schema,
         services, findings, critical, high, medium, low, info, document)
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leakmap.errors import UsageError
from leakmap.report.load import ScanResult, scan_from_document

__all__ = [
    "SCHEMA",
    "HistoryError",
    "HistoryStore",
    "RunInfo",
    "default_db_path",
    "open_history",
    "record",
]

SCHEMA = "leakmap.history/1"
_SEVERITIES = ("critical", "high", "medium", "low", "info")


class HistoryError(UsageError):
    """The history database cannot be opened, read or written."""


def default_db_path() -> Path:
    """``$XDG_DATA_HOME/leakmap/history.sqlite3`` (platformdirs' user data directory)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("leakmap", appauthor=False)) / "history.sqlite3"


@dataclass(frozen=True, slots=True)
class RunInfo:
    id: int
    kind: str
    started: str
    finished: str
    scope: str
    services: int
    findings: int
    severities: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "started": self.started,
            "finished": self.finished,
            "scope": self.scope,
            "services": self.services,
            "findings": self.findings,
            "severities": dict(self.severities),
        }


@contextlib.contextmanager
def _umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _prepare(path: Path) -> None:
    """Create the directory (0700) and the file (0600) owner-only if they do not exist."""
    if path.is_dir():
        raise HistoryError(f"--db {path}: is a directory")
    parent = path.parent
    with _umask(0o077):
        try:
            parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise HistoryError(
                f"--db {path}: cannot create ({exc.strerror or type(exc).__name__})"
            ) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise HistoryError(f"--db {path}: not a regular file")
        if info.st_mode & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


class HistoryStore:
    """The history database at ``path`` (created on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        _prepare(path)
        try:
            with _umask(0o077):
                self._db = sqlite3.connect(str(path), timeout=10)
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)"
                )
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS runs ("
                    " id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,"
                    " started TEXT, finished TEXT, scope TEXT, schema TEXT NOT NULL,"
                    " services INTEGER, findings INTEGER, critical INTEGER, high INTEGER,"
                    " medium INTEGER, low INTEGER, info INTEGER, document TEXT NOT NULL)"
                )
                row = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
                if row is None:
                    self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA,))
                elif row[0] != SCHEMA:
                    raise HistoryError(f"--db {path}: history schema {row[0]}, not {SCHEMA}")
                self._db.commit()
        except sqlite3.DatabaseError as exc:
            raise HistoryError(f"--db {path}: not a leakmap history database ({exc})") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, document: dict[str, Any], *, kind: str = "scan", scope: str = "") -> int:
        """Store one scan document; returns the run id."""
        counts = (document.get("stats") or {}).get("severities") or {}
        findings = document.get("findings") or []
        try:
            cursor = self._db.execute(
                "INSERT INTO runs (kind, started, finished, scope, schema, services, findings,"
                " critical, high, medium, low, info, document)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    kind,
                    str(document.get("started", "")),
                    str(document.get("finished", "")),
                    scope[:2000],
                    str(document.get("schema", "")),
                    len(document.get("services") or []),
                    len(findings),
                    *(int(counts.get(s, 0)) for s in _SEVERITIES),
                    json.dumps(document, ensure_ascii=True, allow_nan=False),
                ),
            )
            self._db.commit()
        except sqlite3.Error as exc:
            raise HistoryError(f"--db {self.path}: cannot write ({exc})") from None
        return int(cursor.lastrowid or 0)

    def runs(self, limit: int = 50) -> list[RunInfo]:
        rows = self._db.execute(
            "SELECT id, kind, started, finished, scope, services, findings,"
            " critical, high, medium, low, info FROM runs ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            RunInfo(
                id=r[0],
                kind=r[1],
                started=r[2] or "",
                finished=r[3] or "",
                scope=r[4] or "",
                services=r[5] or 0,
                findings=r[6] or 0,
                severities=dict(zip(_SEVERITIES, (x or 0 for x in r[7:12]), strict=True)),
            )
            for r in rows
        ]

    def document(self, run_id: int) -> dict[str, Any]:
        row = self._db.execute("SELECT document FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise HistoryError(f"no run {run_id} in {self.path}")
        data: dict[str, Any] = json.loads(row[0])
        return data

    def scan(self, run_id: int) -> ScanResult:
        return scan_from_document(self.document(run_id), f"run {run_id}")


def open_history(db: Path | None, *, enabled: bool = True) -> tuple[HistoryStore | None, str]:
    """The store a command records into: ``--db PATH`` (an error there is the user's:
    HistoryError), else the default path (an error there is a note, the run goes on);
    None with ``--no-history``. Returns (store, note)."""
    if not enabled:
        return None, ""
    if db is not None:
        return HistoryStore(db), ""
    try:
        return HistoryStore(default_db_path()), ""
    except HistoryError as exc:
        return None, f"history not saved: {exc}"


def record(store: HistoryStore | None, document: dict[str, Any], *, kind: str, scope: str) -> str:
    """Store a run; returns a note for stderr (the run id, or why it was not saved)."""
    if store is None:
        return ""
    try:
        run = store.add(document, kind=kind, scope=scope)
    except HistoryError as exc:
        return f"history not saved: {exc}"
    return f"saved as run {run} in {store.path}"
