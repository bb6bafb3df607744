"""Scanning files with the classifier: batches of lines, worker processes, suppression,
and findings rendered where they were found.

The library behind ``leakmap classify``; the command only parses options, calls
:func:`scan_paths` and writes what it yields::

    from leakmap.classify import Classifier
    from leakmap.classify.filescan import OutputFormat, ScanOptions, scan_paths

    clf = Classifier.load()
    notes: list[str] = []
    for text, dicts, counts, suppressed in scan_paths(
        clf, ["logs/"], recursive=True, opts=ScanOptions(OutputFormat.JSONL), notes=notes
    ):
        sys.stdout.write(text)

Files come from :mod:`leakmap.files` (walk, decompression, UTF-8 lines); suppression from
:mod:`leakmap.classify.suppress`. A file of :data:`PARALLEL_BYTES` or more is scanned by
forked worker processes, each holding its own copy of the classifier; batches come back in
order, already rendered (one string instead of thousands of objects to unpickle).
"""

from __future__ import annotations

import bisect
import os
import sys
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from enum import StrEnum
from json.encoder import encode_basestring as _json_str  # C-accelerated, keeps non-ASCII
from pathlib import Path
from typing import TYPE_CHECKING

from leakmap.classify.suppress import ALLOW_MARKER, Suppression, allowed_rules
from leakmap.files import (
    BinaryFileError,
    InputError,
    NotUtf8Error,
    expand,
    open_input,
    segments,
    text_blocks,
)
from leakmap.sanitize import sanitize

if TYPE_CHECKING:
    from multiprocessing.pool import AsyncResult, Pool

    from leakmap.classify.engine import Classifier, Match

__all__ = [
    "PARALLEL_BYTES",
    "SKIP_BINARY",
    "SKIP_NOT_UTF8",
    "Finding",
    "OutputFormat",
    "Rendered",
    "ScanOptions",
    "auto_jobs",
    "jsonl_line",
    "make_pool",
    "scan_paths",
    "strip_control",
    "text_line",
]

_BATCH_CHARS = 256 * 1024  # characters scanned in one classifier call
_BATCH_LINES = 1024
PARALLEL_BYTES = 1024 * 1024  # a file this large is scanned by worker processes (--jobs)
_IN_FLIGHT = 8  # tasks per worker handed out and not yet written out
_GROUP_FILES = 64  # small files scanned by a worker in one task
SKIP_BINARY = "binary"  # summary keys of files the walk found and skipped
SKIP_NOT_UTF8 = "not-utf-8"


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    JSONL = "jsonl"
    SARIF = "sarif"
    MD = "md"
    HTML = "html"


#: formats rendered from the whole list of findings by the shared writers (leakmap.report)
DOCUMENT_FORMATS = (OutputFormat.JSON, OutputFormat.SARIF, OutputFormat.MD, OutputFormat.HTML)


def strip_control(text: str) -> str:
    """Terminal-safe text: :func:`leakmap.sanitize.sanitize` (controls, bidi and zero-width
    characters shown as escapes, a tab as a space)."""
    return sanitize(text)


@dataclass(frozen=True, slots=True)
class Finding:
    path: str
    line: int
    start: int
    end: int
    category: str
    rule: str
    redacted: str
    value: str | None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "path": self.path,
            "line": self.line,
            "start": self.start,
            "end": self.end,
            "category": self.category,
            "rule": self.rule,
            "redacted": self.redacted,
        }
        if self.value is not None:
            out["value"] = self.value
        return out


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """What to report and how: the same for every batch, in every worker."""

    fmt: OutputFormat
    show: bool = False
    suppression: Suppression = field(default_factory=Suppression)


def jsonl_line(f: Finding) -> str:
    """One JSONL record (the same as json.dumps of as_dict(), built faster)."""
    value = "" if f.value is None else f', "value": {_json_str(f.value)}'
    return (
        f'{{"path": {_json_str(f.path)}, "line": {f.line}, "start": {f.start}, "end": {f.end}, '
        f'"category": "{f.category}", "rule": {_json_str(f.rule)}, '
        f'"redacted": {_json_str(f.redacted)}{value}}}\n'
    )


def text_line(f: Finding) -> str:
    """One line of the terminal table, control characters stripped."""
    where = strip_control(f"{f.path}:{f.line}:{f.start}-{f.end}")
    shown = f.redacted if f.value is None else f"{f.redacted}  value={f.value}"
    return f"{where}  {f.category:<14}  {f.rule:<40}  {strip_control(shown)}"


# --- batches -------------------------------------------------------------------------------


