"""Scope safety (issue 12 item 5): nothing outside the targets and ports the user gave is ever
contacted - not by a plugin's "same server, other port" shortcut, a redirect to another
address or port, a network target around an excluded address, an --input file, or any
command.

Listeners that only record connections (:class:`~.hostile.fleet.Recorder`) sit on every
default port of every plugin on the scanned address that is *not* in ``--ports``, on a
second loopback address the servers redirect to, next to an excluded address, and on the
redirect targets; every scenario ends with all of them at zero connections. The real open
server's own out-of-scope HTTP port is checked through its query log. Each scenario also
checks that its in-scope target *was* scanned, so a scan that did nothing cannot pass.

The guard is the network layer (``Network.scope``, set by the pipeline to the ports its
port scan found open): :func:`test_a_leaky_plugin_is_stopped_by_the_guard` runs a plugin
written to reach out of scope, and shows the same plugin reaching the recorder once the
guard is switched off (the mutant), so the recorders would see a leak if there were one.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from leakmap.classify import Classifier
from leakmap.lab.addresses import ports_free, random_loopback
from leakmap.lab.clickhouse import ClickHouseInstance
from leakmap.pipeline import Pipeline, ScanSummary
from leakmap.services.base import (
    Endpoint,
    OpenPort,
    PreProbe,
    ScanConfig,
    ScanContext,
    ServiceResult,
)
from leakmap.services.registry import default_ports, load_services
from leakmap.targets import ScanHost

from .hostile.behaviours import (
    CH_HEADERS,
    ch_http_redirect_offhost,
    native_echo,
    read_request,
    response,
)
from .hostile.fleet import Env, Fleet, Recorder

FAST = ["--timeout", "1", "--read-timeout", "2", "--endpoint-timeout", "20", "--no-progress"]


@dataclass
class Places:
    recorders: list[Recorder]
    outside_ip: str
    redirect_off: str  # ip:8123 answering 307 to the outside address
    redirect_same: str  # ip:8123 answering 307 to its own port 8124 (a recorder)
    near_ip: str  # in the scanned /31, serving a native echo on 9000
    excluded_ip: str  # the other address of that /31, --exclude'd, a recorder on 9000


def leakmap(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "leakmap", *args],
        capture_output=True, text=True, timeout=300, env=env, cwd=cwd,
    )  # fmt: skip


def _pair_of_free_addresses(port: int) -> tuple[str, str]:
    """Two loopback addresses forming one /31, both with ``port`` free."""
    for _ in range(200):
        ip = ipaddress.IPv4Address(random_loopback((port,)))
        low = ipaddress.IPv4Address(int(ip) & ~1)
        high = low + 1
        if ports_free(str(low), (port,)) and ports_free(str(high), (port,)):
            return str(low), str(high)
    raise RuntimeError("no free /31 on loopback")


def _same_host_redirect(port: int) -> Callable[..., Any]:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, env: Env) -> None:
        while (req := await read_request(r)) is not None:
            host = (req.headers.get("host") or "").rsplit(":", 1)[0]
            location = f"http://{host}:{port}/"
            w.write(response(307, b"", (*CH_HEADERS, ("Location", location))))
            await w.drain()

    return handler


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with Fleet() as f:
        yield f


@pytest.fixture(scope="module")
def places(fleet: Fleet, ch_open: ClickHouseInstance) -> Places:
    recorders: list[Recorder] = []
    # every default port of every plugin on the open server's address, except its own three
    busy = {ch_open.http_port, ch_open.native_port, ch_open.interserver_port}
    for port in sorted(set(default_ports(load_services())) - busy):
        if ports_free(ch_open.ip, (port,)):
            recorders.append(fleet.add_recorder(ch_open.ip, port))
    # a second address: what redirects point to
    sink = fleet.start_sink(8123)
    recorders.append(sink)
    recorders.append(fleet.add_recorder(sink.ip, 9000))
    off = fleet.add("redirect-off", 8123, ch_http_redirect_offhost)
    same = fleet.add("redirect-same", 8123, _same_host_redirect(8124))
    recorders.append(fleet.add_recorder(same.ip, 8124))
    near, excluded = _pair_of_free_addresses(9000)
    fleet.add("near-native", 9000, native_echo, ip=near)
    recorders.append(fleet.add_recorder(excluded, 9000))
    return Places(recorders, sink.ip, off.target, same.target, near, excluded)


def fingerprint_queries(ch: ClickHouseInstance) -> int:
    """Fingerprint probes (query ids ``leakmap-fp-...``) the server ever received."""
    ch.flush_logs()
    if ch.admin_rows("EXISTS TABLE system.query_log") != [["1"]]:
        return 0  # made on the first logged query
    rows = ch.admin_rows(
        "SELECT count() FROM system.query_log WHERE query_id LIKE 'leakmap-fp-%' AND type = 1"
    )
    return int(rows[0][0])


def assert_untouched(places: Places) -> None:
    touched = {f"{r.ip}:{r.port}": r.first_bytes[:1] for r in places.recorders if r.connections}
    assert not touched, touched


def services(run: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    assert run.returncode in (0, 1), run.stderr[-2000:]
    doc = json.loads(run.stdout)
    return {f"{s['ip']}:{s['port']}": s for s in doc["services"]}


def test_native_port_only_leaves_the_same_servers_other_ports_alone(
    places: Places, ch_open: ClickHouseInstance
) -> None:
    before = fingerprint_queries(ch_open)
    run = leakmap("scan", ch_open.ip, "--ports", str(ch_open.native_port), "--format", "json",
                  *FAST)  # fmt: skip
    found = services(run)
    native = found[f"{ch_open.ip}:{ch_open.native_port}"]
    assert native["auth"] == "none"  # the shortcut's trigger: an open native port
    assert set(found) == {f"{ch_open.ip}:{ch_open.native_port}"}
    assert fingerprint_queries(ch_open) == before  # its HTTP port 8123 was not probed
    assert_untouched(places)


def test_redirects_to_another_address_or_port_are_not_followed(
    fleet: Fleet, places: Places
) -> None:
    run = leakmap("scan", places.redirect_off, places.redirect_same, "--format", "json", *FAST)
    services(run)
    assert fleet.running["redirect-off"].connections > 0
    assert fleet.running["redirect-same"].connections > 0
    assert_untouched(places)


def test_a_network_target_skips_the_excluded_address(fleet: Fleet, places: Places) -> None:
    low = min(places.near_ip, places.excluded_ip, key=lambda a: ipaddress.ip_address(a))
    network = f"{low}/31"
    before = fleet.running["near-native"].connections
    run = leakmap("scan", network, "--exclude", places.excluded_ip, "--ports", "9000",
                  "--format", "json", *FAST)  # fmt: skip
    services(run)
    assert fleet.running["near-native"].connections > before
    assert_untouched(places)


def test_input_file_url_list_and_ports_command_stay_in_scope(
    tmp_path: Path, fleet: Fleet, places: Places, ch_open: ClickHouseInstance
) -> None:
    before = fingerprint_queries(ch_open)
    native = f"{ch_open.ip}:{ch_open.native_port}"
    listing = tmp_path / "open.txt"
    listing.write_text(f"# host:port lines\n{native}\n", encoding="utf-8")
    targets = tmp_path / "targets.txt"
    targets.write_text(f"{native}\n{places.redirect_off}\n", encoding="utf-8")
    runs = [
        leakmap("scan", "--input", str(listing), "--format", "json", *FAST),
        leakmap("scan", f"clickhouse://{native}/", "--format", "jsonl", *FAST),
        leakmap("scan", "-l", str(targets), "--format", "json", "--no-sample", *FAST),
        leakmap("ports", ch_open.ip, "--ports", str(ch_open.native_port), "--timeout", "1"),
    ]
    for run in runs:
        assert run.returncode in (0, 1), (run.args, run.stderr[-1500:])
    assert native in services(runs[0]) and native in services(runs[2])
    assert fingerprint_queries(ch_open) == before
    assert_untouched(places)


# --------------------------------------------------------------------------- the guard itself


class LeakyPlugin:
    """A plugin written to reach outside the scope on every port it sees."""

    name: ClassVar[str] = "leaky"
    default_ports: ClassVar[Mapping[int, str]] = {}
    protocols: ClassVar[frozenset[str]] = frozenset({"banner", "http", "https", "reply", "silent"})
    url_schemes: ClassVar[Mapping[str, tuple[int, str]]] = {}
    capabilities: ClassVar[Mapping[str, str]] = {}
    outside: ClassVar[tuple[str, int]] = ("", 0)

    def accepts(self, pre: PreProbe) -> bool:
        return True  # every pre-probe: the fingerprint must run for the guard to be tested

    async def fingerprint(self, port: OpenPort, ctx: ScanContext) -> Endpoint | None:
        ip, other = self.outside
        for attempt in (
            ctx.network.open_tcp(port.ip, port.port + 1),  # same server, other port
            ctx.network.open_tcp(ip, other),  # another address
        ):
            try:
                _, writer = await attempt
                writer.close()
            except OSError:
                pass
        async with ctx.network.http_client() as client:
            for url in (f"http://{ip}:{other}/", f"http://localhost:{other}/"):
                with contextlib.suppress(httpx.HTTPError):
                    await client.get(url)
        return None

    async def assess(self, endpoint: Endpoint, ctx: ScanContext) -> ServiceResult:
        raise AssertionError("never identified")


def _run_leaky(target: tuple[str, int], *, guard: bool) -> ScanSummary:
    async def go() -> ScanSummary:
        config = ScanConfig(connect_timeout=1.0, read_timeout=1.0)
        pipeline = Pipeline([LeakyPlugin()], config, Classifier.load())
        if not guard:
            pipeline.context.network.scope = None  # the mutant: no scope guard
        summary = ScanSummary()
        async for event in pipeline.scan_hosts([ScanHost(target[0], target[0], (target[1],))]):
            summary.add(event)
        return summary

    return asyncio.run(go())


def test_a_leaky_plugin_is_stopped_by_the_guard(fleet: Fleet) -> None:
    inside = fleet.add("leaky-target", 7001, native_echo)
    neighbour = fleet.add_recorder(inside.ip, 7002)
    outside_ip = random_loopback((7003,))
    outside = fleet.add_recorder(outside_ip, 7003)
    LeakyPlugin.outside = (outside_ip, 7003)

    summary = _run_leaky((inside.ip, inside.port), guard=True)
    assert [(p.ip, p.port) for p in summary.unidentified] == [(inside.ip, inside.port)]
    assert (neighbour.connections, outside.connections) == (0, 0)

    _run_leaky((inside.ip, inside.port), guard=False)  # the mutant reaches both
    assert neighbour.connections >= 1 and outside.connections >= 2
