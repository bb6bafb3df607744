"""The classifier engine: one Aho-Corasick pre-filter, regexes only where it hits.

How a scan works:

1. All rules' ``keywords`` (lower-case literals) and ``shapes`` (literals in which ``0``
   stands for any digit, for number formats with no literal: cards, phones, IBANs, SSNs)
   go into ONE automaton, built once per :class:`Classifier`, which runs once over the
   "shape view" of the text: lower-cased, every ASCII digit turned into ``0``. A keyword
   hit that has digits is confirmed against the text itself (a ``#`` in a keyword stands
   for any digit and needs no confirmation). Rules with neither keywords nor shapes run
   over the whole text (none ship).
2. A hit runs only the rules owning that literal:

   * ``anchor: true`` rules (most of them: vendor prefixes such as ``ghp_``, JSON keys such
     as ``"role"``) try ONE anchored ``re.match`` at the hit. A hit inside the same rule's
     previous match, or inside an accepted finding of the same category with at least the
     same priority, is skipped: that keeps hostile input linear and saves work.
   * other rules (context words such as ``deepseek``, suffixes such as ``.internal``) search
     a window of ``window_before``/``window`` characters around the hit; overlapping
     windows of one rule are merged, and a match cut by the window end is re-matched.
     A window rule whose match holds its keyword and can only start where a run of
     certain characters before the keyword starts can name them (``back``, e.g. an
     e-mail's local part before ``@``): one anchored match is tried there, no window.

   So the cost grows with the number of hits, not with the number of rules.
3. A candidate must then pass, cheapest first: ``min_entropy``, ``stopwords``,
   ``allowlist``, the placeholder filter (secrets, unless ``placeholder_filter: false``),
   ``exclude_before``, ``requires`` (context regexes within ``requires_window``), the
   ``names_filter`` (a value that names something: :mod:`leakmap.classify.names`) and the
   rule's ``validator`` (checksums etc.; results are remembered per rule).
4. Overlapping candidates of one category are resolved in favour of the higher
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

import bisect
import fnmatch
import operator
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leakmap.categories import DataCategory
from leakmap.classify.names import NAME_FILTERS, NameFilter
from leakmap.classify.redact import redact
from leakmap.classify.rules import Rule, builtin_rules, check_unique, load_rule_file
from leakmap.classify.validators import VALIDATORS, Validator, is_placeholder, shannon_entropy
from leakmap.errors import UsageError

__all__ = ["Classifier", "Match"]

_ASCII_LOWER = {c: c + 32 for c in range(65, 91)}
_SHAPE_MAP = {**_ASCII_LOWER, **{c: 48 for c in range(49, 58)}}
_SHAPE_BYTES = bytes(_SHAPE_MAP.get(i, i) for i in range(256))


def _shape(text: str, ascii_literals: bool = True) -> str:
    """A space, then the text lower-cased with every ASCII digit turned into ``0`` (the
    space lets a shape such as ``" 0000"`` match at the very start; offsets shift by 1).

    When every literal is ASCII, characters that are not ASCII can never be part of a real
    hit: each becomes one ``?`` (offsets kept) in a C-level encode, and the whole text goes
    through one C-level byte translation (a per-character dict lookup is ten times slower;
    an error handler called per run of such characters cost a third of the scan on files
    in other scripts). A hit that a ``?`` fakes is still checked by its rule's regex
    against the text itself."""
    if text.isascii():
        return " " + text.encode("ascii").translate(_SHAPE_BYTES).decode("ascii")
    if ascii_literals:
        # "?" for each character that is not ASCII, in C: a literal hit it fakes (only a
        # keyword holding "?" could) is still checked against the text by its regex
        raw = text.encode("ascii", "replace")
        return " " + raw.translate(_SHAPE_BYTES).decode("ascii")
    return " " + text.translate(_SHAPE_MAP)


_CELL_SEPARATOR = "\n\x00\n"
_GLOBAL_FLAGS = re.compile(r"\(\?[aiLmsux]+\)")
_VERDICT_CACHE = 4096  # validator results remembered per rule
_WITHOUT_OBJECTS = operator.itemgetter(0, 1, 2)
_FIRST = operator.itemgetter(0)  # (start, end, rule id): the output order


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


class _Compiled:
    """A rule ready to run; its regexes are compiled on first use (most rules never hit)."""

    __slots__ = (
        "_allowlist",
        "_alt",
        "_back",
        "_excludes",
        "_pattern",
        "_requires",
        "_verdicts",
        "anchor",
        "before",
        "category",
        "flags",
        "group",
        "index",
        "is_secret",
        "names",
        "priority",
        "rule",
        "upper",
        "validator",
        "window",
    )  # fmt: skip

    def __init__(self, index: int, rule: Rule) -> None:
        self.index = index
        self.rule = rule
        self.flags = re.IGNORECASE if rule.ignore_case else 0
        self.group = rule.secret_group
        self.validator: Validator | None = VALIDATORS[rule.validator] if rule.validator else None
        self.names: NameFilter | None = (
            NAME_FILTERS[rule.names_filter] if rule.names_filter else None
        )
        self.is_secret = rule.category is DataCategory.SECRET and rule.placeholder_filter
        self.before = rule.window if rule.window_before is None else rule.window_before
        self.upper = rule.keyword_case == "upper"
        self.anchor = rule.anchor
        self.category = rule.category
        self.priority = rule.priority
        self.window = rule.window
        self._pattern: re.Pattern[str] | None = None
        self._back: re.Pattern[str] | None = None
        self._alt: tuple[str, ...] | None = None
        self._verdicts: dict[str, bool] = {}
        self._requires: tuple[re.Pattern[str], ...] | None = None
        self._allowlist: tuple[re.Pattern[str], ...] | None = None
        self._excludes: tuple[re.Pattern[str], ...] | None = None

    @property
    def pattern(self) -> re.Pattern[str]:
        if self._pattern is None:
            self._pattern = re.compile(self.rule.regex, self.flags)
        return self._pattern

    def back_start(self, text: str, start: int) -> int:
        """Where the run of ``back`` characters that ends at ``start`` begins (looking at
        most ``before`` characters back): one reversed anchored match, linear."""
        if self._back is None:
            self._back = re.compile(f"(?:{self.rule.back})*", self.flags)
        lo = start - self.before
        if lo < 0:
            lo = 0
        run = self._back.match(text[lo:start][::-1])
        return start - (run.end() if run is not None else 0)

    def validated(self, value: str) -> bool:
        """The rule's validator on ``value``, remembered (the same number or key often
        recurs in a log, and some validators, such as phone numbers, are costly)."""
        cache = self._verdicts
        verdict = cache.get(value)
        if verdict is None:
            assert self.validator is not None
            verdict = self.validator(value)
            if len(cache) >= _VERDICT_CACHE:
                cache.clear()
            cache[value] = verdict
        return verdict

    @property
    def alt_groups(self) -> tuple[str, ...]:
        """Named groups ``<secret_group>_*``: alternative places of the value."""
        if self._alt is None:
            prefix = f"{self.group}_" if isinstance(self.group, str) else None
            self._alt = tuple(
                name
                for name in sorted(self.pattern.groupindex, key=self.pattern.groupindex.__getitem__)
                if prefix is not None and name.startswith(prefix)
            )
        return self._alt

    @property
    def requires(self) -> tuple[re.Pattern[str], ...]:
        if self._requires is None:
            self._requires = tuple(re.compile(p, self.flags) for p in self.rule.requires)
        return self._requires

    @property
    def excludes(self) -> tuple[re.Pattern[str], ...]:
        if self._excludes is None:
            self._excludes = tuple(re.compile(p, self.flags) for p in self.rule.exclude_before)
        return self._excludes

    @property
    def allowlist(self) -> tuple[re.Pattern[str], ...]:
        """The allowlist as few regexes as possible: one alternation of all patterns that
        set no global inline flag, plus each one that does."""
        if self._allowlist is None:
            plain = [p for p in self.rule.allowlist if not _GLOBAL_FLAGS.match(p)]
            flagged = [p for p in self.rule.allowlist if _GLOBAL_FLAGS.match(p)]
            merged = ["|".join(f"(?:{p})" for p in plain)] if plain else []
            self._allowlist = tuple(re.compile(p) for p in merged + flagged)
        return self._allowlist


def _literal_digits_prefix(keyword: str) -> str | None:
    """What a hit of ``keyword`` must be confirmed against in the text: the keyword up to
    its last literal digit (the shape view matched any digit there), or None when it has
    no literal digit. A ``#`` (any digit) only follows the literal digits."""
    last = max((i for i, ch in enumerate(keyword) if "0" <= ch <= "9"), default=-1)
    return keyword[: last + 1] if last >= 0 else None


