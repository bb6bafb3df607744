"""Masking: how a secret or personal value may appear anywhere outside the process.

``redact("sk-proj-abc…")`` gives ``"sk-proj-…#8f3a1c"``: a short prefix (never more than a
quarter of the value, at most 8 characters) plus the first 6 hex digits of the value's
SHA-256, enough to tell two findings apart or to match a known value, not to recover it.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["redact", "value_hash"]

# A leading vendor prefix such as "sk-proj-", "ghp_", "xoxb-", "AKIA", "glpat-".
_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9]{1,7}[-_](?:[a-z0-9]{2,8}[-_])?")


def value_hash(value: str) -> str:
    """The full SHA-256 hex digest of ``value`` (UTF-8)."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def redact(value: str, keep: int | None = None) -> str:
    """Mask ``value``: a short prefix, an ellipsis, ``#`` and 6 hex digits of its SHA-256.

    ``keep`` asks for that many leading characters; it is capped at a quarter of the
    value's length and at 8, so short values show little or nothing.
    """
    cap = min(8, len(value) // 4)
    if keep is None:
        found = _PREFIX.match(value)
        keep = len(found.group(0)) if found else 4
    keep = max(0, min(keep, cap))
    prefix = value[:keep]
    if not prefix.isprintable():
        prefix = "".join(ch if ch.isprintable() else "?" for ch in prefix)
    return f"{prefix}…#{value_hash(value)[:6]}"