def _batches(
    pieces: Iterable[tuple[int, int, str]],
) -> Iterator[tuple[list[str], list[tuple[int, int, int]]]]:
    """Bounded batches of pieces: (texts, [(line, col, start in the joined text)])."""
    batch: list[str] = []
    meta: list[tuple[int, int, int]] = []
    size = 0
    for line, col, text in pieces:
        meta.append((line, col, size))
        batch.append(text)
        size += len(text) + 1
        if size >= _BATCH_CHARS or len(batch) >= _BATCH_LINES:
            yield batch, meta
            batch, meta, size = [], [], 0
    if batch:
        yield batch, meta


def _located(
    name: str,
    batch: list[str],
    meta: list[tuple[int, int, int]],
    matches: Iterable[Match],
    opts: ScanOptions,
    suppressed: Counter[str],
) -> Iterator[Finding]:
    """Findings at their line and column, minus those a ``leakmap:allow`` marker on their
    line or the baseline suppresses (counted in ``suppressed``)."""
    sup = opts.suppression
    starts = [m[2] for m in meta]
    markers: dict[int, list[str] | None] = {}
    for m in matches:
        i = bisect.bisect_right(starts, m.start) - 1
        if sup.inline_allow and ALLOW_MARKER in batch[i]:
            if i not in markers:
                markers[i] = allowed_rules(batch[i])
            if sup.allowed_by_marker(m.rule, markers[i]):
                suppressed[ALLOW_MARKER] += 1
                continue
        if sup.baseline and (name, m.rule, m.redacted) in sup.baseline:
            suppressed["baseline"] += 1
            continue
        line, col, base = meta[i]
        seg_end = base + len(batch[i])
        yield Finding(
            path=name,
            line=line,
            start=col + m.start - base,
            end=col + min(m.end, seg_end) - base,
            category=m.category,  # a StrEnum: already the string
            rule=m.rule,
            redacted=m.redacted,
            value=m.value if opts.show else None,
        )


def _located_block(
    name: str,
    text: str,
    line0: int,
    col0: int,
    matches: Iterable[Match],
    opts: ScanOptions,
    suppressed: Counter[str],
) -> Iterator[Finding]:
    """Findings of a block of whole lines (starting at ``line0``, column ``col0``) at their
    line and column, minus the suppressed ones. Line numbers are counted by C-level
    ``str.count`` between consecutive matches: linear in the block, whatever its lines."""
    sup = opts.suppression
    marked = sup.inline_allow and ALLOW_MARKER in text
    line = line0
    line_start = -col0  # where the block's first line starts, relative to the block
    pos = 0
    markers: dict[int, list[str] | None] = {}
    for m in matches:
        s = m.start
        if s > pos:
            newlines = text.count("\n", pos, s)
            if newlines:
                line += newlines
                line_start = text.rfind("\n", pos, s) + 1
            pos = s
        line_end = text.find("\n", s)
        if line_end < 0:
            line_end = len(text)
        if marked:
            globs = markers.get(line_start, ())
            if globs == ():
                globs = markers[line_start] = allowed_rules(text[max(0, line_start) : line_end])
            if sup.allowed_by_marker(m.rule, globs):  # type: ignore[arg-type]
                suppressed[ALLOW_MARKER] += 1
                continue
        if sup.baseline and (name, m.rule, m.redacted) in sup.baseline:
            suppressed["baseline"] += 1
            continue
        yield Finding(
            path=name,
            line=line,
            start=s - line_start,
            end=min(m.end, line_end) - line_start,
            category=m.category,  # a StrEnum: already the string
            rule=m.rule,
            redacted=m.redacted,
            value=m.value if opts.show else None,
        )


#: A batch's findings as written out: (rendered text for text/jsonl, dicts for json and
#: sarif, counts per category, counts of suppressed findings per reason).
Rendered = tuple[str, list[dict[str, object]], Counter[str], Counter[str]]


def _render(
    findings: Iterable[Finding], fmt: OutputFormat
) -> tuple[str, list[dict[str, object]], Counter[str]]:
    counts: Counter[str] = Counter()
    parts: list[str] = []
    dicts: list[dict[str, object]] = []
    for f in findings:
        counts[f.category] += 1
        if fmt is OutputFormat.JSONL:
            parts.append(jsonl_line(f))
        elif fmt in DOCUMENT_FORMATS:
            dicts.append(f.as_dict())
        else:
            parts.append(text_line(f) + "\n")
    return "".join(parts), dicts, counts


