"""The demo lab: a deliberately exposed, loopback-only ClickHouse seeded with synthetic data.

* :mod:`leakmap.lab.addresses` - the loopback gate and free-address picking;
* :mod:`leakmap.lab.clickhouse` - :class:`~leakmap.lab.clickhouse.ClickHouseInstance`, a private
  clickhouse-server (also the integration-test fixture) with a lab-only admin client;
* :mod:`leakmap.lab.seed` - deterministic synthetic AI-chat logs and a harmless analytics table;
* :mod:`leakmap.lab.state` - what ``leakmap lab up`` records so ``status``/``down`` find it.

Nothing here is used by the scanner: the lab is a target, never a code path of a scan.
Import the submodules directly; this package does no work at import time.
"""

__all__: list[str] = []
