"""Enumerate databases, tables (engine, row count) and columns, and sample rows - cheaply,
version-tolerant by feature detection.

* Which columns ``system.tables`` has is read from ``system.columns`` first: ``total_rows``
  exists only since ~20.4; without it row counts come from
  ``sum(rows) FROM system.parts WHERE active GROUP BY database, table``. Views and engines
  without parts get ``rows = None``.
* The ``system``, ``INFORMATION_SCHEMA`` and ``information_schema`` databases are not
  resources: every server has them, they are not the owner's data, and listing them would
  bury the real tables. (Every user can read them; the plugin reads a few facts from them.)
* A sample is ``SELECT * FROM `db`.`table` LIMIT n`` - no ORDER BY, no WHERE - under the
  server-side limits of :mod:`.http`, read as TabSeparatedWithNames from a bounded body.
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
from leakmap.services.clickhouse.http import ChHttp
from leakmap.services.clickhouse.safety import quote_ident, quote_string
from leakmap.services.clickhouse.tsv import parse_tsv

__all__ = [
    "HIDDEN_DATABASES",
    "Sample",
    "TableInfo",
    "detect_features",
    "is_sampleable",
    "list_tables",
    "sample_table",
]

HIDDEN_DATABASES = ("system", "INFORMATION_SCHEMA", "information_schema")
_SAMPLEABLE = frozenset({"Log", "TinyLog", "StripeLog", "Memory"})
_FEATURE_TABLES = ("tables", "parts", "grants", "users", "table_functions", "settings")
_MAX_COLUMNS = 200_000
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


@dataclass(frozen=True, slots=True)
class Sample:
    columns: tuple[str, ...]
    rows: tuple[tuple[str | None, ...], ...]
    truncated: bool
    error: str | None = None


def _hidden_list() -> str:
    return ", ".join(quote_string(d) for d in HIDDEN_DATABASES)


async def detect_features(ch: ChHttp) -> dict[str, set[str]] | None:
    """system table -> its columns (tables that exist); None if system.columns is unreadable."""
    wanted = ", ".join(quote_string(t) for t in _FEATURE_TABLES)
    res = await ch.query(
        f"SELECT table, name FROM system.columns WHERE database = 'system' AND table IN ({wanted})"  # noqa: S608 - constants, quote_*()
    )
    if not res.ok:
        return None
    features: dict[str, set[str]] = {}
    for row in parse_tsv(res.body, truncated=res.truncated):
        if len(row) == 2 and row[0] is not None and row[1] is not None:
            features.setdefault(row[0], set()).add(row[1])
    return features


def _int(value: str | None) -> int | None:
    # ASCII digits only (str.isdigit accepts '²', which int() refuses), at most a UInt64's 20
    if value is None or not re.fullmatch(r"[0-9]{1,20}", value.strip()):
        return None
    return int(value.strip())


async def list_tables(
    ch: ChHttp, features: dict[str, set[str]], config: ScanConfig
) -> tuple[list[TableInfo], list[str], int]:
    """(tables, notes, total number of non-system tables seen)."""
    notes: list[str] = []
    dbs = await ch.query(
        f"SELECT name FROM system.databases WHERE name NOT IN ({_hidden_list()}) LIMIT 1001"  # noqa: S608 - constants, quote_*()
    )
    if dbs.ok:
        names = [r[0] for r in parse_tsv(dbs.body) if r and r[0] is not None]
        shown = ", ".join(sanitize(n, 60) for n in names[:20])
        more = ", ..." if len(names) > 20 else ""
        notes.append(f"databases ({len(names)}): {shown}{more}")
    tcols = features.get("tables", set())
    select = ["database", "name", "engine"]
    has_total_rows = "total_rows" in tcols
    if has_total_rows:
        select.append("total_rows")
    db_where = f"database NOT IN ({_hidden_list()})"
    where = db_where
    if "is_temporary" in tcols:
        where += " AND is_temporary = 0"
    cap = config.max_resources + 1
    res = await ch.query(
        f"SELECT {', '.join(select)} FROM system.tables WHERE {where} LIMIT {cap}"  # noqa: S608 - constants, quote_*()
    )
    if not res.ok:
        code = res.error.code if res.error else res.status
        notes.append(f"system.tables could not be read (code {code})")
        return [], notes, 0
    tables: list[TableInfo] = []
    for row in parse_tsv(res.body, truncated=res.truncated):
        if len(row) < 3 or row[0] is None or row[1] is None:
            continue
        rows = _int(row[3]) if has_total_rows and len(row) > 3 else None
        tables.append(TableInfo(row[0], row[1], row[2], rows))
    seen = len(tables)
    if seen > config.max_resources:
        tables = tables[: config.max_resources]
        notes.append(
            f"more than {config.max_resources} tables: only the first {config.max_resources} listed"
        )
    by_key = {(t.database, t.table): t for t in tables}

    if not has_total_rows and "parts" in features:
        parts = await ch.query(
            "SELECT database, table, sum(rows) FROM system.parts WHERE active AND "  # noqa: S608 - constants, quote_*()
            f"database NOT IN ({_hidden_list()}) GROUP BY database, table "
            f"LIMIT {config.max_resources * 4 + 1}"
        )
        if parts.ok:
            for row in parse_tsv(parts.body, truncated=parts.truncated):
                if len(row) == 3 and (row[0], row[1]) in by_key:
                    by_key[(row[0], row[1])].rows = _int(row[2])  # type: ignore[index]
            for t in tables:
                if t.rows is None and t.engine and t.engine.endswith("MergeTree"):
                    t.rows = 0  # a MergeTree table without active parts is empty
        else:
            notes.append("row counts unavailable: system.parts could not be read")

    cols = await ch.query(
        f"SELECT database, table, name, type FROM system.columns WHERE {db_where} "  # noqa: S608 - constants, quote_*()
        f"LIMIT {_MAX_COLUMNS}",
        allow_truncate=True,
    )
    if cols.ok:
        for row in parse_tsv(cols.body, truncated=cols.truncated):
            if len(row) == 4 and None not in row:
                owner = by_key.get((row[0], row[1]))  # type: ignore[arg-type]
                if owner is not None:
                    owner.columns.append(Column(name=row[2] or "", type=row[3] or ""))
        if cols.truncated:
            notes.append("column list cut at the response byte limit")
    else:
        notes.append("system.columns could not be read: columns unknown")
    return tables, notes, seen


async def sample_table(ch: ChHttp, table: TableInfo, config: ScanConfig) -> Sample:
    """Up to ``config.sample_rows`` rows, bounded in bytes and server work."""
    n = max(0, config.sample_rows)
    sql = f"SELECT * FROM {quote_ident(table.database)}.{quote_ident(table.table)} LIMIT {n}"  # noqa: S608 - constants, quote_*()
    res = await ch.query(sql, fmt="TabSeparatedWithNames", allow_truncate=True)
    if not res.ok:
        code = res.error.code if res.error else res.status
        msg = res.error.name if res.error else ""
        return Sample((), (), False, f"code {code} {msg}".strip())
    parsed = parse_tsv(res.body, truncated=res.truncated, max_rows=n + 1)
    if res.truncated and len(parsed) <= 1:
        # huge cells: not even one complete row fitted; read the text columns cut short
        return await _sample_cut(ch, table, n)
    if not parsed:
        return Sample((), (), res.truncated)
    header = tuple(h or "" for h in parsed[0])
    rows = tuple(tuple(r) for r in parsed[1:])
    return Sample(header, rows, res.truncated)


def _is_text(type_name: str) -> bool:
    inner = type_name
    for wrapper in ("Nullable(", "LowCardinality("):
        while inner.startswith(wrapper) and inner.endswith(")"):
            inner = inner[len(wrapper) : -1]
    return inner == "String" or inner.startswith("FixedString(")


async def _sample_cut(ch: ChHttp, table: TableInfo, n: int) -> Sample:
    text_cols = [c.name for c in table.columns if _is_text(c.type)][:_MAX_CUT_COLUMNS]
    if not text_cols:
        return Sample((), (), True, "rows larger than the response limit, no text columns")
    exprs = ", ".join(f"substring({quote_ident(c)}, 1, {_CUT_CELL_CHARS})" for c in text_cols)
    src = f"{quote_ident(table.database)}.{quote_ident(table.table)}"
    res = await ch.query(
        f"SELECT {exprs} FROM {src} LIMIT {n}",  # noqa: S608 - constants, quote_*()
        allow_truncate=True,
    )
    if not res.ok:
        code = res.error.code if res.error else res.status
        return Sample((), (), True, f"code {code} on the cut-cell sample")
    rows = tuple(tuple(r) for r in parse_tsv(res.body, truncated=res.truncated, max_rows=n))
    return Sample(tuple(text_cols), rows, True)