# What a literal's hit runs: (its length, entries), an entry being (the exact keyword to
# confirm in the text or None, anchored rules, windowed rules).
_Entry = tuple[str | None, tuple[_Compiled, ...], tuple[_Compiled, ...]]
_Payload = tuple[int, tuple[_Entry, ...]]


def _literal_owners(compiled: Sequence[_Compiled]) -> dict[str, _Payload]:
    """Every literal of every rule in the shape view (see :func:`_shape`), with what a hit
    of it runs (the exact keyword is None when the shaped literal says all). A keyword
    with a digit is confirmed against the text, since the shape view writes every
    digit as 0."""
    owners: dict[str, dict[str | None, list[_Compiled]]] = {}
    for c in compiled:
        for word in c.rule.keywords:
            owners.setdefault(word.replace("#", "0").translate(_SHAPE_MAP), {}).setdefault(
                _literal_digits_prefix(word), []
            ).append(c)
        for word in c.rule.shapes:
            owners.setdefault(word, {}).setdefault(None, []).append(c)
    return {
        shaped: (
            len(shaped),
            tuple(
                (
                    exact,
                    tuple(dict.fromkeys(c for c in rules if c.anchor)),
                    tuple(dict.fromkeys(c for c in rules if not c.anchor)),
                )
                for exact, rules in groups.items()
            ),
        )
        for shaped, groups in owners.items()
    }


