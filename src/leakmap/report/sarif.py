"""SARIF 2.1.0 for code scanning: one writer for scan, classify and audit results.

One run, tool ``leakmap``; a rule entry for every rule that has a result, its metadata from
the rule catalogue (:mod:`leakmap.report.catalogue`): the rule's severity as the level
(``critical``/``high`` → ``error``, ``medium`` → ``warning``, ``low``/``info`` → ``note``)
and as GitHub's numeric ``security-severity``, its title, remediation (``help``) and first
reference (``helpUri``). A result's location is:

* for a file (classify, audit): the path (a relative path as a URI reference, an absolute
  one as a ``file:`` URI) with the 1-based line and, where known, the 1-based columns in
  Unicode code points (``columnKind``);
* for an endpoint (scan): the endpoint as the artifact URI (``clickhouse://host:8123``).

Each result carries the finding's stable id as a partial fingerprint, so code scanning
keeps one alert per finding across runs. Messages hold redacted values only: a SARIF file
is meant to be uploaded.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePath, PurePosixPath
from typing import Any

from leakmap.classify.rules import Rule
from leakmap.findings import Severity
from leakmap.report.model import Item, Report, RuleInfo

__all__ = [
    "SARIF_SCHEMA_URI",
    "SARIF_VERSION",
    "classify_items",
    "classify_sarif",
    "report_sarif",
    "sarif_uri",
]

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub code scanning reads properties.security-severity: 9.0+ critical, 7.0+ high, 4.0+ medium.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
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


def _rule_entry(rule: RuleInfo) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": rule.id,
        "shortDescription": {"text": rule.title},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {
            "severity": rule.severity.value,
            "security-severity": _SECURITY_SEVERITY[rule.severity],
            "tags": list(rule.tags or ("security",)),
        },
    }
    if rule.remediation:
        entry["help"] = {"text": rule.remediation}
    if rule.references:
        entry["helpUri"] = rule.references[0]
    return entry


def _location(item: Item) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": item.uri}}
    if item.line is not None:
        region: dict[str, Any] = {"startLine": item.line}
        if item.column is not None:
            region["startColumn"] = item.column
            if item.end_column is not None:
                region["endColumn"] = max(item.end_column, item.column + 1)
        physical["region"] = region
    return {"physicalLocation": physical}


def report_sarif(
    report: Report, version: str, *, extra: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """The SARIF log of ``report``. ``extra`` adds properties to a result, by item id."""
    index: dict[str, int] = {}
    entries: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for item in report.items:
        rule = report.rule(item)
        if item.rule not in index:
            index[item.rule] = len(entries)
            entries.append(_rule_entry(rule))
        properties: dict[str, Any] = {"severity": item.severity.value}
        if item.resource:
            properties["resource"] = item.resource
        if item.status:
            properties["status"] = item.status
        if extra and item.id in extra:
            properties.update(extra[item.id])
        text = f"{item.title}: {item.evidence}" if item.evidence else item.title
        result: dict[str, Any] = {
            "ruleId": item.rule,
            "ruleIndex": index[item.rule],
            "level": _LEVEL[item.severity],
            "message": {"text": text},
            "locations": [_location(item)],
            "partialFingerprints": {"leakmapFindingId/v1": item.id},
            "properties": properties,
        }
        if item.severity is not rule.severity:
            result["properties"]["security-severity"] = _SECURITY_SEVERITY[item.severity]
        results.append(result)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "leakmap",
                "version": version,
                "semanticVersion": version,
                "informationUri": "https://github.com/leakmap/leakmap",
                "rules": entries,
            }
        },
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    return {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}


def classify_items(findings: Iterable[Mapping[str, object]], rules: Sequence[Rule]) -> Report:
    """A :class:`Report` of ``leakmap classify`` findings (``{"path", "line", "start",
    "end", "category", "rule", "redacted"}`` each; a ``value`` key is never read)."""
    from leakmap.report.catalogue import classify_catalogue

    catalogue = classify_catalogue(rules)
    items: list[Item] = []
    for f in findings:
        rule = catalogue[str(f["rule"])]
        start, end = int(str(f["start"])), int(str(f["end"]))
        path = str(f["path"])
        items.append(
            Item(
                id=f"{path}:{f['line']}:{start}:{f['rule']}",
                rule=rule.id,
                severity=rule.severity,
                title=rule.title,
                evidence=str(f["redacted"]),
                target=f"{path}:{f['line']}",
                uri=sarif_uri(path),
                group=path,
                remediation=rule.remediation,
                references=rule.references,
                resource=str(f["category"]),
                line=int(str(f["line"])),
                column=start + 1,
                end_column=max(end, start + 1) + 1,
            )
        )
    return Report(kind="classify", title="leakmap classify report", items=items, rules=catalogue)


def classify_sarif(
    findings: Iterable[Mapping[str, object]], rules: Sequence[Rule], version: str
) -> dict[str, Any]:
    """The SARIF log of ``leakmap classify`` findings."""
    materialised = list(findings)
    report = classify_items(materialised, rules)
    extra = {
        item.id: {"category": str(f["category"]), "redacted": str(f["redacted"])}
        for item, f in zip(report.items, materialised, strict=True)
    }
    log = report_sarif(report, version, extra=extra)
    for rule in log["runs"][0]["tool"]["driver"]["rules"]:
        rule["properties"]["category"] = catalogue_category(rule["properties"]["tags"])
    return log


def catalogue_category(tags: Sequence[str]) -> str:
    return next((t for t in tags if t != "security"), "")
