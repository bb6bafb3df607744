"""What a literal hit can be: the Hyperscan expressions of the literal pass.

The engine's literal pass finds every rule keyword case-insensitively. Most rules are
stricter than that: an ``anchor: true`` rule's regex starts where its keyword starts, and
usually says which case each letter takes (``EAAA`` of a Square token, never ``eaaa``) and
which character may stand before it (``(?<![\\w-])``, ``\\b``). A hit that breaks either can
never become a finding, yet each costs a Python call. This module reads those constraints
from the regex's parse tree (:mod:`re`'s own parser) and writes them into the literal's
Hyperscan expression, so such hits never reach Python::

    >>> start_sets(r"(?<![\\w-])EAA[BCG][A-Za-z0-9]{80,300}", 0, 4) is not None
    True

Every set computed here is a *superset* of what the regex accepts (anything not understood
means "any character"), so no hit that could become a finding is lost: the findings are the
same as with the plain literal pass, only fewer hits are tried. The scanned buffer is ASCII
with ``?`` for each character that is not, and starts with one space (the engine's
convention), so ``?`` and the space are allowed wherever something else could stand.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import import_module
from pathlib import Path
from typing import Any

__all__ = [
    "ALL",
    "atom",
    "cache_key",
    "literal_expression",
    "load_database",
    "save_database",
    "start_sets",
]

#: Every ASCII character (the scanned buffer holds nothing else).
ALL = frozenset(range(128))
_IGNORECASE, _MULTILINE, _LOCALE = int(re.IGNORECASE), int(re.MULTILINE), int(re.LOCALE)
_QMARK = ord("?")  # stands for any character that is not ASCII in the scanned buffer
_SPACE = ord(" ")  # stands before the text's first character in the scanned buffer
_WORD = frozenset(i for i in range(128) if chr(i).isalnum() or chr(i) == "_")

# A constraint: (characters allowed just before the match, characters allowed at each of
# its first positions); positions not listed allow anything.
Sets = tuple[frozenset[int], list[frozenset[int]]]


@cache
def _sre() -> tuple[Any, Any]:
    """re's parser and constants (private modules: looked up when first needed, and any
    surprise in them only disables the narrowing, see :func:`start_sets`)."""
    return import_module("re._parser"), import_module("re._constants")


@cache
def _category(name: str) -> frozenset[int]:
    """The ASCII members of a category (``\\d``, ``\\s``, ``\\w`` and negations), as
    Python's Unicode-aware regexes decide them."""
    source = {
        "CATEGORY_DIGIT": r"\d",
        "CATEGORY_NOT_DIGIT": r"\D",
        "CATEGORY_SPACE": r"\s",
        "CATEGORY_NOT_SPACE": r"\S",
        "CATEGORY_WORD": r"\w",
        "CATEGORY_NOT_WORD": r"\W",
    }.get(name)
    if source is None:
        return ALL
    pattern = re.compile(source)
    return frozenset(i for i in range(128) if pattern.fullmatch(chr(i)))


_SWAP = {i: ord(chr(i).swapcase()) for i in range(128) if chr(i).isalpha()}


def _fold(chars: Iterable[int]) -> frozenset[int]:
    """The ASCII members of ``chars``, with both cases of each letter."""
    out = {i for i in chars if i < 128}
    out.update([_SWAP[i] for i in out if i in _SWAP])
    return frozenset(out)


def _charset(op: Any, av: Any, ignore_case: bool) -> frozenset[int] | None:
    """The ASCII characters one single-character item can match, or None when the item
    is not one character wide."""
    _, c = _sre()
    if op is c.LITERAL:
        chars = frozenset([av]) if av < 128 else frozenset()
        return _fold(chars) if ignore_case else chars
    if op in (c.NOT_LITERAL, c.ANY):
        return ALL
    if op is not c.IN:
        return None
    members: set[int] = set()
    negate = False
    for iop, iav in av:
        if iop is c.NEGATE:
            negate = True
        elif iop is c.LITERAL:
            members.add(iav)
        elif iop is c.RANGE:
            members.update(range(iav[0], min(iav[1], 127) + 1))
        elif iop is c.CATEGORY:
            members.update(_category(str(iav)))
        else:
            return ALL  # something else in a class: anything
    chars = _fold(members) if ignore_case else frozenset(i for i in members if i < 128)
    return ALL - chars if negate else chars


_MAX_ALTERNATIVES = 32  # beyond this, alternatives are merged position by position

# One way a match can start: (characters allowed before it, sets of its first positions,
# whether the parse-tree sequence read is exactly that wide).
_Alt = tuple[frozenset[int], list[frozenset[int]], bool]


