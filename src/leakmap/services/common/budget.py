"""Time budgets per endpoint, and the notes that say what a budget left undone.

Example::

    deadline = Deadline.for_endpoint(ctx.config)
    for resource in ordered:
        if deadline.expired():
            skipped["time budget"] += 1
            continue
        ...
    notes.extend(unsampled_notes(skipped, noun="tables"))
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from leakmap.services.base import ScanConfig

__all__ = ["TIME_BUDGET", "Deadline", "unsampled_notes"]

TIME_BUDGET = "time budget"


@dataclass(slots=True)
class Deadline:
    """A monotonic deadline ``seconds`` from now."""

    seconds: float
    start: float = field(default_factory=time.monotonic)

    @classmethod
    def for_endpoint(cls, config: ScanConfig) -> Deadline:
        """The sampling budget of one endpoint: at least 60 s, else six slow queries."""
        return cls(max(60.0, 6 * (config.read_timeout + config.query_timeout_s)))

    def left(self) -> float:
        return self.seconds - (time.monotonic() - self.start)

    def expired(self) -> bool:
        return self.left() <= 0


def unsampled_notes(counts: Mapping[str, int], *, noun: str = "resources") -> list[str]:
    """``time budget reached: 12 tables listed but not sampled`` and one note per other
    reason, in a stable order; nothing for zero counts."""
    out: list[str] = []
    for reason, n in sorted(counts.items(), key=lambda kv: (kv[0] != TIME_BUDGET, kv[0])):
        if n <= 0:
            continue
        if reason == TIME_BUDGET:
            out.append(f"time budget reached: {n} {noun} listed but not sampled")
        else:
            out.append(f"not sampled ({reason}): {n} {noun}")
    return out
