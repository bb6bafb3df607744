"""The narrowed Hyperscan literal pass (leakmap.classify.prefilter): what a rule's regex
allows before and at the start of a match, the expressions built from it, the same
findings as the plain literal pass in every context, and the database cached on disk."""

from __future__ import annotations

import random
import re
import string
from pathlib import Path

import pytest

from leakmap.classify import Classifier, engine, prefilter
from leakmap.classify.prefilter import atom, start_sets

from .classify_fakes import load_fixtures, render

pytest.importorskip("hyperscan")

FIXTURES = load_fixtures()
SQUARE = r"(?<![\w-])(?:sq0atp-[\w-]{22}|EAAA[\w-]{60})(?![\w-])"


def _token(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))


def _plain(rules: object) -> Classifier:
    """A classifier on pyahocorasick only: every case-insensitive literal hit."""
    clf = Classifier(rules)  # type: ignore[arg-type]
    assert clf._automaton is not None
    clf._automaton._owners = None
    return clf


def _narrowed(rules: object) -> Classifier:
    clf = Classifier(rules)  # type: ignore[arg-type]
    assert clf._automaton is not None
    clf._automaton._fast = engine._Hyperscan(clf._compiled, engine._literal_owners(clf._compiled))
    return clf


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "hs-cache"
    monkeypatch.setattr(prefilter, "_cache_dir", lambda: folder)
    return folder


def test_start_sets_read_the_look_behind_and_each_branch() -> None:
    ways = start_sets(SQUARE, 0, 8)
    assert ways is not None and len(ways) == 2  # sq0atp- and EAAA, not their union
    for prev, _ in ways:
        assert not {ord("a"), ord("Z"), ord("5"), ord("_"), ord("-")} & prev
        assert {ord(" "), ord("?"), ord(","), ord("\n")} <= prev  # " ": the text's start
    (_, eaaa) = next(w for w in ways if ord("E") in w[1][0])
    assert eaaa[3] == {ord("A"), ord("?")}  # "?": a character that is not ASCII
    assert ord("-") in eaaa[4] and ord(",") not in eaaa[4]


def test_start_sets_follow_case_flags_boundaries_and_anchors() -> None:
    ((prev, pos),) = start_sets(r"\bkey\s*=", re.IGNORECASE, 3) or []
    assert {ord("k"), ord("K")} <= pos[0] and ord("x") not in prev and ord(".") in prev
    ((prev, pos),) = start_sets(r"(?i:tok)EN", 0, 5) or []
    assert {ord("t"), ord("T")} <= pos[0] and pos[3] == {ord("E"), ord("?")}
    ((prev, _),) = start_sets(r"(?m)^Bearer ", 0, 2) or []
    assert prev == {ord(" "), ord("\n"), ord("?")}
    ((prev, _),) = start_sets(r"(?<=[=:])abc", 0, 2) or []
    assert prev == {ord("="), ord(":"), ord("?")}  # no space: never at the text's start


def test_start_sets_stop_where_the_regex_is_not_fixed() -> None:
    ((prev, pos),) = start_sets(r"ab(?:c|de)+f", 0, 6) or []
    assert prev >= prefilter.ALL - {0} and len(pos) == 2  # a repeated group: unknown after
    ((_, pos),) = start_sets(r"x[a-f]{0,3}y", 0, 4) or []
    assert len(pos) == 1
    assert start_sets("(unbalanced", 0, 3) is None


def test_atoms_hit_only_what_the_regex_can_start_with() -> None:
    ways = start_sets(SQUARE, 0, 4 + 2) or []
    found = {a for w in ways if (a := atom("eaaa", w, tail=2)) is not None}
    assert len(found) == 1  # the sq0atp- branch cannot start with "eaaa"
    rx = re.compile(found.pop().encode())  # \xNN escapes and classes read the same here
    assert rx.search(b" EAAAb_") and rx.search(b"=EAAA-9")
    assert not rx.search(b",EAAA,EAAE;")  # a source map's segments: no token follows
    assert not rx.search(b"xEAAAbc") and not rx.search(b" eaaabc") and not rx.search(b"-EAAAbc")
    upper = atom("aws_", None, upper=True)
    assert upper is not None and re.fullmatch(upper.encode(), b"AWS_")
    assert not re.fullmatch(upper.encode(), b"aws_")
    digits = atom("10.##.", None)
    assert digits is not None and re.fullmatch(digits.encode(), b"10.42.")


