"""What the deployment parsers (compose, Kubernetes, Helm values, ``.env``) produce for
the deployment checks: containers with their image, environment, command line and
published ports, and standalone exposures (a Kubernetes Service or Ingress)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DATA_PORTS", "Container", "DeployDoc", "EnvVar", "Exposure", "store_of"]

#: ports of data stores that must not be published to the world
DATA_PORTS: dict[int, str] = {
    8123: "ClickHouse HTTP",
    8443: "ClickHouse HTTPS",
    9000: "ClickHouse native",
    9440: "ClickHouse native TLS",
    9004: "ClickHouse MySQL wire",
    9005: "ClickHouse PostgreSQL wire",
    9009: "ClickHouse interserver",
    6379: "Redis",
    5432: "PostgreSQL",
    3306: "MySQL",
    27017: "MongoDB",
    9200: "Elasticsearch",
    11211: "memcached",
    2379: "etcd",
    8888: "Jupyter",
    6333: "Qdrant",
}

#: image name fragment -> store; the port a store listens on when its image is known
_STORES = (
    ("clickhouse", "clickhouse"),
    ("redis", "redis"),
    ("postgres", "postgresql"),
    ("postgis", "postgresql"),
    ("mysql", "mysql"),
    ("mariadb", "mysql"),
    ("jupyter", "jupyter"),
    ("mlflow", "mlflow"),
    ("chroma", "chroma"),
)
STORE_PORTS = {"mlflow": 5000, "chroma": 8000, "jupyter": 8888}


def store_of(image: str, command: str = "") -> str | None:
    """The data store an image (or its command line) runs, or None."""
    name = image.lower().rsplit("@", 1)[0]
    name = name.rsplit("/", 1)[-1] if "/" in name else name
    base = name.split(":", 1)[0]
    for fragment, store in _STORES:
        if fragment in base or (fragment in image.lower() and "/" in image):
            return store
    if "mlflow server" in command or "mlflow ui" in command:
        return "mlflow"
    if "jupyter" in command:
        return "jupyter"
    return None


@dataclass(frozen=True, slots=True)
class EnvVar:
    value: str | None  # None: set from elsewhere (a secret, a field ref): unknown, not empty
    line: int


@dataclass(frozen=True, slots=True)
class Exposure:
    """A port reachable from outside: ``world`` when bound to every interface."""

    port: int
    line: int
    how: str
    world: bool = True


@dataclass(slots=True)
class Container:
    name: str
    image: str
    line: int
    env: dict[str, EnvVar] = field(default_factory=dict)
    command: list[str] = field(default_factory=list)
    command_line: int = 0
    exposures: list[Exposure] = field(default_factory=list)
    #: the env comes only partly from this file (env_file, envFrom): absent is unknown
    env_incomplete: bool = False

    @property
    def store(self) -> str | None:
        return store_of(self.image, " ".join(self.command))


@dataclass(slots=True)
class DeployDoc:
    kind: str
    containers: list[Container] = field(default_factory=list)
    exposures: list[Exposure] = field(default_factory=list)
    #: .env files and Helm values: variables not bound to one container
    env: dict[str, EnvVar] = field(default_factory=dict)
    #: Helm values: ``auth.enabled: false`` and similar switches (line, what)
    auth_off: list[tuple[int, str]] = field(default_factory=list)
