"""The checks, one module per kind of document; each check is a plain function registered
for the parser whose documents it reads (:data:`CHECKS`), yielding :class:`Hit` objects.

A check that raises does not stop the audit: the engine marks that file ``unknown``
(never a pass) and goes on with the other checks and files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from leakmap.findings import Severity

__all__ = ["CHECKS", "Check", "Hit", "check", "load_checks"]


@dataclass(frozen=True, slots=True)
class Hit:
    rule: str
    path: str
    line: int
    evidence: str
    key: str = ""  # what tells two hits of one rule at one line apart
    severity: Severity | None = None  # None: the rule's own


Check = Callable[[Any], Iterable[Hit]]

#: parser name -> [(name, check)]
CHECKS: dict[str, list[tuple[str, Check]]] = {}


def check(*parsers: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        for parser in parsers:
            CHECKS.setdefault(parser, []).append((fn.__name__, fn))
        return fn

    return register


def load_checks() -> dict[str, list[tuple[str, Check]]]:
    from leakmap.audit.checks import clickhouse, deploy, terraform  # noqa: F401 - register

    return CHECKS
