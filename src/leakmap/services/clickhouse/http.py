"""The HTTP(S) client: every query goes through :func:`~.safety.guard_sql`, by POST, with
server-side safety settings as URL parameters and a bounded body.

Safety settings sent with every query (unless the server refused one of them before)::

    readonly=1 max_execution_time max_result_rows max_result_bytes result_overflow_mode=break
    max_rows_to_read max_bytes_to_read read_overflow_mode=break max_threads=1 max_memory_usage
    max_block_size (about the sample size, so a LIMIT stops reading early)

A server that refuses a setting (code 164 "Cannot override setting (x) in readonly mode" in a
readonly profile, code 115 "Unknown setting x" on old versions, code 452 for a settings
constraint) names it in the error: the
query is retried without the named setting(s) and the endpoint remembers the refusal. A refusal
that names none of them is returned as the error - we detect, we do not guess.

Every query carries ``query_id=leakmap-<scan>-<n>``, which lets a test find the scanner's own
statements in ``system.query_log``.

:class:`ChHttp` implements :class:`~.query.ChSession` (:meth:`ChHttp.rows`): the answer is
``complete`` only when it is not cut short, carries no ``Content-Encoding`` (we ask for
``identity``; a compressed body is never decompressed), is valid UTF-8 and ends its last row.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

import httpx

from leakmap.net.bounded import BoundedResponse, fetch_bounded
from leakmap.services.base import ScanConfig
from leakmap.services.clickhouse.codes import ChError, parse_error
from leakmap.services.clickhouse.query import Rows
from leakmap.services.clickhouse.safety import guard_sql
from leakmap.services.clickhouse.tsv import parse_tsv

__all__ = [
    "QUERY_ID_PREFIX",
    "ChHttp",
    "QueryResult",
    "answer_error",
    "has_clickhouse_headers",
    "refused_settings",
    "safe_settings",
    "to_rows",
]

QUERY_ID_PREFIX = "leakmap-"
#: 164 READONLY, 115 UNKNOWN_SETTING, 452 SETTING_CONSTRAINT_VIOLATION
_SETTING_REFUSAL_CODES = frozenset({164, 115, 452})
_MAX_RETRIES = 16  # more than there are settings: each retry drops at least one


def safe_settings(config: ScanConfig) -> dict[str, str]:
    """The server-side limits for one query, derived from the scan configuration."""
    rows = max(1, config.sample_rows)
    return {
        "readonly": "1",
        "max_execution_time": str(max(1, config.query_timeout_s)),
        "max_result_rows": str(max(rows, 100_000)),
        "max_result_bytes": str(config.max_response_bytes),
        "result_overflow_mode": "break",
        "max_rows_to_read": str(max(rows * 100, 1_000_000)),
        "max_bytes_to_read": str(max(config.max_response_bytes * 16, 256 * 1024 * 1024)),
        "read_overflow_mode": "break",
        "max_threads": "1",
        # small blocks: LIMIT n then stops after reading about n rows, not 65536
        "max_block_size": str(min(65_536, max(128, rows))),
        "max_memory_usage": str(512 * 1024 * 1024),
    }


def has_clickhouse_headers(headers: httpx.Headers) -> bool:
    return any(k.lower().startswith("x-clickhouse-") for k in headers)


def answer_error(status: int, headers: httpx.Headers, body: bytes) -> ChError | None:
    """The ClickHouse exception an HTTP answer carries (a non-200 status, or an exception
    header on a 200 whose body broke off mid-stream); None when there is none to parse."""
    code = headers.get("X-ClickHouse-Exception-Code")
    if status != 200:
        return parse_error(body[:8192].decode("utf-8", "replace"), code)
    if code is not None:
        return parse_error(body[-8192:].decode("utf-8", "replace"), code)
    return None


def _encoded(headers: httpx.Headers) -> bool:
    return headers.get("Content-Encoding", "identity").strip().lower() not in ("", "identity")


def to_rows(
    status: int,
    headers: httpx.Headers,
    body: bytes,
    truncated: bool,
    *,
    names: bool = False,
    refused: frozenset[str] = frozenset(),
    max_rows: int | None = None,
) -> Rows:
    """A TabSeparated(WithNames) HTTP answer as :class:`~.query.Rows`."""
    error = answer_error(status, headers, body)
    if error is not None:
        return Rows(error=error, truncated=truncated, complete=False, refused_settings=refused)
    if status != 200:
        return Rows(failure=f"HTTP {status}", complete=False, refused_settings=refused)
    complete = not truncated and not _encoded(headers) and (not body or body.endswith(b"\n"))
    if complete:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            complete = False
    cap = None if max_rows is None else max_rows + 1
    parsed = parse_tsv(body, truncated=truncated, max_rows=cap)
    header: tuple[str, ...] = ()
    if names and parsed:
        header = tuple(h or "" for h in parsed[0])
        parsed = parsed[1:]
    return Rows(
        rows=tuple(tuple(r) for r in parsed),
        names=header,
        truncated=truncated,
        complete=complete,
        refused_settings=refused,
    )


@dataclass(frozen=True, slots=True)
class QueryResult:
    status: int
    headers: httpx.Headers
    body: bytes
    truncated: bool
    error: ChError | None
    #: settings that were dropped because the server refused them (for this endpoint)
    refused_settings: frozenset[str] = frozenset()

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def refused_settings(message: str, candidates: set[str]) -> set[str]:
    """The settings a refusal names: ``(name)`` (18.x), ``'name'`` (current), ``setting name``
    / ``Setting name`` (unknown setting, constraints). "in readonly mode" names nothing."""
    found = set()
    for name in candidates:
        n = re.escape(name)
        if re.search(rf"\({n}\)|'{n}'|\b[Ss]etting\s+{n}(?![A-Za-z0-9_])", message):
            found.add(name)
    return found


@dataclass(slots=True)
class ChHttp:
    """Queries one ClickHouse HTTP(S) endpoint as user ``default`` with no password."""

    client: httpx.AsyncClient
    base_url: str
    config: ScanConfig
    scan_tag: str = field(default_factory=lambda: secrets.token_hex(4))
    refused: set[str] = field(default_factory=set)
    sent: list[str] = field(default_factory=list)
    _counter: int = 0

    def _query_id(self) -> str:
        self._counter += 1
        return f"{QUERY_ID_PREFIX}{self.scan_tag}-{self._counter}"

    async def _post(
        self, statement: str, params: dict[str, str], limit: int, allow_truncate: bool
    ) -> BoundedResponse:
        """POST once; a kept-alive connection the server had just closed is retried once
        (the statement is a read, so sending it again is harmless)."""
        for attempt in (1, 2):
            try:
                return await fetch_bounded(
                    self.client,
                    "POST",
                    self.base_url + "/",
                    params=params,
                    content=statement.encode("utf-8"),
                    limit=limit,
                    timeout=self.config.read_timeout + self.config.query_timeout_s,
                    allow_truncate=allow_truncate,
                )
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
                if attempt == 2:
                    raise
                params = {**params, "query_id": self._query_id()}
        raise AssertionError("unreachable")

    async def query(
        self,
        sql: str,
        *,
        fmt: str | None = "TabSeparated",
        limit: int | None = None,
        allow_truncate: bool = False,
        readonly: bool = True,
    ) -> QueryResult:
        """Run one read statement. ``readonly=False`` leaves out only the ``readonly`` setting
        (used for the one query that reads the profile's own ``readonly`` value); the
        statement still has to pass :func:`guard_sql`."""
        statement = guard_sql(f"{sql} FORMAT {fmt}" if fmt else sql)
        limit = self.config.max_response_bytes if limit is None else limit
        wanted = safe_settings(self.config)
        if not readonly:
            wanted.pop("readonly")
        retries = 0
        while True:
            params = {k: v for k, v in wanted.items() if k not in self.refused}
            params["query_id"] = self._query_id()
            self.sent.append(statement)
            resp = await self._post(statement, params, limit, allow_truncate)
            error = answer_error(resp.status, resp.headers, resp.body)
            if (
                error is not None
                and error.code in _SETTING_REFUSAL_CODES
                and retries < _MAX_RETRIES
            ):
                named = refused_settings(error.message, set(params) - {"query_id"} - self.refused)
                if named:
                    self.refused |= named
                    retries += 1
                    continue
            return QueryResult(
                resp.status,
                resp.headers,
                resp.body,
                resp.truncated,
                error,
                frozenset(self.refused),
            )

    async def rows(
        self,
        sql: str,
        *,
        names: bool = False,
        limit: int | None = None,
        allow_truncate: bool = False,
        readonly: bool = True,
        max_rows: int | None = None,
    ) -> Rows:
        """:meth:`~.query.ChSession.rows` over HTTP: TabSeparated(WithNames), parsed."""
        fmt = "TabSeparatedWithNames" if names else "TabSeparated"
        res = await self.query(
            sql, fmt=fmt, limit=limit, allow_truncate=allow_truncate, readonly=readonly
        )
        return to_rows(
            res.status,
            res.headers,
            res.body,
            res.truncated,
            names=names,
            refused=res.refused_settings,
            max_rows=max_rows,
        )
