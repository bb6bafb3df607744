"""Fingerprinting with positive evidence only.

What counts as evidence (anything else is "not ClickHouse"):

* HTTP(S): an ``X-ClickHouse-*`` response header to ``SELECT version(), A * B``, or an error
  body with ``DB::Exception``/``Code: N`` plus such a header; ``Ok.`` alone never counts.
  Headers identify; they never prove access: auth ``none`` only when the answer is complete
  and holds the exact product of the random A and B (:func:`.query.judge_proof`).
* HTTP request to a native port: ``Port 9000 is for clickhouse-client program``.
* Native (plain / TLS): a server Hello (name, version, revision, timezone - any timezone) or
  an Exception packet (``DB::...`` name) in answer to our Hello.
* MySQL wire: a server greeting whose version ends in ``-ClickHouse``.
* Interserver HTTP: the interserver handler's ``Not found: endpoint`` answer to a bare POST,
  or ClickHouse's own 404 page (``There is no handle`` ... ``clickhouse-client``) on a port
  that does not answer queries.
* Prometheus: ``/metrics`` with ``ClickHouseProfileEvents_`` / ``ClickHouseMetrics_`` lines.

PostgreSQL wire (9005) is not claimed: its pre-login answers carry nothing ClickHouse-specific.

Each probe is bounded in time and bytes; a probe that got no byte at all before its timeout
ends the search (a silent server answers none of our protocols).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from leakmap.errors import ProbeError
from leakmap.net.bounded import Network, fetch_bounded
from leakmap.sanitize import sanitize
from leakmap.services.base import AuthState, ScanConfig, Transport
from leakmap.services.clickhouse.codes import auth_from_code, parse_error, parse_version
from leakmap.services.clickhouse.http import QUERY_ID_PREFIX, has_clickhouse_headers, to_rows
from leakmap.services.clickhouse.native import NativeException, NativeHello, handshake
from leakmap.services.clickhouse.query import judge_proof, proof_statement
from leakmap.services.clickhouse.safety import guard_sql
from leakmap.services.common.proof import Challenge

__all__ = [
    "Probe",
    "classify_http_answer",
    "mysql_greeting",
    "probe_http",
    "probe_native",
    "transport_order",
]

_NATIVE_PORT_TEXT = "is for clickhouse-client program"
_CH_404 = re.compile(r"There is no handle .{0,200}clickhouse-client", re.DOTALL)
_INTERSERVER = re.compile(r"Not found: (endpoint|compress)")
_PROM = re.compile(r"^ClickHouse(ProfileEvents|Metrics|AsyncMetrics|Status)_\w+", re.MULTILINE)
_PROBE_BODY_LIMIT = 64 * 1024
_INTERSERVER_PORTS = (9009, 9010)


@dataclass(frozen=True, slots=True)
class Probe:
    """One probe's outcome: ``transport`` set only on positive evidence."""

    transport: Transport | None = None
    evidence: str = ""
    version: str | None = None
    auth: AuthState | None = None
    details: Mapping[str, str] = field(default_factory=dict)
    #: the server sent nothing at all before the timeout
    silent: bool = False


def transport_order(port: int, default_ports: Mapping[int, str]) -> list[Transport]:
    """The port's usual transport first, then the other cheap ones."""
    first = Transport(default_ports.get(port, Transport.HTTP))
    base = {
        Transport.INTERSERVER: Transport.HTTP,
        Transport.PROMETHEUS: Transport.HTTP,
        Transport.MYSQL: Transport.NATIVE,  # the native probe also reads a MySQL greeting
    }.get(first, first)
    order = [base]
    for t in (Transport.HTTP, Transport.NATIVE, Transport.HTTPS, Transport.NATIVE_TLS):
        if t not in order:
            order.append(t)
    return order


