"""Versions and known vulnerabilities, for every plugin.

A plugin keeps its own table of :class:`KnownCve` (data, next to its code) and calls
:func:`affected_by` with the version string the server gave. Comparison is branch-aware:
vendors fix a bug on the main line and backport it, so "fixed in 23.10.2.13, 23.8.6.16" means

* a version on one of those branches (same major.minor) is affected below that branch's fix;
* a version on a newer branch than the newest fixed one is not affected;
* a version on any other branch (no backport) is affected.

Example::

    >>> parse_version("v7.2.4-alpine")
    (7, 2, 4)
    >>> cve = KnownCve("CVE-X", "demo", Severity.HIGH, ("7.2.5", "7.0.12"))
    >>> [c.id for c in affected_by("7.2.4", (cve,))], affected_by("7.4.0", (cve,))
    (['CVE-X'], [])
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from leakmap.findings import Severity

__all__ = ["KnownCve", "affected_by", "is_affected", "parse_version"]

_VERSION = re.compile(r"^\s*v?(\d{1,4}(?:\.\d{1,9}){1,3})")


def parse_version(text: str) -> tuple[int, ...] | None:
    """``"23.8.2.7"`` -> ``(23, 8, 2, 7)``; None when it does not start with a version."""
    m = _VERSION.match(text)
    if not m:
        return None
    return tuple(int(p) for p in m.group(1).split("."))


@dataclass(frozen=True, slots=True)
class KnownCve:
    id: str
    summary: str
    severity: Severity
    fixed_in: tuple[str, ...]
    unauthenticated: bool = False
    reference: str = ""


def _pad(v: tuple[int, ...], n: int = 4) -> tuple[int, ...]:
    return v + (0,) * (n - len(v))


def is_affected(version: tuple[int, ...], fixed_in: tuple[str, ...]) -> bool:
    """Branch-aware: see the module docstring."""
    fixes = [p for p in (parse_version(f) for f in fixed_in) if p is not None]
    if not fixes:
        return False
    v = _pad(version)
    branch = v[:2]
    for f in fixes:
        if _pad(f)[:2] == branch:
            return v < _pad(f)
    newest = max(_pad(f)[:2] for f in fixes)
    return branch < newest


def affected_by(version: str | None, cves: Iterable[KnownCve]) -> list[KnownCve]:
    """The CVEs of ``cves`` that affect ``version``; [] when it does not parse."""
    if not version:
        return []
    parsed = parse_version(version)
    if parsed is None or len(parsed) < 2:
        return []
    return [cve for cve in cves if is_affected(parsed, cve.fixed_in)]
