"""``leakmap classify [PATH...]``: find secrets, personal data, chat records and
infrastructure details in text, log and JSON-lines files (or stdin).

Examples::

    leakmap classify app.log                      # a table on the terminal
    kubectl logs deploy/api | leakmap classify -  # stdin
    leakmap classify -r ./exports --format jsonl -o findings.jsonl
    leakmap classify dump.json --category secret --disable 'secret.generic.*'
    leakmap classify -r src/ config/ --format sarif -o leakmap.sarif   # code scanning in CI
    leakmap classify -r config/ --baseline known.jsonl   # only findings not in known.jsonl

A line holding ``leakmap:allow`` (or ``leakmap:allow=RULE-GLOB,...``) has its findings (of
those rules) suppressed, unless ``--no-inline-allow``; ``--baseline`` drops the findings of
an earlier jsonl/json output (same path, rule and redacted value).

Files are read in blocks of whole lines of about 1 MiB (gzip, bzip2 and xz files are
decompressed as they are read); once the input reaches 1 MiB, worker processes scan groups
of files and the blocks of large ones (``--jobs``, one per core by default, up to 4). A
file found by ``-r`` whose first 8000 bytes hold a NUL (binary) or that is not UTF-8 is
skipped silently and counted in the summary (``--verbose``: one note on stderr). A finding
is reported at the line where it starts; ``start``/``end`` are character offsets in that
line (a match that runs over several lines is clipped at the end of its first line; a
line longer than 4 MiB is scanned in 4 MiB pieces).

Exit codes: 0 nothing found, 1 something found, 2 bad input (one line on stderr).
The raw value is never written unless ``--show-secrets`` is given.

This module only parses options, calls the library and picks a writer: the walk and
decompression are :mod:`leakmap.files`, batching and worker processes
:mod:`leakmap.classify.filescan`, suppression :mod:`leakmap.classify.suppress`, the JSON
Schemas :mod:`leakmap.classify.output_schema`.
"""

from __future__ import annotations

import gc
import json
import sys
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated

import typer

from leakmap.categories import DataCategory
from leakmap.classify.filescan import (
    OutputFormat,
    ScanOptions,
    auto_jobs,
    scan_paths,
    strip_control,
)
from leakmap.classify.output_schema import DOCUMENT_SCHEMA, FINDING_SCHEMA, SCHEMA
from leakmap.classify.suppress import Suppression, load_baseline
from leakmap.files import InputError

if TYPE_CHECKING:
    from leakmap.classify.engine import Classifier

__all__ = [
    "DOCUMENT_SCHEMA",
    "FINDING_SCHEMA",
    "SCHEMA",
    "InputError",
    "OutputFormat",
    "classify_command",
    "load_baseline",
    "register",
    "strip_control",
]


def _summary(
    counts: Counter[str], total: int, suppressed: Counter[str], skipped: Counter[str]
) -> str:
    if not total:
        text = "no findings"
    else:
        parts = ", ".join(f"{cat}: {counts[cat]}" for cat in sorted(counts))
        text = f"{total} finding{'s' if total != 1 else ''} ({parts})"
    if suppressed:
        why = ", ".join(f"{k}: {suppressed[k]}" for k in sorted(suppressed))
        text += f"; {sum(suppressed.values())} suppressed ({why})"
    if skipped:
        n = sum(skipped.values())
        why = ", ".join(f"{k}: {skipped[k]}" for k in sorted(skipped))
        text += f"; {n} file{'s' if n != 1 else ''} skipped ({why})"
    return text


def _run(
    clf: Classifier,
    paths: Sequence[str],
    recursive: bool,
    opts: ScanOptions,
    out: IO[str],
    notes: list[str],
    jobs: int = 1,
    skipped: Counter[str] | None = None,
) -> int:
    fmt = opts.fmt
    skipped = Counter() if skipped is None else skipped
    counts: Counter[str] = Counter()
    suppressed: Counter[str] = Counter()
    collected: list[dict[str, object]] = []
    for text, dicts, batch_counts, batch_suppressed in scan_paths(
        clf, paths, recursive, opts, notes, jobs, skipped
    ):
        counts.update(batch_counts)
        suppressed.update(batch_suppressed)
        if text:
            out.write(text)
        collected.extend(dicts)
    total = sum(counts.values())
    if fmt is OutputFormat.JSON:
        summary: dict[str, object] = {
            "findings": total,
            "by_category": dict(sorted(counts.items())),
            "suppressed": dict(sorted(suppressed.items())),
        }
        if skipped:
            summary["skipped_files"] = dict(sorted(skipped.items()))
        doc = {"schema": SCHEMA, "findings": collected, "summary": summary}
        out.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    elif fmt is OutputFormat.SARIF:
        from leakmap import __version__
        from leakmap.report.sarif import classify_sarif

        sarif = classify_sarif(collected, clf.rules, __version__)
        out.write(json.dumps(sarif, ensure_ascii=False, indent=2) + "\n")
    elif fmt in (OutputFormat.MD, OutputFormat.HTML):
        from leakmap.report.sarif import classify_items
        from leakmap.report.writers import writer_for

        out.write(writer_for(fmt.value)(classify_items(collected, clf.rules)))
    elif fmt is OutputFormat.TEXT:
        out.write(_summary(counts, total, suppressed, skipped) + "\n")
    return total