class _AhoCorasick:
    """The literal pass with pyahocorasick: one automaton, iterated over the shape view."""

    def __init__(self, owners: dict[str, _Payload], ascii_literals: bool) -> None:
        import ahocorasick

        self._ascii_literals = ascii_literals
        self._automaton: Any = ahocorasick.Automaton()
        for shaped, payload in owners.items():
            self._automaton.add_word(shaped, payload)
        self._automaton.make_automaton()

    def hits(self, text: str) -> Any:
        """(end offset in the shape view, (length, entries)) per hit, by end offset."""
        return self._automaton.iter(_shape(text, self._ascii_literals))


# Characters after a keyword that an anchored rule's regex demands, added to the literal's
# Hyperscan expression (a source map's ",EAAA," is no Square token: the token goes on).
_TAIL = 4


def _literal_atoms(
    compiled: Sequence[_Compiled], owners: dict[str, _Payload]
) -> tuple[list[bytes], list[int]]:
    """The Hyperscan expression of each literal of ``owners`` (in its order) and the
    characters it matches after the literal, narrowed to the hits that can become a
    finding: the letter cases, the character before and the first characters after that
    an anchored rule's regex allows (:mod:`leakmap.classify.prefilter`), upper case for
    ``keyword_case: upper`` rules. The plain literal pass finds a superset of these hits;
    the findings are the same."""
    from leakmap.classify.prefilter import Sets, atom, literal_expression, start_sets

    ways: dict[str, list[tuple[str, Sets | None, bool, bool]]] = {s: [] for s in owners}
    for c in compiled:
        literals = (*c.rule.keywords, *c.rule.shapes)
        width = max(map(len, literals), default=0) + _TAIL
        starts: list[Sets | None] = [None]
        read = start_sets(c.rule.regex, c.flags, width) if c.anchor and literals else None
        if read is not None:
            starts = list(read)
        for word, is_shape in (
            *((w, False) for w in c.rule.keywords),
            *((w, True) for w in c.rule.shapes),
        ):
            shaped = word if is_shape else word.replace("#", "0").translate(_SHAPE_MAP)
            found = [
                (word, sets, c.upper, is_shape)
                for sets in starts
                if atom(word, sets, upper=c.upper, shape=is_shape) is not None
            ]
            # none: the regex cannot start with it (a rule to fix); the literal stays whole
            ways[shaped].extend(found or [(word, None, False, is_shape)])
    exprs: list[bytes] = []
    tails: list[int] = []
    for found in ways.values():
        # the same number of characters after the literal in every alternative
        tail = min(
            -1 if sets is None else min(_TAIL, len(sets[1]) - len(word))
            for word, sets, _, _ in found
        )
        tail = max(0, tail)
        atoms = [atom(w, sets, upper=u, shape=sh, tail=tail) for w, sets, u, sh in found]
        if any(a is None for a in atoms):  # not expected: the literal stays whole
            tail = 0
            atoms = [atom(w, None, shape=sh) for w, _, _, sh in found]
        exprs.append(literal_expression(a for a in atoms if a is not None))
        tails.append(tail)
    return exprs, tails


