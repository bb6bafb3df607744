"""Read-only by construction: the one gate every SQL statement of every plugin passes, and
safe quoting per dialect.

:func:`guard_sql` refuses (raises :class:`UnsafeStatement`) anything that is not a single
``SELECT`` / ``SHOW`` / ``DESCRIBE`` / ``DESC`` / ``EXISTS`` statement (not even
``WITH ... SELECT``: the scanner never needs it, and refusing it keeps the check simple).
Comments and whitespace are stripped first; string literals and quoted identifiers are
skipped when looking for a ``;`` that is followed by more text.

Names that come from a scanned server are hostile: each dialect quotes them its own way
(:data:`CLICKHOUSE`, :data:`POSTGRESQL`, :data:`MYSQL`), so a table called
``x` ; DROP TABLE y`` stays a name.

Example::

    >>> guard_sql("  -- probe\\n SELECT 1")
    'SELECT 1'
    >>> POSTGRESQL.ident('we"ird')
    '"we""ird"'
    >>> MYSQL.ident("we`ird")
    '`we``ird`'
    >>> guard_sql("INSERT INTO t VALUES (1)")
    Traceback (most recent call last):
    ...
    leakmap.services.common.sqlguard.UnsafeStatement: refused: not a read statement (INSERT)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from leakmap.errors import LeakmapError

__all__ = [
    "ALLOWED_KEYWORDS",
    "CLICKHOUSE",
    "MYSQL",
    "POSTGRESQL",
    "Dialect",
    "UnsafeStatement",
    "guard_sql",
]

#: The first keyword of every statement the scanner may send.
ALLOWED_KEYWORDS = frozenset({"SELECT", "SHOW", "DESCRIBE", "DESC", "EXISTS"})

_FIRST_WORD = re.compile(r"[A-Za-z]+")


class UnsafeStatement(LeakmapError):
    """A statement that is not a single read statement; it is never sent."""


def _strip(sql: str) -> str:
    """Remove comments outside literals; refuse unterminated literals or comments."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"`":
            j = i + 1
            while j < n:
                if sql[j] == "\\":
                    j += 2
                    continue
                if sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:  # doubled quote inside a literal
                        j += 2
                        continue
                    break
                j += 1
            if j >= n:
                raise UnsafeStatement("refused: unterminated quoted text")
            out.append(sql[i : j + 1])
            i = j + 1
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
            out.append(" ")
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            if j < 0:
                raise UnsafeStatement("refused: unterminated comment")
            i = j + 2
            out.append(" ")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _semicolon_outside_literals(sql: str) -> int:
    """Index of the first ``;`` outside quotes, or -1 (``sql`` is already comment-free)."""
    quote: str | None = None
    i = 0
    while i < len(sql):
        c = sql[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "'\"`":
            quote = c
        elif c == ";":
            return i
        i += 1
    return -1


def guard_sql(sql: str) -> str:
    """Return the cleaned statement if it is one read statement; raise UnsafeStatement otherwise."""
    if "\x00" in sql:
        raise UnsafeStatement("refused: NUL byte in statement")
    body = _strip(sql).strip()
    semi = _semicolon_outside_literals(body)
    if semi >= 0:
        if body[semi + 1 :].strip():
            raise UnsafeStatement("refused: more than one statement")
        body = body[:semi].rstrip()
    m = _FIRST_WORD.match(body)
    if not m:
        raise UnsafeStatement("refused: empty or unrecognised statement")
    word = m.group(0).upper()
    if word not in ALLOWED_KEYWORDS:
        raise UnsafeStatement(f"refused: not a read statement ({word[:20]})")
    if re.search(r"\bINTO\s+OUTFILE\b", body, re.IGNORECASE):
        raise UnsafeStatement("refused: INTO OUTFILE writes a file")
    return body


_CH_IDENT = str.maketrans(
    {"`": "\\`", "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\x00": "\\0"}
)
_CH_STRING = str.maketrans({"'": "\\'", "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\x00": "\\0"})


def _refuse_nul(value: str) -> str:
    if "\x00" in value:
        raise UnsafeStatement("refused: NUL byte in a name or literal")
    return value


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one SQL dialect quotes a hostile identifier and a string literal."""

    name: str
    ident: Callable[[str], str]
    string: Callable[[str], str]


#: ClickHouse: backticks / single quotes with backslash escapes
CLICKHOUSE = Dialect(
    "clickhouse",
    lambda name: "`" + name.translate(_CH_IDENT) + "`",
    lambda value: "'" + value.translate(_CH_STRING) + "'",
)
#: PostgreSQL: double quotes doubled; standard strings (quote doubled, no backslash escapes)
POSTGRESQL = Dialect(
    "postgresql",
    lambda name: '"' + _refuse_nul(name).replace('"', '""') + '"',
    lambda value: "'" + _refuse_nul(value).replace("'", "''") + "'",
)
#: MySQL / MariaDB: backticks doubled; strings with quote doubled and backslash escaped
MYSQL = Dialect(
    "mysql",
    lambda name: "`" + _refuse_nul(name).replace("`", "``") + "`",
    lambda value: "'" + _refuse_nul(value).replace("\\", "\\\\").replace("'", "''") + "'",
)
