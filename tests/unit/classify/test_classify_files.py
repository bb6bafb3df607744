"""Reading files for the classifier: whole-line blocks, binary and non-UTF-8 files, the
walk spread over worker processes, and the two literal passes (Hyperscan, pyahocorasick)."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leakmap import files
from leakmap.classify import Classifier, engine, filescan, prefilter
from leakmap.cli import _register_commands, app

from .classify_fakes import load_fixtures, render

FIXTURES = load_fixtures()
GHP = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A"


def _blocks(data: bytes) -> list[tuple[int, int, str]]:
    return list(files.text_blocks(io.BytesIO(data), "x"))


def _lines_of(blocks: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Every line piece of the blocks, as (line, col, text)."""
    out = []
    for line, col, text in blocks:
        for i, piece in enumerate(text.split("\n")):
            if piece or i == 0:
                out.append((line + i, col if i == 0 else 0, piece))
    return out


def _segments(data: bytes) -> list[tuple[int, int, str]]:
    return list(files.segments(io.BytesIO(data), "x"))


@pytest.mark.parametrize(
    "data",
    [
        b"a\r\nb\r\n",
        b"\xef\xbb\xbfbom line\nnext",
        b"ends with cr\r",
        b"cr\rinside\n",
        "caf\u00e9 \u2603\n".encode() * 3,
    ],
)
def test_blocks_hold_what_the_line_reader_reads(data: bytes) -> None:
    assert _lines_of(_blocks(data)) == [s for s in _segments(data) if s[2] or s[1] == 0]


def test_block_boundaries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks end after a newline; a CRLF cut by the block end, a long line cut inside and
    a character cut in its bytes all come out whole, with the right line and column."""
    monkeypatch.setattr(files, "BLOCK", 8)
    monkeypatch.setattr(files, "SEGMENT", 16)
    data = "ab\r\ncdefg\r\n" + "x" * 40 + "\u00e9\u00e9\u00e9\u00e9" + "y\r\nend\r"
    blocks = _blocks(data.encode())
    assert "".join(t for _, _, t in blocks) == data.replace("\r\n", "\n").removesuffix("\r")
    assert all(len(t.encode()) <= 16 for _, _, t in blocks)
    long_pieces = [(line, col) for line, col, _ in blocks if line == 3]
    assert long_pieces[0] == (3, 0) and len(long_pieces) > 2
    pos = 0
    for line, col, text in blocks:  # each block starts where the previous one ended
        before = data.replace("\r\n", "\n")[:pos]
        assert (line, col) == (before.count("\n") + 1, pos - (before.rfind("\n") + 1))
        pos += len(text)


def test_binary_is_known_by_its_first_bytes() -> None:
    with pytest.raises(files.BinaryFileError, match="binary data at line 2"):
        _blocks(b"text\n\x00\x01\x02")
    late = b"a" * files.BINARY_PROBE + b"\x00 token\n"
    assert _blocks(late)[0][2].endswith("\x00 token\n")  # a NUL later on is text
    with pytest.raises(files.NotUtf8Error, match="line 3 is not valid UTF-8"):
        _blocks(b"a\nb\ncaf\xe9\n")
    with pytest.raises(files.NotUtf8Error, match="line 1 is not valid UTF-8"):
        _blocks(b"cut \xe2\x82")


def _invoke(*args: str) -> tuple[int, str, str]:
    _register_commands(["classify"])
    result = CliRunner().invoke(app, ["classify", *args])
    return result.exit_code, result.stdout, result.stderr


def test_binaries_in_a_walk_are_counted_not_noted(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text(f"token {GHP}\n", encoding="utf-8")
    for i in range(5):
        (tmp_path / f"lib{i}.so").write_bytes(b"\x7fELF\x02\x01\x00" + bytes(range(256)))
    (tmp_path / "latin.txt").write_bytes(b"caf\xe9\n")
    code, out, err = _invoke("-r", str(tmp_path))
    assert code == 1 and err == ""
    assert out.splitlines()[-1].endswith("; 6 files skipped (binary: 5, not-utf-8: 1)")
    code, out, err = _invoke("-r", str(tmp_path), "--verbose")
    assert err.count("\n") == 1 and "skipped 6 files" in err and "binary: 5" in err
    code, out, _ = _invoke("-r", str(tmp_path), "-f", "json")
    assert json.loads(out)["summary"]["skipped_files"] == {"binary": 5, "not-utf-8": 1}


def test_many_small_files_on_workers_give_the_same_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A walk over many small files (more than PARALLEL_BYTES in all) is spread over
    worker processes in groups; the output is byte-identical to one process, in order."""
    made: list[object] = []
    real = filescan.make_pool

    def recording(clf: Classifier, opts: filescan.ScanOptions, jobs: int) -> object:
        made.append(pool := real(clf, opts, jobs))
        return pool

    monkeypatch.setattr(filescan, "make_pool", recording)
    rng = random.Random(3)
    lines = [render(t, rng).text for fx in FIXTURES.values() for t in fx["positive"]]
    filler = "2026-01-01T00:00:00Z level=info msg=ok duration_ms=12\n" * 300
    for i in range(150):
        sub = tmp_path / f"d{i % 7}"
        sub.mkdir(exist_ok=True)
        body = "\n".join(rng.sample(lines, 10)) + "\n" + filler
        (sub / f"f{i:03}.log").write_text(body, encoding="utf-8")
        if i % 50 == 0:
            (sub / f"b{i}.bin").write_bytes(b"\x00" * 64)
    outs = {}
    for jobs in ("1", "2"):
        code, outs[jobs], err = _invoke("-r", str(tmp_path), "-f", "jsonl", "-j", jobs)
        assert code == 1 and err == ""
    assert outs["1"] == outs["2"] and outs["1"].count("\n") > 1000
    assert len(made) == 1 and made[0] is not None


