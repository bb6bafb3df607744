"""Dispatch cost: an open port no plugin recognises, with 1 plugin and with 15.

Issue 9: "an open port that no plugin recognises must cost about the same with fifteen plugins
as with one". Four unrecognised servers on loopback - one that stays silent, one that speaks
first (an SSH-like banner), one generic HTTP application (404 to everything) and one that hangs
up on an HTTP request without a byte (as Redis 7 does; such a port is offered to the plugins
that take a hang-up before the TLS step) - are scanned by the real pipeline with

* the ClickHouse plugin alone;
* the ClickHouse plugin plus 14 plugins that each declare the families they speak and whose
  fingerprint costs a real connection and a read timeout (as a naive plugin's would);
* the same 15 with a gate that accepts everything (what dispatch cost before the shared
  pre-probe: every plugin's fingerprint runs on every unclaimed port) - for comparison;
* the built-in plugins (``load_services()``), whose Redis plugin takes the hang-up.

Then, apart: a Redis-like server on a port nobody claims (hangs up on ``Host:``, answers a
RESP ``ECHO``), found by the built-in plugins - the time it takes, beside the connect timeout
the TLS step would have cost before the hang-up was a signal.

Prints wall times and the 15/1 ratio. Not a test; always exits 0.

    python -m benchmarks.bench_dispatch [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Mapping
from typing import ClassVar

from leakmap.classify import Classifier
from leakmap.lab.addresses import random_loopback
from leakmap.pipeline import Pipeline, ScanSummary
from leakmap.services.base import (
    Endpoint,
    OpenPort,
    PreProbe,
    ScanConfig,
    ScanContext,
    Service,
    ServiceResult,
)
from leakmap.services.clickhouse.plugin import ClickHouse
from leakmap.services.registry import load_services
from leakmap.targets import ScanHost

FAMILIES = ("banner", "http", "https", "reply", "silent")


def make_plugin(i: int, *, gate: bool) -> Service:
    """A plugin that recognises ``STORE<i>`` and whose fingerprint costs a real exchange."""
    marker = f"STORE{i}".encode()

    class Synthetic:
        name: ClassVar[str] = f"store{i}"
        default_ports: ClassVar[Mapping[int, str]] = {40000 + i: "tcp"}
        protocols: ClassVar[frozenset[str]] = frozenset(FAMILIES)
        url_schemes: ClassVar[Mapping[str, tuple[int, str]]] = {}
        capabilities: ClassVar[Mapping[str, str]] = {}

        def accepts(self, pre: PreProbe) -> bool:
            if not gate:
                return True
            seen = pre.banner or pre.reply or (pre.http.body if pre.http else b"")
            return marker in seen

        async def fingerprint(self, port: OpenPort, ctx: ScanContext) -> Endpoint | None:
            try:
                reader, writer = await ctx.network.open_tcp(port.ip, port.port)
            except (OSError, TimeoutError):
                return None
            try:
                writer.write(b"HELLO " + marker + b"\r\n")
                data = await asyncio.wait_for(reader.read(256), ctx.config.read_timeout)
            except (OSError, TimeoutError):
                data = b""
            finally:
                writer.close()
            if marker not in data:
                return None
            return Endpoint(port.host, port.ip, port.port, self.name, "tcp", "marker")

        async def assess(self, endpoint: Endpoint, ctx: ScanContext) -> ServiceResult:
            raise NotImplementedError

    plugin: Service = Synthetic()
    return plugin


async def _until_closed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read (and ignore) until the client hangs up."""
    try:
        while await asyncio.wait_for(reader.read(65536), 30):
            pass
    except (TimeoutError, OSError):
        pass
    writer.close()


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _until_closed(reader, writer)


async def _banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"SSH-2.0-OpenSSH_9.6\r\n")
    await writer.drain()
    await _until_closed(reader, writer)


async def _http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        body = b"<html>not here</html>"
        writer.write(
            b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\nConnection: close\r\n\r\n"
            + body
        )
        await writer.drain()
    except (asyncio.IncompleteReadError, TimeoutError, OSError, asyncio.LimitOverrunError):
        pass
    writer.close()


