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

Files are streamed in bounded batches of lines, never read whole (gzip, bzip2 and xz
files are decompressed as they are read); a file of 1 MiB or
more is scanned by worker processes (``--jobs``, one per core by default, up to 4). A
finding is reported at the line where it starts; ``start``/``end`` are character offsets
in that line (a match that runs over several lines is clipped at the end of its first
line; a line longer than 4 MiB is scanned in 4 MiB pieces).

Exit codes: 0 nothing found, 1 something found, 2 bad input (one line on stderr).
The raw value is never written unless ``--show-secrets`` is given.
"""

from __future__ import annotations

import bisect
import codecs
import fnmatch
import gc
import io
import json
import os
import re
import sys
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from enum import StrEnum
from json.encoder import encode_basestring as _json_str  # C-accelerated, keeps non-ASCII
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, BinaryIO

import typer

from leakmap.categories import DataCategory
from leakmap.errors import UsageError

if TYPE_CHECKING:
    from multiprocessing.pool import AsyncResult, Pool

    from leakmap.classify.engine import Classifier, Match

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

SCHEMA = "leakmap.classify/1"

#: JSON Schema of one finding: a ``--format jsonl`` line, an item of the json document.
FINDING_SCHEMA: dict[str, object] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "leakmap classify finding",
    "type": "object",
    "required": ["path", "line", "start", "end", "category", "rule", "redacted"],
    "additionalProperties": False,
    "properties": {
        "path": {"type": "string", "description": "file as given, or '-' for stdin"},
        "line": {"type": "integer", "minimum": 1},
        "start": {"type": "integer", "minimum": 0, "description": "character offset in line"},
        "end": {"type": "integer", "minimum": 0},
        "category": {"enum": ["secret", "pii", "chat", "infrastructure"]},
        "rule": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*(\\.[a-z0-9][a-z0-9_-]*)+$"},
        "redacted": {"type": "string", "pattern": "…#[0-9a-f]{6}$"},
        "value": {"type": "string", "description": "raw value, only with --show-secrets"},
    },
}

#: JSON Schema of the ``--format json`` document.
DOCUMENT_SCHEMA: dict[str, object] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "leakmap classify report",
    "type": "object",
    "required": ["schema", "findings", "summary"],
    "additionalProperties": False,
    "properties": {
        "schema": {"const": SCHEMA},
        "findings": {"type": "array", "items": FINDING_SCHEMA},
        "summary": {
            "type": "object",
            "required": ["findings", "by_category"],
            "additionalProperties": False,
            "properties": {
                "findings": {"type": "integer", "minimum": 0},
                "by_category": {
                    "type": "object",
                    "propertyNames": {"enum": ["secret", "pii", "chat", "infrastructure"]},
                    "additionalProperties": {"type": "integer", "minimum": 1},
                },
                "suppressed": {
                    "description": "findings not reported: known in --baseline, or on a line "
                    "with a leakmap:allow marker",
                    "type": "object",
                    "propertyNames": {"enum": ["baseline", "leakmap:allow"]},
                    "additionalProperties": {"type": "integer", "minimum": 1},
                },
            },
        },
    },
}
_SEGMENT = 4 * 1024 * 1024  # longest piece of a line read at once
_BATCH_CHARS = 256 * 1024  # characters scanned in one classifier call
_BATCH_LINES = 1024
_PARALLEL_BYTES = 1024 * 1024  # a file this large is scanned by worker processes (--jobs)
_IN_FLIGHT = 8  # batches handed to the workers and not yet written out
_CONTROL = dict.fromkeys([*range(0, 9), *range(11, 32), 127, *range(0x80, 0xA0)], "?")
_CONTROL.update({0x2028: "?", 0x2029: "?", 0x200E: "?", 0x200F: "?", 0x202A: "?"})
_CONTROL.update({c: "?" for c in range(0x202B, 0x202F)})
_CONTROL.update({c: "?" for c in range(0x2066, 0x206A)})


class InputError(UsageError):
    """A path that is missing, a directory without -r, or not UTF-8 text."""


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    JSONL = "jsonl"
    SARIF = "sarif"


def strip_control(text: str) -> str:
    """Replace terminal control characters (C0 except tab, DEL, C1, bidi overrides) by ?."""
    return text.translate(_CONTROL).replace("\t", " ")


@dataclass(frozen=True, slots=True)
class _Finding:
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
class _Options:
    """What to report and how: the same for every batch, in every worker."""

    fmt: OutputFormat
    show: bool = False
    inline_allow: bool = True  # honour ``leakmap:allow`` markers on a line
    baseline: frozenset[tuple[str, str, str]] = frozenset()  # (path, rule, redacted)


_ALLOW = re.compile(r"leakmap:allow(?:=([\w.*?\[\]!-]+(?:,[\w.*?\[\]!-]+)*))?")


def _allowed_rules(line: str) -> list[str] | None:
    """The rule globs a ``leakmap:allow`` marker on ``line`` names (``["*"]`` for a bare
    marker), or None when the line has no marker."""
    found = None
    for m in _ALLOW.finditer(line):
        found = (found or []) + (m.group(1).split(",") if m.group(1) else ["*"])
    return found


# --- input ---------------------------------------------------------------------------------


def _display(name: str) -> str:
    """A path as text: undecodable bytes in a file name become U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _expand(paths: Sequence[str], recursive: bool) -> Iterator[tuple[str, Path | None, bool]]:
    """(display name, path or None for stdin, explicitly named)."""
    for name in paths or ["-"]:
        if name == "-":
            yield "-", None, True
            continue
        path = Path(name)
        if path.is_dir():
            if not recursive:
                raise InputError(f"{name}: is a directory (use -r to scan directories)")
            for root, dirs, files in os.walk(path, followlinks=False):
                dirs.sort()
                for fname in sorted(files):
                    full = Path(root) / fname
                    if full.is_file() and not full.is_symlink():
                        yield _display(str(full)), full, False
        elif path.is_file():
            yield _display(name), path, True
        elif not path.exists():
            raise InputError(f"{name}: no such file or directory")
        else:
            raise InputError(f"{name}: not a regular file")


