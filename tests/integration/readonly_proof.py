"""The read-only proof for ClickHouse: every statement a server logged, of every row type.

``system.query_log`` has one row per query *start* (type 1), *finish* (2), *exception before
start* (3) and *exception while running* (4). A statement the server refuses before running it
- an ``INSERT`` or ``DROP`` sent with ``readonly=1``, a syntax error - is logged as type 3 only,
so a proof that reads type-1 rows would pass a scanner that sends writes the server happens to
refuse (checked on 18.16). :func:`assert_read_only` reads every type and every non-admin user
(the lab admin's own statements are never logged), so a scanner that sent anything but a read
statement fails it, whether the server ran the statement or not.

The checks here are deliberately independent of ``leakmap``'s own statement guard: a weakened
guard must not weaken the proof.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from leakmap.lab.clickhouse import ClickHouseInstance

__all__ = ["READ_KINDS", "LogRow", "assert_read_only", "query_log", "type1_only_violations"]

#: The first keyword of every statement a read-only scanner may send.
READ_KINDS = frozenset({"SELECT", "SHOW", "DESCRIBE", "DESC", "EXISTS"})
_FIRST_WORD = re.compile(r"\s*(?:(?:--[^\n]*\n|/\*.*?\*/)\s*)*([A-Za-z]+)", re.DOTALL)
_OUTFILE = re.compile(r"\bINTO\s+OUTFILE\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class LogRow:
    type: int
    user: str
    query_id: str
    query: str


def query_log(ch: ClickHouseInstance) -> list[LogRow]:
    """Every ``system.query_log`` row of every type and user on ``ch`` (flushed first)."""
    ch.flush_logs()
    body = ch.admin_query(
        "SELECT toUInt8(type) AS kind, user, query_id, query FROM system.query_log "
        "ORDER BY event_time FORMAT JSONEachRow"
    )
    rows = []
    for line in body.splitlines():
        if line.strip():
            r = json.loads(line)
            rows.append(LogRow(int(r["kind"]), str(r["user"]), str(r["query_id"]), str(r["query"])))
    return rows


def is_read(query: str) -> bool:
    m = _FIRST_WORD.match(query)
    return m is not None and m.group(1).upper() in READ_KINDS and not _OUTFILE.search(query)


def violations(rows: list[LogRow]) -> list[LogRow]:
    return [r for r in rows if not is_read(r.query)]


def type1_only_violations(rows: list[LogRow]) -> list[LogRow]:
    """What the old proof looked at (query-start rows only): kept to show its blind spot."""
    return [r for r in violations(rows) if r.type == 1]


def assert_read_only(ch: ClickHouseInstance, *, min_scanner_rows: int = 8) -> list[LogRow]:
    """Fail unless every logged statement on ``ch`` is a read, and the scanner's own
    (``leakmap-`` query ids) are there at all (an empty log proves nothing). Returns the rows."""
    rows = query_log(ch)
    ours = [r for r in rows if r.query_id.startswith("leakmap-")]
    assert len(ours) >= min_scanner_rows, f"only {len(ours)} scanner rows in query_log"
    bad = violations(rows)
    assert not bad, "non-read statements reached the server: " + "; ".join(
        f"type {r.type} {r.user} {r.query[:60]!r}" for r in bad[:10]
    )
    return rows
