"""The one sanitiser of hostile text (a leaf module: cheap to import).

Everything a scanned server or a scanned file sent - banners, names, error texts, matched
lines - passes :func:`sanitize` before it reaches a terminal, a note or a finding's evidence:

* C0 controls (ESC sequences, CR, BEL, backspace, ...), DEL and C1 controls;
* bidirectional controls that reorder what a reader sees (U+061C, U+200E/F, U+202A-202E,
  U+2066-2069: "Trojan Source") and line/paragraph separators (U+2028/2029);
* zero-width and invisible characters that hide text (U+200B-200D, U+2060-2064, U+FEFF,
  U+FFF9-FFFB interlinear annotations)

are each shown as a visible escape (``\\x1b``, ``\\u202e``); a tab becomes one space. The
result is one line, capped at ``limit`` characters (ending in ``…`` when cut). HTML writers
still escape for HTML; this is about terminals and plain text.

Example::

    >>> sanitize("evil\\x1b[2Jname\\u202etxt.exe", 40)
    'evil\\\\x1b[2Jname\\\\u202etxt.exe'
"""

from __future__ import annotations

import re

__all__ = ["UNSAFE", "sanitize"]

UNSAFE = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069"
    "\ufeff\ufff9-\ufffb]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def sanitize(value: object, limit: int | None = None) -> str:
    """A single-line, terminal-safe rendering of ``value``, at most ``limit`` characters."""
    cleaned = UNSAFE.sub(_escape, str(value).replace("\t", " "))
    if limit is not None and len(cleaned) > limit:
        cleaned = cleaned[: max(0, limit - 1)] + "…"
    return cleaned