class _Hyperscan:
    """The literal pass with Hyperscan (SIMD) over the text itself (ASCII, ``?`` for
    other characters, after one space): the hits of :class:`_AhoCorasick` that can become
    a finding (see :func:`_literal_atoms`), about ten times faster on real files
    (measured in the classifier benchmark README). Only for ASCII literals.

    ``cached``: a serialized database and its tails (:mod:`leakmap.classify.prefilter`);
    otherwise the expressions are compiled (and the result is kept in that cache)."""

    def __init__(
        self,
        compiled: Sequence[_Compiled],
        owners: dict[str, _Payload],
        cached: tuple[bytes, list[int]] | None = None,
        key: str | None = None,
    ) -> None:
        import threading

        import hyperscan

        self._payloads = list(owners.values())
        if cached is not None:
            blob, self._tails = cached
            self._db = hyperscan.loadb(blob, hyperscan.HS_MODE_BLOCK)
        else:
            exprs, self._tails = _literal_atoms(compiled, owners)
            self._db = hyperscan.Database()
            self._db.compile(expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs))
            if key is not None:
                from leakmap.classify.prefilter import save_database

                save_database(key, hyperscan.dumpb(self._db), self._tails)
        self._local = threading.local()  # a scratch space per thread (not shareable)
        self._hyperscan = hyperscan

    @staticmethod
    def cache_key(compiled: Sequence[_Compiled], owners: dict[str, _Payload]) -> str:
        """The name of the cached database for these rules (see :func:`cached`)."""
        import hyperscan

        from leakmap.classify.prefilter import cache_key

        parts = [f"hyperscan {getattr(hyperscan, '__version__', '?')}", f"tail {_TAIL}"]
        parts.extend(owners)
        for c in compiled:
            r = c.rule
            parts.append(repr((r.keywords, r.shapes, r.regex, c.flags, c.anchor, c.upper)))
        return cache_key(parts)

    @classmethod
    def cached(
        cls, compiled: Sequence[_Compiled], owners: dict[str, _Payload], key: str
    ) -> _Hyperscan | None:
        """The literal pass from the cached database, or None when there is none."""
        from leakmap.classify.prefilter import load_database

        found = load_database(key, len(owners))
        if found is None:
            return None
        try:
            return cls(compiled, owners, cached=found)
        except Exception:  # a damaged or foreign file (hyperscan.error): compile instead
            return None

    def hits(self, text: str) -> list[tuple[int, _Payload]]:
        """(end offset in the shape view, (length, entries)) per hit, by end offset."""
        local = self._local
        scratch = getattr(local, "scratch", None)
        if scratch is None:
            scratch = local.scratch = self._hyperscan.Scratch(self._db)
        ends: list[tuple[int, int]] = []
        add = ends.append

        def on_match(ident: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
            add((to - 1, ident))

        # one byte per character keeps the offsets; "?" for a character that is not ASCII
        # (only its regex, run on the text, can accept it); the leading space as in _shape
        data = b" " + (text.encode("ascii") if text.isascii() else text.encode("ascii", "replace"))
        self._db.scan(data, match_event_handler=on_match, scratch=scratch)
        payloads = self._payloads
        tails = self._tails
        hits = [(end - tails[ident], payloads[ident]) for end, ident in ends]
        hits.sort(key=_FIRST)
        return hits


# Text scanned with pyahocorasick before a classifier compiles its Hyperscan database (when
# none is cached): compiling costs about a second for a few hundred rules, which pays for
# itself after some tens of MB (pyahocorasick iterates ~80 MB/s, Hyperscan more than ten
# times that, and it tries fewer hits). A log file or a command-line run on a few MB stays
# on pyahocorasick; a tree of hundreds of MB switches early, and later runs find it cached.
_HYPERSCAN_AFTER = 16 * 1024 * 1024


class _Adaptive:
    """The literal pass: Hyperscan from the start when its database for these rules is
    cached, else pyahocorasick at first and Hyperscan (compiled, then cached) once
    :data:`_HYPERSCAN_AFTER` characters went through it; pyahocorasick only where
    Hyperscan is not installed or a literal is not ASCII. Both give the same findings (a
    test holds them equal); Hyperscan tries fewer hits."""

    __slots__ = ("_aho", "_compiled", "_fast", "_key", "_owners", "_seen")

    def __init__(
        self, compiled: Sequence[_Compiled], owners: dict[str, _Payload], ascii_literals: bool
    ) -> None:
        self._aho = _AhoCorasick(owners, ascii_literals)
        self._compiled = compiled
        self._fast: _Hyperscan | None = None
        self._owners = owners if ascii_literals else None
        self._key: str | None = None
        self._seen = 0

    def hits(self, text: str) -> Any:
        if self._fast is not None:
            return self._fast.hits(text)
        if self._owners is not None:
            try:
                if self._key is None:
                    self._key = _Hyperscan.cache_key(self._compiled, self._owners)
                    self._fast = _Hyperscan.cached(self._compiled, self._owners, self._key)
                self._seen += len(text)
                if self._fast is None and self._seen >= _HYPERSCAN_AFTER:
                    self._fast = _Hyperscan(self._compiled, self._owners, key=self._key)
            except ImportError:
                self._owners = None
            if self._fast is not None:
                return self._fast.hits(text)
        return self._aho.hits(text)


def _build(compiled: Sequence[_Compiled], ascii_literals: bool) -> _Adaptive | None:
    """The literal pass over all rules' keywords and shapes, or None when no rule has a
    literal."""
    owners = _literal_owners(compiled)
    return _Adaptive(compiled, owners, ascii_literals) if owners else None


# A candidate before de-duplication: (-priority, start - end, start, rule index, end,
# compiled rule, value). Plain tuple order is the overlap-resolution order (higher priority,
# then longer, then earlier, then load order), so sorting needs no key function.
_Cand = tuple[int, int, int, int, int, _Compiled, str]


class Classifier:
    """Scans text for secrets, personal data, chat records and infrastructure details.

    Build once (``Classifier.load()``) and reuse: the automaton and the regexes are
    compiled in the constructor. Instances are immutable and safe to share across threads.
    """

    __slots__ = ("_ascii_literals", "_automaton", "_compiled", "_keywordless", "_rules")

    def __init__(self, rules: Sequence[Rule]) -> None:
        check_unique(rules)
        self._rules: tuple[Rule, ...] = tuple(rules)
        self._compiled = tuple(_Compiled(i, r) for i, r in enumerate(self._rules))
        verdicts: dict[str, dict[str, bool]] = {}
        for c in self._compiled:
            if c.rule.validator:  # rules sharing a validator share its remembered results
                c._verdicts = verdicts.setdefault(c.rule.validator, {})
        self._keywordless = tuple(
            c for c in self._compiled if not c.rule.keywords and not c.rule.shapes
        )
        self._ascii_literals = all(
            word.isascii() and "\x00" not in word
            for c in self._compiled
            for word in (*c.rule.keywords, *c.rule.shapes)
        )
        self._automaton = _build(self._compiled, self._ascii_literals)

    def __reduce__(self) -> tuple[type[Classifier], tuple[tuple[Rule, ...]]]:
        """Pickled as its rules: the literal pass is rebuilt where it is unpickled."""
        return Classifier, (self._rules,)

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
        for cand in self._candidates(joined):
            neg_priority, neg_len, start, index, end, c, value = cand
            cell = bisect.bisect_right(starts, start) - 1
            base = starts[cell]
            if end > base + len(texts[cell]):
                continue  # crosses into the separator: not a match in any one text
            per_cell[cell].append(
                (neg_priority, neg_len, start - base, index, end - base, c, value)
            )
        return [self._finish(c) for c in per_cell]

    def _candidates(self, text: str) -> list[_Cand]:
        n = len(text)
        out: list[_Cand] = []
        check = self._check
        spans: dict[_Compiled, list[list[int]]] = {}
        reach: dict[_Compiled, int] = {}  # anchored rule -> end of its last regex match
        # category -> (value end, priority) of the last accepted anchored match: a hit of a
        # rule with no higher priority that starts before that end could only give an
        # overlapping finding of the same category, which the overlap resolution drops.
        accepted: dict[DataCategory, tuple[int, int]] = {}
        automaton = self._automaton
        if automaton is not None:
            for end, (klen, entries) in automaton.hits(text):
                end -= 1  # the shape view starts with an extra space
                start = end - klen + 1
                if start < 0:
                    start = 0
                for exact, anchored, windowed in entries:
                    if exact is not None and text[start : start + len(exact)].lower() != exact:
                        continue  # a keyword with digits: the shape view matched others
                    for c in anchored:
                        if start < reach.get(c, -1):
                            continue  # inside this rule's previous match: same finding
                        last = accepted.get(c.category)
                        if last is not None and start < last[0] and c.priority <= last[1]:
                            continue
                        m = (c._pattern or c.pattern).match(text, start)
                        if m is not None:
                            reach[c] = m.end()
                            ve = check(c, text, m, out)
                            if ve > 0 and (last is None or ve > last[0]):
                                accepted[c.category] = (ve, c.priority)
                    for c in windowed:
                        if c.upper:
                            hit = text[start : end + 1]
                            if hit != hit.upper():
                                continue
                        if c.rule.back is not None:
                            if start >= reach.get(c, -1):
                                m = c.pattern.match(text, c.back_start(text, start))
                                if m is not None and m.end() > start:
                                    reach[c] = m.end()
                                    check(c, text, m, out)
                            continue  # no window: a match holding the hit starts there
                        s = start - c.before
                        e = end + 1 + c.window
                        lst = spans.get(c)
                        if lst is None:
                            spans[c] = [[s, e]]
                        elif s <= lst[-1][1]:
                            if e > lst[-1][1]:
                                lst[-1][1] = e
                        else:
                            lst.append([s, e])
        for c, windows in spans.items():
            search = (c._pattern or c.pattern).search
            for s, e in windows:
                s = max(0, s)
                e = min(n, e)
                if search(text, s, e) is not None:  # most windows: one C call, no more
                    self._run(c, text, s, e, out)
        for c in self._keywordless:
            self._run(c, text, 0, n, out)
        return out

    @classmethod
    def _run(cls, c: _Compiled, text: str, s: int, e: int, out: list[_Cand]) -> None:
        n = len(text)
        for m in (c._pattern or c.pattern).finditer(text, s, e):
            if m.end() == e and e < n:
                # The window cut the text: the real match may be longer (or absent).
                cls._check(c, text, c.pattern.match(text, m.start()), out)
            else:
                cls._check(c, text, m, out)

    @staticmethod
    def _check(c: _Compiled, text: str, m: re.Match[str] | None, out: list[_Cand]) -> int:
        """Apply the rule's filters to a regex match; on success add the candidate and
        return the value's end offset, else return -1."""
        if m is None:
            return -1
        group = c.group
        value = m.group(group)
        if value is None and c.alt_groups:
            # Alternatives of the value (e.g. one per quoting style) are named
            # ``<secret_group>_<suffix>``: the first that took part in the match holds it.
            for alt in c.alt_groups:
                value = m.group(alt)
                if value is not None:
                    group = alt
                    break
        if not value:
            return -1
        rule = c.rule
        vs, ve = m.span(group)
        # Cheapest filters first: they reject most candidates before a context search.
        if rule.min_entropy is not None and shannon_entropy(value) < rule.min_entropy:
            return -1
        if rule.stopwords:
            low = value.lower()
            if any(sw in low for sw in rule.stopwords):
                return -1
        if rule.allowlist and any(p.search(value) for p in c.allowlist):
            return -1
        if c.is_secret and is_placeholder(value):
            return -1
        if rule.exclude_before and any(p.search(text, max(0, vs - 128), vs) for p in c.excludes):
            return -1
        if rule.requires:
            lo, hi = max(0, vs - rule.requires_window), ve + rule.requires_window
            if not all(p.search(text, lo, hi) for p in c.requires):
                return -1
        if c.names is not None and c.names(value, text, vs):
            return -1
        if c.validator is not None and not c.validated(value):
            return -1
        out.append((-c.priority, vs - ve, vs, c.index, ve, c, value))
        return ve

    @staticmethod
    def _finish(cands: list[_Cand]) -> list[Match]:
        if not cands:
            return []
        cands.sort()
        # Kept intervals per category: disjoint, so sorted by start they are sorted by end
        # too and only the predecessor of a new interval can overlap it.
        kept: dict[DataCategory, tuple[list[int], list[int]]] = {}
        chosen: list[tuple[int, int, str, _Compiled, str]] = []
        for _, _, s, _, e, c, value in cands:
            starts, ends = kept.setdefault(c.category, ([], []))
            i = bisect.bisect_left(starts, e)
            if i and ends[i - 1] > s:
                continue
            starts.insert(i, s)
            ends.insert(i, e)
            chosen.append((s, e, c.rule.id, c, value))
        chosen.sort(key=_WITHOUT_OBJECTS)
        return [
            Match(
                rule=rule_id,
                category=c.category,
                start=s,
                end=e,
                value=value,
                redacted=redact(value, c.rule.keep_prefix),
            )
            for s, e, rule_id, c, value in chosen
        ]
