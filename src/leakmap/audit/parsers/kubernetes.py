"""Kubernetes manifests: YAML files (one or more documents) with ``apiVersion`` and ``kind``.

Workloads (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob) give their
containers (image, env, command and args, ``hostPort``); a Service of type
``LoadBalancer`` or ``NodePort`` and an Ingress routing to a service port give
exposures. ``List`` documents are unwrapped. Helm templates (``{{ … }}``) are not
manifests and are not taken.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from leakmap.audit.deploy import DATA_PORTS, Container, DeployDoc, Exposure
from leakmap.audit.parsers.common import command_words, env_of, line_of, read_text
from leakmap.audit.parsers.yamlsource import LineDict, LineList, load_all

__all__ = ["NAME", "parse", "takes"]

NAME = "kubernetes"
_API = re.compile(r"^apiVersion\s*:", re.MULTILINE)
_KIND = re.compile(r"^kind\s*:", re.MULTILINE)
_WORKLOADS = {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}


def takes(path: Path, head: str) -> bool:
    return (
        path.suffix.lower() in (".yaml", ".yml")
        and bool(_API.search(head) and _KIND.search(head))
        and "{{" not in head
    )


def _pod_spec(doc: LineDict) -> Any:
    spec = doc.get("spec")
    if not isinstance(spec, LineDict):
        return None
    if doc.get("kind") == "Pod":
        return spec
    if doc.get("kind") == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec") if isinstance(spec, LineDict) else None
        if not isinstance(spec, LineDict):
            return None
    template = spec.get("template")
    return template.get("spec") if isinstance(template, LineDict) else None


def _containers(pod: LineDict, owner: str) -> list[Container]:
    out: list[Container] = []
    for key in ("containers", "initContainers"):
        items = pod.get(key)
        if not isinstance(items, LineList):
            continue
        for spec, line in zip(items, items.item_lines, strict=False):
            if not isinstance(spec, LineDict):
                continue
            command = command_words(spec.get("command")) + command_words(spec.get("args"))
            container = Container(
                name=f"{owner}/{spec.get('name', '?')}",
                image=str(spec.get("image") or ""),
                line=line,
                env=env_of(spec.get("env"), line),
                command=command,
                command_line=line_of(spec, "args", line_of(spec, "command", line)),
                env_incomplete="envFrom" in spec,
            )
            ports = spec.get("ports")
            if isinstance(ports, LineList):
                for port, port_line in zip(ports, ports.item_lines, strict=False):
                    if isinstance(port, LineDict) and isinstance(port.get("hostPort"), int):
                        container.exposures.append(
                            Exposure(int(port["hostPort"]), port_line, "hostPort", True)
                        )
            if pod.get("hostNetwork") is True:
                container.exposures += [
                    Exposure(int(p["containerPort"]), pl, "hostNetwork", True)
                    for p, pl in zip(ports or [], getattr(ports, "item_lines", []), strict=False)
                    if isinstance(p, LineDict) and isinstance(p.get("containerPort"), int)
                ]
            out.append(container)
    return out


def _service(doc: LineDict, name: str) -> list[Exposure]:
    spec = doc.get("spec")
    if not isinstance(spec, LineDict):
        return []
    kind = str(spec.get("type") or "ClusterIP")
    if kind not in ("LoadBalancer", "NodePort"):
        return []
    restricted = spec.get("loadBalancerSourceRanges")
    world = not (isinstance(restricted, LineList) and restricted and kind == "LoadBalancer")
    out = []
    ports = spec.get("ports")
    if isinstance(ports, LineList):
        for port, line in zip(ports, ports.item_lines, strict=False):
            if not isinstance(port, LineDict):
                continue
            numbers = {port.get("port"), port.get("targetPort")}
            for number in numbers:
                if isinstance(number, int) and number in DATA_PORTS:
                    out.append(Exposure(number, line, f"Service {name} type {kind}", world))
                    break
    return out


def _ingress(doc: LineDict, name: str) -> list[Exposure]:
    out: list[Exposure] = []

    def visit(node: Any) -> None:
        if isinstance(node, LineDict):
            service = node.get("service")
            if isinstance(service, LineDict) and isinstance(service.get("port"), LineDict):
                number = service["port"].get("number")
                if isinstance(number, int) and number in DATA_PORTS:
                    line = line_of(service["port"], "number")
                    out.append(Exposure(number, line, f"Ingress {name}", True))
            port = node.get("servicePort")
            if isinstance(port, int) and port in DATA_PORTS:
                out.append(Exposure(port, line_of(node, "servicePort"), f"Ingress {name}", True))
            for value in node.values():
                visit(value)
        elif isinstance(node, LineList):
            for value in node:
                visit(value)

    visit(doc.get("spec"))
    return out


def _documents(docs: list[Any]) -> list[LineDict]:
    out: list[LineDict] = []
    for doc in docs:
        if isinstance(doc, LineDict) and doc.get("kind") == "List":
            items = doc.get("items")
            out += [d for d in items if isinstance(d, LineDict)] if isinstance(items, list) else []
        elif isinstance(doc, LineDict):
            out.append(doc)
    return out


def parse(path: Path, display: str) -> DeployDoc:
    doc = DeployDoc(kind=NAME)
    for item in _documents(list(load_all(read_text(path)))):
        kind = str(item.get("kind") or "")
        meta = item.get("metadata")
        name = str(meta.get("name", "?")) if isinstance(meta, LineDict) else "?"
        if kind in _WORKLOADS:
            pod = _pod_spec(item)
            if isinstance(pod, LineDict):
                doc.containers += _containers(pod, f"{kind}/{name}")
        elif kind == "Service":
            doc.exposures += _service(item, name)
        elif kind == "Ingress":
            doc.exposures += _ingress(item, name)
    return doc
