"""``--format md``: a disclosure-ready Markdown report.

Sections: summary (counts per severity, what was covered), affected endpoints or files,
then one section per finding with its evidence (redacted), the steps to fix, the
references and how to verify the fix (``leakmap verify`` for a scan, a re-run of the
audit for configuration).

Every string from a scanned server or a file is hostile: :func:`md` turns control
characters into visible escapes (one line, bounded), writes ``<``, ``>`` and ``&`` as HTML
entities (Markdown renderers pass raw HTML through) and backslash-escapes every Markdown
punctuation character, so a table named ``<img src=x onerror=alert(1)>`` or
``[click](javascript:…)`` renders as that text. Links are written only for references
from the rule catalogues, never for a string a server sent.
"""

from __future__ import annotations

import re

from leakmap.report.console import sanitize
from leakmap.report.model import Item, Report

__all__ = ["code", "md", "render_markdown"]

_PUNCT = re.compile(r"([\\`*_\[\]#!|~])")


def md(value: object, limit: int = 500) -> str:
    """Hostile text as safe inline Markdown."""
    text = sanitize(value, limit)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _PUNCT.sub(r"\\\1", text)


def code(value: object, limit: int = 200) -> str:
    """Hostile text as an inline code span (no backticks inside, one line, bounded)."""
    return "`" + sanitize(value, limit).replace("`", "'") + "`"


def _verify_hint(report: Report, item: Item) -> str:
    if report.kind in ("scan", "verify", "diff"):
        return (
            "Re-run `leakmap verify RESULT.json` with the report this finding came from: it "
            "probes only the affected endpoints again and marks this finding `fixed` only "
            "when the endpoint answers and no longer shows it."
        )
    if report.kind == "audit":
        return "Re-run `leakmap audit` on the changed files: the finding must be gone."
    return "Re-run `leakmap classify` on the file: the finding must be gone."


def _summary(report: Report) -> list[str]:
    counts = report.severity_counts()
    lines = ["## Summary", ""]
    total = len(report.items)
    lines.append(
        f"{total} finding{'s' if total != 1 else ''} ({report.generated:%Y-%m-%d %H:%M} UTC)."
    )
    lines.append("")
    lines.append("| severity | findings |")
    lines.append("|---|---|")
    for severity, n in counts.items():
        lines.append(f"| {severity.value} | {n} |")
    if report.statuses:
        lines += ["", "| status | findings |", "|---|---|"]
        for status, n in report.status_counts().items():
            lines.append(f"| {status} | {n} |")
    if report.scope:
        lines += ["", f"Scope: {md(report.scope, 2000)}"]
    return lines


def _affected(report: Report) -> list[str]:
    label = "Affected endpoints" if report.kind in ("scan", "verify", "diff") else "Affected files"
    lines = ["", f"## {label}", "", "| where | findings | most severe |", "|---|---|---|"]
    for items in report.groups().values():
        worst = max(items, key=lambda i: i.severity.rank).severity.value
        targets = sorted({i.target for i in items})
        shown = ", ".join(md(t, 200) for t in targets[:20])
        if len(targets) > 20:
            shown += f" (+{len(targets) - 20})"
        lines.append(f"| {shown} | {len(items)} | {worst} |")
    return lines


def _finding(report: Report, number: int, item: Item) -> list[str]:
    rule = report.rule(item)
    lines = ["", f"### {number}. {md(item.title, 300)}", ""]
    lines.append(f"- **Severity:** {item.severity.value}")
    if item.status:
        lines.append(f"- **Status:** {md(item.status)}")
    lines.append(f"- **Rule:** {code(item.rule)}")
    where = item.target + (f" line {item.line}" if item.line and ":" not in item.target else "")
    lines.append(f"- **Where:** {md(where, 300)}")
    if item.resource:
        lines.append(f"- **Resource:** {md(item.resource, 300)}")
    lines.append(f"- **Finding id:** {code(item.id, 100)}")
    lines += ["", "**Evidence** (secrets masked):", "", f"> {md(item.evidence, 1000)}"]
    remediation = item.remediation or rule.remediation
    if remediation:
        lines += ["", "**Steps to fix:**", "", md(remediation, 2000)]
    refs = item.references or rule.references
    if refs:
        lines += ["", "**References:**", ""]
        lines += [f"- <{ref}>" for ref in refs if _is_link(ref)]
    lines += ["", "**How to verify the fix:**", "", _verify_hint(report, item)]
    return lines


def _is_link(ref: str) -> bool:
    return ref.startswith("https://") and not any(c in ref for c in "<> \n\r\t")


def render_markdown(report: Report) -> str:
    title = md(report.title, 200)
    lines = [f"# {title}", ""]
    lines.append(
        "This report was produced by leakmap, a read-only scanner: no data was changed on any "
        "system. Sampled values are masked and shown with a short hash, never in the clear."
    )
    lines += ["", *_summary(report)]
    if report.items:
        lines += _affected(report)
        lines += ["", "## Findings"]
        if report.statuses:
            number = 0
            for status in report.statuses:
                chosen = [i for i in report.items if i.status == status]
                if not chosen:
                    continue
                lines += ["", f"## {md(status.capitalize())} ({len(chosen)})"]
                for item in chosen:
                    number += 1
                    lines += _finding(report, number, item)
        else:
            for number, item in enumerate(report.items, 1):
                lines += _finding(report, number, item)
    else:
        lines += ["", "No findings."]
    if report.notes:
        lines += ["", "## Notes", ""]
        lines += [f"- {md(note, 400)}" for note in report.notes[:200]]
    return "\n".join(lines) + "\n"
