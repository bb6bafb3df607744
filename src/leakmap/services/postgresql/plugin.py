"""The PostgreSQL plugin (5432): logins without a password, databases, tables with row
estimates, bounded samples, classification, dangerous role attributes - read-only.

What it reports, for a server whose ``pg_hba.conf`` trusts the network::

    postgresql 10.0.0.7:5432 postgresql 15.18 auth=none (trust: postgres, admin)
      chatbot.public.log_stream  table  ~300 rows   secret x40, chat x60, pii x31
      capabilities: superuser=True file=True code-execution=True write=True ddl=True
    critical  postgresql.open-access          'postgres' logs in without a password ...
    critical  postgresql.capability.code-execution  COPY ... PROGRAM runs shell commands ...

How, and what it never does:

* **Login**: a StartupMessage for ``postgres`` and a few common users (:data:`USERS`) with no
  password (:mod:`.wire`). AuthenticationOk means ``trust`` (or an empty password accepted);
  a request for a password (md5, SCRAM, cleartext) means ``required`` - nothing is sent,
  PostgreSQL never accepts an empty password. Every session starts with
  ``default_transaction_read_only=on`` and a ``statement_timeout``.
* **Open means proven**: auth ``none`` only when ``SELECT version(), A * B`` with random A and
  B answers exactly the product and a PostgreSQL version.
* **Inventory**: ``pg_database``, then per database ``pg_class`` (tables, partitioned tables,
  materialized views, views, foreign tables; ``reltuples`` as the row estimate,
  ``pg_total_relation_size``), ``information_schema.columns``. Views and foreign tables are
  listed, never read (a view runs a query; a foreign table contacts another server).
* **Samples**: ``SELECT left(CAST(col AS text), 16384) ... LIMIT n`` - each cell cut on the
  server.
* **Capabilities** from ``pg_roles`` and role memberships, never exercised: ``superuser``,
  ``file`` (pg_read_server_files), ``file-write`` (pg_write_server_files),
  ``code-execution`` (pg_execute_server_program: ``COPY ... PROGRAM``), ``write`` (INSERT,
  UPDATE or DELETE on some table), ``ddl`` (CREATE in the database or a schema),
  ``create-role``.
* Every statement passes the shared read-only guard; the server's own statement log
  (``log_statement=all``) holds only SELECTs (tests/integration/sql).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
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
from leakmap.services.common.sqlguard import POSTGRESQL, UnsafeStatement
from leakmap.services.postgresql.wire import AUTH_NAMES, PgClient, PgLogin, PgResult
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

__all__ = ["CATALOGUE", "USERS", "PostgreSQL"]

#: users tried without a password, in this order
USERS = ("postgres", "admin", "root", "app")
_DBS = ("postgres", "template1")
_MAX_DATABASES = 64
_MAX_COLUMNS = 200_000
_HIDDEN_SCHEMAS = "('pg_catalog', 'information_schema')"
_SAMPLEABLE = {"r": "table", "p": "table", "m": "materialized-view"}
_LISTED_ONLY = {
    "v": ("view", "views run queries"),
    "f": ("foreign-table", "foreign tables reach other servers"),
}
_VERSION = re.compile(r"^PostgreSQL (\d+(?:\.\d+){0,2})")

_DOCS = "https://www.postgresql.org/docs/current/"
CATALOGUE = Catalogue(
    "postgresql",
    (
        rule(
            "postgresql.open-access",
            Severity.HIGH,
            "PostgreSQL lets a user log in without a password",
            "Replace 'trust' in pg_hba.conf with scram-sha-256 for every network entry, set "
            "strong passwords, and keep listen_addresses off public interfaces. Critical "
            "when the user is a superuser or the data holds secrets or chat history.",
            _DOCS + "auth-pg-hba-conf.html",
            _DOCS + "auth-trust.html",
        ),
        rule(
            "postgresql.auth-unknown",
            Severity.LOW,
            "PostgreSQL is reachable but its authentication state could not be determined",
            "Check pg_hba.conf for this network by hand; firewall the port if it does not "
            "need to be reachable.",
            _DOCS + "auth-pg-hba-conf.html",
        ),
        rule(
            "postgresql.capability.superuser",
            Severity.CRITICAL,
            "Password-less login is a superuser",
            "Never let a superuser log in without a password; use a least-privilege role for "
            "applications.",
            _DOCS + "role-attributes.html",
        ),
        rule(
            "postgresql.capability.code-execution",
            Severity.CRITICAL,
            "Password-less login can run shell commands (COPY ... PROGRAM)",
            "Revoke pg_execute_server_program (and superuser) from roles reachable without "
            "a password.",
            _DOCS + "sql-copy.html",
            _DOCS + "predefined-roles.html",
        ),
        rule(
            "postgresql.capability.file",
            Severity.CRITICAL,
            "Password-less login can read or write files on the server",
            "Revoke pg_read_server_files / pg_write_server_files (and superuser).",
            _DOCS + "predefined-roles.html",
        ),
        rule(
            "postgresql.capability.write",
            Severity.HIGH,
            "Password-less login can change data (INSERT/UPDATE/DELETE) or schemas",
            "Grant only SELECT to roles reachable without a password, or require passwords.",
            _DOCS + "ddl-priv.html",
        ),
    ),
    data_noun="table",
)


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    v = value.strip().lstrip("-")
    if not v.isdigit() or value.strip().startswith("-"):
        return None
    return int(v)


def _flag(value: str | None) -> bool | None:
    return {"t": True, "f": False}.get(value or "")


class PostgreSQL:
    """PostgreSQL (and anything answering its v3 protocol on 5432)."""

    name: ClassVar[str] = "postgresql"
    default_ports: ClassVar[Mapping[int, str]] = MappingProxyType({5432: "postgresql"})
    protocols: ClassVar[frozenset[str]] = frozenset({"silent", "reply"})
    url_schemes: ClassVar[Mapping[str, tuple[int, str]]] = MappingProxyType(
        {"postgresql": (5432, "postgresql"), "postgres": (5432, "postgresql")}
    )
    capabilities: ClassVar[Mapping[str, str]] = MappingProxyType(
        {
            "superuser": "the login is a superuser (everything below)",
            "file": "reads files on the server (pg_read_server_files)",
            "file-write": "writes files on the server (pg_write_server_files)",
            "code-execution": "runs shell commands: COPY ... PROGRAM (pg_execute_server_program)",
            "write": "INSERT / UPDATE / DELETE on some table",
            "ddl": "CREATE in the database or one of its schemas",
            "create-role": "creates and alters roles",
        }
    )

    def accepts(self, pre: PreProbe) -> bool:
        """PostgreSQL never speaks first and closes on an HTTP request: nothing to see."""
        return False

    def _client(self, endpoint_ip: str, port: int, ctx: ScanContext) -> PgClient:
        cfg = ctx.config
        return PgClient(
            ctx.network,
            endpoint_ip,
            port,
            timeout=cfg.read_timeout + cfg.query_timeout_s,
            reply_limit=cfg.max_response_bytes,
            statement_timeout_ms=cfg.query_timeout_s * 1000,
        )

    # ------------------------------------------------------------------ fingerprint
    async def fingerprint(self, port: OpenPort, ctx: ScanContext) -> Endpoint | None:
        """Positive evidence: a well-formed authentication answer or a FATAL error with a
        SQLSTATE to our StartupMessage. Never raises."""
        cfg = ctx.config
        client = PgClient(ctx.network, port.ip, port.port, timeout=cfg.read_timeout)
        try:
            async with asyncio.timeout(cfg.connect_timeout + 2 * cfg.read_timeout):
                login = await client.login(USERS[0], _DBS[0])
        except Exception:
            return None
        finally:
            await client.close()
        version = None
        if login.ok:
            evidence = "StartupMessage answered AuthenticationOk and ReadyForQuery"
            raw = login.parameters.get("server_version", "")
            m = re.match(r"\d+(?:\.\d+){0,2}", raw)
            version = m.group(0) if m else None
        elif login.outcome == "password":
            evidence = f"StartupMessage answered with a {AUTH_NAMES[login.auth_code or 0]} request"
        elif login.error is not None and re.fullmatch(r"[0-9A-Z]{5}", login.error.code):
            evidence = f"StartupMessage answered ErrorResponse SQLSTATE {login.error.code}"
        else:
            return None
        return Endpoint(
            host=port.host,
            ip=port.ip,
            port=port.port,
            service=self.name,
            transport="postgresql",
            evidence=evidence,
            version=version,
        )

    # ------------------------------------------------------------------ assess
    async def assess(self, endpoint: Endpoint, ctx: ScanContext) -> ServiceResult:
        """Never raises for anything the server sends; an unexpected failure becomes a note."""
        report = await assess_guarded(endpoint, self.name, lambda: self._assess(endpoint, ctx))
        return ServiceResult(report=report, findings=tuple(self.findings(report)))

    async def _login(
        self, endpoint: Endpoint, ctx: ScanContext, user: str, db: str | None = None
    ) -> tuple[PgLogin, PgClient]:
        client = self._client(endpoint.ip, endpoint.port, ctx)
        login = await client.login(user, db or _DBS[0])
        if db is None and login.error is not None and login.error.code == "3D000":
            login = await client.login(user, _DBS[1])  # no 'postgres' database
        return login, client

    async def _assess(self, endpoint: Endpoint, ctx: ScanContext) -> ServiceReport:
        notes: list[str] = []
        open_users: list[str] = []
        password_users: list[str] = []
        session: PgClient | None = None
        proof: str | None = None
        version = endpoint.version
        for user in USERS:
            try:
                login, client = await self._login(endpoint, ctx, user)
            except (TimeoutError, OSError, ProbeError) as exc:
                # a server that breaks the protocol once gets no more attempts
                notes.append(
                    f"login as {user!r} failed ({type(exc).__name__}): no more users tried"
                )
                break
            if login.outcome == "password":
                password_users.append(user)
            elif login.ok:
                challenge = Challenge.new()
                try:
                    res = await client.query(f"SELECT version(), {challenge.expression}")
                except (TimeoutError, OSError, ProbeError):
                    res = PgResult(truncated=True)
                row = res.rows[0] if res.ok and len(res.rows) == 1 and not res.truncated else ()
                m = _VERSION.match(row[0] or "") if len(row) == 2 else None
                if m and challenge.matches(row[1]):
                    open_users.append(user)
                    version = m.group(1)
                    if session is None:
                        session = client
                        proof = (
                            f"user {user!r} without a password answered SELECT version(), "
                            f"{challenge.expression} with exactly {challenge.expected}"
                        )
                        continue
                else:
                    notes.append(f"user {user!r}: login accepted but the proof query failed")
            await client.close()
        if session is None:
            await_note = (
                f"a password is required for {', '.join(password_users)}"
                if password_users
                else "no login without a password succeeded and none asked for a password"
            )
            auth = AuthState.REQUIRED if password_users else AuthState.UNKNOWN
            return ServiceReport.for_endpoint(
                endpoint, service=self.name, version=version, auth=auth,
                notes=(await_note, *notes),
            )  # fmt: skip
        notes.insert(0, f"logins without a password: {', '.join(open_users)}")
        if password_users:
            notes.append(f"password required for: {', '.join(password_users)}")
        try:
            tables, total, caps, more = await self._enumerate(endpoint, ctx, session, open_users[0])
        finally:
            await session.close()
        notes.extend(more)
        clients: dict[str, PgClient] = {}

        async def sample(t: SqlTable) -> tuple[tuple[str, ...], list[tuple[str | None, ...]]] | str:
            dbname, schema = t.database.split(".", 1)
            client = clients.get(dbname)
            if client is None:
                login, client = await self._login(endpoint, ctx, open_users[0], dbname)
                if not login.ok:
                    return "login to the database refused"
                clients[dbname] = client
            cols = [c.name for c in t.columns][:MAX_SAMPLE_COLUMNS] or ["*"]
            if cols == ["*"]:
                return "columns unknown"
            exprs = ", ".join(
                f"left(CAST({POSTGRESQL.ident(c)} AS text), {cell_cap()}) AS {POSTGRESQL.ident(c)}"
                for c in cols
            )
            src = f"{POSTGRESQL.ident(schema)}.{POSTGRESQL.ident(t.table)}"
            n = max(0, ctx.config.sample_rows)
            res = await client.query(f"SELECT {exprs} FROM {src} LIMIT {n}", max_rows=n)  # noqa: S608 - quoted names
            if res.error is not None:
                return f"SQLSTATE {res.error.code}"
            return res.columns, list(res.rows)

        try:
            resources, coverage, sample_notes = await sample_tables(
                tables, sample, ctx, total=total
            )
        finally:
            for c in clients.values():
                await c.close()
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

    async def _enumerate(
        self, endpoint: Endpoint, ctx: ScanContext, session: PgClient, user: str
    ) -> tuple[list[SqlTable], int | None, Capabilities, list[str]]:
        notes: list[str] = []
        caps = await self._capabilities(session, notes)
        dbs = await session.query(
            "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate "  # noqa: S608 - constants and quoted names
            f"ORDER BY datname LIMIT {_MAX_DATABASES + 1}",
            max_rows=_MAX_DATABASES + 1,
        )
        names = [r[0] for r in dbs.rows if r and r[0]]
        if len(names) > _MAX_DATABASES:
            notes.append(f"more than {_MAX_DATABASES} databases: the first {_MAX_DATABASES} read")
            names = names[:_MAX_DATABASES]
        notes.append(f"databases ({len(names)}): " + ", ".join(sanitize(n, 60) for n in names[:20]))
        tables: list[SqlTable] = []
        cap = ctx.config.max_resources
        writable = False
        complete = dbs.ok
        for db in names:
            if len(tables) > cap:
                break
            try:
                login, client = await self._login(endpoint, ctx, user, db)
            except (TimeoutError, OSError, ProbeError) as exc:
                notes.append(f"{sanitize(db, 60)}: login failed ({type(exc).__name__})")
                complete = False
                continue
            try:
                if not login.ok:
                    notes.append(f"{sanitize(db, 60)}: login refused")
                    complete = False
                    continue
                found, can_write = await self._tables(client, db, cap + 1 - len(tables))
                tables.extend(found)
                writable = writable or can_write
            except (TimeoutError, OSError, ProbeError, UnsafeStatement) as exc:
                notes.append(f"{sanitize(db, 60)}: listing stopped ({type(exc).__name__})")
                complete = False
            finally:
                await client.close()
        total: int | None = len(tables)
        if len(tables) > cap:
            tables = tables[:cap]
            total = None
            complete = False
            notes.append(f"more than {cap} tables: the first {cap} listed")
        if caps.get("superuser"):
            writable = True
        merged = dict(caps.items())
        # False only when every database was listed: no table grants INSERT/UPDATE/DELETE
        merged["write"] = True if writable else (False if complete else merged.get("write"))
        return tables, total, Capabilities(merged), notes

    async def _tables(self, client: PgClient, db: str, room: int) -> tuple[list[SqlTable], bool]:
        res = await client.query(
            "SELECT n.nspname, c.relname, c.relkind, c.reltuples::bigint, "  # noqa: S608 - constants and quoted names
            "pg_total_relation_size(c.oid), "
            "has_table_privilege(c.oid, 'INSERT') OR has_table_privilege(c.oid, 'UPDATE') "
            "OR has_table_privilege(c.oid, 'DELETE') "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            f"WHERE c.relkind IN ('r', 'p', 'm', 'v', 'f') AND n.nspname NOT IN {_HIDDEN_SCHEMAS} "
            "AND n.nspname !~ '^pg_' ORDER BY n.nspname, c.relname "
            f"LIMIT {room}",
            max_rows=room,
        )
        out: list[SqlTable] = []
        by_key: dict[tuple[str, str], SqlTable] = {}
        writable = False
        for row in res.rows:
            if len(row) != 6 or row[0] is None or row[1] is None:
                continue
            kind_code = row[2] or ""
            rows = _int(row[3])
            t = SqlTable(
                database=f"{db}.{row[0]}",
                table=row[1],
                kind=_SAMPLEABLE.get(kind_code) or _LISTED_ONLY.get(kind_code, ("table", ""))[0],
                rows=rows,
                bytes=_int(row[4]),
                sampleable=kind_code in _SAMPLEABLE,
                why_not=_LISTED_ONLY.get(kind_code, ("", None))[1],
            )
            writable = writable or (kind_code in ("r", "p") and _flag(row[5]) is True)
            out.append(t)
            by_key[(row[0], row[1])] = t
        cols = await client.query(
            columns_statement(_HIDDEN_SCHEMAS, _MAX_COLUMNS), max_rows=_MAX_COLUMNS
        )
        attach_columns(by_key, cols.rows)
        return out, writable

    async def _capabilities(self, session: PgClient, notes: list[str]) -> Capabilities:
        attrs = await session.query(
            "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"
        )
        row = attrs.rows[0] if attrs.ok and len(attrs.rows) == 1 else (None, None, None)
        superuser, createrole, createdb = (_flag(v) for v in row)
        members = await session.query(
            "SELECT pg_has_role(current_user, 'pg_read_server_files', 'USAGE'), "
            "pg_has_role(current_user, 'pg_write_server_files', 'USAGE'), "
            "pg_has_role(current_user, 'pg_execute_server_program', 'USAGE')"
        )
        m = members.rows[0] if members.ok and len(members.rows) == 1 else (None, None, None)
        read_files, write_files, program = (_flag(v) for v in m)
        if not members.ok:
            notes.append("predefined roles (PostgreSQL 11+) not found: file roles unknown")
        ddl_q = await session.query(
            "SELECT has_database_privilege(current_database(), 'CREATE') OR EXISTS ("
            "SELECT 1 FROM pg_namespace WHERE nspname !~ '^pg_' AND nspname <> "
            "'information_schema' AND has_schema_privilege(oid, 'CREATE'))"
        )
        ddl = _flag(ddl_q.rows[0][0]) if ddl_q.ok and ddl_q.rows and ddl_q.rows[0] else None

        def either(own: bool | None) -> bool | None:
            return True if superuser else own

        named = (("superuser", superuser), ("createrole", createrole), ("createdb", createdb))
        attrs_note = [n for n, v in named if v]
        if attrs_note:
            notes.append("role attributes: " + ", ".join(attrs_note))
        return Capabilities.of(
            superuser=superuser,
            file=either(read_files),
            **{
                "file-write": either(write_files),
                "code-execution": either(program),
                "create-role": either(createrole),
            },
            ddl=True if superuser else ddl,
            write=True if superuser else None,
        )

    # ------------------------------------------------------------------ findings
    def findings(self, report: ServiceReport) -> list[Finding]:
        superuser = report.capabilities.get("superuser") is True
        out = access_findings(CATALOGUE, report, containers="databases", severe=superuser)
        basis = "from role attributes and memberships; not exercised"
        for rule_id, names in (
            ("postgresql.capability.superuser", ("superuser",)),
            ("postgresql.capability.code-execution", ("code-execution",)),
            ("postgresql.capability.file", ("file", "file-write")),
            ("postgresql.capability.write", ("write", "ddl")),
        ):
            out.extend(capability_finding(CATALOGUE, rule_id, report, names, basis))
        return out
