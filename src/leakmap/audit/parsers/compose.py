"""docker-compose files: ``docker-compose*.yml``, ``compose*.yaml`` and the like.

Each service becomes a :class:`~leakmap.audit.deploy.Container` with its image,
environment, command and published ports. ``ports:`` in the short syntax (``"8123:8123"``,
``"127.0.0.1:8123:8123"``, ``"9000"``) and the long one (``target``, ``published``,
``host_ip``) are read; a port bound to no address, ``0.0.0.0`` or ``::`` is published to
the world, one bound to a loopback address is not.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

from leakmap.audit.deploy import Container, DeployDoc, Exposure
from leakmap.audit.model import ParseError
from leakmap.audit.parsers.common import command_words, env_of, line_of, read_text
from leakmap.audit.parsers.yamlsource import LineDict, LineList, load_one

__all__ = ["NAME", "parse", "published", "takes"]

NAME = "compose"
_NAME = re.compile(r"^(docker-)?compose([.-][\w.-]+)?\.ya?ml$", re.IGNORECASE)


def takes(path: Path, head: str) -> bool:
    return bool(_NAME.match(path.name))


def _world(host_ip: str) -> bool:
    host = host_ip.strip("[]")
    if not host or host in ("0.0.0.0", "::", "*"):  # noqa: S104 - what we look for
        return True
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # a name or a variable: cannot tell it is loopback


def _ports_range(text: str) -> list[int]:
    text = text.split("/", 1)[0]
    start, _, end = text.partition("-")
    try:
        first = int(start)
        last = int(end) if end else first
    except ValueError:
        return []
    return list(range(first, min(last, first + 1024) + 1))


def published(entry: Any) -> list[tuple[int, bool, str]]:
    """(container port, published to the world, as written) of one ``ports:`` entry."""
    if isinstance(entry, LineDict):
        target = entry.get("target")
        host_ip = str(entry.get("host_ip") or "")
        if target is None:
            return []
        return [(p, _world(host_ip), f"target {target}") for p in _ports_range(str(target))]
    text = str(entry)
    host_ip = ""
    if text.startswith("["):
        close = text.find("]")
        host_ip, text = text[1:close], text[close + 2 :]
    parts = text.rsplit(":", 2) if text.count(":") >= 2 else text.split(":")
    if len(parts) == 3:
        host_ip = parts[0]
    container = parts[-1]
    return [(p, _world(host_ip), str(entry)) for p in _ports_range(container)]


def _container(name: str, spec: LineDict, line: int) -> Container:
    command = command_words(spec.get("command")) or command_words(spec.get("entrypoint"))
    container = Container(
        name=name,
        image=str(spec.get("image") or ""),
        line=line,
        env=env_of(spec.get("environment"), line),
        command=command,
        command_line=line_of(spec, "command", line_of(spec, "entrypoint", line)),
        env_incomplete="env_file" in spec,
    )
    ports = spec.get("ports")
    if isinstance(ports, LineList):
        for entry, entry_line in zip(ports, ports.item_lines, strict=False):
            for port, world, shown in published(entry):
                container.exposures.append(Exposure(port, entry_line, f"ports: {shown}", world))
    return container


def parse(path: Path, display: str) -> DeployDoc:
    data = load_one(read_text(path))
    if data is None:
        return DeployDoc(kind=NAME)
    if not isinstance(data, LineDict):
        raise ParseError("a compose file must be a mapping", 1)
    services = data.get("services")
    if services is None and "version" not in data:
        services = data  # version 1 files: services at the top
    doc = DeployDoc(kind=NAME)
    if isinstance(services, LineDict):
        for name, spec in services.items():
            if isinstance(spec, LineDict):
                doc.containers.append(_container(str(name), spec, services.lines[name]))
    return doc
