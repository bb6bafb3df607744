"""The JSON Schemas of ``leakmap classify`` output, as dicts: one finding (a ``--format
jsonl`` line, an item of the json document) and the ``--format json`` document.

Tests validate the command's output against them; :data:`SCHEMA` is the version string the
json document carries (and that :func:`leakmap.classify.suppress.load_baseline` recognises).
"""

from __future__ import annotations

__all__ = ["DOCUMENT_SCHEMA", "FINDING_SCHEMA", "SCHEMA"]

SCHEMA = "leakmap.classify/1"

_CATEGORIES = ["secret", "pii", "chat", "infrastructure"]


def _counts(keys: list[str], description: str | None = None) -> dict[str, object]:
    """An object of positive counts keyed by ``keys``."""
    schema: dict[str, object] = {} if description is None else {"description": description}
    schema.update(
        type="object",
        propertyNames={"enum": keys},
        additionalProperties={"type": "integer", "minimum": 1},
    )
    return schema


#: JSON Schema of one finding: a ``--format jsonl`` line, an item of the json document.
FINDING_SCHEMA: dict[str, object] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "leakmap classify finding",
    "type": "object",
    "required": ["path", "line", "start", "end", "category", "rule", "redacted"],
    "additionalProperties": False,
    "properties": {
        "path": {"type": "string", "description": "file as given, or '-' for stdin"},
        "line": {"type": "integer", "minimum": 1},
        "start": {"type": "integer", "minimum": 0, "description": "character offset in line"},
        "end": {"type": "integer", "minimum": 0},
        "category": {"enum": _CATEGORIES},
        "rule": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*(\\.[a-z0-9][a-z0-9_-]*)+$"},
        "redacted": {"type": "string", "pattern": "…#[0-9a-f]{6}$"},
        "value": {"type": "string", "description": "raw value, only with --show-secrets"},
    },
}

#: JSON Schema of the ``--format json`` document.
DOCUMENT_SCHEMA: dict[str, object] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "leakmap classify report",
    "type": "object",
    "required": ["schema", "findings", "summary"],
    "additionalProperties": False,
    "properties": {
        "schema": {"const": SCHEMA},
        "findings": {"type": "array", "items": FINDING_SCHEMA},
        "summary": {
            "type": "object",
            "required": ["findings", "by_category"],
            "additionalProperties": False,
            "properties": {
                "findings": {"type": "integer", "minimum": 0},
                "by_category": _counts(_CATEGORIES),
                "suppressed": _counts(
                    ["baseline", "leakmap:allow"],
                    "findings not reported: known in --baseline, or on a line with a "
                    "leakmap:allow marker",
                ),
                "skipped_files": _counts(
                    ["binary", "not-utf-8"],
                    "files found by the walk and not scanned: binary (a NUL in the first "
                    "8000 bytes) or not UTF-8 text; present only when some were",
                ),
            },
        },
    },
}
