"""The JSON Schema (draft 2020-12) of ``leakmap audit --format json`` (``leakmap.audit/1``);
each ``--format jsonl`` line is one finding with ``"schema"`` added."""

from __future__ import annotations

from typing import Any

__all__ = ["AUDIT_SCHEMA", "FINDING_SCHEMA"]

_SEVERITY = {"enum": ["critical", "high", "medium", "low", "info"]}

FINDING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "rule", "severity", "path", "line", "title", "remediation"],
    "additionalProperties": False,
    "properties": {
        "schema": {"const": "leakmap.audit/1"},
        "id": {"type": "string", "pattern": "^[0-9a-f]{20}$"},
        "rule": {"type": "string", "pattern": "^[a-z0-9-]+(\\.[a-z0-9-]+)+$"},
        "severity": _SEVERITY,
        "path": {"type": "string", "minLength": 1},
        "line": {"type": "integer", "minimum": 1},
        "title": {"type": "string"},
        "remediation": {"type": "string"},
        "evidence": {"type": "string"},
        "references": {"type": "array", "items": {"type": "string"}},
    },
}

AUDIT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "leakmap audit report",
    "type": "object",
    "required": ["schema", "findings", "files", "summary"],
    "additionalProperties": False,
    "properties": {
        "schema": {"const": "leakmap.audit/1"},
        "findings": {"type": "array", "items": FINDING_SCHEMA},
        "files": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["path", "parser", "status"],
                "additionalProperties": False,
                "properties": {
                    "path": {"type": "string"},
                    "parser": {
                        "enum": [
                            "clickhouse",
                            "compose",
                            "kubernetes",
                            "helm",
                            "dotenv",
                            "terraform",
                        ]
                    },
                    "status": {"enum": ["audited", "unknown", "error"]},
                    "reasons": {"type": "array", "items": {"type": "string"}},
                    "merged": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
        "notes": {"type": "array", "items": {"type": "string"}},
        "summary": {
            "type": "object",
            "required": ["findings", "severities", "files", "unknown", "suppressed"],
            "additionalProperties": False,
            "properties": {
                "findings": {"type": "integer", "minimum": 0},
                "severities": {
                    "type": "object",
                    "propertyNames": _SEVERITY,
                    "additionalProperties": {"type": "integer", "minimum": 0},
                },
                "files": {"type": "integer", "minimum": 0},
                "unknown": {"type": "integer", "minimum": 0},
                "suppressed": {"type": "integer", "minimum": 0},
            },
        },
    },
}
