"""The terminal summary (Rich tables) and the progress bar.

Every string shown here may come from a scanned server (banners, versions, database,
table and column names, redacted examples, evidence) and is hostile: :func:`sanitize`
turns C0/C1 control characters (ESC, CSI, BEL, CR, ...), bidirectional overrides and
zero-width characters into visible ``\\xNN`` / ``\\uNNNN`` escapes and bounds the length;
cells are built as :class:`rich.text.Text` objects, which Rich never parses for markup,
so ``[bold]`` from a server prints literally.
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from leakmap.findings import Finding, Severity
from leakmap.pipeline import (
    EndpointFound,
    Note,
    PortChecked,
    ScanEvent,
    ScanSummary,
    ServiceFound,
)
from leakmap.sanitize import sanitize
from leakmap.services.base import AuthState, ServiceReport

__all__ = ["ScanProgress", "group_findings", "render_summary", "sanitize", "text", "where"]

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
AUTH_STYLE = {
    AuthState.NONE: "bold red",
    AuthState.REQUIRED: "green",
    AuthState.UNKNOWN: "yellow",
}


def where(host: str, port: int) -> str:
    """``host:port``, with an IPv6 address in brackets (``[::1]:9000``)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def text(value: object, style: str = "", limit: int | None = 160) -> Text:
    """A Rich cell from hostile text: sanitised, never interpreted as markup."""
    return Text(sanitize(value, limit), style=style)


def _capabilities(report: ServiceReport) -> Text:
    values = dict(report.capabilities.items())
    out = Text()
    usable = [k for k, v in values.items() if v is True]
    unknown = [k for k, v in values.items() if v is None]
    if usable:
        out.append(sanitize(" ".join(usable), 160), style="bold red")
    if unknown and report.auth is AuthState.NONE:
        if usable:
            out.append(" ")
        out.append(sanitize("?" + " ?".join(unknown), 160), style="dim")
    if not usable and not unknown:
        out.append("none", style="green")
    return out


def _services_table(summary: ScanSummary) -> Table:
    table = Table(title="Services", title_justify="left", expand=False)
    for name in (
        "endpoint",
        "service",
        "transport",
        "version",
        "auth",
        "resources",
        "capabilities",
    ):
        table.add_column(name, overflow="fold")
    for report in summary.services:
        endpoint = where(report.host, report.port)
        if report.ip != report.host:
            endpoint += f" ({report.ip})"
        table.add_row(
            text(endpoint),
            text(report.service),
            text(str(report.transport)),
            text(report.version or "?"),
            text(report.auth.value, AUTH_STYLE[report.auth]),
            text(_resources_cell(report)),
            _capabilities(report),
        )
    return table


def _resources_cell(report: ServiceReport) -> str:
    """``3`` or ``500 of 2003 listed, 120 sampled`` (the coverage when the plugin gave it)."""
    cov = report.coverage
    if cov is None:
        return str(len(report.resources)) if report.resources else "-"
    listed = str(cov.listed)
    if cov.total is not None and cov.total > cov.listed:
        listed = f"{cov.listed} of {cov.total} listed"
    return f"{listed}, {cov.sampled} sampled" if cov.listed else "-"


#: rows of the data table shown on the terminal (the JSON report has them all)
DATA_ROWS = 200
#: resources named in one grouped finding row before "+N more"
GROUP_NAMES = 3


def group_findings(findings: list[Finding]) -> list[tuple[Finding, list[str]]]:
    """One row per (rule, endpoint): the most severe finding of the group (the first, as
    findings come sorted) and the resources of all of them, in order. The JSON keeps one
    finding per resource; the console shows "exposed table holds secrets" once per endpoint."""
    groups: dict[tuple[str, str, int], tuple[Finding, list[str]]] = {}
    for f in findings:
        key = (f.rule, f.host, f.port)
        if key not in groups:
            groups[key] = (f, [])
        if f.resource:
            groups[key][1].append(f.resource)
    return list(groups.values())


