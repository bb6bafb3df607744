"""The service interface and the models a service plugin produces (report schema
``leakmap.scan/2``; how to write a plugin: ``docs/PLUGINS.md``).

A plugin implements :class:`Service`:

* class constants: ``name``, ``default_ports`` (port -> transport name), ``protocols`` (the
  pre-probe families it speaks, see :class:`PreProbe`), ``url_schemes`` and ``capabilities``
  (the capability names it may report, with their meaning);
* ``accepts(pre)`` - a pure look at the shared pre-probe of a port (no I/O): "this could be
  mine". The pipeline runs a plugin's fingerprint on a port only when the pre-probe's family
  is one of its ``protocols`` and the port is one of its ``default_ports`` or ``accepts``
  says yes - so an open port nobody recognises costs one pre-probe, however many plugins;
* ``fingerprint`` (positive evidence only) and ``assess`` (access state -> enumerate ->
  bounded sample -> classify -> capabilities), which returns a :class:`ServiceResult`.

Open means proven: a report with auth ``none`` must say in ``proof`` which checkable answer
proved it (the pipeline turns an unproven ``none`` into ``unknown``).

Every string in these models that came from a scanned server is hostile: writers must
escape it for their medium; data samples are stored only as redacted examples.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

from leakmap.categories import DataCategory
from leakmap.findings import Finding

if TYPE_CHECKING:
    from leakmap.classify.engine import Classifier
    from leakmap.net.bounded import Network
    from leakmap.net.preprobe import FirstLook

__all__ = [
    "AuthState",
    "Capabilities",
    "Column",
    "Coverage",
    "DataCategory",
    "DataFinding",
    "Endpoint",
    "HttpAnswer",
    "OpenPort",
    "PreProbe",
    "PreProbeFamily",
    "Resource",
    "ScanConfig",
    "ScanContext",
    "Service",
    "ServiceReport",
    "ServiceResult",
    "Transport",
]


class Transport(StrEnum):
    """Well-known transport names. A plugin may declare any other name (a plain ``str``):
    the report's ``transport`` field is an open string, not this enum."""

    HTTP = "http"
    HTTPS = "https"
    NATIVE = "native"
    NATIVE_TLS = "native-tls"
    MYSQL = "mysql"
    POSTGRESQL = "postgresql"
    INTERSERVER = "interserver"
    PROMETHEUS = "prometheus"


class AuthState(StrEnum):
    """``none``: no credential needed, PROVEN by a checkable answer; ``required``: refused
    without one; ``unknown``: could not tell (timeout, ambiguous error, odd or unchecked
    answer). Never guess "secure", never guess "open"."""

    NONE = "none"
    REQUIRED = "required"
    UNKNOWN = "unknown"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Column(_Frozen):
    name: str
    type: str


class DataFinding(_Frozen):
    """What the classifier saw in one resource's sample: ``example`` is redacted."""

    category: DataCategory
    rule: str
    count: int
    example: str


class Resource(_Frozen):
    """One thing a store holds: a table, keyspace, key prefix, index, collection, notebook,
    experiment, model, job, ...

    ``kind`` and ``name`` (or path) always; ``database``/``table`` where the store has them
    (ClickHouse, PostgreSQL, MySQL; ``name`` is then ``database.table`` unless given);
    ``rows`` counts rows / documents / keys / entries, ``bytes`` the size the store reports.
    ``sampled_rows`` is None when nothing was sampled; ``unsampled`` then says why.
    """

    kind: str = "table"
    name: str = ""
    database: str | None = None
    table: str | None = None
    engine: str | None = None
    rows: int | None = None
    bytes: int | None = None
    columns: tuple[Column, ...] = ()
    data_findings: tuple[DataFinding, ...] = ()
    sampled_rows: int | None = None
    unsampled: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("name"):
            db, table = data.get("database"), data.get("table")
            parts = [p for p in (db, table) if p is not None]
            if parts:
                data = {**data, "name": ".".join(parts)}
        return data

    @property
    def label(self) -> str:
        """The name a finding's ``resource`` field and the console use."""
        return self.name


