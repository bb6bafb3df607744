"""The ClickHouse service plugin: fingerprint, prove access, enumerate, sample, classify,
assess capabilities and known CVEs - read-only.

What it reports, for an exposed server like the one in the DeepSeek incident::

    clickhouse 127.0.7.1:8123 http 18.16.1 auth=none
      chatbot.log_stream  MergeTree  1200 rows   secret x40, chat x200, pii x31, infrastructure x57
      capabilities: file=True url=True remote=True write=True ddl=True
    critical  clickhouse.open-access       default user, no password ...
    critical  clickhouse.data.secret       chatbot.log_stream: secret.openai.. x12 (sk-proj…#8f3a1c)
    critical  clickhouse.capability.file   file() table function usable (readonly=0)

Every statement goes through :func:`.safety.guard_sql` and carries ``readonly=1`` and server-side
limits (see :mod:`.http`); sampled values are classified in memory and only redacted examples
leave this module. Every query transport carries the whole chain through one
:class:`~.query.ChSession`: HTTP(S) (:mod:`.http`), the native protocol plain or TLS
(:mod:`.native_query`), and the MySQL / PostgreSQL interfaces (:mod:`.wire_sessions`, login as
``default`` with an empty password) - the same proof, inventory, samples and capabilities.

Decisions worth knowing:

* auth ``none`` only on an answer the scanner can check: over HTTP, ``SELECT version(), A * B``
  with random A and B answered complete, parsed, with the exact product
  (:func:`.query.prove_open`; a reply cut short, compressed, unparsable or broken off is
  ``unknown``) - over every transport (a native Hello alone proves nothing: an echo of our
  own Hello parses as one). ``required`` for 192/193/194 and for 516 (a note says 516 may also be an
  IP allow-list: ClickHouse answers both alike); ``unknown`` for 195 (IP not allowed), 497
  (a login with no checkable answer), any other refusal, timeouts and odd answers.
* the version comes from ``SELECT version()``, the native Hello, an error text's
  ``(version X.Y.Z)``, the MySQL greeting or the PostgreSQL interface's server_version -
  whichever the server gives.
* resources are the tables outside ``system`` / ``INFORMATION_SCHEMA``; engines that would
  consume messages, reach other systems or run scripts are listed, never read.
* capabilities are derived from the profile's ``readonly``/``allow_ddl``, the server's table
  functions and (RBAC) ``SHOW GRANTS``; a capability is never exercised, and "cannot tell"
  is ``None``.
* notes carry error codes and names, never the server's message text.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

import httpx

from leakmap.errors import ProbeError
from leakmap.findings import Finding, Severity
from leakmap.sanitize import sanitize
from leakmap.services.base import (
    AuthState,
    Capabilities,
    Coverage,
    DataCategory,
    DataFinding,
    Endpoint,
    OpenPort,
    PreProbe,
    Resource,
    ScanContext,
    ServiceReport,
    ServiceResult,
    Transport,
)
from leakmap.services.clickhouse.capabilities import decide, read_inputs
from leakmap.services.clickhouse.codes import auth_from_code
from leakmap.services.clickhouse.cves import affected_by
from leakmap.services.clickhouse.fingerprint import (
    Probe,
    probe_http,
    probe_native,
    transport_order,
)
from leakmap.services.clickhouse.http import ChHttp
from leakmap.services.clickhouse.inventory import (
    Inventory,
    detect_features,
    is_sampleable,
    list_tables,
    sample_table,
)
from leakmap.services.clickhouse.native_query import ChNative
from leakmap.services.clickhouse.query import ChSession, prove_open
from leakmap.services.clickhouse.rules import CATALOGUE, make_finding
from leakmap.services.clickhouse.safety import UnsafeStatement
from leakmap.services.clickhouse.wire_sessions import CH_PG_VERSION, ChOverMysql, ChOverPostgres
from leakmap.services.common.budget import Deadline, unsampled_notes
from leakmap.services.common.sample import classify_sample
from leakmap.services.common.sampling import (
    ENGINE_NOT_READ,
    SAMPLING_BUDGET,
    TIME_BUDGET,
    prioritise,
)

__all__ = ["ClickHouse"]

_HTTP_TRANSPORTS = (Transport.HTTP, Transport.HTTPS)
_NATIVE_TRANSPORTS = (Transport.NATIVE, Transport.NATIVE_TLS)
_SQL_WIRE_TRANSPORTS = (Transport.MYSQL, Transport.POSTGRESQL)


def _identity(display: str | None, version: str | None, timezone: str | None) -> dict[str, str]:
    """The server identity evidence both the HTTP answer and the native Hello carry."""
    values = {"display_name": display, "version": version, "timezone": timezone}
    return {k: sanitize(v, 120) for k, v in values.items() if v}


_QUERY_TRANSPORTS = _HTTP_TRANSPORTS + _NATIVE_TRANSPORTS + _SQL_WIRE_TRANSPORTS
_PRE_MARKERS = (
    b"is for clickhouse-client",
    b"-ClickHouse",
    b"DB::Exception",
    b"ClickHouseProfileEvents_",
    b"ClickHouseMetrics_",
    b"There is no handle",
)


def _base_url(ip: str, port: int, tls: bool) -> str:
    host = f"[{ip}]" if ":" in ip else ip
    return f"{'https' if tls else 'http'}://{host}:{port}"


class ClickHouse:
    """ClickHouse (HTTP, HTTPS, native, native TLS, MySQL wire, interserver, Prometheus)."""

    name: ClassVar[str] = "clickhouse"
    protocols: ClassVar[frozenset[str]] = frozenset({"http", "https", "reply", "banner", "silent"})
    url_schemes: ClassVar[Mapping[str, tuple[int, str]]] = MappingProxyType(
        {"clickhouse": (9000, Transport.NATIVE), "clickhouses": (9440, Transport.NATIVE_TLS)}
    )
    capabilities: ClassVar[Mapping[str, str]] = MappingProxyType(
        {
            "file": "file() reads files on the server",
            "url": "url() makes the server send HTTP requests",
            "remote": "remote() makes the server query other servers",
            "write": "INSERT allowed",
            "ddl": "CREATE / ALTER / DROP allowed",
            "executable": "executable() runs scripts on the server",
        }
    )
    default_ports: ClassVar[Mapping[int, str]] = MappingProxyType(
        {
            8123: Transport.HTTP,
            8443: Transport.HTTPS,
            9000: Transport.NATIVE,
            9440: Transport.NATIVE_TLS,
            9004: Transport.MYSQL,
            9005: Transport.POSTGRESQL,
            9009: Transport.INTERSERVER,
            9363: Transport.PROMETHEUS,
        }
    )

    # ------------------------------------------------------------------ fingerprint
    def accepts(self, pre: PreProbe) -> bool:
        """ClickHouse-looking pre-probes: X-ClickHouse-* headers or ``Ok.`` on ``GET /``, the
        native port's "is for clickhouse-client" text, a ``-ClickHouse`` MySQL greeting, the
        interserver/404 texts, or ClickHouse metric names."""
        if pre.http is not None:
            if any(k.lower().startswith("x-clickhouse-") for k in pre.http.headers):
                return True
            body = pre.http.body[:65536]
            return body == b"Ok.\n" or any(m in body for m in _PRE_MARKERS)
        raw = pre.banner or pre.reply
        return any(m in raw for m in _PRE_MARKERS)

    async def fingerprint(self, port: OpenPort, ctx: ScanContext) -> Endpoint | None:
        """Positive evidence only; None otherwise. Bounded in time; never raises."""
        cfg = ctx.config
        # the pipeline's default per-port fingerprint limit is the same
        budget = cfg.connect_timeout + 2 * cfg.read_timeout
        try:
            async with asyncio.timeout(budget):
                return await self._fingerprint(port, ctx)
        except Exception:
            return None

    async def _fingerprint(self, port: OpenPort, ctx: ScanContext) -> Endpoint | None:
        for transport in transport_order(port.port, self.default_ports):
            probe = await self._probe(transport, port, ctx)
            if probe.transport is not None:
                if probe.transport == Transport.NATIVE and transport == Transport.HTTP:
                    better = await self._probe(Transport.NATIVE, port, ctx)
                    if better.transport is not None:
                        probe = better
                return self._endpoint(port, probe)
            if probe.silent:
                return None
        return None

    async def _probe(self, transport: Transport, port: OpenPort, ctx: ScanContext) -> Probe:
        net, cfg = ctx.network, ctx.config
        if transport == Transport.POSTGRESQL:
            return await self._probe_postgres(port, ctx)
        if transport in _HTTP_TRANSPORTS:
            return await probe_http(
                net, port.ip, port.port, tls=transport == Transport.HTTPS, config=cfg
            )
        return await probe_native(
            net, port.ip, port.port, tls=transport == Transport.NATIVE_TLS, config=cfg
        )

    async def _probe_postgres(self, port: OpenPort, ctx: ScanContext) -> Probe:
        """ClickHouse's PostgreSQL interface says nothing ClickHouse-specific before a login:
        positive evidence is a login as 'default' whose server_version is a ClickHouse
        version (four numbers; PostgreSQL's carry two and a distribution text)."""
        session = ChOverPostgres(ctx.network, port.ip, port.port, ctx.config)
        try:
            refused = await session.login()
        except (TimeoutError, OSError, ProbeError):
            return Probe()
        finally:
            await session.close()
        version = session.server_version or ""
        if refused is not None or not CH_PG_VERSION.match(version):
            return Probe()
        return Probe(
            Transport.POSTGRESQL,
            evidence=f"PostgreSQL-protocol login as 'default' reported server_version "
            f"{version} (a ClickHouse version)",
            version=version,
        )

    def _endpoint(self, port: OpenPort, probe: Probe) -> Endpoint:
        assert probe.transport is not None
        details = dict(probe.details)
        if probe.auth is not None:
            details["auth"] = probe.auth.value
        return Endpoint(
            host=port.host,
            ip=port.ip,
            port=port.port,
            service=self.name,
            transport=probe.transport,
            evidence=probe.evidence,
            version=probe.version,
            details=details,
        )

    # ------------------------------------------------------------------ assess
    async def assess(self, endpoint: Endpoint, ctx: ScanContext) -> ServiceResult:
        """Never raises for anything the server sends; an unexpected failure becomes a note."""
        try:
            report = await self._assess(endpoint, ctx)
        except Exception as exc:  # the report must survive any hostile server
            # the exception's type only: its text may quote what the server sent
            report = ServiceReport.for_endpoint(
                endpoint,
                service=self.name,
                auth=AuthState.UNKNOWN,
                notes=(f"assessment stopped: {type(exc).__name__}",),
            )
        return ServiceResult(report=report, findings=tuple(self.findings(report)))

    async def _assess(self, endpoint: Endpoint, ctx: ScanContext) -> ServiceReport:
        t = endpoint.transport
        if t in _HTTP_TRANSPORTS:
            return await self._assess_http(endpoint, ctx)
        if t in _NATIVE_TRANSPORTS:
            return await self._assess_native(endpoint, ctx)
        if t in _SQL_WIRE_TRANSPORTS:
            return await self._assess_sql_wire(endpoint, ctx)
        notes: list[str] = []
        auth = AuthState.UNKNOWN
        if t == Transport.PROMETHEUS:
            auth = AuthState.NONE
            notes.append("Prometheus /metrics is readable without credentials")
        elif t == Transport.INTERSERVER:
            notes.append(
                "interserver (replication) HTTP port: it serves data parts to replicas; "
                "credentials (interserver_http_credentials) were not tested"
            )
        proof = "GET /metrics answered with ClickHouse metric series" if auth else None
        return self._report(endpoint, endpoint.version, auth, notes=notes, proof=proof)

    def _report(
        self,
        endpoint: Endpoint,
        version: str | None,
        auth: AuthState,
        *,
        resources: tuple[Resource, ...] = (),
        capabilities: Capabilities | None = None,
        notes: list[str] | None = None,
        proof: str | None = None,
        coverage: Coverage | None = None,
        identity: dict[str, str] | None = None,
        resources_at: str | None = None,
    ) -> ServiceReport:
        return ServiceReport.for_endpoint(
            endpoint,
            service=self.name,
            version=version,
            auth=auth,
            proof=proof if auth is AuthState.NONE else None,
            resources=resources,
            capabilities=capabilities or Capabilities(),
            coverage=coverage,
            notes=tuple(notes or ()),
            identity=identity or {},
            resources_at=resources_at,
        )

    async def _assess_native(self, endpoint: Endpoint, ctx: ScanContext) -> ServiceReport:
        """The whole chain over the native protocol (plain or TLS): the same proof question,
        enumeration, sampling and capabilities as over HTTP (:mod:`.native_query`)."""
        tls = endpoint.transport == Transport.NATIVE_TLS
        ch = ChNative(ctx.network, endpoint.ip, endpoint.port, ctx.config, tls=tls)
        try:
            return await self._assess_session(endpoint, ctx, ch, "the native protocol")
        finally:
            await ch.close()

    async def _assess_sql_wire(self, endpoint: Endpoint, ctx: ScanContext) -> ServiceReport:
        """ClickHouse's MySQL / PostgreSQL interface: log in as 'default' with an empty
        password, then the same chain as over HTTP (:mod:`.wire_sessions`)."""
        mysql = endpoint.transport == Transport.MYSQL
        cls = ChOverMysql if mysql else ChOverPostgres
        session = cls(ctx.network, endpoint.ip, endpoint.port, ctx.config)
        how = "the MySQL interface" if mysql else "the PostgreSQL interface"
        try:
            try:
                refused = await session.login()
            except (TimeoutError, OSError, ProbeError) as exc:
                note = f"login as 'default' failed ({type(exc).__name__}): auth state unknown"
                return self._report(endpoint, endpoint.version, AuthState.UNKNOWN, notes=[note])
            if refused is not None:
                mapped = auth_from_code(refused.code)
                if mapped is not None and mapped[0] is not AuthState.NONE:
                    return self._report(endpoint, endpoint.version, mapped[0], notes=[mapped[1]])
                note = (
                    f"login as 'default' without a password refused over {how} "
                    f"(code {refused.code}): a password is required"
                )
                return self._report(endpoint, endpoint.version, AuthState.REQUIRED, notes=[note])
            return await self._assess_session(endpoint, ctx, session, how)
        finally:
            await session.close()

    async def _assess_session(
        self, endpoint: Endpoint, ctx: ScanContext, ch: ChSession, how: str
    ) -> ServiceReport:
        notes: list[str] = []
        try:
            proof = await prove_open(ch)
        except (TimeoutError, httpx.TimeoutException):
            notes.append("timeout on the first query: auth state unknown")
            return self._report(endpoint, endpoint.version, AuthState.UNKNOWN, notes=notes)
        except (httpx.HTTPError, ProbeError, OSError) as exc:
            notes.append(f"first query failed ({type(exc).__name__}): auth state unknown")
            return self._report(endpoint, endpoint.version, AuthState.UNKNOWN, notes=notes)
        version = proof.version or endpoint.version
        auth = proof.auth
        if proof.note:
            notes.append(proof.note)
        if "timezone" in endpoint.details:
            notes.append(f"server timezone {endpoint.details['timezone']}")
        if auth != AuthState.NONE:
            return self._report(endpoint, version, auth, notes=notes)
        refused_first = frozenset(ch.refused)
        if refused_first:
            notes.append(
                "the server refused these safety settings (profile limits apply instead): "
                + ", ".join(sorted(refused_first))
            )
        proof_text = (
            f"SELECT version(), A * B with random A and B answered over {how}, "
            "complete, with the exact product"
        )
        identity = await self._server_identity(ch, endpoint, version)
        http = Transport(endpoint.transport) in _HTTP_TRANSPORTS
        if not http and self._http_in_scope(ctx, endpoint.ip):
            # deterministic: the same address's HTTP(S) endpoint is in this scan and reads
            # the tables; the scan links this report to it by identity (link_same_server)
            notes.append(
                "this address's ClickHouse HTTP(S) port is in the same scan: tables are read "
                "there once, and this report is linked to it by the server's identity"
            )
            return self._report(
                endpoint, version, auth, notes=notes, identity=identity, proof=proof_text
            )
        owner = None
        if all(identity.get(k) for k in ("display_name", "version", "timezone")):
            key = "|".join(
                (
                    self.name,
                    endpoint.ip,
                    *(identity[k] for k in ("display_name", "version", "timezone")),
                )
            )
            here = (
                f"[{endpoint.host}]:{endpoint.port}"
                if ":" in endpoint.host
                else f"{endpoint.host}:{endpoint.port}"
            )
            owner = ctx.claim(key, here)
        if owner is not None:
            notes.append(
                f"same server as {owner} (same address, display name, version and "
                "timezone): enumerated once, through that endpoint, whose report carries "
                "the resources"
            )
            return self._report(
                endpoint, version, auth, notes=notes, identity=identity, resources_at=owner,
                proof=proof_text,
            )  # fmt: skip
        coverage: Coverage | None
        try:
            resources, caps, more, coverage = await self._enumerate(ch, ctx)
        except (TimeoutError, OSError, httpx.HTTPError, ProbeError, UnsafeStatement) as exc:
            # access is proven; only the enumeration broke off
            resources, caps, coverage = (), Capabilities(), None
            more = [f"enumeration stopped ({type(exc).__name__}): resources incomplete"]
        notes.extend(more)
        if ch.refused and not refused_first:
            notes.append("settings refused by the server: " + ", ".join(sorted(ch.refused)))
        return self._report(
            endpoint,
            version,
            auth,
            resources=resources,
            capabilities=caps,
            coverage=coverage,
            identity=identity,
            notes=notes,
            proof=proof_text,
        )

    @staticmethod
    def _http_in_scope(ctx: ScanContext, ip: str) -> bool:
        """Whether this scan reaches the same address's usual HTTP(S) ports (8123, 8443)."""
        scope = ctx.network.scope
        return scope is not None and any(scope(ip, port) for port in (8123, 8443))

    async def _server_identity(
        self, ch: ChSession, endpoint: Endpoint, version: str | None
    ) -> dict[str, str]:
        """Display name (the HTTP answer's header or the native Hello), version and timezone
        (asked): what tells two endpoints are one server - with the address, never the port
        numbers. (Not uptime: it changes from one scan to the next, and the same scan must
        give the same report.)"""
        timezone = None
        try:
            res = await ch.rows("SELECT timezone()")
        except (TimeoutError, OSError, httpx.HTTPError, ProbeError):
            res = None
        if res is not None and res.ok and res.complete and len(res.rows) == 1:
            row = res.rows[0]
            if len(row) == 1:
                timezone = row[0]
        display = endpoint.details.get("server-display-name") or endpoint.details.get(
            "display-name"
        )
        return _identity(display, version, timezone)

    async def _assess_http(self, endpoint: Endpoint, ctx: ScanContext) -> ServiceReport:
        tls = endpoint.transport == Transport.HTTPS
        async with ctx.network.http_client() as client:
            ch = ChHttp(client, _base_url(endpoint.ip, endpoint.port, tls), ctx.config)
            return await self._assess_session(endpoint, ctx, ch, "HTTPS" if tls else "HTTP")

    async def _enumerate(
        self, ch: ChSession, ctx: ScanContext
    ) -> tuple[tuple[Resource, ...], Capabilities, list[str], Coverage | None]:
        """Inventory, prioritised bounded sampling, users and capabilities over ``ch``."""
        cfg = ctx.config
        notes: list[str] = []
        deadline = Deadline.for_endpoint(cfg)
        features = await detect_features(ch)
        coverage: Coverage | None = None
        if features is None:
            notes.append("system.columns unreadable: enumeration skipped")
            inv = Inventory()
        else:
            inv = await list_tables(ch, features, cfg)
            notes.extend(inv.notes)
        samples: dict[tuple[str, str], tuple[tuple[DataFinding, ...], int]] = {}
        why_not: dict[tuple[str, str], str] = {}
        skipped: dict[str, int] = {}
        readable = [t for t in inv.tables if is_sampleable(t.engine)]
        for t in inv.tables:
            if not is_sampleable(t.engine):
                why_not[(t.database, t.table)] = ENGINE_NOT_READ
                skipped[ENGINE_NOT_READ] = skipped.get(ENGINE_NOT_READ, 0) + 1
        order = prioritise(readable, name=lambda t: t.name, size=lambda t: t.bytes or t.rows)
        budget = max(0, cfg.max_sampled)
        for i, t in enumerate(order):
            key = (t.database, t.table)
            reason = SAMPLING_BUDGET if i >= budget else TIME_BUDGET if deadline.expired() else ""
            if reason:
                why_not[key] = reason
                skipped[reason] = skipped.get(reason, 0) + 1
                continue
            where = f"{sanitize(t.database, 60)}.{sanitize(t.table, 60)}"
            try:
                sample = await sample_table(ch, t, cfg)
            except (TimeoutError, OSError, httpx.HTTPError, ProbeError, UnsafeStatement) as exc:
                notes.append(f"{where}: sample failed ({type(exc).__name__})")
                why_not[key] = f"sample failed ({type(exc).__name__})"
                continue
            if sample.error:
                notes.append(f"{where}: sample refused ({sanitize(sample.error, 80)})")
                why_not[key] = "sample refused"
                continue
            samples[key] = (classify_sample(sample.rows, ctx.classifier), len(sample.rows))
        resources = []
        for t in inv.tables:
            found, sampled = samples.get((t.database, t.table), ((), None))
            resources.append(
                Resource(
                    kind="table",
                    database=t.database,
                    table=t.table,
                    engine=t.engine,
                    rows=t.rows,
                    bytes=t.bytes,
                    columns=tuple(t.columns),
                    data_findings=found,
                    sampled_rows=sampled,
                    unsampled=why_not.get((t.database, t.table)),
                )
            )
        if features is not None:
            coverage = Coverage(
                listed=len(resources),
                total=inv.total,
                cap=cfg.max_resources,
                sampled=len(samples),
                unsampled=skipped,
            )
        if skipped.get(ENGINE_NOT_READ):
            engines: dict[str, int] = {}
            for t in inv.tables:
                if not is_sampleable(t.engine):
                    k = sanitize(t.engine or "?", 40)
                    engines[k] = engines.get(k, 0) + 1
            listed = ", ".join(f"{k} x{v}" for k, v in sorted(engines.items()))
            notes.append(
                f"not sampled (reading them would consume messages, contact other systems, "
                f"run scripts or run view queries): {listed}"
            )
        rest = {k: v for k, v in skipped.items() if k != ENGINE_NOT_READ}
        if rest.get(SAMPLING_BUDGET):
            notes.append(
                f"sampling budget ({budget} tables, names suggesting logs, chats, prompts, "
                f"users, tokens or keys first, then the largest): {rest.pop(SAMPLING_BUDGET)} "
                "tables listed but not sampled"
            )
        notes.extend(unsampled_notes(rest, noun="tables"))
        if features is not None and "users" in features:
            users = await ch.rows("SELECT name FROM system.users LIMIT 51")
            if users.ok:
                names = [r[0] for r in users.rows if r and r[0]]
                shown = ", ".join(sanitize(n, 40) for n in names[:10])
                more_users = "" if len(names) <= 10 else ", ..."
                count = str(len(names)) if len(names) <= 50 else "more than 50"
                notes.append(f"system.users lists {count} users: {shown}{more_users}")
        try:
            inputs = await read_inputs(ch, features)
            caps = decide(inputs)
            notes.extend(inputs.notes)
            if inputs.readonly is not None:
                notes.append(
                    f"profile settings: readonly={inputs.readonly}"
                    + (f", allow_ddl={inputs.allow_ddl}" if inputs.allow_ddl is not None else "")
                )
        except (TimeoutError, OSError, httpx.HTTPError, ProbeError) as exc:
            caps = Capabilities()
            notes.append(f"capabilities unknown ({type(exc).__name__})")
        return tuple(resources), caps, notes, coverage

    # ------------------------------------------------------------------ findings
    def findings(self, report: ServiceReport) -> list[Finding]:
        """The findings a report proves (also usable on a report built elsewhere)."""
        out: list[Finding] = []
        host, port = report.host, report.port
        t = report.transport
        categories = {df.category for r in report.resources for df in r.data_findings}
        if report.auth == AuthState.NONE and t in _QUERY_TRANSPORTS:
            severe = DataCategory.SECRET in categories or DataCategory.CHAT in categories
            n_tables = len(report.resources)
            n_dbs = len({r.database for r in report.resources})
            how = {
                Transport.MYSQL: "the MySQL interface",
                Transport.POSTGRESQL: "the PostgreSQL interface",
            }.get(Transport(t), "HTTP" if t in _HTTP_TRANSPORTS else "the native protocol")
            evidence = f"user 'default' with an empty password was accepted over {how}"
            if report.resources or report.coverage is not None:
                evidence += f"; {n_dbs} databases, {n_tables} tables readable"
            elif report.resources_at:
                evidence += f"; its tables are listed in the report of {report.resources_at}"
            else:  # enumerated elsewhere (same server's HTTP endpoint) or not at all: no count
                evidence += "; tables not enumerated over this endpoint (see its notes)"
            if categories:
                evidence += "; data found: " + ", ".join(sorted(c.value for c in categories))
            out.append(
                make_finding(
                    "clickhouse.open-access",
                    host=host,
                    port=port,
                    evidence=evidence,
                    severity=Severity.CRITICAL if severe else Severity.HIGH,
                )
            )
        if report.auth == AuthState.UNKNOWN and t in _QUERY_TRANSPORTS:
            reason = report.notes[0] if report.notes else "no conclusive answer"
            out.append(
                make_finding("clickhouse.auth-unknown", host=host, port=port, evidence=reason)
            )
        out.extend(CATALOGUE.data_findings(report))
        caps = report.capabilities
        basis = "from the session's settings/grants"
        for rule_id, usable, evidence in (
            ("write", caps.get("write"), f"INSERT allowed for the anonymous session ({basis})"),
            ("ddl", caps.get("ddl"), f"DDL allowed for the anonymous session ({basis})"),
            ("file", caps.get("file"), f"file() table function usable ({basis}; not executed)"),
        ):
            if usable:
                out.append(
                    make_finding(
                        f"clickhouse.capability.{rule_id}", host=host, port=port, evidence=evidence
                    )
                )
        main = ("url", "remote")
        others = [n for n in main if caps.get(n)]
        others += sorted(
            n for n, v in caps.items() if v and n not in (*main, "write", "ddl", "file")
        )
        if others:
            out.append(
                make_finding(
                    "clickhouse.capability.table-functions",
                    host=host,
                    port=port,
                    evidence="usable table functions: " + ", ".join(others) + f" ({basis})",
                )
            )
        cves = affected_by(report.version)
        if cves:
            worst = max((c.severity for c in cves), key=lambda s: s.rank)
            listed = ", ".join(
                f"{c.id} ({c.severity.value}{', unauthenticated' if c.unauthenticated else ''})"
                for c in sorted(cves, key=lambda c: (-c.severity.rank, c.id))
            )
            out.append(
                make_finding(
                    "clickhouse.known-cves",
                    host=host,
                    port=port,
                    severity=worst,
                    title=f"ClickHouse {sanitize(report.version or '', 40)} has "
                    f"{len(cves)} known vulnerabilities",
                    evidence=f"version {sanitize(report.version or '', 40)}: {listed}",
                    extra_references=tuple(sorted({c.reference for c in cves})),
                )
            )
        exposed: str | None = {
            str(Transport.INTERSERVER): "clickhouse.exposed-interserver",
            str(Transport.PROMETHEUS): "clickhouse.exposed-prometheus",
            str(Transport.MYSQL): "clickhouse.exposed-mysql-wire",
        }.get(str(t))
        if exposed:
            out.append(
                make_finding(exposed, host=host, port=port, evidence=f"{t} interface answered")
            )
        return out
