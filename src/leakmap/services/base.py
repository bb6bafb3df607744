"""The service interface and the models a service plugin produces.

A plugin implements :class:`Service`: ``fingerprint`` (positive evidence only) and
``assess`` (access state -> enumerate -> bounded sample -> classify -> capabilities),
which returns a :class:`ServiceReport` and the :class:`~leakmap.findings.Finding` list.

Every string in these models that came from a scanned server is hostile: writers must
escape it for their medium; data samples are stored only as redacted examples.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from leakmap.categories import DataCategory
from leakmap.findings import Finding

if TYPE_CHECKING:
    from leakmap.classify.engine import Classifier
    from leakmap.net.bounded import Network

__all__ = [
    "AuthState",
    "Capabilities",
    "Column",
    "DataCategory",
    "DataFinding",
    "Endpoint",
    "OpenPort",
    "Resource",
    "ScanConfig",
    "ScanContext",
    "Service",
    "ServiceReport",
    "ServiceResult",
    "Transport",
]


class Transport(StrEnum):
    HTTP = "http"
    HTTPS = "https"
    NATIVE = "native"
    NATIVE_TLS = "native-tls"
    MYSQL = "mysql"
    POSTGRESQL = "postgresql"
    INTERSERVER = "interserver"
    PROMETHEUS = "prometheus"


class AuthState(StrEnum):
    """``none``: no credential needed; ``required``: refused without one;
    ``unknown``: could not tell (timeout, ambiguous error, odd answer). Never guess "secure"."""

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
    database: str
    table: str
    engine: str | None = None
    rows: int | None = None
    columns: tuple[Column, ...] = ()
    data_findings: tuple[DataFinding, ...] = ()
    sampled_rows: int | None = None


class Capabilities(_Frozen):
    """Dangerous capabilities of the scanner's session: True = usable, False = not usable,
    None = could not tell. Determined from settings, grants and error codes only."""

    file: bool | None = None
    url: bool | None = None
    remote: bool | None = None
    write: bool | None = None
    ddl: bool | None = None
    extra: Mapping[str, bool | None] = Field(default_factory=dict)


class ServiceReport(_Frozen):
    host: str
    ip: str
    port: int
    service: str
    transport: Transport
    version: str | None = None
    auth: AuthState = AuthState.UNKNOWN
    resources: tuple[Resource, ...] = ()
    capabilities: Capabilities = Field(default_factory=Capabilities)
    notes: tuple[str, ...] = ()

    @classmethod
    def for_endpoint(cls, endpoint: Endpoint, **fields: Any) -> ServiceReport:
        """A report about ``endpoint``: its identity, transport and version, plus ``fields``."""
        base: dict[str, Any] = {
            "host": endpoint.host,
            "ip": endpoint.ip,
            "port": endpoint.port,
            "service": endpoint.service,
            "transport": endpoint.transport,
            "version": endpoint.version,
        }
        return cls(**(base | fields))


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
    transport: Transport
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
    max_tables: int = 500
    query_timeout_s: int = 10
    user_agent: str = "leakmap/0.1 (read-only exposure scanner)"


@dataclass(slots=True)
class ScanContext:
    """What a plugin may use: configuration, the swappable network layer, the classifier."""

    config: ScanConfig
    network: Network
    classifier: Classifier


@dataclass(frozen=True, slots=True)
class ServiceResult:
    report: ServiceReport
    findings: tuple[Finding, ...] = ()


@runtime_checkable
class Service(Protocol):
    """A service plugin. Identity lives in class constants."""

    name: ClassVar[str]
    #: port -> the transport usually found there; the default port set is the union.
    default_ports: ClassVar[Mapping[int, Transport]]

    async def fingerprint(self, port: OpenPort, ctx: ScanContext) -> Endpoint | None:
        """Return an Endpoint only on positive evidence; None otherwise. Never raise."""
        ...

    async def assess(self, endpoint: Endpoint, ctx: ScanContext) -> ServiceResult:
        """Access state, enumeration, bounded sampling, classification, capabilities,
        known CVEs. Read-only. Must not raise for anything the server sends."""
        ...