def _merged(alts: list[_Alt]) -> list[_Alt]:
    """Too many alternatives: one that allows what any of them allows."""
    if len(alts) <= _MAX_ALTERNATIVES:
        return alts
    common = min(len(pos) for _, pos, _ in alts)
    prev = frozenset().union(*(p for p, _, _ in alts))
    positions = [frozenset().union(*(pos[j] for _, pos, _ in alts)) for j in range(common)]
    return [(prev, positions, False)]


def _alternatives(items: Sequence[Any], flags: int, need: int, lead: bool) -> list[_Alt]:
    """The ways a parse-tree sequence can start (see :data:`_Alt`), reading at most
    ``need`` positions; ``lead`` when nothing of the regex comes before the sequence.
    A branch or a group splits the rest of the sequence into one alternative each."""
    _, c = _sre()
    prev = ALL
    positions: list[frozenset[int]] = []
    ignore_case = bool(flags & _IGNORECASE)
    boundary = False
    out: list[_Alt] | None = None
    for k, (op, av) in enumerate(items):
        if len(positions) >= need:
            out = [(prev, positions[:need], False)]
            break
        leading = lead and not positions
        width_one = _charset(op, av, ignore_case)
        if width_one is not None:
            positions.append(width_one)
            continue
        if op is c.AT:
            if leading and av is c.AT_BEGINNING:
                prev &= frozenset([_SPACE, ord("\n")]) if flags & _MULTILINE else {_SPACE}
            elif leading and av is c.AT_BEGINNING_STRING:
                prev &= {_SPACE}
            elif leading and av is c.AT_BOUNDARY:
                boundary = True
            continue  # any other zero-width test: no narrowing
        if op in (c.ASSERT, c.ASSERT_NOT):
            direction, sub = av
            if leading and direction < 0 and len(sub.data) == 1:
                body = _charset(sub.data[0][0], sub.data[0][1], ignore_case)
                if body is not None:
                    # a negative look-behind also passes at the text's start (the space)
                    prev &= (ALL - body) | {_SPACE} if op is c.ASSERT_NOT else body
            continue  # look-aheads and longer look-behinds: no narrowing
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
            lo, hi, sub = av
            one = (
                _charset(sub.data[0][0], sub.data[0][1], ignore_case)
                if len(sub.data) == 1
                else None
            )
            if one is not None:
                positions.extend([one] * min(lo, need - len(positions)))
                if lo == hi:
                    continue
            out = [(prev, positions, False)]
            break
        rest = list(items[k + 1 :])
        left = need - len(positions)
        if op is c.BRANCH:
            heads = [_alternatives([*b.data, *rest], flags, left, leading) for b in av[1]]
            tails = [alt for head in heads for alt in head]
        elif op is c.SUBPATTERN:
            _group, add, remove, sub = av
            tails = []
            for p, pos, exact in _alternatives(sub.data, (flags | add) & ~remove, left, leading):
                if exact and rest and len(pos) < left:
                    more = _alternatives(rest, flags, left - len(pos), leading and not pos)
                    tails.extend((p & mp, pos + mpos, mexact) for mp, mpos, mexact in more)
                else:
                    tails.append((p, pos, exact and not rest))
        else:
            out = [(prev, positions, False)]  # anything else: the rest is unknown
            break
        out = _merged([(prev & p, positions + pos, exact) for p, pos, exact in tails])
        break
    if out is None:
        out = [(prev, positions, True)]
    if boundary:
        out = [(_after_boundary(p, pos), pos, exact) for p, pos, exact in out]
    return out


def _after_boundary(prev: frozenset[int], positions: list[frozenset[int]]) -> frozenset[int]:
    """``prev`` narrowed by a ``\\b`` before a match starting with ``positions``."""
    if not positions:
        return prev
    if positions[0] <= _WORD:
        return prev & ((ALL - _WORD) | {_SPACE})
    if not positions[0] & _WORD:
        return prev & _WORD
    return prev


@cache
def _parsed(regex: str, flags: int) -> tuple[Any, int] | None:
    """The parse tree's top sequence and global flags, once per regex."""
    parser, _ = _sre()
    try:
        tree = parser.parse(regex, int(flags))
    except (re.error, TypeError, ValueError, AttributeError, IndexError, RecursionError):
        return None
    return tree.data, int(tree.state.flags)