def test_hyperscan_and_pyahocorasick_find_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The two literal passes are interchangeable: same findings on every fixture."""
    pytest.importorskip("hyperscan")
    monkeypatch.setattr(prefilter, "_cache_dir", lambda: tmp_path)  # nothing cached
    clf = Classifier.load()
    owners = engine._literal_owners(clf._compiled)
    assert clf._automaton is not None
    clf._automaton._fast = engine._Hyperscan(clf._compiled, owners)  # as after 16 MB
    rng = random.Random(8)
    texts = [
        render(t, rng).text
        for fx in FIXTURES.values()
        for t in [*fx["positive"], *fx.get("negative", [])]
    ]
    text = "\n".join(texts) + "\n\u00e9\u2603 token " + GHP
    fast = [(m.rule, m.start, m.end) for m in clf.scan(text)]
    aho = Classifier(clf.rules)
    assert aho._automaton is not None and aho._automaton._fast is None
    assert [(m.rule, m.start, m.end) for m in aho.scan(text)] == fast
    positives = sum(len(fx["positive"]) for fx in FIXTURES.values())
    assert len(fast) >= positives


def test_the_literal_pass_switches_to_hyperscan_on_large_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("hyperscan")
    monkeypatch.setattr(prefilter, "_cache_dir", lambda: tmp_path)  # nothing cached
    monkeypatch.setattr(engine, "_HYPERSCAN_AFTER", 1000)
    clf = Classifier.load()
    assert clf._automaton is not None
    line = f"token {GHP}\n"
    assert [m.rule for m in clf.scan(line)] == ["secret.github.classic-pat"]
    assert clf._automaton._fast is None  # small input: pyahocorasick, no compile cost
    found = clf.scan(line * 100)
    assert isinstance(clf._automaton._fast, engine._Hyperscan)
    assert [m.rule for m in found] == ["secret.github.classic-pat"] * 100


def test_a_classifier_pickles_as_its_rules() -> None:
    import pickle

    clf = Classifier.load(disabled=["pii.*"])
    back = pickle.loads(pickle.dumps(clf))
    assert back.rules == clf.rules
    assert [m.rule for m in back.scan(f"token {GHP}")] == ["secret.github.classic-pat"]


def test_a_binary_file_is_known_from_its_buffered_first_bytes() -> None:
    """A NUL in the first bytes ends the read before a whole block is read: a large binary
    costs one small read, not a megabyte."""

    class Counting(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data, self.read_bytes = io.BytesIO(data), 0

        def readable(self) -> bool:
            return True

        def readinto(self, buf: memoryview) -> int:  # type: ignore[override]
            n = self._data.readinto(buf)
            self.read_bytes += n
            return n

    raw = Counting(b"ELF\n\x00" + bytes(range(256)) * 12_000)
    with pytest.raises(files.BinaryFileError, match="line 2"):
        _ = list(files.text_blocks(io.BufferedReader(raw), "x"))
    assert 0 < raw.read_bytes <= 64 * 1024
