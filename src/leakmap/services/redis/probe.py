"""What leakmap learns from one Redis endpoint, read-only, over one bounded RESP connection.

:func:`identify` (fingerprint) and :func:`gather` (assessment) return plain facts; the plugin
turns them into the report and findings. The chain, and what decides each step:

1. **Access.** ``ECHO <random nonce>`` must come back as exactly that bulk string for auth
   ``none`` (a reflector, a ``+OK``-to-everything lookalike or an echo of our bytes cannot
   produce it). ``-NOAUTH`` / ``-WRONGPASS`` and protected mode's ``-DENIED`` are
   ``required``; ``-NOPERM`` on the ECHO (a default user whose ACL denies even ECHO) is
   Redis but ``unknown``; anything else is not identified.
2. **Identity.** ``INFO``: ``redis_version``, ``role``, ``redis_mode`` and the keyspace
   section (``db0:keys=12,expires=0,...``).
3. **Sample.** Per database with keys: ``SCAN`` pages until ``max_listed`` names (bounded
   bytes per page), the names likeliest to hold leaks first (sessions, tokens, chats, ...), then
   per key ``TYPE`` and one bounded read: ``GETRANGE`` (strings), ``HSCAN`` (hashes),
   ``LRANGE`` (lists), ``SSCAN`` (sets), ``ZRANGE`` (sorted sets), ``XRANGE ... COUNT``
   (streams).
4. **Capabilities** of this connection's user, never by running them: ``ACL DRYRUN user
   CONFIG SET ...`` etc. (7.0+); ``ACL GETUSER`` (6.x: ``+@all`` with no exception means
   everything); without ACLs (before 6.0) every command that exists is open to anyone
   connected, and ``COMMAND INFO`` says whether it exists (``rename-command`` hides it).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from leakmap.errors import ProbeError
from leakmap.services.base import AuthState
from leakmap.services.common.sampling import prioritise
from leakmap.services.redis.resp import ErrorReply, RespClient, RespValue, Status

__all__ = [
    "CAPABILITY_PROBES",
    "KeySample",
    "RedisFacts",
    "gather",
    "identify",
    "parse_info",
    "parse_keyspace",
]

#: capability -> the command ACL DRYRUN checks (never sent on its own), the command name
#: COMMAND INFO looks up, and whether Redis 7 adds a config gate (enable-*-command)
CAPABILITY_PROBES: dict[str, tuple[tuple[str, ...], str, bool]] = {
    "config-write": (("CONFIG", "SET", "maxmemory", "0"), "config", False),
    "module-load": (("MODULE", "LOAD", "/nonexistent/leakmap.so"), "module", True),
    "replicaof": (("REPLICAOF", "NO", "ONE"), "replicaof", False),
    "lua-scripting": (("EVAL", "return 1", "0"), "eval", False),
    "debug": (("DEBUG", "SLEEP", "0"), "debug", True),
    "write": (("SET", "leakmap-dryrun", "x"), "set", False),
}

_KEYSPACE = re.compile(r"^db(\d{1,5}):keys=(\d{1,15}),")
_VERSION = re.compile(r"^\d{1,4}\.\d{1,4}(?:\.\d{1,6})?$")


@dataclass(frozen=True, slots=True)
class KeySample:
    """One sampled key: its database, name (bytes), type and the texts read from it."""

    db: int
    key: bytes
    type: str
    texts: tuple[str, ...]


@dataclass(slots=True)
class RedisFacts:
    auth: AuthState = AuthState.UNKNOWN
    version: str | None = None
    role: str | None = None
    mode: str | None = None
    user: str | None = None
    keyspaces: list[tuple[int, int]] = field(default_factory=list)
    samples: list[KeySample] = field(default_factory=list)
    listed: dict[int, int] = field(default_factory=dict)
    capabilities: dict[str, bool | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    evidence: str = ""


def parse_info(raw: bytes) -> dict[str, str]:
    """``INFO`` text -> {field: value}; section headers and odd lines are skipped."""
    out: dict[str, str] = {}
    for line in raw.decode("utf-8", "replace").splitlines()[:5000]:
        if not line or line.startswith("#") or ":" not in line:
            continue
        k, _, v = line.partition(":")
        if k and len(k) < 64:
            out[k] = v.strip()[:256]
    return out


def parse_keyspace(raw: bytes) -> list[tuple[int, int]]:
    """``db3:keys=12,expires=0,avg_ttl=0`` lines -> [(3, 12)]."""
    out = []
    for line in raw.decode("utf-8", "replace").splitlines()[:5000]:
        m = _KEYSPACE.match(line)
        if m:
            out.append((int(m.group(1)), int(m.group(2))))
    return out


def _is_redis_error(reply: RespValue) -> str | None:
    """The access meaning of an error reply that only Redis sends, else None."""
    if not isinstance(reply, ErrorReply):
        return None
    if reply.code in ("NOAUTH", "WRONGPASS"):
        return "noauth"
    if reply.code == "DENIED" and "protected mode" in reply.text:
        return "protected"
    if reply.code == "NOPERM":
        return "noperm"
    return None


async def identify(client: RespClient) -> RedisFacts | None:
    """Fingerprint: facts on positive evidence (a correct ECHO, INFO with ``redis_version``,
    or an error only Redis sends), None otherwise."""
    facts = RedisFacts()
    nonce = secrets.token_hex(8)
    echo = await client.call("ECHO", nonce)
    meaning = _is_redis_error(echo)
    if meaning == "noauth":
        facts.auth = AuthState.REQUIRED
        facts.evidence = "-NOAUTH: the server requires a password"
        facts.notes.append("NOAUTH: a password (requirepass or an ACL user) is required")
        return facts
    if meaning == "protected":
        facts.auth = AuthState.REQUIRED
        facts.evidence = "-DENIED: protected mode"
        facts.notes.append(
            "protected mode: no password is set, but connections from other hosts are refused"
        )
        return facts
    if meaning == "noperm":
        # a default user without a password whose ACL denies even ECHO: it is Redis, but
        # nothing we can check proves the session open
        facts.evidence = "-NOPERM for ECHO (an ACL-restricted default user)"
        facts.notes.append(
            "the default user is restricted by its ACL (NOPERM for ECHO): access unproven"
        )
        return facts
    if echo != nonce.encode():
        return None
    facts.auth = AuthState.NONE
    facts.evidence = "ECHO of a random nonce answered exactly"
    info = await client.call("INFO", "server")
    if isinstance(info, bytes):
        fields = parse_info(info)
        version = fields.get("redis_version", "")
        if _VERSION.match(version):
            facts.version = version
            facts.mode = fields.get("redis_mode")
            facts.evidence += f"; INFO redis_version {version}"
    return facts


async def _scan_db(
    client: RespClient, db: int, max_listed: int, max_pages: int
) -> tuple[list[bytes], bool]:
    """Key names of ``db`` by SCAN pages; (names, complete)."""
    if db != 0:
        selected = await client.call("SELECT", str(db))
        if not isinstance(selected, Status):
            return [], False
    names: list[bytes] = []
    cursor = b"0"
    for _ in range(max_pages):
        page = await client.call("SCAN", cursor, "COUNT", "200")
        if not (
            isinstance(page, list)
            and len(page) == 2
            and isinstance(page[0], bytes)
            and isinstance(page[1], list)
        ):
            raise ProbeError("SCAN answer does not have the documented shape")
        cursor = page[0]
        names.extend(k for k in page[1] if isinstance(k, bytes))
        if cursor == b"0":
            return names[:max_listed], len(names) <= max_listed
        if len(names) >= max_listed:
            return names[:max_listed], False
    return names[:max_listed], False


def _texts(reply: RespValue, out: list[str], limit: int = 200) -> None:
    """The bulk strings of a reply (flattened), decoded leniently."""
    if isinstance(reply, bytes):
        if len(out) < limit:
            out.append(reply.decode("utf-8", "replace"))
    elif isinstance(reply, list):
        for item in reply:
            _texts(item, out, limit)


async def _read_key(
    client: RespClient, db: int, key: bytes, value_bytes: int, items: int
) -> KeySample:
    kind = await client.call("TYPE", key)
    type_ = kind.text if isinstance(kind, Status) else "unknown"
    n = str(items)
    reply: RespValue = None
    if type_ == "string":
        reply = await client.call("GETRANGE", key, "0", str(value_bytes - 1))
    elif type_ == "hash":
        reply = await client.call("HSCAN", key, "0", "COUNT", n)
    elif type_ == "list":
        reply = await client.call("LRANGE", key, "0", str(items - 1))
    elif type_ == "set":
        reply = await client.call("SSCAN", key, "0", "COUNT", n)
    elif type_ == "zset":
        reply = await client.call("ZRANGE", key, "0", str(items - 1))
    elif type_ == "stream":
        reply = await client.call("XRANGE", key, "-", "+", "COUNT", n)
    texts: list[str] = []
    if isinstance(reply, list) and type_ in ("hash", "set") and len(reply) == 2:
        reply = reply[1]  # [cursor, elements]
    _texts(reply, texts)
    return KeySample(db, key, type_, tuple(t[:value_bytes] for t in texts))


async def _capabilities(client: RespClient, facts: RedisFacts) -> None:
    who = await client.call("ACL", "WHOAMI")
    if isinstance(who, ErrorReply) and "unknown command" in who.text.lower():
        await _capabilities_without_acl(client, facts)
        return
    if not isinstance(who, bytes) or not 0 < len(who) <= 128:
        facts.notes.append("ACL WHOAMI gave no user name: capabilities unknown")
        facts.capabilities = dict.fromkeys(CAPABILITY_PROBES)
        return
    facts.user = who.decode("utf-8", "replace")
    for name, (command, _, gated) in CAPABILITY_PROBES.items():
        answer = await client.call("ACL", "DRYRUN", who, *command)
        if isinstance(answer, Status) and answer.text == "OK":
            # Redis 7 also needs enable-module-command / enable-debug-command (default no),
            # which only CONFIG GET would show: permitted by the ACL, gate unknown
            facts.capabilities[name] = None if gated else True
        elif isinstance(answer, bytes | ErrorReply) and "no permissions" in _lower(answer):
            facts.capabilities[name] = False
        elif isinstance(answer, ErrorReply) and answer.code == "NOPERM":
            facts.capabilities = dict.fromkeys(CAPABILITY_PROBES)
            facts.notes.append(
                "the user may not run ACL DRYRUN: its rules are hidden, capabilities unknown"
            )
            return
        elif isinstance(answer, ErrorReply) and "unknown" in _lower(answer):
            await _capabilities_from_getuser(client, facts, who)
            return
        else:
            facts.capabilities[name] = None
    if any(CAPABILITY_PROBES[n][2] and v is None for n, v in facts.capabilities.items()):
        facts.notes.append(
            "MODULE and DEBUG are allowed by the ACL; Redis 7 also needs "
            "enable-module-command / enable-debug-command (default no), not read"
        )


def _lower(answer: bytes | ErrorReply) -> str:
    text = answer.text if isinstance(answer, ErrorReply) else answer.decode("utf-8", "replace")
    return text[:300].lower()


async def _capabilities_from_getuser(client: RespClient, facts: RedisFacts, who: bytes) -> None:
    """Redis 6.x (no DRYRUN): only ``+@all`` without exceptions is conclusive."""
    rules = await client.call("ACL", "GETUSER", who)
    commands = None
    if isinstance(rules, list):
        for k, v in zip(rules[::2], rules[1::2], strict=False):
            if k == b"commands" and isinstance(v, bytes):
                commands = v.decode("utf-8", "replace")
    if commands is not None and commands.split() == ["+@all"]:
        facts.capabilities = dict.fromkeys(CAPABILITY_PROBES, True)
        facts.notes.append(f"ACL GETUSER: the user '{facts.user}' has +@all")
    else:
        facts.capabilities = dict.fromkeys(CAPABILITY_PROBES)
        facts.notes.append("the user's ACL rules could not be read conclusively")


async def _capabilities_without_acl(client: RespClient, facts: RedisFacts) -> None:
    """Before Redis 6 there are no ACLs: a command that exists is open to every client."""
    names = [probe[1] for probe in CAPABILITY_PROBES.values()]
    info = await client.call("COMMAND", "INFO", *names)
    if not isinstance(info, list) or len(info) != len(names):
        facts.capabilities = dict.fromkeys(CAPABILITY_PROBES)
        return
    for (cap, _), entry in zip(CAPABILITY_PROBES.items(), info, strict=True):
        # a nil entry: the command does not exist here (rename-command to "" hides it)
        facts.capabilities[cap] = entry is not None
    facts.notes.append("no ACLs (before Redis 6): every existing command is open to any client")


async def gather(
    client: RespClient,
    facts: RedisFacts,
    *,
    max_keys: int,
    max_listed: int = 2000,
    max_dbs: int = 16,
    value_bytes: int = 16 * 1024,
    items: int = 20,
) -> RedisFacts:
    """After :func:`identify` said ``none``: INFO, keyspace, capabilities, bounded sample.
    A failure part-way keeps what was learned and adds a note."""
    info = await client.call("INFO")
    if isinstance(info, bytes):
        fields = parse_info(info)
        if _VERSION.match(fields.get("redis_version", "")):
            facts.version = fields["redis_version"]
        facts.role = fields.get("role")
        facts.mode = fields.get("redis_mode", facts.mode)
        facts.keyspaces = parse_keyspace(info)
    elif isinstance(info, ErrorReply):
        facts.notes.append(f"INFO refused ({info.code})")
    await _capabilities(client, facts)
    budget = max_keys
    for db, keys in facts.keyspaces[:max_dbs]:
        if budget <= 0:
            facts.notes.append("sample budget spent: later databases not sampled")
            break
        if keys <= 0:
            continue
        names, complete = await _scan_db(client, db, max_listed, max_pages=max_listed // 100 + 5)
        facts.listed[db] = len(names)
        if not complete:
            facts.notes.append(f"db{db}: {keys} keys, {len(names)} names listed (cap {max_listed})")
        chosen = _choose(names, budget)
        for key in chosen:
            facts.samples.append(await _read_key(client, db, key, value_bytes, items))
        budget -= len(chosen)
        if len(chosen) < len(names):
            facts.notes.append(
                f"db{db}: {len(chosen)} of {len(names)} listed keys sampled "
                "(names suggesting sessions, tokens, chats, users first)"
            )
    return facts


def _choose(names: Sequence[bytes], budget: int) -> list[bytes]:
    ordered = prioritise(names, name=_name, size=lambda _: None)
    return ordered[: max(0, budget)]


def _name(key: bytes) -> str:
    return key[:200].decode("utf-8", "replace")