def start_sets(regex: str, flags: int, width: int) -> list[Sets] | None:
    """The ways a match of ``regex`` can start: what may stand just before it and at its
    first ``width`` positions (ASCII code sets, each a superset), one per alternative
    (at most a few dozen), or None when the regex cannot be read.

    The non-ASCII marker ``?`` is allowed everywhere."""
    parsed = _parsed(regex, flags)
    if parsed is None:
        return None
    data, global_flags = parsed
    if global_flags & _LOCALE:
        return None
    try:
        alts = _alternatives(data, global_flags, width, True)
    except (TypeError, ValueError, AttributeError, IndexError, RecursionError):
        return None
    return [(p | {_QMARK}, [s | {_QMARK} for s in pos]) for p, pos, _ in alts]


@cache
def _cls(chars: frozenset[int]) -> str:
    """A Hyperscan character class (bytes escaped) for ``chars``, or one escaped byte."""
    if len(chars) == 1:
        return f"\\x{next(iter(chars)):02x}"
    return "[" + "".join(f"\\x{i:02x}" for i in sorted(chars)) + "]"


def atom(
    keyword: str, sets: Sets | None, upper: bool = False, shape: bool = False, tail: int = 0
) -> str | None:
    """The Hyperscan expression for one keyword (``#`` = any digit) or shape (``0`` = any
    digit) of one rule, narrowed by ``sets`` (see :func:`start_sets`) and followed by the
    sets of the ``tail`` positions after it; None when no text can hit it at all (the
    caller then keeps the plain keyword)."""
    prev, positions = sets if sets is not None else (ALL, [])
    parts = []
    for i, ch in enumerate(keyword):
        if ch == "#" or (shape and ch == "0"):
            chars = frozenset(range(48, 58))
        elif ch.isascii() and ch.isalpha():
            chars = frozenset([ord(ch.upper())]) if upper else _fold([ord(ch)])
        else:
            chars = frozenset([ord(ch)]) if ch.isascii() else frozenset([_QMARK])
        if i < len(positions) and ch != "?":
            chars &= positions[i]
        if not chars:
            return None
        parts.append(_cls(chars))
    after = positions[len(keyword) : len(keyword) + tail]
    if len(after) < tail or not all(after):
        return None
    head = "" if prev >= ALL else _cls(prev)
    return head + "".join(parts) + "".join(_cls(chars) for chars in after)


def literal_expression(atoms: Iterable[str]) -> bytes:
    """One Hyperscan expression matching any of ``atoms`` (all of the same length, ending
    where the literal ends)."""
    unique = list(dict.fromkeys(atoms))
    body = unique[0] if len(unique) == 1 else "(?:" + "|".join(unique) + ")"
    return body.encode("ascii")


# --- the compiled database, cached on disk ----------------------------------------------------
#
# Compiling the narrowed expressions takes about a second for a few hundred rules (plain
# literals compile in a twentieth of that): the database is kept in the user's cache
# directory ($XDG_CACHE_HOME/leakmap/hyperscan), named by a hash of everything it is built
# from (the rules' literals and regexes, this module's and the engine's source, the Python
# and Hyperscan versions), as Kingfisher keeps its compiled rules. Nothing from a scanned
# text goes there. A file that cannot be read, written or loaded only costs the compile.

_CACHE_KEEP = 8  # database files kept (other rule sets, other versions)


def cache_key(parts: Iterable[str]) -> str:
    """A file name for the database built from ``parts`` and the code that builds it."""
    import hashlib
    import sys

    h = hashlib.sha256()
    for module in (__file__, str(Path(__file__).with_name("engine.py"))):
        try:
            h.update(Path(module).read_bytes())
        except OSError:
            h.update(module.encode())
    h.update(sys.version.encode())
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()[:40]


def _cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("leakmap")) / "hyperscan"


def load_database(key: str, count: int) -> tuple[bytes, list[int]] | None:
    """The serialized database and the tails of its ``count`` expressions, if cached."""
    import json

    try:
        raw = (_cache_dir() / f"{key}.db").read_bytes()
        head, _, blob = raw.partition(b"\n")
        tails = json.loads(head)["tails"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(tails, list) or len(tails) != count or not blob:
        return None
    if not all(isinstance(t, int) and 0 <= t <= 64 for t in tails):
        return None
    return blob, tails


def save_database(key: str, blob: bytes, tails: list[int]) -> None:
    """Keep a serialized database (written whole, then renamed: readers never see half of
    one); the oldest files beyond :data:`_CACHE_KEEP` go."""
    import json
    import os
    import tempfile

    try:
        folder = _cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(json.dumps({"tails": tails}).encode() + b"\n" + blob)
            os.replace(tmp, folder / f"{key}.db")
        finally:
            Path(tmp).unlink(missing_ok=True)
        files = sorted(folder.glob("*.db"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in files[_CACHE_KEEP:]:
            old.unlink(missing_ok=True)
    except OSError:
        return
