"""The classifier engine: one Aho-Corasick pre-filter, regexes on windows around hits.

How a scan works:

1. All rules' keywords (lower-case literals) go into ONE automaton, built once per
   :class:`Classifier`. The text is lower-cased and run through it once.
2. For every hit, only the rules owning that keyword run their regex, and only on a window
   of ``rule.window`` characters on each side of the hit (overlapping windows are merged).
   Rules without keywords (a few checksum-validated number formats) run over the whole
   text: keep them few; their regexes start with a cheap character class.
3. A candidate must then pass, in order: ``requires`` (context regexes in the window),
   ``min_entropy``, ``stopwords``, ``allowlist``, the placeholder filter (secrets only)
   and the rule's ``validator``.
4. Overlapping candidates of the same category are resolved in favour of the higher
   ``priority``, then the longer match. Different categories may overlap (an e-mail inside
   a chat message is both ``pii`` and ``chat``).

Example::

    >>> clf = Classifier.load()
    >>> [m.rule for m in clf.scan('GITHUB_TOKEN=ghp_' + 'aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A')]
    ['secret.github.classic-pat']

A :class:`Match` carries the raw value for the caller's own checks, but never shows it in
``repr``/``str``; everything persisted or printed uses :attr:`Match.redacted`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leakmap.classify.redact import redact
from leakmap.classify.rules import Rule, builtin_rules, check_unique, load_rule_file
from leakmap.classify.validators import VALIDATORS, Validator, is_placeholder, shannon_entropy
from leakmap.errors import UsageError
from leakmap.services.base import DataCategory

__all__ = ["Classifier", "Match"]

_ASCII_LOWER = {c: c + 32 for c in range(65, 91)}
_CELL_SEPARATOR = "\n\x00\n"


@dataclass(frozen=True, slots=True)
class Match:
    """One finding in a scanned text. ``value`` is the raw secret or personal value: never
    print, log or store it; use ``redacted``."""

    rule: str
    category: DataCategory
    start: int
    end: int
    value: str = field(repr=False)
    redacted: str

    def __str__(self) -> str:
        return f"{self.rule} [{self.start}:{self.end}] {self.redacted}"


@dataclass(frozen=True, slots=True)
class _Compiled:
    index: int
    rule: Rule
    pattern: re.Pattern[str]
    group: int | str
    requires: tuple[re.Pattern[str], ...]
    allowlist: tuple[re.Pattern[str], ...]
    validator: Validator | None
    is_secret: bool


def _compile(index: int, rule: Rule) -> _Compiled:
    flags = re.IGNORECASE if rule.ignore_case else 0
    return _Compiled(
        index=index,
        rule=rule,
        pattern=re.compile(rule.regex, flags),
        group=rule.secret_group,
        requires=tuple(re.compile(p, flags) for p in rule.requires),
        allowlist=tuple(re.compile(p) for p in rule.allowlist),
        validator=VALIDATORS[rule.validator] if rule.validator else None,
        is_secret=rule.category is DataCategory.SECRET,
    )


# A candidate before de-duplication: (start, end, compiled rule, value).
_Cand = tuple[int, int, _Compiled, str]


class Classifier:
    """Scans text for secrets, personal data, chat records and infrastructure details.

    Build once (``Classifier.load()``) and reuse: the automaton and the regexes are
    compiled in the constructor. Instances are immutable and safe to share across threads.
    """

    __slots__ = ("_automaton", "_compiled", "_keywordless", "_rules")

    def __init__(self, rules: Sequence[Rule]) -> None:
        import ahocorasick

        check_unique(rules)
        self._rules: tuple[Rule, ...] = tuple(rules)
        self._compiled = tuple(_compile(i, r) for i, r in enumerate(self._rules))
        owners: dict[str, list[int]] = {}
        for c in self._compiled:
            for kw in c.rule.keywords:
                owners.setdefault(kw, []).append(c.index)
        self._keywordless = tuple(c for c in self._compiled if not c.rule.keywords)
        automaton: Any = ahocorasick.Automaton()
        for kw, idx in owners.items():
            automaton.add_word(kw, (len(kw), tuple(idx)))
        if owners:
            automaton.make_automaton()
        self._automaton: Any = automaton if owners else None

    @classmethod
    def load(
        cls, extra_rule_files: Sequence[Path] = (), disabled: Collection[str] = ()
    ) -> Classifier:
        """The built-in rules, plus the rules of ``extra_rule_files`` (a rule with a
        built-in id replaces it), minus the ``disabled`` ids (shell-style globs allowed).

        Raises :class:`~leakmap.errors.RuleFileError` for a bad rule file and
        :class:`~leakmap.errors.UsageError` for a ``disabled`` pattern that matches no rule.
        """
        by_id: dict[str, Rule] = {r.id: r for r in builtin_rules()}
        for path in extra_rule_files:
            extra = load_rule_file(Path(path))
            check_unique(extra)
            for rule in extra:
                by_id[rule.id] = rule
        for pattern in disabled:
            hit = [rid for rid in by_id if fnmatch.fnmatchcase(rid, pattern)]
            if not hit:
                raise UsageError(f"--disable {pattern!r} matches no rule id")
            for rid in hit:
                del by_id[rid]
        return cls(list(by_id.values()))

    @property
    def rules(self) -> Sequence[Rule]:
        """The active rules, in load order."""
        return self._rules

    # -- scanning ---------------------------------------------------------------------------

    def scan(self, text: str) -> list[Match]:
        """All findings in ``text``, sorted by start offset."""
        if not text:
            return []
        return self._finish(self._candidates(text))

    def scan_many(self, texts: Sequence[str]) -> list[list[Match]]:
        """Findings for each of many (short) texts, e.g. table cells: one pass over all of
        them, offsets relative to each text. Nothing matches across two texts."""
        if not texts:
            return []
        if len(texts) == 1:
            return [self.scan(texts[0])]
        starts: list[int] = []
        pos = 0
        for t in texts:
            starts.append(pos)
            pos += len(t) + len(_CELL_SEPARATOR)
        joined = _CELL_SEPARATOR.join(texts)
        per_cell: list[list[_Cand]] = [[] for _ in texts]
        import bisect

        for cand in self._candidates(joined):
            cell = bisect.bisect_right(starts, cand[0]) - 1
            base = starts[cell]
            if cand[1] > base + len(texts[cell]):
                continue  # crosses into the separator: not a match in any one text
            per_cell[cell].append((cand[0] - base, cand[1] - base, cand[2], cand[3]))
        return [self._finish(c) for c in per_cell]

    def _candidates(self, text: str) -> list[_Cand]:
        n = len(text)
        out: list[_Cand] = []
        if self._automaton is not None:
            lowered = text.lower()
            if len(lowered) != n:
                lowered = text.translate(_ASCII_LOWER)
            spans: dict[int, list[list[int]]] = {}
            compiled = self._compiled
            for end, (klen, owners) in self._automaton.iter(lowered):
                for idx in owners:
                    w = compiled[idx].rule.window
                    s = end - klen + 1 - w
                    e = end + 1 + w
                    lst = spans.get(idx)
                    if lst is None:
                        spans[idx] = [[s, e]]
                    elif s <= lst[-1][1]:
                        lst[-1][1] = e
                    else:
                        lst.append([s, e])
            for idx, windows in spans.items():
                c = compiled[idx]
                for s, e in windows:
                    self._run(c, text, max(0, s), min(n, e), out)
        for c in self._keywordless:
            self._run(c, text, 0, n, out)
        return out

    @staticmethod
    def _run(c: _Compiled, text: str, s: int, e: int, out: list[_Cand]) -> None:
        n = len(text)
        rule = c.rule
        for m in c.pattern.finditer(text, s, e):
            if m.end() == e and e < n:
                # The window cut the text: the real match may be longer (or absent).
                full = c.pattern.match(text, m.start())
                if full is None:
                    continue
                m = full
            value = m.group(c.group)
            if not value:
                continue
            vs, ve = m.span(c.group)
            if c.requires:
                lo, hi = max(0, vs - rule.window), min(n, ve + rule.window)
                if not all(p.search(text, lo, hi) for p in c.requires):
                    continue
            if rule.min_entropy is not None and shannon_entropy(value) < rule.min_entropy:
                continue
            if rule.stopwords:
                low = value.lower()
                if any(sw in low for sw in rule.stopwords):
                    continue
            if c.allowlist and any(p.search(value) for p in c.allowlist):
                continue
            if c.is_secret and is_placeholder(value):
                continue
            if c.validator is not None and not c.validator(value):
                continue
            out.append((vs, ve, c, value))

    @staticmethod
    def _finish(cands: list[_Cand]) -> list[Match]:
        if not cands:
            return []
        cands.sort(key=lambda x: (-x[2].rule.priority, x[0] - x[1], x[0], x[2].index))
        kept: dict[DataCategory, list[tuple[int, int]]] = {}
        result: list[Match] = []
        for s, e, c, value in cands:
            taken = kept.setdefault(c.rule.category, [])
            if any(s < te and ts < e for ts, te in taken):
                continue
            taken.append((s, e))
            result.append(
                Match(
                    rule=c.rule.id,
                    category=c.rule.category,
                    start=s,
                    end=e,
                    value=value,
                    redacted=redact(value, c.rule.keep_prefix),
                )
            )
        result.sort(key=lambda m: (m.start, m.end, m.rule))
        return result
