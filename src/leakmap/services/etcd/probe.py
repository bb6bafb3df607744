"""What leakmap learns from one etcd endpoint through the v3 JSON gateway, read-only.

1. **Identity.** ``GET /version`` answers ``{"etcdserver": "3.4.23", "etcdcluster": ...}``
   with or without auth.
2. **Access.** A ``count_only`` range over every key: ``none`` only when the answer has the
   documented header (``cluster_id``, ``revision``) and a positive ``count``, and a random key
   then counts 0 (an empty store or a canned reply proves nothing); ``required`` for
   ``user name is empty`` (no token) and ``invalid auth token`` (code 16) and permission
   denied (code 7); anything else (cut short, not JSON, other codes) ``unknown``.
3. **Kubernetes.** A ``count_only`` range over ``/registry/``: keys there are a Kubernetes
   cluster's whole state (secrets included).
4. **Keys and sample.** A ``keys_only`` range (``limit`` = ``max_listed``) lists names; the
   names likeliest to hold credentials are read one by one (values cut to ``value_bytes``).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from leakmap.errors import ProtocolError
from leakmap.services.base import AuthState
from leakmap.services.common.sampling import prioritise
from leakmap.services.etcd.gateway import EtcdGateway, error_code, parse_range, prefix_end

__all__ = ["EtcdFacts", "auth_from_answer", "gather", "identify", "key_prefix"]

_VERSION = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,4}(?:[-+][0-9A-Za-z.]{1,40})?")
_ALL = b"\x00"
_NAME = re.compile(r"[a-z][a-z0-9_.-]{0,39}")
_KUBERNETES = b"/registry/"


@dataclass(slots=True)
class EtcdFacts:
    auth: AuthState = AuthState.UNKNOWN
    version: str | None = None
    evidence: str = ""
    count: int | None = None
    kubernetes_keys: int | None = None
    listed: list[bytes] = field(default_factory=list)
    samples: list[tuple[bytes, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def key_prefix(key: bytes, depth: int = 2) -> str:
    """``/registry/secrets/default/x`` -> ``/registry/secrets``: the first ``depth`` path
    parts; a part that does not look like a name (key names may hold values) shows as ``*``;
    keys outside a path -> ``(other keys)``."""
    text = key[:200].decode("utf-8", "replace")
    if not text.startswith("/"):
        return "(other keys)"
    parts = [p if _NAME.fullmatch(p) else "*" for p in text.split("/")[1 : depth + 1]]
    return "/" + "/".join(parts)


async def identify(gw: EtcdGateway) -> EtcdFacts | None:
    answer = await gw.version()
    server = answer.field("etcdserver")
    if answer.status != 200 or not isinstance(server, str) or not _VERSION.fullmatch(server):
        return None
    if not isinstance(answer.field("etcdcluster"), str):
        return None
    return EtcdFacts(version=server, evidence=f"/version etcdserver {server}")


def auth_from_answer(status: int, code: int | None, text: str) -> tuple[AuthState, str] | None:
    """The access state an error answer proves, or None."""
    if "user name is empty" in text:
        return AuthState.REQUIRED, "auth is enabled: requests without a token are refused"
    if code == 16 or "invalid auth token" in text:
        return AuthState.REQUIRED, "auth is enabled: the request's token was refused"
    if code == 7 or "permission denied" in text:
        return AuthState.REQUIRED, "auth is enabled: permission denied"
    return None


async def gather(
    gw: EtcdGateway,
    facts: EtcdFacts,
    *,
    max_keys: int,
    max_listed: int = 5000,
    value_bytes: int = 16 * 1024,
) -> EtcdFacts:
    answer = await gw.range(_ALL, _ALL, count_only=True)
    if answer.status != 200:
        mapped = auth_from_answer(answer.status, error_code(answer), _error_text(answer.body))
        if mapped is None:
            facts.notes.append(f"range refused (HTTP {answer.status}): auth state unknown")
        else:
            facts.auth, why = mapped
            facts.notes.append(why)
        return facts
    try:
        total = parse_range(answer.body)
    except ProtocolError:
        facts.notes.append("range answer did not have the documented shape: auth unknown")
        return facts
    # an empty store proves nothing (a filtering proxy, a canned reply); a random key must
    # then count 0 where the whole range counted more
    probe = await gw.range(f"/leakmap-probe/{secrets.token_hex(8)}".encode(), count_only=True)
    try:
        missing = parse_range(probe.body).count if probe.status == 200 else None
    except ProtocolError:
        missing = None
    if total.count == 0 or missing != 0:
        facts.notes.append(
            "the range answers do not prove an open store (empty, or a random key counted): "
            "auth unknown"
        )
        return facts
    facts.auth = AuthState.NONE
    facts.count = total.count
    facts.evidence += f"; range answered (revision {total.revision}, {total.count} keys)"
    k8s = await gw.range(_KUBERNETES, prefix_end(_KUBERNETES), count_only=True)
    if k8s.status == 200:
        try:
            facts.kubernetes_keys = parse_range(k8s.body).count
        except ProtocolError:
            facts.notes.append("the /registry/ count did not parse")
    listing = await gw.range(_ALL, _ALL, limit=max_listed, keys_only=True)
    try:
        listed = parse_range(listing.body) if listing.status == 200 else None
    except ProtocolError:
        listed = None
    if listed is None:
        facts.notes.append("the key listing was cut short or did not parse: nothing sampled")
        return facts
    facts.listed = [kv.key for kv in listed.kvs]
    if listed.more or len(facts.listed) < total.count:
        facts.notes.append(f"{len(facts.listed)} of {total.count} key names listed")
    chosen = prioritise(
        facts.listed, name=lambda k: k[:200].decode("utf-8", "replace"), size=lambda _: None
    )
    for key in chosen[:max_keys]:
        one = await gw.range(key)
        if one.status != 200 or one.truncated:
            continue
        try:
            kvs = parse_range(one.body).kvs
        except ProtocolError:
            continue
        for kv in kvs[:1]:
            if kv.value:
                facts.samples.append((kv.key, kv.value[:value_bytes].decode("utf-8", "replace")))
    if len(chosen) > max_keys:
        facts.notes.append(
            f"{max_keys} of {len(chosen)} listed keys sampled "
            "(names suggesting secrets, tokens, configs first)"
        )
    return facts


def _error_text(body: object) -> str:
    if isinstance(body, dict):
        for key in ("error", "message"):
            value = body.get(key)
            if isinstance(value, str):
                return value[:300]
    return ""
