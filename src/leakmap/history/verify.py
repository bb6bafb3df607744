"""``leakmap verify``: re-probe only the endpoints of earlier findings and mark each
finding ``fixed``, ``open`` or ``unknown``.

* ``open``: the endpoint was assessed again and the finding (same deterministic id) is
  there again;
* ``fixed``: the endpoint was assessed again, its access state was decided (``none`` or
  ``required``) and the finding is gone;
* ``unknown``: the endpoint did not answer, was not recognised, timed out, or its access
  state is ``unknown`` — never counted as fixed. So is an accepted default credential
  (``*.default-credential``) that the re-scan did not try (it re-uses the earlier scan's
  settings; a report older than its ``options`` field says nothing of them).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from leakmap.findings import Finding
from leakmap.inputs import ListedPort
from leakmap.pipeline import INCOMPLETE_RULE
from leakmap.report.json import finding_dict
from leakmap.report.load import ScanResult
from leakmap.report.model import Report, item_from_finding, scan_rules
from leakmap.services.base import AuthState

__all__ = [
    "SCHEMA",
    "STATUSES",
    "Recheck",
    "endpoints",
    "verify_document",
    "verify_report",
    "verify_status",
]

SCHEMA = "leakmap.verify/1"
STATUSES = ("open", "unknown", "fixed")


def endpoints(earlier: ScanResult) -> list[ListedPort]:
    """The endpoints of the earlier findings (with the address the scan used)."""
    ips = {(s.host.lower(), s.port): s.ip for s in earlier.services}
    seen: dict[tuple[str, int], ListedPort] = {}
    for f in earlier.findings:
        key = (f.host.lower(), f.port)
        if key not in seen:
            seen[key] = ListedPort(host=f.host, ip=ips.get(key), port=f.port)
    return list(seen.values())


class Recheck:
    """What a later scan tells about an earlier finding that it does not have."""

    def __init__(self, now: ScanResult) -> None:
        self.found = {f.id for f in now.findings if f.rule != INCOMPLETE_RULE}
        self.incomplete = {
            (f.host.lower(), f.port) for f in now.findings if f.rule == INCOMPLETE_RULE
        }
        self.auth = {(s.host.lower(), s.port): s.auth for s in now.services}
        self.tried_defaults = now.options.get("try_default_credentials") is True

    def gone(self, finding: Finding) -> str:
        """``fixed`` when the endpoint was assessed and decided, ``unknown`` otherwise.

        A finding about one resource's data (a sample) is fixed only when access to the
        endpoint is now refused: with access still open, another sample may simply have
        missed what the earlier one saw."""
        key = (finding.host.lower(), finding.port)
        auth = self.auth.get(key, AuthState.UNKNOWN)
        if auth is AuthState.UNKNOWN or key in self.incomplete:
            return "unknown"
        if finding.resource is not None and auth is AuthState.NONE:
            return "unknown"
        if finding.rule.endswith(".default-credential") and not self.tried_defaults:
            return "unknown"
        return "fixed"

    def status(self, finding: Finding) -> str:
        return "open" if finding.id in self.found else self.gone(finding)


def verify_status(earlier: Iterable[Finding], now: ScanResult) -> list[tuple[str, Finding]]:
    check = Recheck(now)
    out = [(check.status(f), f) for f in earlier]
    order = {s: i for i, s in enumerate(STATUSES)}
    return sorted(out, key=lambda p: (order[p[0]], -p[1].severity.rank))


def verify_document(statuses: list[tuple[str, Finding]], source: str) -> dict[str, Any]:
    counts = {s: 0 for s in STATUSES}
    for status, _ in statuses:
        counts[status] += 1
    return {
        "schema": SCHEMA,
        "source": source,
        "findings": [{**finding_dict(f), "status": status} for status, f in statuses],
        "summary": counts,
    }


def verify_report(statuses: list[tuple[str, Finding]], source: str) -> Report:
    items = [item_from_finding(f, status) for status, f in statuses]
    return Report(
        kind="verify",
        title="leakmap verification",
        items=items,
        rules=scan_rules({i.rule for i in items}),
        document=verify_document(statuses, source),
        statuses=STATUSES,
        scope=source,
    )
