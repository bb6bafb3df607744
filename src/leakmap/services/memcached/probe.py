"""What leakmap learns from one memcached endpoint, read-only and bounded.

1. **Identity and access.** ``version`` answers ``VERSION 1.6.18``; ascii auth (``-Y``)
   answers ``CLIENT_ERROR unauthenticated`` (``required``). A server that closes or stays
   silent on text gets one binary-protocol ``version`` request: status ``0x20`` is SASL
   (``required``). Auth ``none`` needs ``stats`` to parse completely - ``pid``, ``uptime``,
   ``curr_items`` as integers and the same ``version`` - and ``get`` of a random key to
   miss (``END``): a reflector or a canned-line lookalike gives neither.
2. **Keys.** ``lru_crawler metadump all`` (1.4.31+) lists names and sizes, cut at
   ``max_listed`` lines; older servers: ``stats items`` then ``stats cachedump``.
3. **Sample.** Names suggesting sessions, tokens, users, configs first; ``get`` in small
   batches whose announced sizes fit the reply budget; each value cut to ``value_bytes``.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from leakmap.errors import ProtocolError
from leakmap.services.base import AuthState
from leakmap.services.common.sampling import prioritise
from leakmap.services.memcached.text import McClient, MetaKey, parse_metadump_line

__all__ = ["McFacts", "gather", "identify_text", "parse_stats"]

_VERSION = re.compile(rb"VERSION (\d{1,4}\.\d{1,4}(?:\.\d{1,6})?)(?:[ -][\x21-\x7e]{0,40})?")
_KEY = re.compile(rb"[\x21-\x7e]{1,250}")


@dataclass(slots=True)
class McFacts:
    auth: AuthState = AuthState.UNKNOWN
    version: str | None = None
    evidence: str = ""
    items: int | None = None
    listed: int = 0
    listing_complete: bool = False
    samples: list[tuple[bytes, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def parse_stats(lines: list[bytes]) -> dict[str, str]:
    out = {}
    for line in lines[:1000]:
        parts = line.split(b" ")
        if len(parts) == 3 and parts[0] == b"STAT":
            out[parts[1].decode("ascii", "replace")] = parts[2].decode("ascii", "replace")
    return out


async def identify_text(client: McClient) -> McFacts | None:
    """``version`` over the text protocol: facts, or None when it is not memcached text."""
    line = await client.line("version")
    if line.startswith(b"CLIENT_ERROR unauthenticated"):
        return McFacts(
            auth=AuthState.REQUIRED,
            evidence="CLIENT_ERROR unauthenticated (ascii auth)",
            notes=["ascii authentication (-Y authfile) is on"],
        )
    m = _VERSION.fullmatch(line)
    if m is None:
        return None
    return McFacts(version=m.group(1).decode(), evidence=f"VERSION {m.group(1).decode()}")


async def _prove_open(client: McClient, facts: McFacts) -> bool:
    stats = parse_stats(await client.lines("stats", max_lines=500))
    if not all(stats.get(k, "").isdigit() for k in ("pid", "uptime", "curr_items")):
        return False
    if stats.get("version") != facts.version:
        return False
    miss = await client.get([f"leakmap-{secrets.token_hex(12)}".encode()])
    if miss != []:
        return False
    facts.items = int(stats["curr_items"])
    return True


async def _list_keys(client: McClient, max_listed: int) -> tuple[list[MetaKey], bool]:
    try:
        lines = await client.lines("lru_crawler metadump all", max_lines=max_listed)
    except ProtocolError:
        return [], False  # more than max_listed lines: the connection is out of step now
    if len(lines) == 1 and lines[0].startswith((b"ERROR", b"CLIENT_ERROR", b"SERVER_ERROR")):
        return await _cachedump(client, max_listed)
    keys = [k for k in map(parse_metadump_line, lines) if k is not None]
    return keys, True


async def _cachedump(client: McClient, max_listed: int) -> tuple[list[MetaKey], bool]:
    """Before metadump: ``stats items`` names the slab classes, ``stats cachedump`` lists."""
    slabs = sorted(
        {
            int(m.group(1))
            for line in await client.lines("stats items", max_lines=5000)
            if (m := re.match(rb"STAT items:(\d{1,3}):number ", line))
        }
    )
    keys: list[MetaKey] = []
    for slab in slabs[:64]:
        room = max_listed - len(keys)
        if room <= 0:
            return keys, False
        for line in await client.lines(f"stats cachedump {slab} {room}", max_lines=room):
            m = re.fullmatch(rb"ITEM (\S{1,250}) \[(\d{1,10}) b; \d{1,20} s\]", line)
            if m:
                keys.append(MetaKey(m.group(1), int(m.group(2))))
    return keys, True


async def gather(
    client: McClient,
    facts: McFacts,
    *,
    max_keys: int,
    max_listed: int = 5000,
    value_bytes: int = 16 * 1024,
    batch: int = 20,
) -> McFacts:
    """After :func:`identify_text` found a version: prove openness, list, sample."""
    if not await _prove_open(client, facts):
        facts.notes.append("stats/get answers did not parse completely: auth state unknown")
        return facts
    facts.auth = AuthState.NONE
    facts.evidence += "; stats parsed and a random key missed"
    keys, complete = await _list_keys(client, max_listed)
    facts.listed, facts.listing_complete = len(keys), complete
    if not complete:
        facts.notes.append(f"key listing cut at {max_listed} names")
    usable = [k for k in keys if _KEY.fullmatch(k.key)]
    usable = prioritise(
        usable, name=lambda k: k.key[:200].decode("ascii", "replace"), size=lambda k: k.size
    )
    chosen = [k for k in usable if k.size is None or k.size <= client.reply_limit // batch]
    chosen = chosen[:max_keys]
    skipped = len(usable) - len(chosen)
    for i in range(0, len(chosen), batch):
        values = await client.get([k.key for k in chosen[i : i + batch]])
        if isinstance(values, bytes):
            facts.notes.append("get refused part-way: sample incomplete")
            break
        for v in values:
            facts.samples.append((v.key, v.data[:value_bytes].decode("utf-8", "replace")))
    if skipped > 0:
        facts.notes.append(f"{len(chosen)} of {len(usable)} listed keys sampled")
    return facts