def _findings_table(summary: ScanSummary) -> Table:
    table = Table(title="Findings", title_justify="left", expand=False)
    for name in ("severity", "endpoint", "resource", "title", "evidence"):
        table.add_column(name, overflow="fold")
    for finding, resources in group_findings(summary.findings):
        where_ = "-"
        evidence = finding.evidence
        if len(resources) == 1:
            where_ = resources[0]
        elif resources:
            shown = ", ".join(resources[:GROUP_NAMES])
            more = len(resources) - GROUP_NAMES
            where_ = f"{len(resources)} resources: {shown}" + (
                f" (+{more} more)" if more > 0 else ""
            )
            evidence = f"{evidence} (first of {len(resources)}; each in the JSON report)"
        table.add_row(
            text(finding.severity.value, SEVERITY_STYLE[finding.severity]),
            text(where(finding.host, finding.port)),
            text(where_, limit=300),
            text(finding.title, limit=200),
            text(evidence, limit=260),
        )
    return table


def _data_table(summary: ScanSummary) -> Table | None:
    table = Table(title="Data found in sampled rows", title_justify="left", expand=False)
    for name in ("endpoint", "resource", "rows", "category", "rule", "count", "example"):
        table.add_column(name, overflow="fold")
    any_row = False
    hidden = 0
    shown = 0
    for report in summary.services:
        for resource in report.resources:
            for data in resource.data_findings:
                any_row = True
                if shown >= DATA_ROWS:
                    hidden += 1
                    continue
                shown += 1
                table.add_row(
                    text(where(report.host, report.port)),
                    text(resource.name),
                    text("?" if resource.rows is None else resource.rows),
                    text(data.category.value),
                    text(data.rule),
                    text(data.count),
                    text(data.example, limit=80),
                )
    if hidden:
        table.caption = f"{hidden} more rows in the JSON report"
    return table if any_row else None


def render_summary(summary: ScanSummary, console: Console) -> None:
    """Print the services, the data found per table, the findings and a one-line tally."""
    if summary.services:
        console.print(_services_table(summary))
    data = _data_table(summary)
    if data is not None:
        console.print(data)
    if summary.findings:
        console.print(_findings_table(summary))
    if summary.unidentified:
        ports = ", ".join(where(p.host, p.port) for p in summary.open_ports)
        line = Text("Open, not recognised: ", style="dim")
        line.append(sanitize(ports, limit=2000))
        console.print(line)
    tally = Text()
    tally.append(f"{len(summary.services)} service(s), {len(summary.findings)} finding(s)")
    counts = {s: 0 for s in Severity}
    for finding in summary.findings:
        counts[finding.severity] += 1
    parts = [(f"{n} {s.value}", SEVERITY_STYLE[s]) for s, n in counts.items() if n]
    if parts:
        tally.append(" (")
        for index, (label, style) in enumerate(parts):
            if index:
                tally.append(", ")
            tally.append(label, style=style)
        tally.append(")")
    tally.append(f"; {summary.ports_open} open of {summary.ports_checked} port(s) checked")
    if summary.started and summary.finished:
        seconds = (summary.finished - summary.started).total_seconds()
        tally.append(f" in {seconds:.1f} s")
    console.print(tally)


class ScanProgress:
    """A transient progress bar on ``console`` (stderr), fed with pipeline events.

    Disabled (every method a no-op) unless ``enabled`` and the console is a terminal.
    """

    def __init__(self, console: Console, *, enabled: bool) -> None:
        self._active = enabled and console.is_terminal
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._console = console
        self._services = 0

    def __enter__(self) -> ScanProgress:
        if self._active:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self._console,
                transient=True,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task("port scan", total=None)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.__exit__(exc_type, exc, tb)
            self._progress = None

    def update(self, event: ScanEvent) -> None:
        progress, task = self._progress, self._task
        if progress is None or task is None:
            return
        if isinstance(event, PortChecked):
            progress.update(task, completed=event.done, total=event.total)
        elif isinstance(event, EndpointFound):
            label = sanitize(where(event.endpoint.host, event.endpoint.port), limit=60)
            progress.update(task, description=f"assessing {label} ({self._services} done)")
        elif isinstance(event, ServiceFound):
            self._services += 1
            progress.update(task, description=f"{self._services} service(s) assessed")

    def note(self, note: Note) -> None:
        """Print a warning above the bar (or plainly when there is no bar)."""
        line = Text(f"{note.level}: ", style="yellow")
        line.append(sanitize(note.message, limit=300))
        self._console.print(line)
