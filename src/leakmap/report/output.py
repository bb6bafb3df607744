"""Where a command's output goes: ``-o PATH`` written safely, or standard output.

Every command that writes a file (scan, classify, report, audit, verify, history export)
goes through :func:`check_output` (before any work, so a long scan does not end in a
write error) and :func:`open_output`. The rules:

* ``None`` or ``-``: standard output, never closed.
* A path that is not a regular file (a character or block device such as ``/dev/null``, a
  FIFO, a socket), anything under ``/dev`` or ``/proc`` (``/dev/stdout``), a symbolic link
  and a regular file with more than one hard link: written **in place**, never renamed
  over. Replacing ``/dev/null`` with a regular file as root breaks the machine.
* A regular file (or a new one): written atomically, to a temporary file in the same
  directory that is renamed over it when complete; a new file gets the usual ``0666 &
  ~umask`` mode, an existing one keeps its mode. Readers see the old file or the new one.
* A directory, a missing parent directory or a path that cannot be written:
  :class:`OutputError` (a :class:`~leakmap.errors.UsageError`: one line, exit 2).
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from leakmap.errors import UsageError

__all__ = ["OutputError", "check_output", "in_place", "open_output", "write_output"]

_IN_PLACE_ROOTS = ("/dev/", "/proc/")


class OutputError(UsageError):
    """An output path that cannot be written (a directory, no parent, not writable)."""


def _is_stdout(path: Path | str | None) -> bool:
    return path is None or str(path) == "-"


def in_place(path: Path) -> bool:
    """True when ``path`` must be written in place rather than replaced atomically."""
    absolute = os.path.abspath(path)
    if absolute.startswith(_IN_PLACE_ROOTS) or absolute in ("/dev", "/proc"):
        return True
    try:
        info = path.lstat()
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(info.st_mode):
        return True
    return not stat.S_ISREG(info.st_mode) or info.st_nlink > 1


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def check_output(path: Path | str | None, option: str = "-o") -> None:
    """Raise :class:`OutputError` when ``path`` clearly cannot be written."""
    if _is_stdout(path):
        return
    target = Path(str(path))
    if target.is_dir():
        raise OutputError(f"{option} {target}: is a directory")
    if in_place(target):
        if not target.exists():
            raise OutputError(f"{option} {target}: no such file")
        if not os.access(target, os.W_OK):
            raise OutputError(f"{option} {target}: not writable")
        return
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{option} {target}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {target}: directory {parent} is not writable")
    if target.exists() and not os.access(target, os.W_OK):
        raise OutputError(f"{option} {target}: not writable")


def _new_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def open_output(
    path: Path | str | None, *, stdout: TextIO | None = None, option: str = "-o"
) -> Iterator[TextIO]:
    """A text stream for the output; see the module docstring for where it goes.

    On an exception inside the block an atomic write leaves the old file untouched."""
    if _is_stdout(path):
        stream = stdout if stdout is not None else sys.stdout
        yield stream
        stream.flush()
        return
    target = Path(str(path))
    check_output(target, option)
    if in_place(target):
        try:
            handle = target.open("w", encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"{option} {target}: cannot write ({_why(exc)})") from None
        try:
            with handle:
                yield handle
        except OSError as exc:
            raise OutputError(f"{option} {target}: cannot write ({_why(exc)})") from None
        return
    parent = target.parent if str(target.parent) else Path(".")
    try:
        existing = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        existing = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise OutputError(f"{option} {target}: cannot write ({_why(exc)})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, existing if existing is not None else _new_file_mode())
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"{option} {target}: cannot write ({_why(exc)})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_output(path: Path | str | None, text: str, *, option: str = "-o") -> None:
    """Write ``text`` to ``path`` (or standard output) by the rules above."""
    with open_output(path, option=option) as out:
        out.write(text)