# What the reader reads lines from: a file, stdin, or a decompressing stream.
_ByteLines = io.BufferedIOBase | BinaryIO


# Magic numbers of the compressed formats rotated logs come in (app.log.2.gz, .bz2, .xz).
_COMPRESSED = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"))


@contextmanager
def _open_input(path: Path, name: str) -> Iterator[io.BufferedIOBase]:
    """The file's bytes; a gzip, bzip2 or xz file (known by its first bytes, not its name)
    is decompressed as it is read, so memory stays bounded. A damaged one raises
    InputError."""
    with path.open("rb") as raw:
        head = raw.peek(6)[:6]
        kind = next((k for magic, k in _COMPRESSED if head.startswith(magic)), None)
        if kind is None:
            yield raw
            return
        import bz2
        import gzip
        import lzma

        openers: dict[str, Callable[[io.BufferedReader], io.BufferedIOBase]] = {
            "gzip": lambda f: gzip.GzipFile(fileobj=f, mode="rb"),
            "bzip2": lambda f: bz2.BZ2File(f, mode="rb"),
            "xz": lambda f: lzma.LZMAFile(f, mode="rb"),  # noqa: SIM115 - closed by the with
        }
        try:
            with openers[kind](raw) as fh:
                yield fh
        except (EOFError, OSError, lzma.LZMAError) as exc:
            why = "cut short" if isinstance(exc, EOFError) else type(exc).__name__
            raise InputError(f"{name}: not a valid {kind} file ({why})") from None


