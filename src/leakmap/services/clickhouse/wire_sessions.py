"""ClickHouse through its MySQL (9004) and PostgreSQL (9005) interfaces, as a
:class:`~.query.ChSession`: the same proof, enumeration, sampling and capabilities as over
HTTP and the native protocol, over the shared bounded wire clients
(:mod:`leakmap.services.mysql.wire`, :mod:`leakmap.services.postgresql.wire`).

The server-side limits travel in the statement: every ``SELECT`` gets
``SETTINGS readonly=1, max_execution_time=..., max_result_rows=..., ...`` (the values of
:func:`.http.safe_settings`); ``SHOW`` statements are read-only by nature and go as they
are. A refusal naming a setting (164/115/452) drops it and retries, as over HTTP. Errors:
the MySQL interface sends ClickHouse's own code in its ERR packet; the PostgreSQL interface
sends SQLSTATE 2F000 with ClickHouse's error text, from which the code is parsed.

Login is user ``default`` with an empty password. A reply over the byte limit drops the
connection; the next statement logs in again.

Verified only on exchanges rebuilt from ClickHouse's handlers (Debian's 18.16 has neither
interface): see docs/TRANSPORTS.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from leakmap.errors import ResponseTooLarge
from leakmap.net.bounded import Network
from leakmap.sanitize import sanitize
from leakmap.services.base import ScanConfig
from leakmap.services.clickhouse.codes import ChError, extract_version, parse_error
from leakmap.services.clickhouse.http import refused_settings, safe_settings
from leakmap.services.clickhouse.query import Rows
from leakmap.services.mysql.wire import MysqlClient
from leakmap.services.postgresql.wire import PgClient

__all__ = ["CH_PG_VERSION", "ChOverMysql", "ChOverPostgres", "settings_clause"]

_SETTING_REFUSAL_CODES = frozenset({164, 115, 452})
_MAX_RETRIES = 16
_DEFAULT_MAX_ROWS = 1_000_000
#: ClickHouse reports its own version as server_version: four numbers, no distribution text
CH_PG_VERSION = re.compile(r"^\d{1,4}\.\d{1,4}\.\d{1,6}\.\d{1,9}$")


def settings_clause(settings: dict[str, str]) -> str:
    """``SETTINGS a=1, b='break'`` (numbers bare, words quoted); empty for no settings."""
    parts = []
    for name, value in settings.items():
        if not re.fullmatch(r"[a-z_]{1,64}", name) or not re.fullmatch(
            r"[A-Za-z0-9_]{1,64}", value
        ):
            continue  # our own constants: anything else is a bug, never sent
        parts.append(f"{name}={value}" if value.isdigit() else f"{name}='{value}'")
    return ("SETTINGS " + ", ".join(parts)) if parts else ""


@dataclass(slots=True)
class _WireSession:
    network: Network
    ip: str
    port: int
    config: ScanConfig
    refused: set[str] = field(default_factory=set)
    sent: list[str] = field(default_factory=list)

    def _with_settings(self, sql: str, readonly: bool) -> str:
        if not sql.lstrip()[:6].upper().startswith("SELECT"):
            return sql
        wanted = safe_settings(self.config)
        if not readonly:
            wanted.pop("readonly")
        clause = settings_clause({k: v for k, v in wanted.items() if k not in self.refused})
        return f"{sql} {clause}" if clause else sql

    async def _run(
        self, statement: str, max_rows: int, limit: int | None
    ) -> tuple[tuple[str, ...], tuple[tuple[str | None, ...], ...], bool, ChError | None]:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

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
        """:meth:`~.query.ChSession.rows` over the SQL wire interface."""
        retries = 0
        cap = _DEFAULT_MAX_ROWS if max_rows is None else max(0, max_rows)
        while True:
            statement = self._with_settings(sql, readonly)
            self.sent.append(statement)
            try:
                columns, rows, truncated, error = await self._run(statement, cap, limit)
            except ResponseTooLarge:
                await self.close()
                if not allow_truncate:
                    raise
                return Rows(
                    truncated=True, complete=False, refused_settings=frozenset(self.refused)
                )
            except BaseException:
                await self.close()  # out of step: the next statement logs in again
                raise
            if (
                error is not None
                and error.code in _SETTING_REFUSAL_CODES
                and retries < _MAX_RETRIES
            ):
                named = refused_settings(
                    error.message, set(safe_settings(self.config)) - self.refused
                )
                if named:
                    self.refused |= named
                    retries += 1
                    continue
            return Rows(
                rows=rows,
                names=columns,
                error=error,
                truncated=truncated,
                complete=not truncated,
                refused_settings=frozenset(self.refused),
            )


@dataclass(slots=True)
class ChOverMysql(_WireSession):
    """ClickHouse's MySQL interface as a ChSession (user ``default``, empty password)."""

    client: MysqlClient | None = None

    def _client(self) -> MysqlClient:
        cfg = self.config
        return MysqlClient(
            self.network, self.ip, self.port,
            timeout=cfg.read_timeout + cfg.query_timeout_s, reply_limit=cfg.max_response_bytes,
        )  # fmt: skip

    async def login(self) -> ChError | None:
        """Log in; None when accepted, else the refusal as a ChError (ClickHouse's code)."""
        self.client = self._client()
        login = await self.client.login("default")
        if login.ok:
            return None
        await self.close()
        err = login.error
        if err is None:
            return ChError(code=0, name="", message="a password is required")
        return ChError(err.code, "", sanitize(err.message, 300), extract_version(err.message))

    async def _run(
        self, statement: str, max_rows: int, limit: int | None
    ) -> tuple[tuple[str, ...], tuple[tuple[str | None, ...], ...], bool, ChError | None]:
        if self.client is None:
            refused = await self.login()
            if refused is not None:
                return (), (), False, refused
        assert self.client is not None
        res = await self.client.query(statement, max_rows=max_rows, limit=limit)
        error = None
        if res.error is not None:
            msg = res.error.message
            error = ChError(res.error.code, "", sanitize(msg, 300), extract_version(msg))
        return res.columns, res.rows, res.truncated, error

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()
        self.client = None


@dataclass(slots=True)
class ChOverPostgres(_WireSession):
    """ClickHouse's PostgreSQL interface as a ChSession (user ``default``, no password)."""

    client: PgClient | None = None
    server_version: str | None = None

    async def login(self) -> ChError | None:
        cfg = self.config
        self.client = PgClient(
            self.network, self.ip, self.port,
            timeout=cfg.read_timeout + cfg.query_timeout_s, reply_limit=cfg.max_response_bytes,
        )  # fmt: skip
        login = await self.client.login("default", "default")
        if login.ok:
            self.server_version = login.parameters.get("server_version")
            return None
        await self.close()
        if login.outcome == "password":
            return ChError(code=194, name="", message="a password is requested")
        text = login.error.message if login.error else ""
        parsed = parse_error(text)
        return parsed or ChError(code=0, name="", message=sanitize(text, 300))

    async def _run(
        self, statement: str, max_rows: int, limit: int | None
    ) -> tuple[tuple[str, ...], tuple[tuple[str | None, ...], ...], bool, ChError | None]:
        if self.client is None:
            refused = await self.login()
            if refused is not None:
                return (), (), False, refused
        assert self.client is not None
        res = await self.client.query(statement, max_rows=max_rows, limit=limit)
        error = None
        if res.error is not None:
            error = parse_error(res.error.message) or ChError(
                code=0, name="", message=sanitize(res.error.message, 300)
            )
            # ClickHouse ends the session after an error: log in again next time
            await self.close()
        return res.columns, res.rows, res.truncated, error

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()
        self.client = None