_SHARED = {OutputFormat.SARIF: "SARIF", OutputFormat.MD: "Markdown", OutputFormat.HTML: "HTML"}


def classify_command(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            help="Files or directories to scan; '-' or nothing reads stdin.", show_default=False
        ),
    ] = None,
    recursive: Annotated[bool, typer.Option("-r", "--recursive", help="Scan directories.")] = False,
    output_format: Annotated[
        OutputFormat,
        typer.Option(
            "--format",
            "-f",
            help="text, json (one document), jsonl, sarif (code scanning), md or html.",
        ),
    ] = OutputFormat.TEXT,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to FILE.")] = None,
    rules: Annotated[
        list[Path] | None,
        typer.Option("--rules", help="Extra rule file (YAML, same schema as the built-in ones)."),
    ] = None,
    disable: Annotated[
        list[str] | None,
        typer.Option("--disable", help="Disable a rule id (glob allowed, e.g. 'pii.*')."),
    ] = None,
    category: Annotated[
        list[DataCategory] | None,
        typer.Option("--category", "-c", help="Only report these categories; repeatable."),
    ] = None,
    show_secrets: Annotated[
        bool, typer.Option("--show-secrets", help="Also print the raw matched values (careful).")
    ] = False,
    baseline: Annotated[
        Path | None,
        typer.Option(
            "--baseline",
            help="An earlier jsonl/json output: its findings (same path, rule and value hash) "
            "are known and not reported again.",
        ),
    ] = None,
    inline_allow: Annotated[
        bool,
        typer.Option(
            "--inline-allow/--no-inline-allow",
            help="Honour 'leakmap:allow' or 'leakmap:allow=RULE-GLOB,...' on a line.",
        ),
    ] = True,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            "-j",
            min=0,
            help="Worker processes for files of 1 MiB or more (0 = one per core, up to 4).",
        ),
    ] = 0,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Also say on stderr how many files were skipped as binary."
        ),
    ] = False,
) -> None:
    """Find secrets, personal data, chat records and infrastructure details in text files.

    Exit code 1 when something was found, 0 when nothing, 2 on bad input.
    """
    from leakmap.classify.engine import Classifier

    if show_secrets and output_format in (OutputFormat.SARIF, OutputFormat.MD, OutputFormat.HTML):
        raise InputError(
            f"--show-secrets cannot go into {_SHARED[output_format]}, which is made to be shared"
        )
    clf = Classifier.load(extra_rule_files=rules or (), disabled=disable or ())
    if category:
        wanted = set(category)
        clf = Classifier([r for r in clf.rules if r.category in wanted])
    opts = ScanOptions(
        fmt=output_format,
        show=show_secrets,
        suppression=Suppression(
            inline_allow=inline_allow,
            baseline=load_baseline(baseline) if baseline is not None else frozenset(),
        ),
    )
    notes: list[str] = []
    # The scan allocates many short-lived, cycle-free objects; the cyclic collector would
    # spend a third of the run re-walking everything the imports created. Reference
    # counting still frees every object as soon as it is written out.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    with ExitStack() as stack:
        if gc_was_enabled:
            stack.callback(gc.enable)
        from leakmap.report.output import open_output

        out: IO[str] = stack.enter_context(open_output(output))
        skipped: Counter[str] = Counter()
        total = _run(clf, paths or [], recursive, opts, out, notes, auto_jobs(jobs), skipped)
    if verbose and skipped:
        n = sum(skipped.values())
        why = ", ".join(f"{k}: {skipped[k]}" for k in sorted(skipped))
        notes.append(f"skipped {n} file{'s' if n != 1 else ''} that are not UTF-8 text ({why})")
    for note in notes:
        print(f"leakmap: {strip_control(note)}", file=sys.stderr)
    if total:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    """Add ``classify`` to the app."""
    app.command("classify")(classify_command)