def _segments(stream: _ByteLines, name: str) -> Iterator[tuple[int, int, str]]:
    """(1-based line, character offset in the line, text) pieces of a UTF-8 stream; a line
    longer than the segment size comes in several pieces.

    Raises InputError for binary data (a NUL byte) or bytes that are not UTF-8."""
    line_no = 1
    col = 0
    first = True
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    while True:
        raw = stream.readline(_SEGMENT)
        if not raw:
            return
        if b"\x00" in raw:
            raise InputError(f"{name}: binary data at line {line_no}, not text")
        if first:
            first = False
            if raw.startswith(codecs.BOM_UTF8):
                raw = raw[3:]
        final = raw.endswith(b"\n") or len(raw) < _SEGMENT
        if raw.endswith(b"\n"):
            raw = raw[:-1]
        try:
            text = decoder.decode(raw, final=final)
        except UnicodeDecodeError:
            raise InputError(f"{name}: line {line_no} is not valid UTF-8 text") from None
        if final and text.endswith("\r"):
            text = text[:-1]
        yield line_no, col, text
        if final:
            decoder.reset()
            line_no += 1
            col = 0
        else:
            col += len(text)


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
    opts: _Options,
    suppressed: Counter[str],
) -> Iterator[_Finding]:
    """Findings at their line and column, minus those a ``leakmap:allow`` marker on their
    line or the baseline suppresses (counted in ``suppressed``)."""
    starts = [m[2] for m in meta]
    markers: dict[int, list[str] | None] = {}
    for m in matches:
        i = bisect.bisect_right(starts, m.start) - 1
        if opts.inline_allow and "leakmap:allow" in batch[i]:
            if i not in markers:
                markers[i] = _allowed_rules(batch[i])
            globs = markers[i]
            if globs and any(fnmatch.fnmatchcase(m.rule, g) for g in globs):
                suppressed["leakmap:allow"] += 1
                continue
        if opts.baseline and (name, m.rule, m.redacted) in opts.baseline:
            suppressed["baseline"] += 1
            continue
        line, col, base = meta[i]
        seg_end = base + len(batch[i])
        yield _Finding(
            path=name,
            line=line,
            start=col + m.start - base,
            end=col + min(m.end, seg_end) - base,
            category=m.category,  # a StrEnum: already the string
            rule=m.rule,
            redacted=m.redacted,
            value=m.value if opts.show else None,
        )


# A batch's findings as written out: (rendered text for text/jsonl, dicts for json, counts
# per category). Rendered where the batch was scanned, so a worker process hands back one
# string instead of thousands of objects to unpickle and format.
_Rendered = tuple[str, list[dict[str, object]], Counter[str], Counter[str]]


def _render(
    findings: Iterable[_Finding], fmt: OutputFormat
) -> tuple[str, list[dict[str, object]], Counter[str]]:
    counts: Counter[str] = Counter()
    parts: list[str] = []
    dicts: list[dict[str, object]] = []
    for f in findings:
        counts[f.category] += 1
        if fmt is OutputFormat.JSONL:
            parts.append(_jsonl_line(f))
        elif fmt in (OutputFormat.JSON, OutputFormat.SARIF):
            dicts.append(f.as_dict())
        else:
            parts.append(_text_line(f) + "\n")
    return "".join(parts), dicts, counts


def _scan_batch(
    clf: Classifier, name: str, batch: list[str], meta: list[tuple[int, int, int]], opts: _Options
) -> _Rendered:
    matches = clf.scan("\n".join(batch))
    suppressed: Counter[str] = Counter()  # filled while _render consumes _located
    text, dicts, counts = _render(_located(name, batch, meta, matches, opts, suppressed), opts.fmt)
    return text, dicts, counts, suppressed


def _scan_stream(
    clf: Classifier,
    name: str,
    pieces: Iterable[tuple[int, int, str]],
    opts: _Options,
    pool: Pool | None = None,
) -> Iterator[_Rendered]:
    """Rendered findings of a stream, batch by batch, in order. With a ``pool`` of worker
    processes (which hold their own copy of the classifier), up to ``_IN_FLIGHT`` batches
    are scanned at once; reading stays bounded."""
    if pool is None:
        for batch, meta in _batches(pieces):
            yield _scan_batch(clf, name, batch, meta, opts)
        return
    pending: deque[AsyncResult[_Rendered]] = deque()
    for batch, meta in _batches(pieces):
        pending.append(pool.apply_async(_worker_scan, (name, batch, meta)))
        if len(pending) >= _IN_FLIGHT:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