def classify_http_answer(
    status: int,
    headers: httpx.Headers,
    body: str,
    port: int,
    *,
    challenge: Challenge | None = None,
    truncated: bool = False,
) -> Probe | None:
    """Evidence from one answer to ``POST / SELECT version(), A * B`` (``challenge``); None
    when there is none. Without the challenge (or with a wrong answer) access is unknown."""
    if _NATIVE_PORT_TEXT in body:
        return Probe(Transport.NATIVE, evidence="HTTP answer: 'Port ... is for clickhouse-client'")
    ch_headers = has_clickhouse_headers(headers)
    if ch_headers and status == 200:
        details = _header_details(headers)
        rows = to_rows(status, headers, body.encode("utf-8"), truncated)
        proof = judge_proof(rows, challenge or Challenge(0, 0))
        if challenge is None or proof.auth is not AuthState.NONE:
            details["auth_note"] = proof.note or "no checkable answer"
        return Probe(
            Transport.HTTP,
            evidence="X-ClickHouse-* headers on a query answer",
            version=proof.version if challenge is not None else None,
            auth=proof.auth if challenge is not None else AuthState.UNKNOWN,
            details=details,
        )
    err = parse_error(body, headers.get("X-ClickHouse-Exception-Code"))
    if (
        err is not None
        and not ch_headers
        and "DB::Exception" in body
        and port in _INTERSERVER_PORTS
    ):
        # the query interface always sends X-ClickHouse-* headers; the interserver one does not
        return Probe(Transport.INTERSERVER, evidence=f"ClickHouse error (code {err.code})")
    if err is not None and (ch_headers or "DB::Exception" in body):
        details = dict(_header_details(headers))
        details["error_code"] = str(err.code)
        mapped = auth_from_code(err.code)
        auth = mapped[0] if mapped else AuthState.UNKNOWN
        details["auth_note"] = (
            mapped[1] if mapped else f"query refused with code {err.code} {err.name}".rstrip()
        )
        return Probe(
            Transport.HTTP,
            evidence=f"ClickHouse error answer (code {err.code})",
            version=err.version,
            auth=auth,
            details=details,
        )
    if _INTERSERVER.search(body) and ("Poco::Exception" in body or "Code:" in body):
        return Probe(Transport.INTERSERVER, evidence="interserver handler answer")
    return None


def _header_details(headers: httpx.Headers) -> dict[str, str]:
    out: dict[str, str] = {}
    for key in ("X-ClickHouse-Server-Display-Name", "X-ClickHouse-Timezone"):
        if key in headers:
            out[key.removeprefix("X-ClickHouse-").lower()] = sanitize(headers[key], 120)
    return out


async def probe_http(
    network: Network, ip: str, port: int, *, tls: bool, config: ScanConfig
) -> Probe:
    """POST ``SELECT version(), A * B``, then (without evidence) GET a missing path and
    /metrics."""
    scheme = "https" if tls else "http"
    host = f"[{ip}]" if ":" in ip else ip
    base = f"{scheme}://{host}:{port}"
    challenge = Challenge.new()
    statement = guard_sql(proof_statement(challenge) + " FORMAT TabSeparated")
    timeout = config.connect_timeout + config.read_timeout
    async with network.http_client() as client:
        try:
            resp = await fetch_bounded(
                client,
                "POST",
                base + "/",
                params={"readonly": "1", "query_id": f"{QUERY_ID_PREFIX}fp-{secrets.token_hex(6)}"},
                content=statement.encode(),
                limit=_PROBE_BODY_LIMIT,
                timeout=timeout,
                allow_truncate=True,
            )
        except (httpx.TimeoutException, TimeoutError) as exc:
            return Probe(silent=isinstance(exc, (TimeoutError, httpx.ReadTimeout)))
        except (httpx.HTTPError, ProbeError, OSError, ValueError):
            return Probe()
        transport = Transport.HTTPS if tls else Transport.HTTP
        found = classify_http_answer(
            resp.status,
            resp.headers,
            resp.text(),
            port,
            challenge=challenge,
            truncated=resp.truncated,
        )
        if found is not None and found.transport in (Transport.HTTP, Transport.INTERSERVER):
            if found.transport == Transport.HTTP:
                return _with_transport(found, transport)
            return found
        if found is not None:
            return found
        # No query interface: ClickHouse's 404 page marks the interserver port;
        # /metrics marks the Prometheus endpoint.
        for path in ("/metrics", "/leakmap-probe-404"):
            try:
                extra = await fetch_bounded(
                    client,
                    "GET",
                    base + path,
                    limit=_PROBE_BODY_LIMIT,
                    timeout=timeout,
                    allow_truncate=True,
                )
            except (httpx.HTTPError, ProbeError, OSError, TimeoutError, ValueError):
                continue
            text = extra.text()
            if path == "/metrics" and _PROM.search(text):
                return Probe(Transport.PROMETHEUS, evidence="/metrics with ClickHouse* series")
            if path != "/metrics" and _CH_404.search(text):
                return Probe(
                    Transport.INTERSERVER,
                    evidence="ClickHouse 404 page on a port without a query interface",
                )
    return Probe()


