"""ClickHouse's side of the statement guard: :func:`guard_sql` (shared by every SQL plugin,
:mod:`leakmap.services.common.sqlguard`) and ClickHouse's own quoting of hostile names.

Example::

    >>> quote_ident("x` ; DROP TABLE y")
    '`x\\\\` ; DROP TABLE y`'
"""

from __future__ import annotations

from leakmap.services.common.sqlguard import (
    ALLOWED_KEYWORDS,
    CLICKHOUSE,
    UnsafeStatement,
    guard_sql,
)

__all__ = ["ALLOWED_KEYWORDS", "UnsafeStatement", "guard_sql", "quote_ident", "quote_string"]


def quote_ident(name: str) -> str:
    """Backtick-quote an identifier from a hostile server; every special character escaped."""
    return CLICKHOUSE.ident(name)


def quote_string(value: str) -> str:
    """Single-quote a string literal; backslash and quote escaped."""
    return CLICKHOUSE.string(value)
