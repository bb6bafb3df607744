"""``-o PATH`` never harms the machine, for every command that writes a file.

Devices, FIFOs, ``/dev/stdout``, ``-`` and symbolic links are written in place (never
renamed over: ``scan -o /dev/null`` as root once replaced the device with a regular
file); a regular file is replaced atomically and keeps its mode; a directory, a missing
parent and a path that cannot be written are one line on stderr and exit 2.

The device case uses a character device made with mknod in a temporary directory (as
root, as in CI) rather than the machine's own /dev/null.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from leakmap.findings import Finding, Severity
from leakmap.history.store import HistoryStore
from leakmap.pipeline import ScanSummary, ServiceFound
from leakmap.report.json import build_document, dumps
from leakmap.report.output import OutputError, check_output, in_place, open_output
from leakmap.services.base import AuthState, ServiceReport, ServiceResult, Transport

from .hostile_scan import hostile_summary

FIXTURES = Path(__file__).parents[1] / "audit" / "fixtures"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _scan(tmp: Path) -> list[str]:
    return [
        "scan",
        "127.0.0.1",
        "--ports",
        str(_closed_port()),
        "-q",
        "--format",
        "json",
        "--timeout",
        "0.5",
    ]


def _classify(tmp: Path) -> list[str]:
    src = tmp / "input.log"
    src.write_text("nothing to see here\n", encoding="utf-8")
    return ["classify", str(src), "--format", "json"]


def _report(tmp: Path) -> list[str]:
    src = tmp / "result.json"
    src.write_text(dumps(build_document(hostile_summary())), encoding="utf-8")
    return ["report", str(src), "--format", "md"]


def _audit(tmp: Path) -> list[str]:
    return ["audit", str(FIXTURES / "env-good"), "--format", "json"]


def _verify(tmp: Path) -> list[str]:
    finding = Finding.make(
        rule="clickhouse.open-access",
        severity=Severity.HIGH,
        host="127.0.0.1",
        port=_closed_port(),
        service="clickhouse",
        title="t",
        evidence="e",
        remediation="r",
    )
    summary = ScanSummary()
    summary.add(
        ServiceFound(
            ServiceResult(
                ServiceReport(
                    host="127.0.0.1",
                    ip="127.0.0.1",
                    port=finding.port,
                    service="clickhouse",
                    transport=Transport.HTTP,
                    auth=AuthState.NONE,
                ),
                (finding,),
            )
        )
    )
    summary.finish()
    src = tmp / "earlier.json"
    src.write_text(dumps(build_document(summary)), encoding="utf-8")
    return ["verify", str(src), "--format", "json", "--no-history", "--timeout", "0.5"]


def _history_export(tmp: Path) -> list[str]:
    db = tmp / "history.sqlite3"
    with HistoryStore(db) as store:
        run = store.add(build_document(hostile_summary()))
    return ["history", "export", str(run), "--db", str(db), "--format", "json"]


#: command -> (argv builder, text its output must contain)
COMMANDS: dict[str, tuple[Callable[[Path], list[str]], str]] = {
    "scan": (_scan, '"schema": "leakmap.scan/'),
    "classify": (_classify, '"schema": "leakmap.classify/1"'),
    "report": (_report, "# leakmap scan report"),
    "audit": (_audit, '"schema": "leakmap.audit/1"'),
    "verify": (_verify, '"schema": "leakmap.verify/1"'),
    "history export": (_history_export, '"schema": "leakmap.scan/'),
}


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leakmap", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def _one_line_error(proc: subprocess.CompletedProcess[str], *words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("leakmap: ")
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in proc.stderr


def _device(tmp: Path) -> Path:
    """A character device like /dev/null (1, 3), made where the test can clean it up."""
    path = tmp / "null"
    if os.geteuid() == 0:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        return path
    return Path("/dev/null")  # not root: the device cannot be replaced anyway


@pytest.fixture(params=sorted(COMMANDS))
def command(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[list[str], str]:
    build, marker = COMMANDS[request.param]
    return build(tmp_path), marker


def test_device_is_written_in_place(command: tuple[list[str], str], tmp_path: Path) -> None:
    args, _ = command
    device = _device(tmp_path)
    before = device.stat()
    proc = _run([*args, "-o", str(device)])
    assert proc.returncode in (0, 1), proc.stderr
    after = device.lstat()
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert after.st_ino == before.st_ino


def test_fifo_is_written_in_place(command: tuple[list[str], str], tmp_path: Path) -> None:
    args, marker = command
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[str] = []

    def read() -> None:
        with fifo.open(encoding="utf-8") as handle:
            received.append(handle.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    proc = _run([*args, "-o", str(fifo)])
    reader.join(timeout=60)
    assert proc.returncode in (0, 1), proc.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert received and marker in received[0]


@pytest.mark.parametrize("target", ["-", "/dev/stdout"])
def test_stdout_names(command: tuple[list[str], str], target: str) -> None:
    args, marker = command
    proc = _run([*args, "-o", target])
    assert proc.returncode in (0, 1), proc.stderr
    assert marker in proc.stdout


def test_regular_file_is_replaced_and_keeps_its_mode(
    command: tuple[list[str], str], tmp_path: Path
) -> None:
    args, marker = command
    out = tmp_path / "out.txt"
    out.write_text("old\n", encoding="utf-8")
    out.chmod(0o640)
    proc = _run([*args, "-o", str(out)])
    assert proc.returncode in (0, 1), proc.stderr
    assert marker in out.read_text(encoding="utf-8")
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.txt")] == []


def test_symlink_is_written_through(command: tuple[list[str], str], tmp_path: Path) -> None:
    args, marker = command
    real = tmp_path / "real.txt"
    real.write_text("", encoding="utf-8")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    proc = _run([*args, "-o", str(link)])
    assert proc.returncode in (0, 1), proc.stderr
    assert link.is_symlink() and marker in real.read_text(encoding="utf-8")


def test_directory_is_an_error(command: tuple[list[str], str], tmp_path: Path) -> None:
    args, _ = command
    _one_line_error(_run([*args, "-o", str(tmp_path)]), str(tmp_path))


def test_missing_parent_is_an_error(command: tuple[list[str], str], tmp_path: Path) -> None:
    args, _ = command
    target = tmp_path / "no" / "such" / "out.json"
    _one_line_error(_run([*args, "-o", str(target)]), str(target))
    assert not (tmp_path / "no").exists()


def test_unwritable_path_is_an_error(command: tuple[list[str], str]) -> None:
    """/proc/version cannot be written, not even by root."""
    args, _ = command
    proc = _run([*args, "-o", "/proc/version"])
    _one_line_error(proc, "/proc/version")
    assert Path("/proc/version").read_text(encoding="utf-8").startswith("Linux")


# --- the library, directly -------------------------------------------------------------


def test_in_place_rules(tmp_path: Path) -> None:
    regular = tmp_path / "a.txt"
    regular.write_text("x", encoding="utf-8")
    linked = tmp_path / "b.txt"
    os.link(regular, linked)
    assert in_place(Path("/dev/null")) and in_place(Path("/dev/stdout"))
    assert in_place(linked)  # two hard links: replacing would split them
    assert not in_place(tmp_path / "new.txt")
    solo = tmp_path / "solo.txt"
    solo.write_text("x", encoding="utf-8")
    assert not in_place(solo)


def test_atomic_write_keeps_the_old_file_on_error(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    out.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), open_output(out) as handle:
        handle.write("half")
        raise RuntimeError("writer failed")
    assert out.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_new_file_gets_the_umask_mode(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        with open_output(tmp_path / "new.json") as handle:
            handle.write("{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.json").stat().st_mode) == 0o640


def test_check_output_errors(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="is a directory"):
        check_output(tmp_path)
    with pytest.raises(OutputError, match="does not exist"):
        check_output(tmp_path / "x" / "y")
    check_output(None)
    check_output("-")
