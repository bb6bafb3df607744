"""Turning a bounded sample into data findings, for every plugin.

A plugin hands :func:`classify_sample` the cells it sampled (rows of ``str | None``: table
rows, key values, documents flattened to strings, notebook cells); every cell is classified
in memory, JSON cells with escapes are also read as their decoded string leaves (so a chat
log stored as ``{"messages": [...]}`` is seen as text), and per (category, rule) one count and
one redacted example come back. Raw values never leave this module.

Example::

    findings = classify_sample(sample.rows, ctx.classifier)
    Resource(kind="keyspace", name="db0", data_findings=findings, sampled_rows=len(rows))
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from leakmap.categories import DataCategory
from leakmap.services.base import DataFinding

if TYPE_CHECKING:
    from leakmap.classify.engine import Classifier

__all__ = ["cell_texts", "classify_sample", "json_leaves"]

_MIN_CELL = 4
_MAX_JSON_CELL = 256 * 1024


def json_leaves(value: object, out: list[str], depth: int = 0) -> None:
    """Append the string leaves (and keys) of a parsed JSON value, bounded in depth and count."""
    if depth > 32 or len(out) > 10_000:
        return
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            out.append(str(k))
            json_leaves(v, out, depth + 1)
    elif isinstance(value, list):
        for v in value:
            json_leaves(v, out, depth + 1)


def cell_texts(cell: str) -> list[str]:
    """The cell itself, plus its decoded string leaves when it is JSON with escapes."""
    texts = [cell]
    stripped = cell.lstrip()
    if stripped[:1] in ("{", "[") and "\\" in cell and len(cell) <= _MAX_JSON_CELL:
        try:
            parsed = json.loads(cell)
        except (ValueError, RecursionError):
            return texts
        leaves: list[str] = []
        json_leaves(parsed, leaves)
        decoded = "\n".join(leaves)
        if decoded and decoded != cell:
            texts.append(decoded)
    return texts


def classify_sample(
    rows: Iterable[Sequence[str | None]], classifier: Classifier
) -> tuple[DataFinding, ...]:
    """Classify every cell; aggregate per (category, rule) with a redacted example.

    A value seen twice in one row counts once. Raw values never leave this function: only
    counts and ``Match.redacted``.
    """
    texts: list[str] = []
    owner: list[int] = []
    for i, row in enumerate(rows):
        for cell in row:
            if cell is None or len(cell) < _MIN_CELL:
                continue
            for t in cell_texts(cell):
                texts.append(t)
                owner.append(i)
    if not texts:
        return ()
    results = classifier.scan_many(texts)
    seen: set[tuple[int, str, str]] = set()
    counts: dict[tuple[DataCategory, str], int] = {}
    examples: dict[tuple[DataCategory, str], str] = {}
    for row_index, matches in zip(owner, results, strict=True):
        for m in matches:
            key = (row_index, m.rule, m.redacted)
            if key in seen:
                continue
            seen.add(key)
            agg = (DataCategory(m.category), m.rule)
            counts[agg] = counts.get(agg, 0) + 1
            examples.setdefault(agg, m.redacted)
    return tuple(
        DataFinding(category=cat, rule=rule, count=n, example=examples[(cat, rule)])
        for (cat, rule), n in sorted(counts.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1]))
    )
