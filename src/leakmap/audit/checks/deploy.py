"""Checks over deployment files: docker-compose, Kubernetes manifests, Helm values, .env.

Example, a compose file::

    high      docker-compose.yml:9   deploy.datastore-port-published   ports: 8123:8123
    critical  docker-compose.yml:7   deploy.clickhouse-access-management-no-password
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from leakmap.audit.checks import Hit, check
from leakmap.audit.deploy import DATA_PORTS, STORE_PORTS, Container, DeployDoc, EnvVar
from leakmap.findings import Severity

__all__: list[str] = []

_DEPLOY = ("compose", "kubernetes", "helm", "dotenv")
_TRUE = ("1", "true", "yes", "on")
_JUPYTER_EMPTY = re.compile(
    r"--(?:NotebookApp|ServerApp|IdentityProvider)\.token\s*=\s*(?:''|\"\"|(?=\s|$))",
    re.IGNORECASE,
)


def _path(doc: DeployDoc) -> str:
    return getattr(doc, "path", "")


def _published(container: Container) -> bool:
    return any(e.world for e in container.exposures)


@check(*_DEPLOY)
def published_ports(doc: DeployDoc) -> Iterator[Hit]:
    for container in doc.containers:
        store_port = STORE_PORTS.get(container.store or "")
        for exp in container.exposures:
            what = DATA_PORTS.get(exp.port) or (
                (container.store or "") if exp.port == store_port else None
            )
            if exp.world and what:
                yield Hit(
                    "deploy.datastore-port-published",
                    _path(doc),
                    exp.line,
                    f"{container.name}: {exp.how} ({what})",
                    key=f"{container.name}:{exp.port}",
                )
    for exp in doc.exposures:
        if exp.world and exp.port in DATA_PORTS:
            yield Hit(
                "deploy.datastore-port-published",
                _path(doc),
                exp.line,
                f"{exp.how}: port {exp.port} ({DATA_PORTS[exp.port]})",
                key=f"{exp.how}:{exp.port}",
            )


def _clickhouse_env(
    env: Mapping[str, EnvVar], path: str, owner: str, line: int, *, incomplete: bool, public: bool
) -> Iterator[Hit]:
    password = env.get("CLICKHOUSE_PASSWORD")
    manage = env.get("CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT")
    empty = password is not None and password.value == ""
    missing = password is None and not incomplete
    if manage is not None and (manage.value or "").strip().lower() in _TRUE and (empty or missing):
        why = "empty" if empty else "not set"
        yield Hit(
            "deploy.clickhouse-access-management-no-password",
            path,
            manage.line,
            f"{owner}: CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT=1 with CLICKHOUSE_PASSWORD {why}",
            key=owner,
        )
    elif empty and password is not None:
        yield Hit(
            "deploy.clickhouse-empty-password",
            path,
            password.line,
            f"{owner}: CLICKHOUSE_PASSWORD is empty",
            key=owner,
            severity=Severity.CRITICAL if public else None,
        )
    del line


def _env_without_auth(env: Mapping[str, EnvVar], path: str, owner: str) -> Iterator[Hit]:
    rules = (
        ("POSTGRES_HOST_AUTH_METHOD", lambda v: v.lower() == "trust", "PostgreSQL trust auth"),
        ("ALLOW_EMPTY_PASSWORD", lambda v: v.lower() in _TRUE, "empty password allowed"),
        ("MYSQL_ALLOW_EMPTY_PASSWORD", lambda v: v.lower() in _TRUE, "MySQL empty root password"),
        (
            "MARIADB_ALLOW_EMPTY_ROOT_PASSWORD",
            lambda v: v.lower() in _TRUE,
            "MariaDB empty root password",
        ),
        ("JUPYTER_TOKEN", lambda v: v == "", "Jupyter with an empty token"),
    )
    for name, bad, what in rules:
        var = env.get(name)
        if var is not None and var.value is not None and bad(var.value.strip()):
            yield Hit(
                "deploy.store-without-auth",
                path,
                var.line,
                f"{owner}: {name}={var.value} ({what})",
                key=f"{owner}:{name}",
            )


def _container_without_auth(container: Container, path: str) -> Iterator[Hit]:
    store = container.store
    words = " ".join(container.command)
    env = container.env
    line = container.command_line or container.line
    reason = None
    if store == "redis":
        has_pass = "--requirepass" in words or "--aclfile" in words
        has_env = any((env.get(k) or EnvVar(None, 0)).value for k in ("REDIS_PASSWORD",))
        if not has_pass and not has_env and not container.env_incomplete:
            reason = "Redis without --requirepass or REDIS_PASSWORD"
    elif store == "jupyter" and _JUPYTER_EMPTY.search(words):
        reason = "Jupyter with an empty token"
    elif store == "mlflow" and ("mlflow server" in words or "mlflow ui" in words):
        if "basic-auth" not in words:
            reason = "MLflow server without --app-name basic-auth"
    elif store == "chroma" and not container.env_incomplete:
        keys = ("CHROMA_SERVER_AUTHN_PROVIDER", "CHROMA_SERVER_AUTH_PROVIDER")
        if not any(k in env for k in keys):
            reason = "Chroma without CHROMA_SERVER_AUTHN_PROVIDER"
            line = container.line
    if reason:
        yield Hit(
            "deploy.store-without-auth",
            path,
            line,
            f"{container.name}: {reason}",
            key=container.name,
        )


@check(*_DEPLOY)
def containers_auth(doc: DeployDoc) -> Iterator[Hit]:
    path = _path(doc)
    for container in doc.containers:
        if container.store == "clickhouse" or any(
            k.startswith("CLICKHOUSE_") for k in container.env
        ):
            yield from _clickhouse_env(
                container.env,
                path,
                container.name,
                container.line,
                incomplete=container.env_incomplete or container.store != "clickhouse",
                public=_published(container),
            )
        yield from _env_without_auth(container.env, path, container.name)
        yield from _container_without_auth(container, path)


@check(*_DEPLOY)
def file_env(doc: DeployDoc) -> Iterator[Hit]:
    """Variables not bound to a container: .env files and Helm values."""
    path = _path(doc)
    if doc.env:
        yield from _clickhouse_env(
            doc.env, path, doc.kind, 1, incomplete=doc.kind != "dotenv", public=False
        )
        yield from _env_without_auth(doc.env, path, doc.kind)
    for line, what in doc.auth_off:
        yield Hit("deploy.store-without-auth", path, line, f"{what}: false", key=what)