class Capabilities(RootModel[dict[str, bool | None]]):
    """Dangerous capabilities of the scanner's session, by the names the plugin declares
    (``file``, ``write``, ``ddl``, ``code-execution``, ``config-write``, ...): True = usable,
    False = not usable, None = could not tell. Decided from settings, grants, ACLs and error
    codes only - never by exercising them."""

    model_config = ConfigDict(frozen=True)
    root: dict[str, bool | None] = Field(default_factory=dict)

    @classmethod
    def of(cls, **values: bool | None) -> Capabilities:
        return cls(dict(values))

    def get(self, name: str) -> bool | None:
        return self.root.get(name)

    def items(self) -> list[tuple[str, bool | None]]:
        return list(self.root.items())

    @property
    def usable(self) -> list[str]:
        return [k for k, v in self.root.items() if v is True]

    @property
    def undecided(self) -> list[str]:
        return [k for k, v in self.root.items() if v is None]


class Coverage(_Frozen):
    """How complete the inventory and the sampling of one endpoint are.

    ``listed`` resources are in the report; ``total`` is how many the store holds when it
    said so (more than ``listed`` when ``cap`` - the listing cap - was hit); ``sampled``
    were sampled; ``unsampled`` counts the others by reason ("time budget", "engine not
    read", "sampling budget", ...)."""

    listed: int = 0
    total: int | None = None
    cap: int | None = None
    sampled: int = 0
    unsampled: dict[str, int] = Field(default_factory=dict)


class ServiceReport(_Frozen):
    host: str
    ip: str
    port: int
    service: str
    transport: str
    version: str | None = None
    auth: AuthState = AuthState.UNKNOWN
    #: the checkable answer that proved auth ``none`` (required for ``none``)
    proof: str | None = None
    resources: tuple[Resource, ...] = ()
    capabilities: Capabilities = Field(default_factory=Capabilities)
    coverage: Coverage | None = None
    #: ``host:port`` of the endpoint of the same server whose report carries the resources
    #: (one server, one enumeration); None when this report carries its own
    resources_at: str | None = None
    #: how this endpoint was told to be the same server as another (evidence, not ports)
    identity: dict[str, str] = Field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @classmethod
    def for_endpoint(cls, endpoint: Endpoint, **fields: Any) -> ServiceReport:
        """A report about ``endpoint``: its identity, transport and version, plus ``fields``."""
        base: dict[str, Any] = {
            "host": endpoint.host,
            "ip": endpoint.ip,
            "port": endpoint.port,
            "service": endpoint.service,
            "transport": str(endpoint.transport),
            "version": endpoint.version,
        }
        return cls(**(base | fields))


PreProbeFamily = str
"""What the shared pre-probe of a port saw (a plugin lists those it speaks in ``protocols``):

``banner``  the server spoke first (MySQL greeting, SSH, SMTP, ...): :attr:`PreProbe.banner`
``http``    a plain ``GET /`` got an HTTP answer: :attr:`PreProbe.http`
``https``   the same over TLS (certificates are not checked): :attr:`PreProbe.http`
``reply``   a non-HTTP answer to ``GET /`` (RESP ``-ERR``, memcached ``ERROR``, a binary
            error packet, a TLS alert without a TLS service behind): :attr:`PreProbe.reply`
``silent``  nothing at all within the wait (or closed without a byte)

:attr:`PreProbe.closed` adds: the server hung up on the plain ``GET /`` without a byte (Redis 7,
PostgreSQL and many binary protocols do) - a signal for a plugin's ``accepts``.
"""


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """The answer to the pre-probe's ``GET /``: status, headers, the body's first bytes."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    tls: bool = False

    def header(self, name: str) -> str | None:
        low = name.lower()
        for k, v in self.headers.items():
            if k.lower() == low:
                return v
        return None


@dataclass(frozen=True, slots=True)
class PreProbe:
    """One shared, bounded look at an open port, made once and cached for every plugin."""

    family: PreProbeFamily
    banner: bytes = b""
    reply: bytes = b""
    http: HttpAnswer | None = None
    #: the server closed the connection on the plain ``GET /`` without sending a byte
    closed: bool = False


@dataclass(frozen=True, slots=True)
class OpenPort:
    """A TCP port that accepted a connection. ``host`` is the name the user gave (or the IP)."""

    host: str
    ip: str
    port: int


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A port a plugin recognised, with positive evidence."""

    host: str
    ip: str
    port: int
    service: str
    transport: str
    evidence: str
    version: str | None = None
    details: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ScanConfig:
    """Budgets and limits; passed in, never read from globals."""

    sample_rows: int = 200
    connect_timeout: float = 2.0
    read_timeout: float = 5.0
    concurrency: int = 256
    per_host_concurrency: int = 32
    max_response_bytes: int = 4 * 1024 * 1024
    #: resources listed per endpoint (metadata is cheap; bounded by bytes as well)
    max_resources: int = 50_000
    #: resources sampled per endpoint, most promising first (names, then size)
    max_sampled: int = 500
    query_timeout_s: int = 10
    #: how long the pre-probe waits for a server that speaks first
    banner_wait: float = 0.5
    #: try services.common.credentials where anonymous access is refused (off by default)
    try_default_credentials: bool = False
    user_agent: str = "leakmap/0.1 (read-only exposure scanner)"


