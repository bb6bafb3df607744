"""Suppression of known findings: inline ``leakmap:allow`` markers and baselines.

A line holding ``leakmap:allow`` has all its findings suppressed; ``leakmap:allow=GLOB,...``
only those whose rule id matches one of the globs. A baseline is an earlier ``--format
jsonl`` or ``--format json`` output: a finding with the same (path, rule, redacted) key is
known. The redacted form ends in a hash of the value, so a changed secret is new.

Another command (the config auditor) reuses both with its own rule ids::

    from leakmap.classify.suppress import Suppression, load_baseline

    sup = Suppression(inline_allow=True, baseline=load_baseline(Path("known.jsonl")))
    why = sup.reason(path, rule_id, redacted, line_text)   # None: report it
    if why is not None:
        suppressed[why] += 1                                # "leakmap:allow" or "baseline"

A command with its own json document passes its schema string to :func:`load_baseline`.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from pathlib import Path

from leakmap.classify.output_schema import SCHEMA
from leakmap.files import InputError

__all__ = ["ALLOW_MARKER", "Baseline", "Suppression", "allowed_rules", "load_baseline"]

ALLOW_MARKER = "leakmap:allow"

#: (path, rule, redacted) keys of known findings.
Baseline = frozenset[tuple[str, str, str]]

_ALLOW = re.compile(r"leakmap:allow(?:=([\w.*?\[\]!-]+(?:,[\w.*?\[\]!-]+)*))?")


def allowed_rules(line: str) -> list[str] | None:
    """The rule globs a ``leakmap:allow`` marker on ``line`` names (``["*"]`` for a bare
    marker), or None when the line has no marker."""
    found = None
    for m in _ALLOW.finditer(line):
        found = (found or []) + (m.group(1).split(",") if m.group(1) else ["*"])
    return found


@dataclass(frozen=True, slots=True)
class Suppression:
    """What suppresses a finding: markers on its line (unless ``inline_allow`` is off) and
    the keys of a baseline."""

    inline_allow: bool = True
    baseline: Baseline = frozenset()

    def allowed_by_marker(self, rule: str, globs: list[str] | None) -> bool:
        """Whether the globs of a line's marker (:func:`allowed_rules`) cover ``rule``."""
        return bool(globs) and any(fnmatch.fnmatchcase(rule, g) for g in globs or ())

    def reason(self, path: str, rule: str, redacted: str, line: str) -> str | None:
        """``"leakmap:allow"`` or ``"baseline"`` when the finding is suppressed, else None."""
        marked = self.inline_allow and ALLOW_MARKER in line
        if marked and self.allowed_by_marker(rule, allowed_rules(line)):
            return ALLOW_MARKER
        if self.baseline and (path, rule, redacted) in self.baseline:
            return "baseline"
        return None


def load_baseline(path: Path, schema: str = SCHEMA, value: str = "redacted") -> Baseline:
    """The (path, rule, VALUE) keys of an earlier jsonl output or json document (whose
    ``schema`` field is ``schema``): findings with those keys are known. ``value`` names
    the masked field that tells one finding from another on the same path and rule
    (classify's ``redacted``, audit's ``evidence``); line numbers are not part of the key.

    Raises InputError for a file that cannot be read or is not such an output."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8"
        raise InputError(f"baseline {path}: cannot read ({reason})") from None
    try:
        whole = json.loads(text) if text.lstrip().startswith("{") else None
    except (json.JSONDecodeError, RecursionError):
        whole = None  # JSON lines
    records: list[object]
    if isinstance(whole, dict) and whole.get("schema") == schema:
        found = whole.get("findings") or []
        if not isinstance(found, list):
            raise InputError(f"baseline {path}: 'findings' is not a list")
        records = list(found)
    else:
        records = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except (json.JSONDecodeError, RecursionError):
                raise InputError(f"baseline {path}: line {n} is not JSON") from None
    keys: set[tuple[str, str, str]] = set()
    for n, rec in enumerate(records, 1):
        fields = [rec.get(k) for k in ("path", "rule", value)] if isinstance(rec, dict) else []
        if len(fields) != 3 or not all(isinstance(v, str) for v in fields):
            raise InputError(f"baseline {path}: finding {n} has no path, rule and {value}")
        keys.add((str(fields[0]), str(fields[1]), str(fields[2])))
    return frozenset(keys)
