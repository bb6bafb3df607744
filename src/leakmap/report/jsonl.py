"""``--format jsonl``: one JSON object a line, written as things are found.

Every line carries ``"schema": "leakmap.scan/2"`` and a ``"type"`` discriminator:

=============  =====================================================================
``scan``       first line: ``started``
``service``    a finished service (the same fields as in ``--format json``)
``finding``    each of that service's findings, right after it (most severe first)
``open_port``  an open port no plugin recognised (``host``, ``ip``, ``port``)
``note``       a warning (a name that did not resolve, a contained plugin error, ...)
``summary``    last line: ``finished``, counts of services and findings, per severity,
               and ``links``: the endpoints whose resources another endpoint of the same
               server carries (``resources_at``; decided once every endpoint is in, so a
               ``service`` line written earlier may not have it yet)
=============  =====================================================================

Each line validates against ``#/$defs/jsonlLine`` of ``schema/scan-2.json``. Lines are
flushed one by one, so a consumer (``| jq``) sees results while the scan runs.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from leakmap.pipeline import Note, ScanEvent, ScanSummary, ServiceFound, Unidentified, sort_findings
from leakmap.report.json import (
    SCHEMA,
    finding_dict,
    iso,
    open_port_dict,
    service_dict,
    severity_counts,
)

__all__ = ["JsonlWriter"]


class JsonlWriter:
    """Streams the scan's events to ``stream`` as JSON lines."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def _line(self, kind: str, payload: dict[str, Any]) -> None:
        record = {"schema": SCHEMA, "type": kind, **payload}
        self._stream.write(json.dumps(record, ensure_ascii=True, allow_nan=False) + "\n")
        self._stream.flush()

    def start(self, summary: ScanSummary) -> None:
        self._line("scan", {"started": iso(summary.started)})

    def event(self, event: ScanEvent) -> None:
        """Write what a consumer needs from one pipeline event (progress is not written)."""
        if isinstance(event, ServiceFound):
            self._line("service", service_dict(event.result.report))
            for finding in sort_findings(event.result.findings):
                self._line("finding", finding_dict(finding))
        elif isinstance(event, Unidentified):
            self._line("open_port", open_port_dict(event.port))
        elif isinstance(event, Note):
            self._line("note", {"message": event.message, "level": event.level})

    def finish(self, summary: ScanSummary) -> None:
        findings = summary.findings
        self._line(
            "summary",
            {
                "finished": iso(summary.finished),
                "services": len(summary.results),
                "findings": len(findings),
                "severities": severity_counts(findings),
                "ports_checked": summary.ports_checked,
                "ports_open": summary.ports_open,
                "links": [
                    {
                        "host": s.host,
                        "ip": s.ip,
                        "port": s.port,
                        "service": s.service,
                        "resources_at": s.resources_at,
                    }
                    for s in summary.services
                    if s.resources_at is not None
                ],
            },
        )
