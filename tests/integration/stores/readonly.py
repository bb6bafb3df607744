"""Read-only proofs for Redis, memcached and etcd, from each server's own record.

Independent of leakmap's command guards on purpose: a weakened guard must not weaken the proof.

* Redis: ``INFO commandstats`` counts every command by name - ``calls`` for those that ran,
  ``rejected_calls`` for those refused before running (NOPERM, NOAUTH, wrong arity) and
  ``failed_calls`` for those that failed while running. :func:`redis_writes` reports every
  command outside :data:`REDIS_READS` whose count rose by any of the three, so a scanner that
  sent a write the server refused still fails.
* memcached: ``stats`` counters of every changing command (``cmd_set``, ``cmd_touch``,
  ``cmd_flush``, deletes, incr/decr, cas, touch) must not move.
* etcd: the store's revision rises with every write (put, delete, txn); it must not move.
"""

from __future__ import annotations

__all__ = ["MEMCACHED_WRITE_STATS", "REDIS_READS", "memcached_writes", "redis_writes"]

#: Commands a read-only scanner may send to Redis (names as commandstats shows them).
REDIS_READS = frozenset(
    {
        # the shared pre-probe's "GET / HTTP/1.1" arrives as an inline GET (refused: arity)
        "get",
        "ping",
        "echo",
        "info",
        "auth",
        "select",
        "dbsize",
        "scan",
        "type",
        "strlen",
        "getrange",
        "hlen",
        "hscan",
        "llen",
        "lrange",
        "scard",
        "sscan",
        "zcard",
        "zrange",
        "xlen",
        "xrange",
        "command|info",
        "command|count",
        "acl|whoami",
        "acl|getuser",
        "acl|dryrun",
    }
)

MEMCACHED_WRITE_STATS = (
    "cmd_set",
    "cmd_touch",
    "cmd_flush",
    "delete_hits",
    "delete_misses",
    "incr_hits",
    "incr_misses",
    "decr_hits",
    "decr_misses",
    "cas_hits",
    "cas_misses",
    "cas_badval",
    "touch_hits",
    "touch_misses",
)


def redis_writes(
    before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]
) -> dict[str, int]:
    """Commands outside REDIS_READS whose calls, rejected or failed counts rose."""
    out = {}
    for name, counts in after.items():
        old = before.get(name, {})
        rose = sum(counts.values()) - sum(old.values())
        if rose > 0 and name not in REDIS_READS:
            out[name] = rose
    return out


def redis_reads(
    before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]
) -> dict[str, int]:
    """How often each command ran between the two snapshots (to prove the scan read)."""
    return {
        name: counts["calls"] - before.get(name, {}).get("calls", 0)
        for name, counts in after.items()
        if counts["calls"] > before.get(name, {}).get("calls", 0)
    }


def memcached_writes(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {
        k: after.get(k, 0) - before.get(k, 0)
        for k in MEMCACHED_WRITE_STATS
        if after.get(k, 0) != before.get(k, 0)
    }
