"""Enumerate databases, tables (engine, row count) and columns, and sample rows - cheaply,
version-tolerant by feature detection.

* Which columns ``system.tables`` has is read from ``system.columns`` first: ``total_rows``
  exists only since ~20.4; without it row counts come from
  ``sum(rows) FROM system.parts WHERE active GROUP BY database, table``. Views and engines
  without parts get ``rows = None``.
* The ``system``, ``INFORMATION_SCHEMA`` and ``information_schema`` databases are not
  resources: every server has them, they are not the owner's data, and listing them would
  bury the real tables. (Every user can read them; the plugin reads a few facts from them.)
* Every table is listed, up to ``config.max_resources`` (50,000 by default) and
  :data:`LIST_BYTES` (16 MiB) per listing; past the cap ``count()`` says how many exist.
  Which of them are sampled is the plugin's choice (names that suggest leaks first, then size:
  :mod:`leakmap.services.common.sampling`).
* Every query goes through a :class:`~.query.ChSession`, whatever the transport.
* A sample is ``SELECT toString(col), ... FROM `db`.`table` LIMIT n`` - no ORDER BY, no
  WHERE - under the server-side limits of :mod:`.http`, through any ChSession.
  Only engines that store data locally are sampled (the MergeTree family, Log, TinyLog,
  StripeLog, Memory): reading a Kafka/RabbitMQ/NATS/FileLog table consumes messages,
  Distributed/Merge/remote engines (URL, S3, MySQL, ...) would make the server contact other
  systems, Executable runs a script, views run arbitrary queries. Those are listed, not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from leakmap.sanitize import sanitize
from leakmap.services.base import Column, ScanConfig
from leakmap.services.clickhouse.query import ChSession
from leakmap.services.clickhouse.safety import quote_ident, quote_string

__all__ = [
    "HIDDEN_DATABASES",
    "LIST_BYTES",
    "Inventory",
    "Sample",
    "TableInfo",
    "detect_features",
    "is_sampleable",
    "list_tables",
    "sample_table",
]

HIDDEN_DATABASES = ("system", "INFORMATION_SCHEMA", "information_schema")
#: bytes read for one listing (tables, parts, columns): the cap next to ``max_resources``
LIST_BYTES = 16 * 1024 * 1024
_SAMPLEABLE = frozenset({"Log", "TinyLog", "StripeLog", "Memory"})
_FEATURE_TABLES = ("tables", "parts", "grants", "users", "table_functions", "settings")
_MAX_COLUMNS = 500_000
_CUT_CELL_CHARS = 16_384
_MAX_CUT_COLUMNS = 64


def is_sampleable(engine: str | None) -> bool:
    """Engines whose SELECT reads local data only (see the module docstring)."""
    if not engine:
        return False
    return engine.endswith("MergeTree") or engine in _SAMPLEABLE


@dataclass(slots=True)
class TableInfo:
    database: str
    table: str
    engine: str | None
    rows: int | None = None
    columns: list[Column] = field(default_factory=list)
    bytes: int | None = None

    @property
    def name(self) -> str:
        return f"{self.database}.{self.table}"


@dataclass(slots=True)
class Inventory:
    """Every table listed (up to the cap), how many exist, and what the listing could not say."""

    tables: list[TableInfo] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: tables the server holds outside the hidden databases (None when it would not say)
    total: int | None = None
    #: the listing stopped at ``max_resources`` or at LIST_BYTES
    capped: bool = False


@dataclass(frozen=True, slots=True)
class Sample:
    columns: tuple[str, ...]
    rows: tuple[tuple[str | None, ...], ...]
    truncated: bool
    error: str | None = None


def _hidden_list() -> str:
    return ", ".join(quote_string(d) for d in HIDDEN_DATABASES)


async def detect_features(ch: ChSession) -> dict[str, set[str]] | None:
    """system table -> its columns (tables that exist); None if system.columns is unreadable."""
    wanted = ", ".join(quote_string(t) for t in _FEATURE_TABLES)
    res = await ch.rows(
        f"SELECT table, name FROM system.columns WHERE database = 'system' AND table IN ({wanted})"  # noqa: S608 - constants, quote_*()
    )
    if not res.ok:
        return None
    features: dict[str, set[str]] = {}
    for row in res.rows:
        if len(row) == 2 and row[0] is not None and row[1] is not None:
            features.setdefault(row[0], set()).add(row[1])
    return features


def _int(value: str | None) -> int | None:
    # ASCII digits only (str.isdigit accepts '²', which int() refuses), at most 20 of them
    if value is None or not re.fullmatch(r"[0-9]{1,20}", value.strip()):
        return None
    return int(value.strip())


async def list_tables(
    ch: ChSession, features: dict[str, set[str]], config: ScanConfig
) -> Inventory:
    """Every non-system table up to ``config.max_resources`` (and LIST_BYTES), with engines,
    row counts, sizes where the server has them, and columns."""
    inv = Inventory()
    notes = inv.notes
    dbs = await ch.rows(
        f"SELECT name FROM system.databases WHERE name NOT IN ({_hidden_list()}) LIMIT 1001"  # noqa: S608 - constants, quote_*()
    )
    if dbs.ok:
        names = [r[0] for r in dbs.rows if r and r[0] is not None]
        shown = ", ".join(sanitize(n, 60) for n in names[:20])
        more = ", ..." if len(names) > 20 else ""
        notes.append(f"databases ({len(names)}): {shown}{more}")
    tcols = features.get("tables", set())
    select = ["database", "name", "engine"]
    has_total_rows = "total_rows" in tcols
    if has_total_rows:
        select.append("total_rows")
    has_total_bytes = "total_bytes" in tcols
    if has_total_bytes:
        select.append("total_bytes")
    db_where = f"database NOT IN ({_hidden_list()})"
    where = db_where
    if "is_temporary" in tcols:
        where += " AND is_temporary = 0"
    cap = max(0, config.max_resources)
    res = await ch.rows(
        f"SELECT {', '.join(select)} FROM system.tables WHERE {where} LIMIT {cap + 1}",  # noqa: S608 - constants, quote_*()
        limit=LIST_BYTES,
        allow_truncate=True,
    )
    if not res.ok:
        notes.append(f"system.tables could not be read ({res.describe_failure()})")
        return inv
    tables: list[TableInfo] = []
    for row in res.rows:
        if len(row) < 3 or row[0] is None or row[1] is None:
            continue
        rows = _int(row[3]) if has_total_rows and len(row) > 3 else None
        size = _int(row[len(select) - 1]) if has_total_bytes and len(row) == len(select) else None
        tables.append(TableInfo(row[0], row[1], row[2], rows, bytes=size))
    inv.capped = len(tables) > cap or res.truncated
    tables = tables[:cap]
    if inv.capped:
        counted = await ch.rows(f"SELECT count() FROM system.tables WHERE {where}")  # noqa: S608 - constants, quote_*()
        if counted.ok and counted.rows and counted.rows[0]:
            inv.total = _int(counted.rows[0][0])
        why = f"{cap} tables" if not res.truncated else f"{LIST_BYTES // (1024 * 1024)} MiB"
        of = f" of {inv.total}" if inv.total is not None else ""
        notes.append(f"listing capped at {why}: {len(tables)}{of} tables listed")
    else:
        inv.total = len(tables)
    by_key = {(t.database, t.table): t for t in tables}

    if not has_total_rows and "parts" in features:
        parts = await ch.rows(
            "SELECT database, table, sum(rows), sum(bytes_on_disk) FROM system.parts WHERE active "  # noqa: S608 - constants, quote_*()
            f"AND database NOT IN ({_hidden_list()}) GROUP BY database, table "
            f"LIMIT {cap * 4 + 1}"
            if "bytes_on_disk" in features["parts"]
            else "SELECT database, table, sum(rows) FROM system.parts WHERE active AND "  # noqa: S608 - constants, quote_*()
            f"database NOT IN ({_hidden_list()}) GROUP BY database, table "
            f"LIMIT {cap * 4 + 1}",
            limit=LIST_BYTES,
            allow_truncate=True,
        )
        if parts.ok:
            for row in parts.rows:
                if len(row) >= 3 and (row[0], row[1]) in by_key:
                    owner = by_key[(row[0], row[1])]  # type: ignore[index]
                    owner.rows = _int(row[2])
                    if len(row) == 4:
                        owner.bytes = _int(row[3])
            for t in tables:
                if t.rows is None and t.engine and t.engine.endswith("MergeTree"):
                    t.rows = 0  # a MergeTree table without active parts is empty
        else:
            notes.append("row counts unavailable: system.parts could not be read")

    cols = await ch.rows(
        f"SELECT database, table, name, type FROM system.columns WHERE {db_where} "  # noqa: S608 - constants, quote_*()
        f"LIMIT {_MAX_COLUMNS}",
        limit=LIST_BYTES,
        allow_truncate=True,
    )
    if cols.ok:
        for row in cols.rows:
            if len(row) == 4 and None not in row:
                col_owner = by_key.get((row[0], row[1]))  # type: ignore[arg-type]
                if col_owner is not None:
                    col_owner.columns.append(Column(name=row[2] or "", type=row[3] or ""))
        if cols.truncated:
            notes.append("column list cut at the listing byte limit")
    else:
        notes.append("system.columns could not be read: columns unknown")
    inv.tables = tables
    return inv


async def sample_table(ch: ChSession, table: TableInfo, config: ScanConfig) -> Sample:
    """Up to ``config.sample_rows`` rows, bounded in bytes and server work. With the columns
    known, every one is read as ``toString(col)``: the same text over every transport, and a
    native reply of String columns only."""
    n = max(0, config.sample_rows)
    src = f"{quote_ident(table.database)}.{quote_ident(table.table)}"
    if table.columns:
        exprs = ", ".join(
            f"toString({quote_ident(c.name)}) AS {quote_ident(c.name)}" for c in table.columns
        )
    else:
        exprs = "*"
    sql = f"SELECT {exprs} FROM {src} LIMIT {n}"  # noqa: S608 - constants, quote_*()
    res = await ch.rows(sql, names=True, allow_truncate=True, max_rows=n)
    if not res.ok:
        return Sample((), (), False, res.describe_failure())
    if res.truncated and not res.rows:
        # huge cells: not even one complete row fitted; read the text columns cut short
        return await _sample_cut(ch, table, n)
    if not res.names and not res.rows:
        return Sample((), (), res.truncated)
    return Sample(res.names, res.rows[:n], res.truncated)


def _is_text(type_name: str) -> bool:
    inner = type_name
    for wrapper in ("Nullable(", "LowCardinality("):
        while inner.startswith(wrapper) and inner.endswith(")"):
            inner = inner[len(wrapper) : -1]
    return inner == "String" or inner.startswith("FixedString(")


async def _sample_cut(ch: ChSession, table: TableInfo, n: int) -> Sample:
    text_cols = [c.name for c in table.columns if _is_text(c.type)][:_MAX_CUT_COLUMNS]
    if not text_cols:
        return Sample((), (), True, "rows larger than the response limit, no text columns")
    exprs = ", ".join(f"substring({quote_ident(c)}, 1, {_CUT_CELL_CHARS})" for c in text_cols)
    src = f"{quote_ident(table.database)}.{quote_ident(table.table)}"
    res = await ch.rows(
        f"SELECT {exprs} FROM {src} LIMIT {n}",  # noqa: S608 - constants, quote_*()
        allow_truncate=True,
        max_rows=n,
    )
    if not res.ok:
        return Sample((), (), True, f"{res.describe_failure()} on the cut-cell sample")
    return Sample(tuple(text_cols), res.rows[:n], True)
