"""The Redis plugin: prove access, list keyspaces, sample keys by type, read the ACL - read-only.

What it reports for an open Redis holding an AI app's sessions::

    redis 10.0.0.5:6379 redis 7.0.15 auth=none
      db0  keyspace    12044 keys
      db0  session:*   key-prefix   secret x3, pii x3
      db0  chat:*      key-prefix   chat x2, pii x1
      capabilities: config-write=True replicaof=True lua-scripting=True module-load=None
    critical redis.open-access           12 resources readable without credentials; data ...
    critical redis.capability.config-write  CONFIG permitted to this connection ...
    critical redis.data.secret           db0/session:*: 3 secret matches ...

How each step is decided: see :mod:`.probe`. Every command passes the RESP client's
allow-list of reads (:mod:`.resp`); nothing is ever written, configured or executed.
``--try-default-credentials`` sends ``AUTH`` with the documented list (at most 3 attempts)
when the server answered ``NOAUTH``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from leakmap.services.base import (
    AuthState,
    Coverage,
    Endpoint,
    OpenPort,
    PreProbe,
    ScanContext,
)
from leakmap.services.common.catalogue import Catalogue
from leakmap.services.common.credentials import credentials_for
from leakmap.services.common.stores import (
    Outcome,
    StorePlugin,
    StoreResource,
    group_samples,
)
from leakmap.services.redis.probe import RedisFacts, gather, identify
from leakmap.services.redis.resp import RespClient, Status
from leakmap.services.redis.rules import CATALOGUE

__all__ = ["Redis"]


class Redis(StorePlugin):
    """Redis (and servers that speak RESP like it: Valkey, KeyDB)."""

    name: ClassVar[str] = "redis"
    transport: ClassVar[str] = "resp"
    default_ports: ClassVar[Mapping[int, str]] = MappingProxyType({6379: "resp"})
    # GET / gets "-ERR wrong number of arguments", NOAUTH or DENIED (before 7), a hang-up
    # without a byte (7 and later); nothing from a tarpit
    protocols: ClassVar[frozenset[str]] = frozenset({"reply", "silent"})
    url_schemes: ClassVar[Mapping[str, tuple[int, str]]] = MappingProxyType(
        {"redis": (6379, "resp")}
    )
    capabilities: ClassVar[Mapping[str, str]] = MappingProxyType(
        {
            "config-write": "CONFIG SET permitted (files and settings can be rewritten)",
            "module-load": "MODULE LOAD permitted (native code)",
            "replicaof": "REPLICAOF/SLAVEOF permitted (replication from a rogue master)",
            "lua-scripting": "EVAL/SCRIPT permitted (Lua on the server)",
            "debug": "DEBUG permitted",
            "write": "writes permitted (SET and friends)",
        }
    )
    catalogue: ClassVar[Catalogue] = CATALOGUE

    def accepts(self, pre: PreProbe) -> bool:
        """RESP errors to the pre-probe's ``GET /``: wrong arity, NOAUTH, protected mode; or
        the hang-up without a byte of Redis 7 and later (``Host:`` is taken for a
        cross-protocol attack and the connection dropped, replies unsent)."""
        if pre.family == "silent" and pre.closed:
            return True
        return pre.reply.startswith((b"-ERR ", b"-NOAUTH ", b"-DENIED ", b"-NOPERM "))

    async def _fingerprint(self, port: OpenPort, ctx: ScanContext) -> Endpoint | None:
        client = await self.connect(RespClient, port.ip, port.port, ctx)
        try:
            facts = await identify(client)
        finally:
            await client.close()
        if facts is None:
            return None
        return self.endpoint(port, facts.evidence, facts.version, facts.auth)

    async def _gather(self, endpoint: Endpoint, ctx: ScanContext) -> Outcome:
        cfg = ctx.config
        client = await self.connect(RespClient, endpoint.ip, endpoint.port, ctx)
        outcome = Outcome()
        try:
            facts = await identify(client)
            if facts is None:
                outcome.notes.append("the RESP exchange gave no usable answer this time")
                return outcome
            noauth = facts.auth is AuthState.REQUIRED and "NOAUTH" in facts.evidence
            if noauth and cfg.try_default_credentials:
                outcome.default_credential = await self._try_defaults(client, facts)
            outcome.auth = facts.auth
            if facts.auth is AuthState.NONE:
                outcome.proof = facts.evidence
            if facts.auth is AuthState.NONE or outcome.default_credential:
                try:
                    await gather(client, facts, max_keys=min(cfg.sample_rows, 200))
                except Exception as exc:  # keep what was learned
                    facts.notes.append(f"sampling stopped ({type(exc).__name__})")
        finally:
            await client.close()
        return self._outcome(facts, outcome)

    async def _try_defaults(self, client: RespClient, facts: RedisFacts) -> str | None:
        for cred in credentials_for(self.name):
            answer = await client.call("AUTH", cred.password)
            if isinstance(answer, Status) and answer.text == "OK":
                facts.notes.append(f"default credential accepted: {cred.label}")
                return cred.label
        facts.notes.append("no documented default credential was accepted")
        return None

    def _outcome(self, facts: RedisFacts, outcome: Outcome) -> Outcome:
        outcome.version = facts.version
        outcome.notes.extend(facts.notes)
        if facts.role:
            outcome.notes.append(f"role {facts.role}, mode {facts.mode or 'unknown'}")
        if facts.user:
            outcome.notes.append(f"connected as ACL user '{facts.user}'")
        outcome.capabilities = dict(facts.capabilities)
        for db, keys in facts.keyspaces:
            outcome.resources.append(StoreResource(f"db{db}", "keyspace", rows=keys))
        outcome.resources += group_samples((f"db{x.db}", x.key, x.texts) for x in facts.samples)
        if facts.keyspaces:
            outcome.coverage = Coverage(
                listed=sum(facts.listed.values()),
                total=sum(keys for _, keys in facts.keyspaces),
                sampled=len(facts.samples),
            )
        return outcome
