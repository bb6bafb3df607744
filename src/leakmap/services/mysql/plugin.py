"""The MySQL / MariaDB plugin (3306): logins with an empty password, schemas, tables with row
estimates, bounded samples, classification, dangerous privileges from SHOW GRANTS - read-only.

What it reports, for a server whose ``root@'%'`` has no password::

    mysql 10.0.0.9:3306 mysql 10.11.19-MariaDB auth=none (root)
      chatbot.log_stream  InnoDB  ~300 rows   secret x40, chat x60, pii x31
      capabilities: file=True super=True write=True ddl=True grant=True
    critical  mysql.open-access        'root' logs in with an empty password ...
    critical  mysql.capability.file    FILE privilege: LOAD_FILE() / INTO OUTFILE ...

How, and what it never does:

* **Fingerprint** from the greeting the server sends first (HandshakeV10: version, auth
  plugin) - before any login. A ``-ClickHouse`` version is left to the ClickHouse plugin.
* **Login** as ``root`` and a few common users (:data:`USERS`) with an **empty** password
  (:mod:`.wire`); ERR 1045 means ``required``.
* **Open means proven**: auth ``none`` only when ``SELECT VERSION(), A * B`` with random A and
  B answers exactly the product.
* **Inventory**: ``information_schema.tables`` (``table_rows`` is the engine's estimate,
  ``data_length + index_length`` the size) and ``.columns``; the system schemas are not
  resources. Views are listed, never read.
* **Samples**: ``SELECT LEFT(CAST(col AS CHAR), 16384) ... LIMIT n``.
* **Capabilities** from ``SHOW GRANTS`` (and ``@@secure_file_priv`` for FILE), never
  exercised: ``file``, ``super``, ``write``, ``ddl``, ``grant``, ``create-user``,
  ``process``, ``shutdown``.
* Every statement passes the shared read-only guard; MariaDB's general log holds only reads
  (tests/integration/sql).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import ClassVar

from leakmap.errors import ProbeError
from leakmap.findings import Finding, Severity
from leakmap.sanitize import sanitize
from leakmap.services.base import (
    AuthState,
    Capabilities,
    Endpoint,
    OpenPort,
    PreProbe,
    ScanContext,
    ServiceReport,
    ServiceResult,
)
from leakmap.services.common.catalogue import Catalogue, rule
from leakmap.services.common.proof import Challenge
from leakmap.services.common.sqlguard import MYSQL
from leakmap.services.mysql.wire import Greeting, MyError, MysqlClient, parse_greeting
from leakmap.services.sqlstore import (
    MAX_SAMPLE_COLUMNS,
    SqlTable,
    access_findings,
    assess_guarded,
    attach_columns,
    capability_finding,
    cell_cap,
    columns_statement,
    sample_tables,
)

__all__ = ["CATALOGUE", "USERS", "MySQL", "parse_grants", "server_version"]

#: users tried with an empty password, in this order ("" is the anonymous user)
USERS = ("root", "admin", "mysql", "test", "")
_HIDDEN = "('mysql', 'information_schema', 'performance_schema', 'sys')"
_MAX_COLUMNS = 200_000
_GRANT = re.compile(r"^GRANT (?P<privs>.+?) ON (?P<target>\S+) TO ", re.IGNORECASE)
_WRITE_PRIVS = {"INSERT", "UPDATE", "DELETE"}
_DDL_PRIVS = {"CREATE", "DROP", "ALTER", "INDEX", "CREATE VIEW", "CREATE ROUTINE"}

_DOCS = "https://dev.mysql.com/doc/refman/8.0/en/"
CATALOGUE = Catalogue(
    "mysql",
    (
        rule(
            "mysql.open-access",
            Severity.HIGH,
            "MySQL/MariaDB lets a user log in with an empty password",
            "Set strong passwords for every account (ALTER USER ... IDENTIFIED BY), drop "
            "anonymous accounts, restrict account hosts, and keep bind-address off public "
            "interfaces. Critical when the data holds secrets or chat history.",
            _DOCS + "default-privileges.html",
            _DOCS + "account-management-statements.html",
        ),
        rule(
            "mysql.auth-unknown",
            Severity.LOW,
            "MySQL/MariaDB is reachable but its authentication state could not be determined",
            "Check the accounts reachable from this network by hand; firewall the port if it "
            "does not need to be reachable.",
            _DOCS + "access-control.html",
        ),
        rule(
            "mysql.capability.file",
            Severity.CRITICAL,
            "Password-less login holds FILE: reads and writes server files",
            "REVOKE FILE ON *.*; set secure_file_priv to an empty directory or NULL.",
            _DOCS + "privileges-provided.html#priv_file",
        ),
        rule(
            "mysql.capability.admin",
            Severity.CRITICAL,
            "Password-less login holds administrative privileges",
            "Revoke SUPER, GRANT OPTION, CREATE USER, SHUTDOWN and PROCESS from accounts "
            "reachable without a password.",
            _DOCS + "privileges-provided.html",
        ),
        rule(
            "mysql.capability.write",
            Severity.HIGH,
            "Password-less login can change data or schemas",
            "Grant only SELECT to accounts reachable without a password, or set passwords.",
            _DOCS + "privileges-provided.html",
        ),
    ),
    data_noun="table",
)


def server_version(greeting: Greeting) -> str:
    """``5.5.5-10.11.19-MariaDB-0+deb12u1-log`` -> ``10.11.19-MariaDB``; ``8.0.36`` stays."""
    v = greeting.version
    if v.startswith("5.5.5-"):
        v = v[len("5.5.5-") :]
    m = re.match(r"\d+\.\d+\.\d+(?:-MariaDB)?", v)
    return m.group(0) if m else sanitize(v, 60)


def parse_grants(lines: Iterable[str]) -> dict[str, set[str]]:
    """SHOW GRANTS lines -> privilege -> targets (``*.*``, ``db.*``, ...); ``GRANT OPTION``
    appears as a privilege when ``WITH GRANT OPTION`` is present."""
    out: dict[str, set[str]] = {}
    for line in lines:
        m = _GRANT.match(line.strip())
        if not m:
            continue
        target = m.group("target")
        privs = re.sub(r"\([^)]*\)", "", m.group("privs"))
        for p in privs.split(","):
            name = p.strip().upper()
            if name == "ALL":
                name = "ALL PRIVILEGES"
            if name:
                out.setdefault(name, set()).add(target)
        if re.search(r"WITH GRANT OPTION\s*$", line, re.IGNORECASE):
            out.setdefault("GRANT OPTION", set()).add(target)
    return out


def _decide(
    grants: dict[str, set[str]], secure_file_priv: str | None, known: bool, *, mariadb: bool
) -> Capabilities:
    """Capabilities from the grants. ``secure_file_priv`` NULL disables file operations on
    MySQL but means "no restriction" on MariaDB (checked on 10.11: LOAD_FILE works)."""
    every = "ALL PRIVILEGES" in grants
    global_all = every and "*.*" in grants["ALL PRIVILEGES"]

    def has(priv: str, *, global_only: bool = False) -> bool | None:
        targets = grants.get(priv, set()) | (grants.get("ALL PRIVILEGES", set()))
        if global_only:
            targets = {t for t in targets if t == "*.*"}
        if targets:
            return True
        return False if known else None

    file = has("FILE", global_only=True)
    if file and secure_file_priv is None and not mariadb:
        file = False  # MySQL: NULL secure_file_priv disables LOAD_FILE and INTO OUTFILE
    return Capabilities.of(
        file=file,
        super=has("SUPER", global_only=True),
        write=True if any(has(p) for p in _WRITE_PRIVS) else (False if known else None),
        ddl=True if any(has(p) for p in _DDL_PRIVS) else (False if known else None),
        grant=True if "GRANT OPTION" in grants else (False if known else None),
        process=has("PROCESS", global_only=True),
        shutdown=has("SHUTDOWN", global_only=True),
        **{"create-user": has("CREATE USER", global_only=True) or (True if global_all else None)},
    )


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.strip().isdigit() else None


class MySQL:
    """MySQL and MariaDB (their wire protocol on 3306)."""

    name: ClassVar[str] = "mysql"
    default_ports: ClassVar[Mapping[int, str]] = MappingProxyType({3306: "mysql"})
    protocols: ClassVar[frozenset[str]] = frozenset({"banner"})
    url_schemes: ClassVar[Mapping[str, tuple[int, str]]] = MappingProxyType(
        {"mysql": (3306, "mysql"), "mariadb": (3306, "mysql")}
    )
    capabilities: ClassVar[Mapping[str, str]] = MappingProxyType(
        {
            "file": "FILE: reads and writes files on the server (LOAD_FILE, INTO OUTFILE)",
            "super": "SUPER: changes server settings, kills sessions",
            "write": "INSERT / UPDATE / DELETE somewhere",
            "ddl": "CREATE / DROP / ALTER somewhere",
            "grant": "WITH GRANT OPTION: hands privileges to others",
            "create-user": "CREATE USER: makes new accounts",
            "process": "PROCESS: sees every session's statements",
            "shutdown": "SHUTDOWN: stops the server",
        }
    )

    def accepts(self, pre: PreProbe) -> bool:
        """A MySQL greeting (not ClickHouse's) as the server's first words, on any port."""
        raw = pre.banner
        if len(raw) < 5 or int.from_bytes(raw[:3], "little") + 4 > len(raw) + 65536:
            return False
        try:
            greeting = parse_greeting(raw[4 : 4 + int.from_bytes(raw[:3], "little")])
        except ProbeError:
            return False
        return greeting.flavour != "clickhouse"

    def _client(self, ip: str, port: int, ctx: ScanContext) -> MysqlClient:
        cfg = ctx.config
        return MysqlClient(
            ctx.network,
            ip,
            port,
            timeout=cfg.read_timeout + cfg.query_timeout_s,
            reply_limit=cfg.max_response_bytes,
        )

    # ------------------------------------------------------------------ fingerprint
    async def fingerprint(self, port: OpenPort, ctx: ScanContext) -> Endpoint | None:
        """Positive evidence: a HandshakeV10 greeting (or a well-formed ERR in its place).
        Never raises."""
        cfg = ctx.config
        client = MysqlClient(ctx.network, port.ip, port.port, timeout=cfg.read_timeout)
        try:
            async with asyncio.timeout(cfg.connect_timeout + 2 * cfg.read_timeout):
                first = await client.greet()
        except Exception:
            return None
        finally:
            await client.close()
        if isinstance(first, MyError):
            if not 1000 <= first.code < 5000:
                return None
            evidence = f"the server sent ERR {first.code} instead of a greeting"
            version = None
        else:
            if first.flavour == "clickhouse":
                return None
            evidence = f"HandshakeV10 greeting, auth plugin {sanitize(first.auth_plugin, 40)}"
            version = server_version(first)
        return Endpoint(
            host=port.host,
            ip=port.ip,
            port=port.port,
            service=self.name,
            transport="mysql",
            evidence=evidence,
            version=version,
        )

    # ------------------------------------------------------------------ assess
    async def assess(self, endpoint: Endpoint, ctx: ScanContext) -> ServiceResult:
        """Never raises for anything the server sends; an unexpected failure becomes a note."""
        report = await assess_guarded(endpoint, self.name, lambda: self._assess(endpoint, ctx))
        return ServiceResult(report=report, findings=tuple(self.findings(report)))

    async def _assess(self, endpoint: Endpoint, ctx: ScanContext) -> ServiceReport:
        notes: list[str] = []
        open_users: list[str] = []
        password_users: list[str] = []
        session: MysqlClient | None = None
        proof: str | None = None
        version = endpoint.version
        refused: list[str] = []
        for user in USERS:
            shown = repr(user) if user else "the anonymous user"
            client = self._client(endpoint.ip, endpoint.port, ctx)
            try:
                login = await client.login(user)
            except (TimeoutError, OSError, ProbeError) as exc:
                # a server that breaks the protocol once gets no more attempts
                notes.append(f"login as {shown} failed ({type(exc).__name__}): no more users tried")
                await client.close()
                break
            if login.greeting is not None:
                version = server_version(login.greeting)
            if login.outcome == "password":
                password_users.append(shown)
            elif login.outcome == "refused":
                refused.append(f"ERR {login.error.code}" if login.error else "refused")
            else:
                challenge = Challenge.new()
                try:
                    res = await client.query(f"SELECT VERSION(), {challenge.expression}")
                    row = res.rows[0] if res.ok and len(res.rows) == 1 else ()
                except (TimeoutError, OSError, ProbeError):
                    row = ()
                if len(row) == 2 and challenge.matches(row[1]):
                    open_users.append(shown)
                    if session is None:
                        session = client
                        proof = (
                            f"user {shown} with an empty password answered SELECT VERSION(), "
                            f"{challenge.expression} with exactly {challenge.expected}"
                        )
                        continue
                else:
                    notes.append(f"{shown}: login accepted but the proof query failed")
            await client.close()
        if session is None:
            if password_users:
                auth, why = AuthState.REQUIRED, "an empty password was refused (ERR 1045)"
            else:
                auth = AuthState.UNKNOWN
                why = "no login with an empty password succeeded: " + (
                    ", ".join(sorted(set(refused))) or "no answer"
                )
            return ServiceReport.for_endpoint(
                endpoint, service=self.name, version=version, auth=auth, notes=(why, *notes)
            )
        notes.insert(0, f"logins with an empty password: {', '.join(open_users)}")
        try:
            caps = await self._capabilities(session, notes)
            tables, total, more = await self._tables(session, ctx)
            notes.extend(more)

            async def sample(
                t: SqlTable,
            ) -> tuple[tuple[str, ...], list[tuple[str | None, ...]]] | str:
                cols = [c.name for c in t.columns][:MAX_SAMPLE_COLUMNS]
                if not cols:
                    return "columns unknown"
                exprs = ", ".join(
                    f"LEFT(CAST({MYSQL.ident(c)} AS CHAR), {cell_cap()}) AS {MYSQL.ident(c)}"
                    for c in cols
                )
                src = f"{MYSQL.ident(t.database)}.{MYSQL.ident(t.table)}"
                n = max(0, ctx.config.sample_rows)
                assert session is not None
                res = await session.query(f"SELECT {exprs} FROM {src} LIMIT {n}", max_rows=n)  # noqa: S608 - quoted names
                if res.error is not None:
                    return f"ERR {res.error.code}"
                return res.columns, list(res.rows)

            resources, coverage, sample_notes = await sample_tables(
                tables, sample, ctx, total=total
            )
        finally:
            await session.close()
        notes.extend(sample_notes)
        return ServiceReport.for_endpoint(
            endpoint,
            service=self.name,
            version=version,
            auth=AuthState.NONE,
            proof=proof,
            resources=resources,
            capabilities=caps,
            coverage=coverage,
            notes=tuple(notes),
        )

    async def _capabilities(self, session: MysqlClient, notes: list[str]) -> Capabilities:
        grants = await session.query("SHOW GRANTS", max_rows=200)
        parsed = parse_grants(r[0] or "" for r in grants.rows if r) if grants.ok else {}
        if not grants.ok:
            notes.append("SHOW GRANTS refused: privileges unknown")
        else:
            shown = sorted(parsed)[:12]
            notes.append("privileges: " + (", ".join(shown) if shown else "none beyond USAGE"))
        priv = await session.query("SELECT @@secure_file_priv")
        secure = priv.rows[0][0] if priv.ok and priv.rows and priv.rows[0] else None
        mariadb = session.greeting is not None and session.greeting.flavour == "mariadb"
        if secure:
            notes.append(f"secure_file_priv limits file access to {sanitize(secure, 80)}")
        return _decide(parsed, secure, known=grants.ok, mariadb=mariadb)

    async def _tables(
        self, session: MysqlClient, ctx: ScanContext
    ) -> tuple[list[SqlTable], int | None, list[str]]:
        notes: list[str] = []
        cap = ctx.config.max_resources
        res = await session.query(
            "SELECT table_schema, table_name, table_type, engine, table_rows, "  # noqa: S608 - constants and quoted names
            "data_length + index_length FROM information_schema.tables "
            f"WHERE table_schema NOT IN {_HIDDEN} ORDER BY table_schema, table_name "
            f"LIMIT {cap + 1}",
            max_rows=cap + 1,
        )
        if res.error is not None:
            notes.append(f"information_schema.tables refused (ERR {res.error.code})")
        tables: list[SqlTable] = []
        by_key: dict[tuple[str, str], SqlTable] = {}
        for row in res.rows:
            if len(row) != 6 or row[0] is None or row[1] is None:
                continue
            base = (row[2] or "").upper() == "BASE TABLE"
            t = SqlTable(
                database=row[0],
                table=row[1],
                kind="table" if base else "view",
                engine=row[3],
                rows=_int(row[4]),
                bytes=_int(row[5]),
                sampleable=base,
                why_not=None if base else "views run queries",
            )
            tables.append(t)
            by_key[(row[0], row[1])] = t
        total: int | None = len(tables)
        if len(tables) > cap:
            tables, total = tables[:cap], None
            notes.append(f"more than {cap} tables: the first {cap} listed")
        schemas = sorted({t.database for t in tables})
        notes.append(
            f"schemas ({len(schemas)}): " + ", ".join(sanitize(s, 60) for s in schemas[:20])
        )
        cols = await session.query(columns_statement(_HIDDEN, _MAX_COLUMNS), max_rows=_MAX_COLUMNS)
        attach_columns(by_key, cols.rows)
        return tables, total, notes

    # ------------------------------------------------------------------ findings
    def findings(self, report: ServiceReport) -> list[Finding]:
        out = access_findings(CATALOGUE, report, containers="schemas")
        basis = "from SHOW GRANTS; not exercised"
        for rule_id, names in (
            ("mysql.capability.file", ("file",)),
            ("mysql.capability.admin", ("super", "grant", "create-user", "shutdown", "process")),
            ("mysql.capability.write", ("write", "ddl")),
        ):
            out.extend(capability_finding(CATALOGUE, rule_id, report, names, basis))
        return out
