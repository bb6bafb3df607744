"""Parse ClickHouse ``TabSeparated`` output safely from a bounded (maybe truncated) body.

TSV is line-based: when a byte limit cut the body, every complete line is still valid and
only the partial last line is dropped. Escapes: ``\\t \\n \\r \\b \\f \\0 \\' \\\\``;
a lone ``\\N`` field is NULL.
"""

from __future__ import annotations

import re

__all__ = ["parse_tsv", "unescape_field"]

_ESCAPES = {
    "t": "\t",
    "n": "\n",
    "r": "\r",
    "b": "\b",
    "f": "\f",
    "0": "\x00",
    "'": "'",
    "\\": "\\",
    "a": "\a",
    "v": "\v",
    "e": "\x1b",
}
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def unescape_field(raw: str) -> str | None:
    if raw == "\\N":
        return None
    if "\\" not in raw:
        return raw
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), raw)


def parse_tsv(
    body: bytes, *, truncated: bool = False, max_rows: int | None = None
) -> list[list[str | None]]:
    """Rows of fields. A truncated body loses its last (incomplete) line."""
    text = body.decode("utf-8", "replace")
    lines = text.split("\n")
    last = lines.pop()  # what follows the final newline ("" when the body ends with one)
    if last and not truncated:
        lines.append(last)
    rows: list[list[str | None]] = []
    for line in lines:
        if max_rows is not None and len(rows) >= max_rows:
            break
        rows.append([unescape_field(f) for f in line.split("\t")])
    return rows
