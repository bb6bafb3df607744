"""SARIF 2.1.0 for ``leakmap classify --format sarif``: code-scanning upload in CI.

One run, tool ``leakmap``; a rule entry for every rule that has a result, with the rule's own
severity as the level (``critical``/``high`` → ``error``, ``medium`` → ``warning``, ``low``/
``info`` → ``note``) and as GitHub's numeric ``security-severity``. A result's location is
the file (a relative path as a URI reference, an absolute one as a ``file:`` URI), the
1-based line and the 1-based columns counted in Unicode code points (``columnKind``). The
message carries the rule's description and the redacted value only: a SARIF file is meant to
be uploaded, so it never holds a raw value.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePath, PurePosixPath
from typing import Any

from leakmap.classify.rules import Rule

__all__ = ["SARIF_SCHEMA_URI", "SARIF_VERSION", "classify_sarif", "sarif_uri"]

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"

_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub code scanning reads properties.security-severity: 9.0+ critical, 7.0+ high, 4.0+ medium.
_SECURITY_SEVERITY = {
    "critical": "9.5",
    "high": "8.0",
    "medium": "5.5",
    "low": "3.0",
    "info": "1.0",
}


def sarif_uri(path: str) -> str:
    """``path`` as a SARIF artifact URI: ``file:`` for an absolute path, otherwise a relative
    reference with forward slashes and percent-encoding; ``-`` (stdin) stays ``-``."""
    if path == "-":
        return "-"
    pure = PurePath(path)
    if pure.is_absolute():
        return "file://" + urllib.parse.quote(pure.as_posix(), safe="/")
    return urllib.parse.quote(PurePosixPath(*pure.parts).as_posix(), safe="/")


def _rule_entry(rule: Rule) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": rule.id,
        "shortDescription": {"text": rule.description},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {
            "category": rule.category.value,
            "severity": rule.severity,
            "precision": rule.confidence,
            "security-severity": _SECURITY_SEVERITY[rule.severity],
            "tags": ["security", rule.category.value],
        },
    }
    if rule.references:
        entry["helpUri"] = rule.references[0]
    return entry


def classify_sarif(
    findings: Iterable[Mapping[str, object]], rules: Sequence[Rule], version: str
) -> dict[str, Any]:
    """The SARIF log of ``leakmap classify`` findings (``{"path", "line", "start", "end",
    "category", "rule", "redacted"}`` each; a ``value`` key is never written)."""
    by_id = {rule.id: rule for rule in rules}
    index: dict[str, int] = {}
    entries: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for f in findings:
        rule_id = str(f["rule"])
        rule = by_id[rule_id]
        if rule_id not in index:
            index[rule_id] = len(entries)
            entries.append(_rule_entry(rule))
        start, end = int(str(f["start"])), int(str(f["end"]))
        results.append(
            {
                "ruleId": rule_id,
                "ruleIndex": index[rule_id],
                "level": _LEVEL[rule.severity],
                "message": {"text": f"{rule.description}: {f['redacted']}"},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": sarif_uri(str(f["path"]))},
                            "region": {
                                "startLine": int(str(f["line"])),
                                "startColumn": start + 1,
                                "endColumn": max(end, start + 1) + 1,
                            },
                        }
                    }
                ],
                "properties": {"category": str(f["category"]), "redacted": str(f["redacted"])},
            }
        )
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "leakmap",
                        "version": version,
                        "semanticVersion": version,
                        "rules": entries,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
