"""Every AI-stack plugin faces the shared hostile suite (``tests/integration/hostile``):
each HTTP-speaking behaviour - tarpits, drips, endless and 2 GB bodies, compression bombs,
redirect loops, TLS stalls, reflectors, login pages, escapes and invalid UTF-8 - is
fingerprinted and, when identified, assessed by each of the AI plugins directly (the dispatch
gate is bypassed: the behaviours listen on other services' ports). None may raise, be called
open, list a resource or raise a finding other than ``auth-unknown``.

Two passes: the quick lookalikes first, a few pairs at a time, where every plain-HTTP
fingerprint must end on the behaviour's answer (not on its timeout: else the pass would prove
nothing); then the abusive behaviours, many at a time, within a time bound."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from leakmap.services.base import AuthState, OpenPort
from leakmap.services.httpapi import HttpJsonService
from leakmap.services.registry import builtin_services
from tests.integration.hostile.behaviours import BEHAVIOURS, Behaviour
from tests.integration.hostile.conftest import hostile_fleet
from tests.integration.hostile.fleet import Fleet

from .helpers import make_ctx

__all__ = ["hostile_fleet"]  # the shared fleet fixture, used here

#: the behaviours that speak (or pretend to speak) HTTP, plain or TLS
HTTP_PROTOCOLS = frozenset({"clickhouse-http", "tls", "http-json"})
CONNECT, READ, ENDPOINT = 1.0, 1.0, 15.0
#: pairs at a time: lookalikes (answers must arrive in time) / abusive ones (mostly waiting)
LOOKALIKE_SLOTS, ABUSIVE_SLOTS = 12, 48


@dataclass(frozen=True, slots=True)
class Outcome:
    plugin: str
    behaviour: str
    auth: AuthState | None  # None: not identified
    listed: int
    rules: tuple[str, ...]
    fingerprint_seconds: float


def ai_plugins() -> list[HttpJsonService[Any]]:
    return [cls() for cls in builtin_services().values() if issubclass(cls, HttpJsonService)]


def http_behaviours(*, lookalike: bool) -> list[Behaviour]:
    return [b for b in BEHAVIOURS if b.protocol in HTTP_PROTOCOLS and b.lookalike is lookalike]


async def _one(
    plugin: HttpJsonService[Any], name: str, ip: str, port: int, slots: asyncio.Semaphore
) -> Outcome:
    async with slots:
        ctx = make_ctx(connect_timeout=CONNECT, read_timeout=READ, banner_wait=0.05)
        start = time.monotonic()
        endpoint = await plugin.fingerprint(OpenPort(ip, ip, port), ctx)
        took = time.monotonic() - start
        if endpoint is None:
            return Outcome(plugin.name, name, None, 0, (), took)
        try:
            result = await asyncio.wait_for(plugin.assess(endpoint, ctx), ENDPOINT)
        except TimeoutError:  # the pipeline's bound: auth unknown
            return Outcome(plugin.name, name, AuthState.UNKNOWN, 0, (), took)
        report = result.report
        rules = tuple(f.rule for f in result.findings)
        return Outcome(plugin.name, name, report.auth, len(report.resources), rules, took)


def run_matrix(fleet: Fleet, behaviours: list[Behaviour], slots: int) -> list[Outcome]:
    async def matrix() -> list[Outcome]:
        gate = asyncio.Semaphore(slots)
        jobs = [
            _one(p, b.name, fleet.running[b.name].ip, fleet.running[b.name].port, gate)
            for p in ai_plugins()
            for b in behaviours
        ]
        return await asyncio.gather(*jobs)

    return asyncio.run(matrix())


def wrong(outcomes: list[Outcome]) -> list[Outcome]:
    return [
        o
        for o in outcomes
        if o.auth == AuthState.NONE
        or o.listed
        or any(not rule.endswith(".auth-unknown") for rule in o.rules)
    ]


def test_every_ai_plugin_meets_the_hostile_lookalikes(hostile_fleet: Fleet) -> None:
    behaviours = http_behaviours(lookalike=True)
    assert len(behaviours) >= 8 and len(ai_plugins()) >= 9
    outcomes = run_matrix(hostile_fleet, behaviours, LOOKALIKE_SLOTS)
    assert not wrong(outcomes)
    # not vacuous: every plain-HTTP lookalike answered each plugin's fingerprint in time (a
    # TLS handshake may miss the 1 s connect timeout on a loaded machine: "unknown", allowed)
    plain = {b.name for b in behaviours if b.tls is None}
    budget = CONNECT + 3 * READ
    late = [
        (o.plugin, o.behaviour)
        for o in outcomes
        if o.behaviour in plain and o.fingerprint_seconds >= budget - 0.1
    ]
    assert not late


def test_every_ai_plugin_survives_the_abusive_http_behaviours(hostile_fleet: Fleet) -> None:
    behaviours = http_behaviours(lookalike=False)
    assert len(behaviours) >= 12
    before = {b.name: hostile_fleet.running[b.name].connections for b in behaviours}
    start = time.monotonic()
    outcomes = run_matrix(hostile_fleet, behaviours, ABUSIVE_SLOTS)
    seconds = time.monotonic() - start
    assert not wrong(outcomes)
    reached = {
        b.name: hostile_fleet.running[b.name].connections - before[b.name] for b in behaviours
    }
    # each plain one was reached (a TLS one counts completed handshakes only, see above)
    assert not {b.name for b in behaviours if b.tls is None and reached[b.name] == 0}
    # bound: each pair costs at most its fingerprint (connect + 3 reads) and one bounded
    # assessment, ABUSIVE_SLOTS at a time
    pairs = len(outcomes)
    assert seconds < (pairs / ABUSIVE_SLOTS + 1) * (CONNECT + 3 * READ + ENDPOINT), seconds
