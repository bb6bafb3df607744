"""``--format html``: one self-contained page (no external assets, no script, no network).

A severity overview with a bar chart (inline SVG drawn from the counts), a drill-down per
host (or file): its services with their access state, capabilities and resources (tables
with rows and what the sample held), and its findings with redacted evidence, remediation
and references.

Rendered by Jinja2 with autoescape on for everything: every string that came from a
scanned server (versions, database, table and column names, evidence) or a file is
escaped, so a table named ``<img src=x onerror=alert(1)>`` shows as that text. The page
also carries a Content-Security-Policy that forbids scripts and every external load, as a
second wall. Reference links are written only for ``https://`` references from the rule
catalogues.
"""

from __future__ import annotations

import functools
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from leakmap.findings import Severity
from leakmap.report.console import sanitize
from leakmap.report.json import service_dict
from leakmap.report.model import Item, Report, where
from leakmap.services.base import ServiceReport

__all__ = ["render_html"]

_COLOURS = {
    Severity.CRITICAL: "#8b0000",
    Severity.HIGH: "#d9480f",
    Severity.MEDIUM: "#e8a400",
    Severity.LOW: "#1c7ed6",
    Severity.INFO: "#868e96",
}


@functools.cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("leakmap.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["clean"] = _clean
    env.filters["safe_link"] = _safe_link
    return env


def _clean(value: object, limit: int = 400) -> str:
    """Control characters as visible escapes, bounded (escaping is autoescape's job)."""
    return sanitize("" if value is None else value, limit)


def _safe_link(ref: str) -> bool:
    return ref.startswith("https://") and not any(c in ref for c in "<>\"' \n\r\t")


def _capabilities(report: ServiceReport) -> list[tuple[str, str]]:
    shown = {True: "usable", False: "no", None: "unknown"}
    flat = service_dict(report)["capabilities"]
    return [(str(name), shown.get(value, "unknown")) for name, value in flat.items()]


def _service_view(report: ServiceReport) -> dict[str, Any]:
    resources = []
    for res in report.resources:
        resources.append(
            {
                "name": res.name,
                "kind": res.kind,
                "engine": res.engine,
                "rows": res.rows,
                "bytes": res.bytes,
                "unsampled": res.unsampled,
                "columns": [f"{c.name} {c.type}" for c in res.columns[:50]],
                "more_columns": max(0, len(res.columns) - 50),
                "data": [
                    {
                        "category": d.category.value,
                        "rule": d.rule,
                        "count": d.count,
                        "example": d.example,
                    }
                    for d in res.data_findings
                ],
            }
        )
    return {
        "endpoint": where(report.host, report.port),
        "ip": report.ip if report.ip != report.host else "",
        "service": report.service,
        "transport": str(report.transport),
        "version": report.version,
        "auth": report.auth.value,
        "capabilities": _capabilities(report),
        "resources": resources,
        "notes": list(report.notes),
    }


def _chart(report: Report) -> dict[str, Any]:
    counts = report.severity_counts()
    top = max(counts.values()) or 1
    bars = []
    for index, (severity, n) in enumerate(counts.items()):
        bars.append(
            {
                "label": severity.value,
                "count": n,
                "y": 8 + index * 30,
                "width": round(300 * n / top, 1),
                "colour": _COLOURS[severity],
            }
        )
    return {"bars": bars, "height": 8 + len(bars) * 30}


def _groups(report: Report) -> list[dict[str, Any]]:
    services: dict[str, list[ServiceReport]] = {}
    for svc in report.services:
        services.setdefault(svc.host, []).append(svc)
    order = list(report.groups())
    order += [h for h in services if h not in order]
    grouped = report.groups()
    out = []
    for name in order:
        items: list[Item] = grouped.get(name, [])
        worst = max((i.severity for i in items), key=lambda s: s.rank, default=None)
        out.append(
            {
                "name": name,
                "findings": [_item_view(report, i) for i in items],
                "services": [_service_view(s) for s in services.get(name, [])],
                "worst": worst.value if worst else "none",
            }
        )
    return out


def _item_view(report: Report, item: Item) -> dict[str, Any]:
    rule = report.rule(item)
    return {
        "id": item.id,
        "rule": item.rule,
        "severity": item.severity.value,
        "title": item.title,
        "evidence": item.evidence,
        "target": item.target,
        "line": item.line,
        "resource": item.resource,
        "status": item.status,
        "remediation": item.remediation or rule.remediation,
        "references": list(item.references or rule.references),
    }


def render_html(report: Report) -> str:
    template = _environment().get_template("report.html.j2")
    counts = report.severity_counts()
    return template.render(
        report=report,
        title=report.title,
        generated=f"{report.generated:%Y-%m-%d %H:%M:%S} UTC",
        counts=[(s.value, n, _COLOURS[s]) for s, n in counts.items()],
        statuses=list(report.status_counts().items()),
        chart=_chart(report),
        groups=_groups(report),
        total=len(report.items),
        notes=report.notes[:500],
        label="Host" if report.kind in ("scan", "verify", "diff") else "File",
    )