def _scan_batch(
    clf: Classifier,
    name: str,
    batch: list[str],
    meta: list[tuple[int, int, int]],
    opts: ScanOptions,
) -> Rendered:
    matches = clf.scan("\n".join(batch))
    suppressed: Counter[str] = Counter()  # filled while _render consumes _located
    text, dicts, counts = _render(_located(name, batch, meta, matches, opts, suppressed), opts.fmt)
    return text, dicts, counts, suppressed


def _scan_block(
    clf: Classifier, name: str, line0: int, col0: int, text: str, opts: ScanOptions
) -> Rendered:
    matches = clf.scan(text)
    suppressed: Counter[str] = Counter()
    if not matches:
        return "", [], Counter(), suppressed
    found = _located_block(name, text, line0, col0, matches, opts, suppressed)
    out, dicts, counts = _render(found, opts.fmt)
    return out, dicts, counts, suppressed


def _merge(parts: Iterable[Rendered]) -> Rendered:
    texts: list[str] = []
    dicts: list[dict[str, object]] = []
    counts: Counter[str] = Counter()
    suppressed: Counter[str] = Counter()
    for text, d, c, sup in parts:
        if text:
            texts.append(text)
        dicts.extend(d)
        counts.update(c)
        suppressed.update(sup)
    return "".join(texts), dicts, counts, suppressed


def _scan_stream(
    clf: Classifier,
    name: str,
    pieces: Iterable[tuple[int, int, str]],
    opts: ScanOptions,
    pool: Pool | None = None,
) -> Iterator[Rendered]:
    """Rendered findings of a stream, batch by batch, in order. With a ``pool`` of worker
    processes (which hold their own copy of the classifier), up to ``_IN_FLIGHT`` batches
    are scanned at once; reading stays bounded."""
    if pool is None:
        for batch, meta in _batches(pieces):
            yield _scan_batch(clf, name, batch, meta, opts)
        return
    pending: deque[AsyncResult[Rendered]] = deque()
    for batch, meta in _batches(pieces):
        pending.append(pool.apply_async(_worker_scan, (name, batch, meta)))
        if len(pending) >= _IN_FLIGHT:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


# --- one file, read in whole blocks ----------------------------------------------------------

# What scanning one file gave: its findings, or why it was not scanned (a SKIP_* key for
# binary or non-UTF-8 data, "error" when it could not be read, "invalid" for a damaged
# compressed file) and the message.
_Outcome = tuple[Rendered | None, str | None, str]


def _failed(name: str, exc: OSError | InputError) -> _Outcome:
    """Why a file was not scanned, as an outcome."""
    if isinstance(exc, OSError):
        return None, "error", f"{name}: cannot read ({exc.strerror or type(exc).__name__})"
    if isinstance(exc, BinaryFileError):
        return None, SKIP_BINARY, str(exc)
    if isinstance(exc, NotUtf8Error):
        return None, SKIP_NOT_UTF8, str(exc)
    return None, "invalid", str(exc)


def _scan_file(clf: Classifier, name: str, path: Path, opts: ScanOptions) -> _Outcome:
    """A whole file (decompressed if it is gzip, bzip2 or xz), block by block."""
    try:
        with open_input(path, name) as fh:
            parts = [
                _scan_block(clf, name, line, col, text, opts)
                for line, col, text in text_blocks(fh, name)
            ]
    except (OSError, InputError) as exc:
        return _failed(name, exc)
    return _merge(parts), None, ""


# --- worker processes (many files, or a large one, on several cores) ----------------------

# Per worker process, set once by the initializer: the classifier and the options (a large
# baseline is sent to each worker once, not with every task).
_worker_state: dict[str, tuple[Classifier, ScanOptions]] = {}


def _worker_init(clf: Classifier, opts: ScanOptions) -> None:
    _worker_state["state"] = (clf, opts)


def _worker_scan(name: str, batch: list[str], meta: list[tuple[int, int, int]]) -> Rendered:
    clf, opts = _worker_state["state"]
    return _scan_batch(clf, name, batch, meta, opts)


def _worker_block(name: str, line: int, col: int, text: str) -> list[_Outcome]:
    clf, opts = _worker_state["state"]
    return [(_scan_block(clf, name, line, col, text, opts), None, "")]


def _worker_files(files: list[tuple[str, str]]) -> list[_Outcome]:
    clf, opts = _worker_state["state"]
    return [_scan_file(clf, name, Path(path), opts) for name, path in files]


