"""Lookalikes scanned 20 times in a row are never called open (issue 12: the gzip-bomb
lookalike was called open in two runs out of three).

Every plugin is tried on every lookalike, all lookalikes at once per round, in one process
(a subprocess per round would cost 20 interpreter start-ups), through the same pipeline the
CLI runs.
"""

from __future__ import annotations

import asyncio

from leakmap.classify import Classifier
from leakmap.pipeline import Pipeline, ScanSummary
from leakmap.services.base import AuthState, ScanConfig
from leakmap.services.registry import load_services
from leakmap.targets import ScanHost

from .behaviours import BEHAVIOURS
from .fleet import Fleet
from .known import KNOWN_OPEN

RUNS = 20


async def _rounds(hosts: list[ScanHost], runs: int) -> list[list[tuple[str, int, str]]]:
    # lookalikes answer at once on loopback: short timeouts only cut the waits for silence;
    # every lookalike at once (one assessment slot each)
    config = ScanConfig(connect_timeout=1.0, read_timeout=1.0, query_timeout_s=2)
    services = [cls() for cls in load_services().values()]
    pipeline = Pipeline(
        services, config, Classifier.load(), endpoint_timeout=15, assess_concurrency=len(hosts)
    )
    out = []
    for _ in range(runs):
        summary = ScanSummary()
        async for event in pipeline.scan_hosts(hosts):
            summary.add(event)
        out.append([(s.ip, s.port, s.auth.value) for s in summary.services])
    return out


def test_lookalikes_never_open_in_twenty_runs(hostile_fleet: Fleet) -> None:
    names = [b.name for b in BEHAVIOURS if b.lookalike and b.name not in KNOWN_OPEN]
    assert len(names) >= 5
    where = {(hostile_fleet.running[n].ip, hostile_fleet.running[n].port): n for n in names}
    hosts = [ScanHost(ip, ip, (port,)) for ip, port in where]
    before = {n: hostile_fleet.running[n].connections for n in names}
    rounds = asyncio.run(_rounds(hosts, RUNS))
    opened = [
        (i, where[(ip, port)])
        for i, services in enumerate(rounds)
        for ip, port, auth in services
        if auth == AuthState.NONE.value
    ]
    assert not opened
    # each lookalike was really exercised (not in every round: under a loaded CI machine a
    # TLS handshake may miss the 1 s connect timeout now and then - that round then says
    # "unknown", which is allowed; "open" never is)
    reached = {n: hostile_fleet.running[n].connections - before[n] for n in names}
    assert not {n: c for n, c in reached.items() if c < RUNS // 2}