# --- worker processes (a large input is scanned on several cores) -------------------------

# Per worker process, set once by the initializer: the classifier and the options (a large
# baseline is sent to each worker once, not with every batch).
_worker_state: dict[str, tuple[Classifier, _Options]] = {}


def _worker_init(clf: Classifier, opts: _Options) -> None:
    _worker_state["state"] = (clf, opts)


def _worker_scan(name: str, batch: list[str], meta: list[tuple[int, int, int]]) -> _Rendered:
    clf, opts = _worker_state["state"]
    return _scan_batch(clf, name, batch, meta, opts)


def _auto_jobs(jobs: int) -> int:
    """``jobs`` as given, or for 0 (auto) up to 4 processes, one per available core."""
    if jobs > 0:
        return jobs
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def _make_pool(clf: Classifier, opts: _Options, jobs: int) -> Pool | None:
    """A pool of ``jobs`` forked workers sharing the loaded rules, or None where fork is
    not available (the scan then runs in this process)."""
    import multiprocessing

    if jobs < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    return multiprocessing.get_context("fork").Pool(
        processes=jobs, initializer=_worker_init, initargs=(clf, opts)
    )


def _findings(
    clf: Classifier,
    paths: Sequence[str],
    recursive: bool,
    opts: _Options,
    notes: list[str],
    jobs: int = 1,
) -> Iterator[_Rendered]:
    with ExitStack() as stack:
        pool: Pool | None = None
        pool_tried = False
        for name, path, explicit in _expand(paths, recursive):
            if path is None:
                stdin = _segments(sys.stdin.buffer, "<stdin>")
                yield from _scan_stream(clf, "-", stdin, opts)
                continue
            try:
                if not pool_tried and jobs > 1 and path.stat().st_size >= _PARALLEL_BYTES:
                    pool_tried = True
                    pool = _make_pool(clf, opts, jobs)
                    if pool is not None:
                        stack.enter_context(pool)  # terminates the workers on exit
                with _open_input(path, name) as fh:
                    yield from _scan_stream(clf, name, _segments(fh, name), opts, pool)
            except OSError as exc:
                message = f"{name}: cannot read ({exc.strerror or type(exc).__name__})"
                if explicit:
                    raise InputError(message) from None
                notes.append(message)
            except InputError as exc:
                if explicit:
                    raise
                notes.append(f"skipped {exc}")


# --- output --------------------------------------------------------------------------------


def _jsonl_line(f: _Finding) -> str:
    """One JSONL record (the same as json.dumps of as_dict(), built faster)."""
    value = "" if f.value is None else f', "value": {_json_str(f.value)}'
    return (
        f'{{"path": {_json_str(f.path)}, "line": {f.line}, "start": {f.start}, "end": {f.end}, '
        f'"category": "{f.category}", "rule": {_json_str(f.rule)}, '
        f'"redacted": {_json_str(f.redacted)}{value}}}\n'
    )


def _text_line(f: _Finding) -> str:
    where = strip_control(f"{f.path}:{f.line}:{f.start}-{f.end}")
    shown = f.redacted if f.value is None else f"{f.redacted}  value={f.value}"
    return f"{where}  {f.category:<14}  {f.rule:<40}  {strip_control(shown)}"


def _summary(counts: Counter[str], total: int, suppressed: Counter[str]) -> str:
    if not total:
        text = "no findings"
    else:
        parts = ", ".join(f"{cat}: {counts[cat]}" for cat in sorted(counts))
        text = f"{total} finding{'s' if total != 1 else ''} ({parts})"
    if suppressed:
        why = ", ".join(f"{k}: {suppressed[k]}" for k in sorted(suppressed))
        text += f"; {sum(suppressed.values())} suppressed ({why})"
    return text