@dataclass(slots=True)
class ScanContext:
    """What a plugin may use: configuration, the swappable network layer, the classifier,
    and the shared pre-probe of each open port (:meth:`preprobe`, cached)."""

    config: ScanConfig
    network: Network
    classifier: Classifier
    _preprobes: dict[tuple[str, int], Any] = field(default_factory=dict)
    _first_looks: dict[tuple[str, int], Any] = field(default_factory=dict)
    _claims: dict[str, str] = field(default_factory=dict)

    def claim(self, key: str, label: str) -> str | None:
        """One server, one enumeration: the first endpoint to claim ``key`` (a server identity
        from evidence, e.g. ``clickhouse|ip|display name|version|timezone``) enumerates it and
        gets None; a later claimant gets the owner's label and refers to its report."""
        owner = self._claims.setdefault(key, label)
        return None if owner == label else owner

    async def preprobe(self, port: OpenPort) -> PreProbe:
        """The port's pre-probe: made on first use, then served from the cache."""
        import asyncio

        from leakmap.net.preprobe import finish

        key = (port.ip, port.port)
        task = self._preprobes.get(key)
        if task is None:

            async def whole() -> PreProbe:
                look = await self._first_look(port)
                return await finish(self.network, port.ip, port.port, self.config, look)

            task = asyncio.ensure_future(whole())
            self._preprobes[key] = task
        result: PreProbe = await asyncio.shield(task)
        return result

    async def first_look(self, port: OpenPort) -> PreProbe:
        """What the pre-probe knows before its TLS step (cached, shared with :meth:`preprobe`):
        the final answer, or ``PreProbe("silent", closed=...)`` while TLS is still to try."""
        return (await self._first_look(port)).provisional

    async def _first_look(self, port: OpenPort) -> FirstLook:
        import asyncio

        from leakmap.net.preprobe import first_look

        key = (port.ip, port.port)
        task = self._first_looks.get(key)
        if task is None:
            task = asyncio.ensure_future(first_look(self.network, port.ip, port.port, self.config))
            self._first_looks[key] = task
        result: FirstLook = await asyncio.shield(task)
        return result


@dataclass(frozen=True, slots=True)
class ServiceResult:
    report: ServiceReport
    findings: tuple[Finding, ...] = ()


@runtime_checkable
class Service(Protocol):
    """A service plugin. Identity lives in class constants (see the module docstring)."""

    name: ClassVar[str]
    #: port -> the transport usually found there; the default port set is the union.
    default_ports: ClassVar[Mapping[int, str]]
    #: the pre-probe families this plugin speaks (``banner``, ``http``, ``https``, ``reply``,
    #: ``silent``)
    protocols: ClassVar[frozenset[str]]
    #: URL scheme -> (default port, transport) for targets such as ``redis://host``
    url_schemes: ClassVar[Mapping[str, tuple[int, str]]]
    #: capability name -> what it means when usable
    capabilities: ClassVar[Mapping[str, str]]

    def accepts(self, pre: PreProbe) -> bool:
        """Pure (no I/O): could this pre-probe be this service, on any port?"""
        ...

    async def fingerprint(self, port: OpenPort, ctx: ScanContext) -> Endpoint | None:
        """Return an Endpoint only on positive evidence; None otherwise. Never raise."""
        ...

    async def assess(self, endpoint: Endpoint, ctx: ScanContext) -> ServiceResult:
        """Access state, enumeration, bounded sampling, classification, capabilities,
        known CVEs. Read-only. Must not raise for anything the server sends."""
        ...
