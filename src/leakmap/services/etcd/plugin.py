"""The etcd plugin: v3 API through the JSON gateway, auth state, a bounded key sample.

What it reports for an open etcd of a Kubernetes cluster::

    etcd 10.0.0.9:2379 http 3.4.23 auth=none
      keys                 keyspace     104 keys
      /registry/secrets    key-prefix   secret x2
    critical etcd.open-access   ... ; 2 Kubernetes keys under /registry/ (the cluster's state)
    critical etcd.data.secret   /registry/secrets: 2 secret matches ...

How each step is decided: see :mod:`.probe`. Only ``/version`` and ``kv/range`` are read.
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
from leakmap.services.common.stores import (
    Outcome,
    StorePlugin,
    StoreResource,
    base_url,
)
from leakmap.services.etcd.gateway import EtcdGateway
from leakmap.services.etcd.probe import gather, identify, key_prefix
from leakmap.services.etcd.rules import CATALOGUE

__all__ = ["Etcd"]


class Etcd(StorePlugin):
    """etcd v3 (3.3+ gateway paths /v3, /v3beta, /v3alpha)."""

    name: ClassVar[str] = "etcd"
    transport: ClassVar[str] = "http"
    default_ports: ClassVar[Mapping[int, str]] = MappingProxyType({2379: "http"})
    protocols: ClassVar[frozenset[str]] = frozenset({"http"})
    url_schemes: ClassVar[Mapping[str, tuple[int, str]]] = MappingProxyType(
        {"etcd": (2379, "http")}
    )
    catalogue: ClassVar[Catalogue] = CATALOGUE

    def accepts(self, pre: PreProbe) -> bool:
        """etcd (Go's mux) answers ``GET /`` with ``404 page not found``; /version decides."""
        http = pre.http
        return http is not None and http.status == 404 and http.body.startswith(b"404 page")

    async def _fingerprint(self, port: OpenPort, ctx: ScanContext) -> Endpoint | None:
        async with ctx.network.http_client() as client:
            gw = EtcdGateway(
                client, base_url(port.ip, port.port), 64 * 1024, ctx.config.read_timeout
            )
            facts = await identify(gw)
        if facts is None:
            return None
        return self.endpoint(port, facts.evidence, facts.version)

    async def _gather(self, endpoint: Endpoint, ctx: ScanContext) -> Outcome:
        cfg = ctx.config
        outcome = Outcome()
        async with ctx.network.http_client() as client:
            gw = EtcdGateway(
                client,
                base_url(endpoint.ip, endpoint.port),
                cfg.max_response_bytes,
                cfg.read_timeout + 2,
            )
            facts = await identify(gw)
            if facts is None:
                outcome.notes.append("/version gave no usable answer this time")
                return outcome
            try:
                await gather(gw, facts, max_keys=min(cfg.sample_rows, 200))
            except Exception as exc:  # keep what was learned
                facts.notes.append(f"listing stopped ({type(exc).__name__})")
        outcome.auth, outcome.version = facts.auth, facts.version
        outcome.notes.extend(facts.notes)
        if facts.auth is AuthState.NONE:
            outcome.proof = facts.evidence
        if facts.count is not None:
            outcome.resources.append(StoreResource("keys", "keyspace", rows=facts.count))
            outcome.coverage = Coverage(
                listed=len(facts.listed), total=facts.count, sampled=len(facts.samples)
            )
        if facts.kubernetes_keys:
            outcome.critical = (
                f"{facts.kubernetes_keys} Kubernetes keys under /registry/ "
                "(the cluster's whole state, secrets included)"
            )
            outcome.notes.append(outcome.critical)
        groups: dict[str, StoreResource] = {}
        for key in facts.listed:
            prefix = key_prefix(key)
            res = groups.setdefault(prefix, StoreResource(prefix, "key-prefix", rows=0))
            res.rows = (res.rows or 0) + 1
        for key, text in facts.samples:
            res = groups[key_prefix(key)]
            res.sampled = (res.sampled or 0) + 1
            res.texts += [key.decode("utf-8", "replace"), text]
        outcome.resources.extend(groups.values())
        return outcome