def load_baseline(path: Path) -> frozenset[tuple[str, str, str]]:
    """The (path, rule, redacted) keys of an earlier ``--format jsonl`` or ``--format json``
    output: findings with those keys are known and not reported again. The redacted form
    ends in a hash of the value, so a changed secret at the same place is new.

    Raises InputError for a file that cannot be read or is not such an output."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8"
        raise InputError(f"baseline {path}: cannot read ({reason})") from None
    try:
        whole = json.loads(text) if text.lstrip().startswith("{") else None
    except json.JSONDecodeError:
        whole = None  # JSON lines
    records: list[object]
    if isinstance(whole, dict) and whole.get("schema") == SCHEMA:
        records = list(whole.get("findings") or [])
    else:
        records = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                raise InputError(f"baseline {path}: line {n} is not JSON") from None
    keys: set[tuple[str, str, str]] = set()
    for n, rec in enumerate(records, 1):
        fields = [rec.get(k) for k in ("path", "rule", "redacted")] if isinstance(rec, dict) else []
        if len(fields) != 3 or not all(isinstance(v, str) for v in fields):
            raise InputError(f"baseline {path}: finding {n} has no path, rule and redacted")
        keys.add((str(fields[0]), str(fields[1]), str(fields[2])))
    return frozenset(keys)


def _run(
    clf: Classifier,
    paths: Sequence[str],
    recursive: bool,
    opts: _Options,
    out: IO[str],
    notes: list[str],
    jobs: int = 1,
) -> int:
    fmt = opts.fmt
    counts: Counter[str] = Counter()
    suppressed: Counter[str] = Counter()
    collected: list[dict[str, object]] = []
    for text, dicts, batch_counts, batch_suppressed in _findings(
        clf, paths, recursive, opts, notes, jobs
    ):
        counts.update(batch_counts)
        suppressed.update(batch_suppressed)
        if text:
            out.write(text)
        collected.extend(dicts)
    total = sum(counts.values())
    if fmt is OutputFormat.JSON:
        doc = {
            "schema": SCHEMA,
            "findings": collected,
            "summary": {
                "findings": total,
                "by_category": dict(sorted(counts.items())),
                "suppressed": dict(sorted(suppressed.items())),
            },
        }
        out.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    elif fmt is OutputFormat.SARIF:
        from leakmap import __version__
        from leakmap.report.sarif import classify_sarif

        sarif = classify_sarif(collected, clf.rules, __version__)
        out.write(json.dumps(sarif, ensure_ascii=False, indent=2) + "\n")
    elif fmt is OutputFormat.TEXT:
        out.write(_summary(counts, total, suppressed) + "\n")
    return total


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
            "--format", "-f", help="text, json (one document), jsonl or sarif (code scanning)."
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
) -> None:
    """Find secrets, personal data, chat records and infrastructure details in text files.

    Exit code 1 when something was found, 0 when nothing, 2 on bad input.
    """
    from leakmap.classify.engine import Classifier

    if show_secrets and output_format is OutputFormat.SARIF:
        raise InputError("--show-secrets cannot go into SARIF, which is made to be uploaded")
    clf = Classifier.load(extra_rule_files=rules or (), disabled=disable or ())
    if category:
        wanted = set(category)
        clf = Classifier([r for r in clf.rules if r.category in wanted])
    opts = _Options(
        fmt=output_format,
        show=show_secrets,
        inline_allow=inline_allow,
        baseline=load_baseline(baseline) if baseline is not None else frozenset(),
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
        if output is None:
            out: IO[str] = sys.stdout
        else:
            try:
                out = stack.enter_context(output.open("w", encoding="utf-8"))
            except OSError as exc:
                raise InputError(f"{output}: cannot write ({exc.strerror})") from None
        total = _run(clf, paths or [], recursive, opts, out, notes, _auto_jobs(jobs))
    for note in notes:
        print(f"leakmap: {strip_control(note)}", file=sys.stderr)
    if total:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    """Add ``classify`` to the app."""
    app.command("classify")(classify_command)
