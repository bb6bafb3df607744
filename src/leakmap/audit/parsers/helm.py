"""Helm values files: ``values.yaml``, ``values-*.yaml``, ``*.values.yaml``.

Values have no fixed schema, so the parser reads the conventions charts share:

* a ``service`` mapping with ``type: LoadBalancer`` or ``NodePort`` publishes the data-store
  ports found in it (``port``, ``ports.http``, ``ports: [{port: …}]``);
* ``auth: {enabled: false}`` (the Bitnami Redis, PostgreSQL, MongoDB, … charts) turns a
  store's authentication off;
* ``env``/``extraEnvVars`` lists and ``…password: ""`` entries feed the same environment
  checks as compose (``CLICKHOUSE_PASSWORD`` empty, …);
* ``image.repository`` names the store.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from leakmap.audit.deploy import DATA_PORTS, DeployDoc, EnvVar, Exposure
from leakmap.audit.model import ParseError
from leakmap.audit.parsers.common import env_of, read_text
from leakmap.audit.parsers.yamlsource import LineDict, LineList, load_one

__all__ = ["NAME", "parse", "takes"]

NAME = "helm"
_NAME = re.compile(r"^(values([.-][\w.-]+)?|[\w.-]+[.-]values)\.ya?ml$", re.IGNORECASE)
_MAX_NODES = 200_000


def takes(path: Path, head: str) -> bool:
    return bool(_NAME.match(path.name))


def _ports_in(node: Any, line: int, budget: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    if budget[0] <= 0:
        return out
    budget[0] -= 1
    if isinstance(node, LineDict):
        for key, value in node.items():
            key_line = node.lines.get(key, line)
            if isinstance(value, int) and not isinstance(value, bool) and value in DATA_PORTS:
                if "port" in str(key).lower() or str(key).lower() in ("http", "tcp", "native"):
                    out.append((value, key_line))
            else:
                out += _ports_in(value, key_line, budget)
    elif isinstance(node, LineList):
        for value, value_line in zip(node, node.item_lines, strict=False):
            out += _ports_in(value, value_line, budget)
    return out


def _walk(node: Any, path: tuple[str, ...], doc: DeployDoc, budget: list[int]) -> None:
    if budget[0] <= 0:
        return
    budget[0] -= 1
    if isinstance(node, LineDict):
        stype = node.get("type")
        if path and path[-1].lower() == "service" and stype in ("LoadBalancer", "NodePort"):
            restricted = node.get("loadBalancerSourceRanges")
            world = not (isinstance(restricted, LineList) and restricted)
            for port, line in _ports_in(node, node.line, budget):
                where = ".".join(path)
                doc.exposures.append(Exposure(port, line, f"{where}.type {stype}", world))
        if path and path[-1].lower() == "auth" and node.get("enabled") is False:
            owner = ".".join(path[:-1]) or "chart"
            doc.auth_off.append((node.lines.get("enabled", node.line), f"{owner}: auth.enabled"))
        for key, value in node.items():
            name = str(key)
            line = node.lines.get(key, node.line)
            if name in ("env", "extraEnvVars", "extraEnv") and isinstance(
                value, LineList | LineDict
            ):
                doc.env.update(env_of(value, line))
            elif name.isupper() and isinstance(value, str | int | type(None)):
                doc.env[name] = EnvVar("" if value is None else str(value), line)
            _walk(value, (*path, name), doc, budget)
    elif isinstance(node, LineList):
        for value in node:
            _walk(value, path, doc, budget)


def parse(path: Path, display: str) -> DeployDoc:
    data = load_one(read_text(path))
    doc = DeployDoc(kind=NAME)
    if data is None:
        return doc
    if not isinstance(data, LineDict):
        raise ParseError("a values file must be a mapping", 1)
    _walk(data, (), doc, [_MAX_NODES])
    return doc