def _with_transport(p: Probe, t: Transport) -> Probe:
    return Probe(t, p.evidence, p.version, p.auth, p.details, p.silent)


def mysql_greeting(raw: bytes) -> tuple[bool, str | None]:
    """(is ClickHouse, its version) from a MySQL server greeting ``X.Y.Z-ClickHouse``.

    A greeting that claims a MySQL-looking version (``8.0.32-ClickHouse``, as some servers
    present themselves to MySQL tools) is ClickHouse without a usable version: ClickHouse
    versions are 1.1.x or 18 and later.
    """
    if len(raw) < 6 or raw[4] != 0x0A:
        return False, None
    end = raw.find(b"\x00", 5, 5 + 128)
    if end < 0:
        return False, None
    text = raw[5:end].decode("ascii", "replace")
    if not text.endswith("-ClickHouse"):
        return False, None
    parsed = parse_version(text.removesuffix("-ClickHouse"))
    if parsed is None:
        return False, None
    if parsed[0] >= 18 or parsed[:2] == (1, 1):
        return True, text.removesuffix("-ClickHouse")
    return True, None


async def probe_native(
    network: Network, ip: str, port: int, *, tls: bool, config: ScanConfig
) -> Probe:
    """Send a Hello; a server Hello or Exception is evidence (also reads a MySQL greeting)."""
    try:
        packet, raw = await handshake(network, ip, port, tls=tls, timeout=config.read_timeout)
    except (OSError, TimeoutError, ProbeError, ValueError):
        return Probe()
    transport = Transport.NATIVE_TLS if tls else Transport.NATIVE
    if isinstance(packet, NativeHello):
        details = {"revision": str(packet.revision)}
        if packet.timezone is not None:
            details["timezone"] = sanitize(packet.timezone, 64)
        if packet.display_name:
            details["display-name"] = sanitize(packet.display_name, 120)
        return Probe(
            transport,
            evidence=f"native Hello from {sanitize(packet.name, 40)}",
            version=packet.version,
            auth=AuthState.NONE,
            details=details,
        )
    if isinstance(packet, NativeException):
        mapped = auth_from_code(packet.code)
        details = {
            "error_code": str(packet.code),
            "auth_note": mapped[1] if mapped else f"Hello refused with code {packet.code}",
        }
        err = parse_error(f"Code: {packet.code}. DB::Exception: {packet.message}")
        return Probe(
            transport,
            evidence=f"native Exception packet (code {packet.code})",
            version=err.version if err else None,
            auth=mapped[0] if mapped else AuthState.UNKNOWN,
            details=details,
        )
    if not tls:
        is_ch, mysql_version = mysql_greeting(raw)
        if is_ch:
            return Probe(
                Transport.MYSQL, evidence="MySQL greeting '-ClickHouse'", version=mysql_version
            )
    return Probe(silent=not raw)