def test_narrowed_pass_finds_exactly_what_the_plain_pass_finds() -> None:
    """Every fixture of every rule, at the text's start and after characters a
    look-behind may refuse or allow (non-ASCII ones included), in its own case, upper and
    lower case, alone and among table cells: the same findings with fewer hits tried."""
    rules = Classifier.load().rules
    fast, plain = _narrowed(rules), _plain(rules)
    rng = random.Random(11)
    texts = [
        render(t, rng).text
        for fx in FIXTURES.values()
        for t in [*fx["positive"], *fx.get("negative", [])]
    ]
    token = _token(rng, 64)
    texts += [f",EAAA{token}", f"EAAG{token}x", f"xck_{token[:40]}", f"\u00e9sk-{token}"]
    before = ["", "x", "-", "=", "\n", "\u00e9", "\u2603"]
    compared = 0
    for text in texts:
        for variant in {text, text.upper(), text.lower()}:
            for head in before:
                sample = head + variant
                assert [str(m) for m in fast.scan(sample)] == [str(m) for m in plain.scan(sample)]
                compared += 1
    assert compared > 7 * len(texts)
    cells = texts[::3]
    assert [[str(m) for m in ms] for ms in fast.scan_many(cells)] == [
        [str(m) for m in ms] for ms in plain.scan_many(cells)
    ]
    positives = sum(len(fx["positive"]) for fx in FIXTURES.values())
    assert sum(len(fast.scan(t)) > 0 for t in texts) >= positives


def test_narrowed_pass_tries_fewer_hits() -> None:
    """A source map's VLQ segments (",EAAA,EAAG,") and keys inside identifiers
    ("stack_") are literal hits that no rule can match: they never reach Python."""
    rules = Classifier.load().rules
    fast, plain = _narrowed(rules), _plain(rules)
    text = ",EAAA,EAAG,AAAA,EAAC;" * 50 + " stack_trace lock_file sk_ " * 20
    assert fast._automaton is not None and plain._automaton is not None
    narrowed = sum(1 for _ in fast._automaton.hits(text))
    every = sum(1 for _ in plain._automaton.hits(text))
    assert every >= 200 and narrowed * 10 < every
    assert fast.scan(text) == plain.scan(text)


def test_the_database_is_compiled_once_then_loaded(
    monkeypatch: pytest.MonkeyPatch, _own_cache: Path
) -> None:
    monkeypatch.setattr(engine, "_HYPERSCAN_AFTER", 1000)
    rules = Classifier.load(disabled=["pii.*", "chat.*", "infra.*"]).rules
    rng = random.Random(5)
    line = f"token ghp_{_token(rng, 36)}\n"
    first = Classifier(rules)
    assert first._automaton is not None
    assert [m.rule for m in first.scan(line)] == ["secret.github.classic-pat"]
    assert first._automaton._fast is None  # nothing cached, small input: pyahocorasick
    assert len(first.scan(line * 100)) == 100
    assert isinstance(first._automaton._fast, engine._Hyperscan)
    (saved,) = _own_cache.glob("*.db")
    second = Classifier(rules)
    assert [m.rule for m in second.scan(line)] == ["secret.github.classic-pat"]
    assert isinstance(second._automaton._fast, engine._Hyperscan)  # loaded at once
    other = Classifier(Classifier.load(disabled=["pii.*"]).rules)
    other.scan(line)
    assert other._automaton is not None and other._automaton._fast is None  # other rules
    saved.write_bytes(saved.read_bytes()[:200] + b"damaged")
    third = Classifier(rules)
    assert [m.rule for m in third.scan(line)] == ["secret.github.classic-pat"]
    assert third._automaton is not None and third._automaton._fast is None
    saved.write_bytes(b"not even a header")
    assert [m.rule for m in Classifier(rules).scan(line)] == ["secret.github.classic-pat"]


def test_a_rule_refusing_a_space_before_still_matches_at_the_text_start() -> None:
    """The scanned buffer puts a space before the text: a negative look-behind that
    refuses spaces must still let a match at the very start through (and no other)."""
    from leakmap.categories import DataCategory
    from leakmap.classify.rules import Rule

    ((prev, _),) = start_sets(r"(?<![\s=])tok_", 0, 4) or []
    assert ord(" ") in prev and ord("\t") not in prev and ord("=") not in prev
    rule = Rule(
        id="secret.test.spaceless",
        category=DataCategory.SECRET,
        description="a token never written after a space",
        regex=r"(?<![\s=])tok_[a-z]{12}",
        keywords=("tok_",),
        anchor=True,
        placeholder_filter=False,
    )
    fast, plain = _narrowed([rule]), _plain([rule])
    value = "tok_" + "".join(random.Random(2).choice(string.ascii_lowercase) for _ in range(12))
    for text, found in ((value, 1), (" " + value, 0), ("\t" + value, 0), ("x" + value, 1)):
        assert len(fast.scan(text)) == len(plain.scan(text)) == found
