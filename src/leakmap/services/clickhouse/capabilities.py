"""Dangerous capabilities of the anonymous session, from settings, grants and error codes only.

Nothing here runs a capability. Inputs:

* ``system.settings``: the profile's ``readonly`` and ``allow_ddl``. This one query is sent
  without our own ``readonly=1`` override (it would hide the profile's value); it still has
  to pass the SQL guard and carries every other limit.
* ``system.table_functions``: which table functions exist on this server.
* RBAC servers (``system.grants`` exists): ``SHOW GRANTS`` for the current user.

Rules (True = usable, False = proven not usable, None = cannot tell):

* pre-RBAC: ``readonly=1`` forbids table functions, writes and DDL (code 164 "Table functions
  are forbidden in readonly mode"); ``readonly=2`` forbids writes and DDL but allows table
  functions; ``readonly=0`` allows writes, DDL when ``allow_ddl=1``, and every table function
  the server has.
* RBAC: ``readonly`` as above, then the grants: INSERT -> write; CREATE/ALTER/DROP (and
  ``allow_ddl``) -> ddl; a table function needs its source privilege (FILE, URL, REMOTE, S3,
  ...; SOURCES or ALL cover them) plus CREATE TEMPORARY TABLE. When the user also holds roles
  whose grants we cannot see, a missing privilege gives None, never False.
* A table function missing from ``system.table_functions`` is False.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from leakmap.services.base import Capabilities
from leakmap.services.clickhouse.query import ChSession

__all__ = [
    "DANGEROUS_FUNCTIONS",
    "CapabilityInputs",
    "Grants",
    "decide",
    "parse_grants",
    "read_inputs",
]

#: table function -> the RBAC source privilege it needs (None: no single source privilege)
DANGEROUS_FUNCTIONS: dict[str, str | None] = {
    "file": "FILE",
    "url": "URL",
    "urlCluster": "URL",
    "remote": "REMOTE",
    "remoteSecure": "REMOTE",
    "cluster": "REMOTE",
    "clusterAllReplicas": "REMOTE",
    "s3": "S3",
    "s3Cluster": "S3",
    "gcs": "S3",
    "executable": None,
    "mysql": "MYSQL",
    "postgresql": "POSTGRES",
    "jdbc": "JDBC",
    "odbc": "ODBC",
    "hdfs": "HDFS",
    "hdfsCluster": "HDFS",
    "mongodb": "MONGO",
    "sqlite": "SQLITE",
    "redis": "REDIS",
    "azureBlobStorage": "AZURE",
}
_MAIN = ("file", "url", "remote")
_DDL_PRIVS = ("CREATE", "CREATE TABLE", "ALTER", "ALTER TABLE", "DROP", "DROP TABLE")
_GRANT_ON = re.compile(r"^GRANT (?P<privs>.+?) ON (?P<target>\S+) TO ", re.IGNORECASE)
_GRANT_ROLE = re.compile(r"^GRANT (?P<roles>.+?) TO ", re.IGNORECASE)
_PARENS = re.compile(r"\([^)]*\)")


@dataclass(frozen=True, slots=True)
class Grants:
    privileges: frozenset[str]
    has_roles: bool

    def has(self, priv: str) -> bool:
        p = self.privileges
        if "ALL" in p or "ALL PRIVILEGES" in p or priv in p:
            return True
        parent = priv.split(" ", 1)[0]
        if parent != priv and parent in p:
            return True
        return (
            priv
            in {
                "FILE",
                "URL",
                "REMOTE",
                "S3",
                "MYSQL",
                "POSTGRES",
                "JDBC",
                "ODBC",
                "HDFS",
                "MONGO",
                "SQLITE",
                "REDIS",
                "AZURE",
            }
            and "SOURCES" in p
        )


def parse_grants(lines: Iterable[str]) -> Grants:
    """Parse ``SHOW GRANTS`` output lines."""
    privs: set[str] = set()
    roles = False
    for line in lines:
        line = line.strip()
        if line.upper().startswith("REVOKE"):
            continue
        m = _GRANT_ON.match(line)
        if m:
            for p in _PARENS.sub("", m.group("privs")).split(","):
                if p.strip():
                    privs.add(p.strip().upper())
            continue
        if _GRANT_ROLE.match(line):
            roles = True
    return Grants(frozenset(privs), roles)


@dataclass(slots=True)
class CapabilityInputs:
    readonly: int | None = None
    allow_ddl: int | None = None
    functions: set[str] | None = None
    grants: Grants | None = None
    rbac: bool = False
    notes: list[str] = field(default_factory=list)


def _int(v: str | None) -> int | None:
    # ASCII digits only (str.isdigit accepts '²', which int() refuses), at most 20 of them
    return int(v) if v is not None and re.fullmatch(r"[0-9]{1,20}", v.strip()) else None


async def read_inputs(ch: ChSession, features: dict[str, set[str]] | None) -> CapabilityInputs:
    """Settings, table functions and (RBAC) grants of the session, over any transport."""
    out = CapabilityInputs(rbac=bool(features and "grants" in features))
    res = await ch.rows(
        "SELECT name, value FROM system.settings WHERE name IN ('readonly', 'allow_ddl')",
        readonly=False,
    )
    if res.ok:
        values = {r[0]: r[1] for r in res.rows if len(r) == 2}
        out.readonly = _int(values.get("readonly"))
        out.allow_ddl = _int(values.get("allow_ddl"))
    else:
        out.notes.append("system.settings unreadable: readonly/allow_ddl unknown")
    funcs = await ch.rows("SELECT name FROM system.table_functions")
    if funcs.ok:
        out.functions = {r[0] for r in funcs.rows if r and r[0]}
    if out.rbac:
        grants = await ch.rows("SHOW GRANTS")
        if grants.ok:
            out.grants = parse_grants(r[0] or "" for r in grants.rows if r)
        else:
            out.notes.append("SHOW GRANTS refused: privileges unknown")
    return out


def decide(inp: CapabilityInputs) -> Capabilities:
    ro = inp.readonly
    write: bool | None
    ddl: bool | None
    funcs: dict[str, bool | None] = {}
    g = inp.grants
    unknown_grants = inp.rbac and g is None

    def missing(priv_ok: bool) -> bool | None:
        """A privilege we do not see: False only if no hidden role could grant it."""
        if priv_ok:
            return True
        return None if (g is None or g.has_roles) else False

    if ro is None:
        write = ddl = None
    elif ro >= 1:
        write = ddl = False
    elif not inp.rbac:
        write = True
        ddl = None if inp.allow_ddl is None else inp.allow_ddl == 1
    elif unknown_grants or g is None:
        write = None
        ddl = False if inp.allow_ddl == 0 else None
    else:
        write = missing(g.has("INSERT"))
        if inp.allow_ddl == 0:
            ddl = False
        else:
            ddl_ok = missing(any(g.has(p) for p in _DDL_PRIVS))
            ddl = ddl_ok if inp.allow_ddl == 1 or ddl_ok is False else None

    for name, source in DANGEROUS_FUNCTIONS.items():
        value: bool | None
        if inp.functions is not None and name not in inp.functions:
            if name in _MAIN:
                funcs[name] = False
            continue
        if ro is None:
            value = None
        elif ro == 1:
            value = False
        elif not inp.rbac:
            value = True if inp.functions is not None else None
        elif g is None:
            value = None
        elif source is None:
            value = True if g.has("ALL") else None
        else:
            temp = g.has("CREATE TEMPORARY TABLE") or g.has("CREATE")
            value = True if (g.has(source) and temp) else missing(False)
        funcs[name] = value
    values: dict[str, bool | None] = {
        "file": funcs.get("file"),
        "url": funcs.get("url"),
        "remote": funcs.get("remote"),
        "write": write,
        "ddl": ddl,
    }
    values.update((k, v) for k, v in funcs.items() if k not in _MAIN)
    return Capabilities(values)
