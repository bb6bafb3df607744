"""The service registry: a plain dict of name -> plugin class.

Built-in plugins are listed here; third-party plugins register through the
``leakmap.services`` entry-point group (a class implementing
:class:`~leakmap.services.base.Service`).
Nothing is loaded at import time.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import entry_points

from leakmap.services.base import Service

__all__ = [
    "ENTRY_POINT_GROUP",
    "builtin_services",
    "default_ports",
    "load_services",
    "url_schemes",
]

ENTRY_POINT_GROUP = "leakmap.services"


def builtin_services() -> dict[str, type[Service]]:
    from leakmap.services.chroma.plugin import Chroma
    from leakmap.services.clickhouse.plugin import ClickHouse
    from leakmap.services.elasticsearch.plugin import Elasticsearch
    from leakmap.services.etcd.plugin import Etcd
    from leakmap.services.jupyter.plugin import Jupyter
    from leakmap.services.litellm.plugin import Litellm
    from leakmap.services.memcached.plugin import Memcached
    from leakmap.services.mlflow.plugin import Mlflow
    from leakmap.services.mongodb.plugin import MongoDB
    from leakmap.services.mysql.plugin import MySQL
    from leakmap.services.ollama.plugin import Ollama
    from leakmap.services.openai_compat.plugin import OpenAiCompatible
    from leakmap.services.postgresql.plugin import PostgreSQL
    from leakmap.services.prometheus.plugin import Prometheus
    from leakmap.services.qdrant.plugin import Qdrant
    from leakmap.services.ray.plugin import Ray
    from leakmap.services.redis.plugin import Redis

    plugins: list[type[Service]] = [
        ClickHouse,
        PostgreSQL,
        MySQL,
        Redis,
        Memcached,
        Etcd,
        Elasticsearch,
        MongoDB,
        Jupyter,
        Mlflow,
        Chroma,
        Prometheus,
        Litellm,
        Ollama,
        OpenAiCompatible,
        Qdrant,
        Ray,
    ]
    return {p.name: p for p in plugins}


def load_services(*, plugins: bool = True) -> dict[str, type[Service]]:
    """Built-in services plus those from installed entry points (built-ins win on a clash)."""
    services = builtin_services()
    if plugins:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            cls = ep.load()
            name = getattr(cls, "name", None)
            if isinstance(cls, type) and isinstance(name, str) and name not in services:
                services[name] = cls
    return services


def default_ports(services: Mapping[str, type[Service]]) -> dict[int, list[str]]:
    """Port -> names of the services that usually listen there (the default port set)."""
    ports: dict[int, list[str]] = {}
    for name, cls in services.items():
        port_map: Mapping[int, str] = cls.default_ports
        for port in port_map:
            ports.setdefault(port, []).append(name)
    return dict(sorted(ports.items()))


def url_schemes(services: Mapping[str, type[Service]]) -> dict[str, tuple[int, str]]:
    """URL scheme -> (default port, transport hint), as the plugins declare them (``http``
    and ``https`` always; the first plugin to declare a scheme keeps it)."""
    schemes: dict[str, tuple[int, str]] = {"http": (80, "http"), "https": (443, "https")}
    for cls in services.values():
        for scheme, spec in getattr(cls, "url_schemes", {}).items():
            schemes.setdefault(scheme.lower(), spec)
    return schemes
