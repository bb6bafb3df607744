"""The hostile fleet: every behaviour of :mod:`.behaviours` on its own loopback address."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..ch_tls import openssl_available
from .behaviours import BEHAVIOURS, warm
from .fleet import Certificates, Fleet


@pytest.fixture(scope="session")
def hostile_fleet() -> Iterator[Fleet]:
    """All hostile behaviours, started once; ``.running[name]`` has each one's address and
    connection count, ``.sink`` records anything sent to the off-host redirect target."""
    if not openssl_available():
        pytest.skip("the TLS behaviours need the openssl command for their certificates")
    warm()
    fleet = Fleet(certificates=Certificates()).start()
    try:
        fleet.start_sink()
        for b in BEHAVIOURS:
            fleet.add(b.name, b.port, b.handler, tls=b.tls)
        yield fleet
    finally:
        fleet.stop()
