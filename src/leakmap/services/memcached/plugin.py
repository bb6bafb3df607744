"""The memcached plugin: version, access state, key listing and a bounded value sample.

What it reports for an open memcached caching an app's sessions::

    memcached 10.0.0.7:11211 memcached 1.6.18 auth=none
      items      cache          203 items
      session:*  key-prefix     secret x1, pii x1
    critical memcached.open-access   2 resources readable without credentials; data found ...

How each step is decided: see :mod:`.probe`. SASL-only servers (binary protocol, status
0x20) and ascii-auth servers (``-Y``) are ``required``; nothing is sampled from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from leakmap.net.bounded import read_bounded
from leakmap.net.stream import close_quietly
from leakmap.services.base import (
    AuthState,
    Coverage,
    Endpoint,
    OpenPort,
    PreProbe,
    ScanContext,
)
from leakmap.services.common.catalogue import Catalogue
from leakmap.services.common.stores import (
    Outcome,
    StorePlugin,
    StoreResource,
    group_samples,
)
from leakmap.services.memcached.probe import McFacts, gather, identify_text
from leakmap.services.memcached.rules import CATALOGUE
from leakmap.services.memcached.text import (
    McClient,
    binary_version_request,
    parse_binary_version,
)

__all__ = ["Memcached"]


class Memcached(StorePlugin):
    """memcached (text protocol; binary protocol only to recognise SASL)."""

    name: ClassVar[str] = "memcached"
    transport: ClassVar[str] = "memcached"
    default_ports: ClassVar[Mapping[int, str]] = MappingProxyType({11211: "memcached"})
    # GET / gets "ERROR" (text), "CLIENT_ERROR unauthenticated" (-Y); SASL-only: nothing
    protocols: ClassVar[frozenset[str]] = frozenset({"reply", "silent"})
    url_schemes: ClassVar[Mapping[str, tuple[int, str]]] = MappingProxyType(
        {"memcached": (11211, "memcached")}
    )
    catalogue: ClassVar[Catalogue] = CATALOGUE

    def accepts(self, pre: PreProbe) -> bool:
        """memcached's text protocol answers ``GET /`` with ``ERROR`` (a line per word)."""
        return pre.reply.startswith((b"ERROR\r\n", b"CLIENT_ERROR "))

    async def _identify(self, ip: str, port: int, ctx: ScanContext) -> McFacts | None:
        client = await self.connect(McClient, ip, port, ctx)
        try:
            facts = await identify_text(client)
        except Exception:
            facts = None
        finally:
            await client.close()
        return facts if facts is not None else await self._identify_binary(ip, port, ctx)

    async def _identify_binary(self, ip: str, port: int, ctx: ScanContext) -> McFacts | None:
        """One binary ``version`` request: SASL servers answer status 0x20."""
        reader, writer = await ctx.network.open_tcp(ip, port)
        try:
            writer.write(binary_version_request())
            await writer.drain()
            data = await read_bounded(reader, 4096, ctx.config.read_timeout)
        finally:
            await close_quietly(writer)
        answer = parse_binary_version(data)
        if answer is None:
            return None
        if answer.status == 0x20:
            return McFacts(
                auth=AuthState.REQUIRED,
                evidence="binary protocol: authentication required (SASL)",
                notes=["SASL authentication is on (binary protocol only)"],
            )
        if answer.status == 0 and answer.version:
            return McFacts(
                version=answer.version[:40],
                evidence="binary protocol version answered",
                notes=["only the binary protocol answered; keys are read over text only"],
            )
        return None

    async def _fingerprint(self, port: OpenPort, ctx: ScanContext) -> Endpoint | None:
        facts = await self._identify(port.ip, port.port, ctx)
        if facts is None:
            return None
        return self.endpoint(port, facts.evidence, facts.version, facts.auth)

    async def _gather(self, endpoint: Endpoint, ctx: ScanContext) -> Outcome:
        cfg = ctx.config
        client = await self.connect(McClient, endpoint.ip, endpoint.port, ctx)
        try:
            try:
                facts = await identify_text(client)
            except Exception:  # silent or garbled on text: maybe binary-only (SASL)
                facts = None
            if facts is None:
                await client.close()
                facts = await self._identify_binary(endpoint.ip, endpoint.port, ctx)
            elif facts.auth is AuthState.UNKNOWN:
                try:
                    await gather(client, facts, max_keys=min(cfg.sample_rows, 200))
                except Exception as exc:  # keep what was learned
                    facts.notes.append(f"sampling stopped ({type(exc).__name__})")
        finally:
            await client.close()
        outcome = Outcome()
        if facts is None:
            outcome.notes.append("no usable answer this time")
            return outcome
        outcome.auth, outcome.version = facts.auth, facts.version
        outcome.notes.extend(facts.notes)
        if facts.auth is AuthState.NONE:
            outcome.proof = facts.evidence
            outcome.resources.append(StoreResource("items", "keyspace", rows=facts.items))
            outcome.resources += group_samples((None, k, (t,)) for k, t in facts.samples)
            outcome.coverage = Coverage(
                listed=facts.listed, total=facts.items, sampled=len(facts.samples)
            )
        return outcome
