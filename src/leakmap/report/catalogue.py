"""Rule metadata for the writers, read from the rule catalogues where the rules live.

* scan rules: each service plugin's package keeps a ``rules`` module whose ``RULES`` maps
  a rule id to its metadata (``severity``, ``title``, ``remediation``, ``references``),
  e.g. :mod:`leakmap.services.clickhouse.rules`; plus the pipeline's own
  "assessment incomplete" rule;
* classifier rules: :class:`leakmap.classify.rules.Rule` (loaded rules);
* audit rules: :data:`leakmap.audit.rules.RULES`.

SARIF's rule entries (levels, ``security-severity``, help) come from here, never from one
command's types.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from importlib import import_module
from typing import TYPE_CHECKING, Any

from leakmap.findings import Severity
from leakmap.report.model import RuleInfo

if TYPE_CHECKING:
    from leakmap.classify.rules import Rule

__all__ = ["audit_catalogue", "classify_catalogue", "rule_info", "scan_catalogue"]


def rule_info(meta: Any, *, tags: tuple[str, ...] = ()) -> RuleInfo:
    """A :class:`RuleInfo` from any metadata object with id/severity/title/remediation."""
    return RuleInfo(
        id=str(meta.id),
        title=str(meta.title),
        severity=Severity(meta.severity),
        remediation=str(getattr(meta, "remediation", "") or ""),
        references=tuple(getattr(meta, "references", ()) or ()),
        tags=tags,
    )


def _plugin_rules(cls: type[Any]) -> dict[str, Any]:
    """A plugin's rules: its ``catalogue``/``CATALOGUE`` (a services.common Catalogue), or
    the ``CATALOGUE``/``RULES`` of its package's ``rules`` module, or of its own module."""
    modules: list[Any] = [cls]
    package = cls.__module__.rpartition(".")[0]
    for name in (f"{package}.rules", cls.__module__):
        try:
            modules.append(import_module(name))
        except ImportError:
            continue
    for holder in modules:
        for attr in ("catalogue", "CATALOGUE"):
            catalogue = getattr(holder, attr, None)
            if catalogue is not None and isinstance(getattr(catalogue, "rules", None), dict):
                return dict(catalogue.rules)
        rules = getattr(holder, "RULES", None)
        if isinstance(rules, dict):
            return dict(rules)
    return {}


@functools.cache
def scan_catalogue() -> Mapping[str, RuleInfo]:
    """Every scan rule of every registered service plugin, and the pipeline's own."""
    from leakmap.services.common.catalogue import INCOMPLETE
    from leakmap.services.registry import load_services

    out: dict[str, RuleInfo] = {INCOMPLETE.id: rule_info(INCOMPLETE, tags=("security",))}
    for name, cls in load_services().items():
        for meta in _plugin_rules(cls).values():
            out[str(meta.id)] = rule_info(meta, tags=("security", name))
    return out


def classify_catalogue(rules: Iterable[Rule]) -> dict[str, RuleInfo]:
    """The classifier's loaded rules (built-in and ``--rules`` files)."""
    return {
        r.id: RuleInfo(
            id=r.id,
            title=r.description,
            severity=Severity(r.severity),
            remediation=(
                "Remove the value from the file (and from its history), rotate it if it is a "
                "credential, and keep such data out of logs and exports."
            ),
            references=tuple(r.references),
            tags=("security", r.category.value),
        )
        for r in rules
    }


def audit_catalogue() -> dict[str, RuleInfo]:
    from leakmap.audit.rules import RULES

    return {rid: rule_info(meta, tags=("security", "configuration")) for rid, meta in RULES.items()}
