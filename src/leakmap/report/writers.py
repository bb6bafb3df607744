"""The writers, registered by format name in one place, shared by every command.

Each writer is a function over one :class:`~leakmap.report.model.Report` returning the
text to write; commands pick one by the ``--format`` value and write it through
:func:`leakmap.report.output.write_output`::

    json   the report kind's own JSON document (leakmap.scan/…, leakmap.audit/1, …)
    jsonl  one line a finding of that document (audit, classify)
    sarif  SARIF 2.1.0 for code scanning               (leakmap.report.sarif)
    md     disclosure-ready Markdown                   (leakmap.report.markdown)
    html   one self-contained page                     (leakmap.report.html)
    text   one line a finding, terminal-safe

Streaming formats (scan's ``jsonl`` and ``table``, classify's ``text``/``jsonl``) are
written as results arrive by their commands and are not here. Imports are lazy: choosing
``md`` does not load Jinja2.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from leakmap.errors import UsageError
from leakmap.report.model import Report

__all__ = ["WRITERS", "Writer", "render", "writer_for"]

Writer = Callable[[Report], str]


def _json(report: Report) -> str:
    if report.document is None:
        raise UsageError(f"a {report.kind} report has no JSON document")
    return json.dumps(report.document, indent=2, ensure_ascii=True, allow_nan=False) + "\n"


def _jsonl(report: Report) -> str:
    """One line per finding of the kind's own document (audit, classify)."""
    findings = (report.document or {}).get("findings")
    if not isinstance(findings, list):
        raise UsageError(f"a {report.kind} report has no JSON lines form here")
    schema = (report.document or {}).get("schema")
    lines = [
        json.dumps({"schema": schema, **f} if isinstance(f, dict) else f, ensure_ascii=True)
        for f in findings
    ]
    return "".join(line + "\n" for line in lines)


def _sarif(report: Report) -> str:
    from leakmap import __version__
    from leakmap.report.sarif import report_sarif

    log = report_sarif(report, __version__)
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _markdown(report: Report) -> str:
    from leakmap.report.markdown import render_markdown

    return render_markdown(report)


def _html(report: Report) -> str:
    from leakmap.report.html import render_html

    return render_html(report)


def _text(report: Report) -> str:
    from leakmap.report.console import sanitize

    lines = []
    for item in report.items:
        status = f"{item.status:<9} " if item.status else ""
        where = (
            item.target if item.line is None or ":" in item.target else f"{item.target}:{item.line}"
        )
        lines.append(
            f"{status}{item.severity.value:<8} {sanitize(where, 120)}  {sanitize(item.rule, 60)}  "
            f"{sanitize(item.title, 160)}"
            + (f"  [{sanitize(item.evidence, 160)}]" if item.evidence else "")
        )
    counts = report.severity_counts()
    tally = ", ".join(f"{n} {s.value}" for s, n in counts.items() if n)
    summary = f"{len(report.items)} finding(s)" + (f" ({tally})" if tally else "")
    if report.statuses:
        summary += "; " + ", ".join(f"{n} {s}" for s, n in report.status_counts().items())
    lines.append(summary)
    lines += [f"note: {sanitize(n, 300)}" for n in report.notes]
    return "\n".join(lines) + "\n"


WRITERS: dict[str, Writer] = {
    "json": _json,
    "jsonl": _jsonl,
    "sarif": _sarif,
    "md": _markdown,
    "html": _html,
    "text": _text,
}


def writer_for(fmt: str, allowed: tuple[str, ...] | None = None) -> Writer:
    """The writer for ``fmt`` (``markdown`` is ``md``); UsageError for an unknown one."""
    name = fmt.strip().lower()
    name = {"markdown": "md"}.get(name, name)
    names = allowed if allowed is not None else tuple(WRITERS)
    if name not in names or name not in WRITERS:
        raise UsageError(f"--format must be one of {'|'.join(names)}, not {fmt!r}")
    return WRITERS[name]


def render(report: Report, fmt: str) -> str:
    return writer_for(fmt)(report)
