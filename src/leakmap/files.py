"""Reading the files a command was pointed at: the walk, decompression and UTF-8 lines.

Shared by every command that reads local files (``leakmap classify``, the config auditor)::

    from leakmap.files import InputError, expand, open_input, segments

    for name, path, explicit in expand(["config/", "app.log"], recursive=True):
        try:
            with open_input(path, name) as fh:           # gzip/bzip2/xz: decompressed
                for line_no, col, text in segments(fh, name):
                    ...
        except InputError as exc:
            if explicit:                                  # named on the command line: fatal
                raise
            notes.append(f"skipped {exc}")                # found by the walk: a note

``expand`` yields ``(display name, path, explicit)``; ``path`` is None for stdin (``-``),
read with ``segments(sys.stdin.buffer, "<stdin>")``. Directories are walked only with
``recursive``, in sorted order, without following symlinks. A file is never read whole:
``segments`` yields bounded pieces of lines (a line longer than :data:`SEGMENT` characters
comes in several pieces, with their character offset in the line).
"""

from __future__ import annotations

import codecs
import io
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from leakmap.errors import UsageError

__all__ = [
    "BINARY_PROBE",
    "BLOCK",
    "SEGMENT",
    "BinaryFileError",
    "ByteLines",
    "InputError",
    "NotUtf8Error",
    "display",
    "expand",
    "open_input",
    "segments",
    "text_blocks",
]

SEGMENT = 4 * 1024 * 1024  # longest piece of a line read at once
BLOCK = 1024 * 1024  # bytes read at once by text_blocks (then up to the end of that line)
BINARY_PROBE = 8000  # a NUL in this many first bytes makes a file binary (as git decides)


class InputError(UsageError):
    """A path that is missing, a directory without -r, or not UTF-8 text."""


class BinaryFileError(InputError):
    """A file whose first bytes hold a NUL: binary data, not text."""


class NotUtf8Error(InputError):
    """A file (or stdin) with bytes that are not UTF-8."""


def display(name: str) -> str:
    """A path as text: undecodable bytes in a file name become U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def expand(paths: Sequence[str], recursive: bool) -> Iterator[tuple[str, Path | None, bool]]:
    """(display name, path or None for stdin, explicitly named) for each input; nothing
    given means stdin.

    Raises InputError for a missing path, a directory without ``recursive`` or something
    that is not a regular file."""
    for name in paths or ["-"]:
        if name == "-":
            yield "-", None, True
            continue
        path = Path(name)
        if path.is_dir():
            if not recursive:
                raise InputError(f"{name}: is a directory (use -r to scan directories)")
            yield from _walk(path)
        elif path.is_file():
            yield display(name), path, True
        elif not path.exists():
            raise InputError(f"{name}: no such file or directory")
        else:
            raise InputError(f"{name}: not a regular file")


def _walk(top: Path) -> Iterator[tuple[str, Path | None, bool]]:
    """Regular files under ``top``, sorted by name, directories after the files of their
    parent (the order os.walk gives), symlinks not followed. One ``scandir`` per
    directory: the entry types come with it, no ``stat`` per file."""
    try:
        with os.scandir(top) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError:
        return
    subdirs = []
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            subdirs.append(entry)
        elif entry.is_file(follow_symlinks=False):
            yield display(entry.path), Path(entry.path), False
    for entry in subdirs:
        yield from _walk(Path(entry.path))


# What the reader reads lines from: a file, stdin, or a decompressing stream.
ByteLines = io.BufferedIOBase | BinaryIO


# Magic numbers of the compressed formats rotated logs come in (app.log.2.gz, .bz2, .xz).
_COMPRESSED = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"))


@contextmanager
def open_input(path: Path, name: str) -> Iterator[io.BufferedIOBase]:
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


def segments(stream: ByteLines, name: str) -> Iterator[tuple[int, int, str]]:
    """(1-based line, character offset in the line, text) pieces of a UTF-8 stream; a line
    longer than the segment size comes in several pieces.

    Raises InputError for binary data (a NUL byte) or bytes that are not UTF-8."""
    line_no = 1
    col = 0
    first = True
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    while True:
        raw = stream.readline(SEGMENT)
        if not raw:
            return
        if b"\x00" in raw:
            raise BinaryFileError(f"{name}: binary data at line {line_no}, not text")
        if first:
            first = False
            if raw.startswith(codecs.BOM_UTF8):
                raw = raw[3:]
        final = raw.endswith(b"\n") or len(raw) < SEGMENT
        if raw.endswith(b"\n"):
            raw = raw[:-1]
        try:
            text = decoder.decode(raw, final=final)
        except UnicodeDecodeError:
            raise NotUtf8Error(f"{name}: line {line_no} is not valid UTF-8 text") from None
        if final and text.endswith("\r"):
            text = text[:-1]
        yield line_no, col, text
        if final:
            decoder.reset()
            line_no += 1
            col = 0
        else:
            col += len(text)


def text_blocks(stream: ByteLines, name: str) -> Iterator[tuple[int, int, str]]:
    """(1-based line, character offset in that line, text) blocks of a UTF-8 stream: about
    :data:`BLOCK` bytes each, cut after a newline (a line longer than :data:`SEGMENT` is
    cut inside). Line ends are ``\n`` (a ``\r`` before one is dropped), a leading BOM is
    dropped. Reading and decoding are whole-block C calls: no Python work per line.

    Raises BinaryFileError when the first :data:`BINARY_PROBE` bytes hold a NUL, and
    NotUtf8Error (naming the line) for bytes that are not UTF-8."""
    line_no = 1
    col = 0
    first = True
    carry = ""  # a "\r" held back from the end of the previous block
    previous = ""  # the block yielded last: its lines are counted only if another follows
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    peek = getattr(stream, "peek", None)
    if peek is not None:  # binary data known from the bytes already buffered: no block read
        head = peek(BINARY_PROBE)[:BINARY_PROBE]
        nul = head.find(b"\x00")
        if nul >= 0:
            line = head.count(b"\n", 0, nul) + 1
            raise BinaryFileError(f"{name}: binary data at line {line}, not text")
    while True:
        raw = stream.read(BLOCK)
        at_end = len(raw) < BLOCK  # a short read: the end of the stream
        if raw and not raw.endswith(b"\n"):
            raw += stream.readline(max(1, SEGMENT - len(raw)))  # up to the end of the line
        if first:
            first = False
            nul = raw.find(b"\x00", 0, BINARY_PROBE)
            if nul >= 0:
                line = raw.count(b"\n", 0, nul) + 1
                raise BinaryFileError(f"{name}: binary data at line {line}, not text")
            if raw.startswith(codecs.BOM_UTF8):
                raw = raw[3:]
        if previous:
            newlines = previous.count("\n")
            if newlines:
                line_no += newlines
                col = len(previous) - previous.rfind("\n") - 1
            else:
                col += len(previous)
            previous = ""
        try:
            text = decoder.decode(raw, final=at_end)
        except UnicodeDecodeError as exc:
            line = line_no + raw.count(b"\n", 0, max(0, exc.start))
            raise NotUtf8Error(f"{name}: line {line} is not valid UTF-8 text") from None
        if not raw:
            return  # a "\r" still held back ended the last line: dropped
        text = carry + text
        carry = ""
        if text.endswith("\r"):
            carry, text = "\r", text[:-1]
        if "\r\n" in text:
            text = text.replace("\r\n", "\n")
        if text:
            yield line_no, col, text
            previous = text
        if at_end:
            return  # a "\r" held back ended the last line: dropped
