"""Report writers over one scan's results (:class:`leakmap.pipeline.ScanSummary`).

One module per format: :mod:`~leakmap.report.json` (one document, schema ``leakmap.scan/2``,
published as JSON Schema in ``schema/scan-1.json``), :mod:`~leakmap.report.jsonl` (one object
a line, as found) and :mod:`~leakmap.report.console` (Rich tables and the progress bar).
Writers serialise only the models, whose examples and evidence are already redacted, and
treat every string that came from a scanned server as hostile.
"""

__all__: list[str] = []