def auto_jobs(jobs: int) -> int:
    """``jobs`` as given, or for 0 (auto) up to 4 processes, one per available core."""
    if jobs > 0:
        return jobs
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def make_pool(clf: Classifier, opts: ScanOptions, jobs: int) -> Pool | None:
    """A pool of ``jobs`` forked workers sharing the loaded rules, or None where fork is
    not available (the scan then runs in this process)."""
    import multiprocessing

    if jobs < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    return multiprocessing.get_context("fork").Pool(
        processes=jobs, initializer=_worker_init, initargs=(clf, opts)
    )


class _Done:
    """A task run in this process, with the interface of an AsyncResult."""

    __slots__ = ("value",)

    def __init__(self, value: list[_Outcome]) -> None:
        self.value = value

    def get(self) -> list[_Outcome]:
        return self.value


def scan_paths(
    clf: Classifier,
    paths: Sequence[str],
    recursive: bool,
    opts: ScanOptions,
    notes: list[str],
    jobs: int = 1,
    skipped: Counter[str] | None = None,
) -> Iterator[Rendered]:
    """Rendered findings of every input, file by file, in order.

    Files are read in whole blocks (:func:`leakmap.files.text_blocks`). With ``jobs`` > 1,
    once the input reaches :data:`PARALLEL_BYTES`, forked workers take groups of small
    files (each worker reads its own) and the blocks of large ones; results are written
    in input order and at most ``_IN_FLIGHT`` tasks per worker are outstanding.

    A file the walk found that is binary (a NUL in its first bytes) or not UTF-8 is
    counted in ``skipped`` (SKIP_BINARY / SKIP_NOT_UTF8), silently; without ``skipped``
    it becomes a line in ``notes``, like a file that cannot be read. A file named
    explicitly raises InputError instead."""
    with ExitStack() as stack:
        pool: Pool | None = None
        pool_tried = False
        seen = 0  # bytes of input met so far
        pending: deque[tuple[list[bool], AsyncResult[list[_Outcome]] | _Done]]
        pending = deque()
        group: list[tuple[str, Path]] = []
        group_explicit: list[bool] = []
        group_bytes = 0

        def want_pool() -> Pool | None:
            nonlocal pool, pool_tried
            if not pool_tried and jobs > 1 and seen >= PARALLEL_BYTES:
                pool_tried = True
                pool = make_pool(clf, opts, jobs)
                if pool is not None:
                    stack.enter_context(pool)  # terminates the workers on exit
            return pool

        def submit_group() -> None:
            nonlocal group, group_explicit, group_bytes
            if not group:
                return
            p = want_pool()
            if p is None:
                task: AsyncResult[list[_Outcome]] | _Done = _Done(
                    [_scan_file(clf, name, path, opts) for name, path in group]
                )
            else:
                task = p.apply_async(_worker_files, ([(n, str(q)) for n, q in group],))
            pending.append((group_explicit, task))
            group, group_explicit, group_bytes = [], [], 0

        def drain(limit: int) -> Iterator[Rendered]:
            while len(pending) > limit:
                who, task = pending.popleft()
                for explicit, (rendered, why, message) in zip(who, task.get(), strict=True):
                    if rendered is not None:
                        yield rendered
                    elif explicit:
                        raise InputError(message)
                    elif why in (SKIP_BINARY, SKIP_NOT_UTF8) and skipped is not None:
                        skipped[why] += 1
                    elif why == "error":
                        notes.append(message)  # could not read it
                    else:
                        notes.append(f"skipped {message}")

        def limit() -> int:
            return _IN_FLIGHT * max(1, jobs) if pool is not None else 0

        for name, path, explicit in expand(paths, recursive):
            if path is None:
                submit_group()
                yield from drain(0)
                stdin = segments(sys.stdin.buffer, "<stdin>")
                yield from _scan_stream(clf, "-", stdin, opts)
                continue
            try:
                size = path.stat().st_size
            except OSError:
                size = 0  # the read reports why
            seen += size
            if size < PARALLEL_BYTES:
                group.append((name, path))
                group_explicit.append(explicit)
                group_bytes += size
                if len(group) >= _GROUP_FILES or group_bytes >= PARALLEL_BYTES:
                    submit_group()
                    yield from drain(limit())
                continue
            # a large file: its blocks are read here and scanned by the workers
            submit_group()
            p = want_pool()
            if p is None:
                pending.append(([explicit], _Done([_scan_file(clf, name, path, opts)])))
                yield from drain(0)
                continue
            try:
                with open_input(path, name) as fh:
                    for line, col, text in text_blocks(fh, name):
                        task = p.apply_async(_worker_block, (name, line, col, text))
                        pending.append(([explicit], task))
                        yield from drain(limit())
            except (OSError, InputError) as exc:
                pending.append(([explicit], _Done([_failed(name, exc)])))
        submit_group()
        yield from drain(0)