async def _hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Drops the connection on an HTTP ``Host:`` line without a byte; waits otherwise."""
    try:
        while line := await asyncio.wait_for(reader.readline(), 30):
            if line.startswith(b"Host:"):
                break
    except (TimeoutError, OSError, ValueError):
        pass
    writer.close()


async def _resp_hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Just enough of Redis 7: hangs up on ``Host:``, answers ``ECHO`` (RESP arrays)."""
    try:
        while line := await asyncio.wait_for(reader.readline(), 30):
            if line.startswith(b"Host:"):
                break
            if not line.startswith(b"*"):
                continue
            args = []
            for _ in range(int(line[1:])):
                size = int((await reader.readline())[1:])
                args.append((await reader.readexactly(size + 2))[:-2])
            if args[0].upper() == b"ECHO":
                writer.write(b"$%d\r\n%s\r\n" % (len(args[1]), args[1]))
            else:
                writer.write(b"-ERR unknown command\r\n")
            await writer.drain()
    except (TimeoutError, OSError, ValueError, asyncio.IncompleteReadError):
        pass
    writer.close()


async def scan(
    services: list[Service], host: ScanHost, config: ScanConfig, *, found: int = 0
) -> float:
    pipeline = Pipeline(services, config, Classifier.load())
    summary = ScanSummary()
    start = time.perf_counter()
    async for event in pipeline.scan_hosts([host]):
        summary.add(event)
    elapsed = time.perf_counter() - start
    assert len(summary.unidentified) == len(host.ports) - found, summary.notes
    assert len(summary.results) == found, summary.notes
    return elapsed


async def main(rounds: int) -> None:
    ip = random_loopback(())
    handlers = (_silent, _banner, _http, _hang_up)
    servers = [await asyncio.start_server(h, ip, 0) for h in handlers]
    ports = tuple(s.sockets[0].getsockname()[1] for s in servers)
    host = ScanHost(ip, ip, ports)
    config = ScanConfig(connect_timeout=1.0, read_timeout=1.0, banner_wait=0.3)
    one: list[Service] = [ClickHouse()]
    fifteen = one + [make_plugin(i, gate=True) for i in range(14)]
    ungated = one + [make_plugin(i, gate=False) for i in range(14)]
    builtin: list[Service] = [cls() for cls in load_services(plugins=False).values()]
    runs = {"1 plugin": one, "15 plugins": fifteen, "15, no gate": ungated, "built-in": builtin}
    times: dict[str, list[float]] = {k: [] for k in runs}
    redis_like = await asyncio.start_server(_resp_hang_up, ip, 0)
    redis_host = ScanHost(ip, ip, (redis_like.sockets[0].getsockname()[1],))
    redis_config = ScanConfig(connect_timeout=5.0, read_timeout=1.0, banner_wait=0.3)
    redis_times: list[float] = []
    try:
        for _ in range(rounds):
            for name, services in runs.items():
                times[name].append(await scan(services, host, config))
            redis_times.append(await scan(builtin, redis_host, redis_config, found=1))
    finally:
        for s in (*servers, redis_like):
            s.close()
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"4 unrecognised open ports (silent, banner, HTTP 404, hang-up on HTTP) on {ip}, "
        f"{rounds} rounds, median:"
    )
    for k, v in med.items():
        print(f"  {k:<12} {v:6.2f} s")
    print(f"ratio 15/1 plugins: {med['15 plugins'] / med['1 plugin']:.2f}x")
    print(f"ratio built-in ({len(builtin)})/1 plugins: {med['built-in'] / med['1 plugin']:.2f}x")
    print(f"ratio without the pre-probe gate: {med['15, no gate'] / med['1 plugin']:.2f}x")
    print(
        f"a Redis-like server (hangs up on HTTP) on a port nobody claims, built-in plugins: "
        f"found in {statistics.median(redis_times):.2f} s (connect timeout "
        f"{redis_config.connect_timeout:g} s: the TLS step's handshake alone could take that)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args().rounds))
