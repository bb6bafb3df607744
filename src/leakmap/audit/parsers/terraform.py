"""Terraform (``*.tf``), parsed by python-hcl2: the cloud network rules that admit traffic.

Read into :class:`NetRule` (ports, sources, the resource and the line):

* AWS: ``aws_security_group`` ``ingress`` blocks, ``aws_security_group_rule`` of type
  ``ingress``, ``aws_vpc_security_group_ingress_rule``;
* GCP: ``google_compute_firewall`` (``INGRESS``, ``allow`` blocks, ``source_ranges``);
* Azure: ``azurerm_network_security_rule`` and the ``security_rule`` blocks of
  ``azurerm_network_security_group`` (``Inbound``, ``Allow``).

python-hcl2 gives no line numbers, so the line of a resource is found by its
``resource "TYPE" "NAME"`` header and that of a nested block by its n-th occurrence after
it. A value that is an expression (a variable) is not a literal source and is skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
from hcl2.utils import SerializationOptions

from leakmap.audit.model import ParseError
from leakmap.audit.parsers.common import read_text

__all__ = ["NAME", "NetRule", "TerraformDoc", "parse", "takes"]

NAME = "terraform"
ALL_PORTS = (0, 65535)


@dataclass(frozen=True, slots=True)
class NetRule:
    resource: str  # TYPE.NAME
    line: int
    ports: tuple[tuple[int, int], ...]  # inclusive ranges
    sources: tuple[str, ...]


@dataclass(slots=True)
class TerraformDoc:
    rules: list[NetRule]


def takes(path: Path, head: str) -> bool:
    return path.suffix.lower() == ".tf"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in _as_list(value) if isinstance(v, str) and "${" not in v)


def _int(value: Any) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _range(text: str) -> tuple[int, int] | None:
    text = text.strip()
    if text in ("*", "", "Any"):
        return ALL_PORTS
    start, _, end = text.partition("-")
    first, last = _int(start), _int(end) if end else _int(start)
    if first is None or last is None:
        return None
    return (first, last)


class _Lines:
    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def resource(self, rtype: str, name: str) -> int:
        pattern = re.compile(rf'^\s*resource\s+"{re.escape(rtype)}"\s+"{re.escape(name)}"')
        for index, line in enumerate(self.lines):
            if pattern.search(line):
                return index + 1
        return 1

    def within(self, start: int, word: str, nth: int = 0) -> int:
        pattern = re.compile(rf"^\s*{re.escape(word)}\b")
        seen = 0
        for index in range(start, len(self.lines)):
            if index > start and self.lines[index].lstrip().startswith("resource "):
                break
            if pattern.search(self.lines[index]):
                if seen == nth:
                    return index + 1
                seen += 1
        return start


def _aws_ports(body: dict[str, Any], protocol_key: str) -> tuple[tuple[int, int], ...]:
    if str(body.get(protocol_key, "tcp")) in ("-1", "all"):
        return (ALL_PORTS,)
    first, last = _int(body.get("from_port")), _int(body.get("to_port"))
    if first is None or last is None:
        return ()
    if first == 0 and last in (0, 65535) and str(body.get(protocol_key)) in ("-1", "all"):
        return (ALL_PORTS,)
    return ((first, last),)


def _rules(rtype: str, name: str, body: dict[str, Any], lines: _Lines) -> list[NetRule]:
    start = lines.resource(rtype, name)
    resource = f"{rtype}.{name}"
    out: list[NetRule] = []
    if rtype == "aws_security_group":
        for n, block in enumerate(_as_list(body.get("ingress"))):
            if isinstance(block, dict):
                sources = _strings(block.get("cidr_blocks")) + _strings(
                    block.get("ipv6_cidr_blocks")
                )
                line = lines.within(start, "ingress", n)
                out.append(NetRule(resource, line, _aws_ports(block, "protocol"), sources))
    elif rtype == "aws_security_group_rule" and str(body.get("type")) == "ingress":
        sources = _strings(body.get("cidr_blocks")) + _strings(body.get("ipv6_cidr_blocks"))
        line = lines.within(start, "cidr_blocks") if sources else start
        out.append(NetRule(resource, line, _aws_ports(body, "protocol"), sources))
    elif rtype == "aws_vpc_security_group_ingress_rule":
        sources = _strings(body.get("cidr_ipv4")) + _strings(body.get("cidr_ipv6"))
        out.append(NetRule(resource, start, _aws_ports(body, "ip_protocol"), sources))
    elif rtype == "google_compute_firewall":
        if str(body.get("direction", "INGRESS")).upper() == "INGRESS":
            sources = _strings(body.get("source_ranges"))
            for n, block in enumerate(_as_list(body.get("allow"))):
                if not isinstance(block, dict):
                    continue
                ports: list[tuple[int, int] | None] = [
                    _range(str(p)) for p in _as_list(block.get("ports"))
                ]
                if str(block.get("protocol")) in ("all",) or not block.get("ports"):
                    ports = [ALL_PORTS]
                line = lines.within(start, "allow", n)
                out.append(
                    NetRule(resource, line, tuple(p for p in ports if p is not None), sources)
                )
    elif rtype in ("azurerm_network_security_rule", "azurerm_network_security_group"):
        blocks = [body] if rtype == "azurerm_network_security_rule" else []
        blocks += [b for b in _as_list(body.get("security_rule")) if isinstance(b, dict)]
        for n, block in enumerate(blocks):
            if str(block.get("direction", "")).lower() != "inbound":
                continue
            if str(block.get("access", "")).lower() != "allow":
                continue
            ranges = _strings(block.get("destination_port_range")) + _strings(
                block.get("destination_port_ranges")
            )
            sources = _strings(block.get("source_address_prefix")) + _strings(
                block.get("source_address_prefixes")
            )
            line = start
            if rtype == "azurerm_network_security_group":
                line = lines.within(start, "security_rule", n)
            found = tuple(p for p in (_range(r) for r in ranges) if p is not None)
            out.append(NetRule(resource, line, found, sources))
    return out


def parse(path: Path, display: str) -> TerraformDoc:
    text = read_text(path)
    try:
        data = hcl2.loads(
            text, serialization_options=SerializationOptions(strip_string_quotes=True)
        )
    except Exception as exc:
        line = getattr(exc, "line", None)
        raise ParseError(
            f"not valid HCL ({type(exc).__name__})", line if isinstance(line, int) else None
        ) from None
    lines = _Lines(text)
    rules: list[NetRule] = []
    for block in _as_list(data.get("resource")):
        if not isinstance(block, dict):
            continue
        for rtype, named in block.items():
            if not isinstance(named, dict):
                continue
            for name, body in named.items():
                if isinstance(body, dict):
                    rules += _rules(str(rtype), str(name), body, lines)
    return TerraformDoc(rules=rules)
