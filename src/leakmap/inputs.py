"""Open ports from the tools people already run: ``leakmap scan --input FILE``.

The format is detected from the content (not the file name):

* **nmap XML** (``nmap -oX``): every ``<port protocol="tcp">`` whose ``<state state="open">``,
  with the host's address and the name the user gave (``hostname type="user"``), if any;
* **masscan JSON** (``masscan -oJ``; also the older output with a trailing comma and the
  ``{"finished": 1}`` record) and masscan's JSON lines;
* **masscan list** (``masscan -oL``): ``open tcp PORT ADDRESS TIMESTAMP`` lines;
* **naabu JSON lines** (``naabu -json``): ``{"host", "ip", "port", ...}`` a line; the output of
  ``leakmap ports`` is the same shape;
* **host:port lines**: ``192.0.2.10:8123``, ``db.example.com:9000``, ``[2001:db8::1]:9000``
  (``#`` comments and blank lines skipped).

Only TCP ports reported open are taken. The result is a list of ``host:port`` targets (with
the address when the tool resolved it), scanned with :class:`ListedPorts` in place of the port
scan: fingerprinting starts at once on exactly the listed ports.

A file that cannot be read or is none of these raises :class:`~leakmap.errors.InputError`
(one line, naming the formats understood).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import AsyncGenerator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from leakmap.errors import TargetError, UsageError
from leakmap.net.portscan import PortResult, PortScanner, PortState
from leakmap.targets import ScanHost, Target, parse_target

__all__ = [
    "FORMATS",
    "InputError",
    "ListedPort",
    "ListedPorts",
    "detect_format",
    "listed_targets",
    "parse_input",
    "read_input",
]

FORMATS = {
    "nmap-xml": "nmap XML (-oX)",
    "masscan-json": "masscan JSON (-oJ)",
    "masscan-list": "masscan list (-oL)",
    "naabu-jsonl": "naabu JSON lines (-json)",
    "hostport": "host:port lines",
}
_UNDERSTOOD = ", ".join(FORMATS.values())
_MAX_INPUT = 512 * 1024 * 1024


class InputError(UsageError):
    """An ``--input`` file that cannot be read or is in no format leakmap understands."""


@dataclass(frozen=True, slots=True)
class ListedPort:
    """One open TCP port a tool reported: ``host`` is the name (or the address)."""

    host: str
    ip: str | None
    port: int


def _valid_port(value: Any) -> int | None:
    try:
        port = int(value)
    except (TypeError, ValueError):
        return None
    return port if 1 <= port <= 65535 else None


def _valid_ip(value: Any) -> str | None:
    try:
        return str(ipaddress.ip_address(str(value).strip().strip("[]")))
    except ValueError:
        return None


def detect_format(text: str) -> str | None:
    """The format name of ``text`` (a key of :data:`FORMATS`), or None."""
    head = text.lstrip("\ufeff \t\r\n")[:4096]
    if head.startswith("<") and "<nmaprun" in text[:65536]:
        return "nmap-xml"
    if head.startswith("["):
        return "masscan-json"
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    if not lines:
        return "masscan-list" if head.startswith("#masscan") else None
    first = lines[0]
    if first.startswith("{"):
        try:
            record = json.loads(first.rstrip(","))
        except ValueError:
            return None
        if isinstance(record, dict) and isinstance(record.get("ports"), list):
            return "masscan-json"
        if isinstance(record, dict) and "port" in record:
            return "naabu-jsonl"
        return None
    if re.match(r"^(open|closed|banner)\s+tcp\s+\d+\s+\S+", first):
        return "masscan-list"
    try:
        target = parse_target(first)
    except TargetError:
        return None
    return "hostport" if target.port is not None and "://" not in first else None


def _nmap(text: str) -> Iterator[ListedPort]:
    try:
        root: Element = SafeET.fromstring(text)
    except (SafeET.ParseError, DefusedXmlException) as exc:
        raise InputError(f"nmap XML that does not parse: {str(exc)[:120]}") from exc
    for host in root.iter("host"):
        address = next(
            (
                _valid_ip(a.get("addr"))
                for a in host.iter("address")
                if a.get("addrtype") in ("ipv4", "ipv6")
            ),
            None,
        )
        if address is None:
            continue
        names = [h for h in host.iter("hostname") if h.get("name")]
        user = [h for h in names if h.get("type") == "user"]
        name = _name(user[0] if user else None, address)
        for port in host.iter("port"):
            state = port.find("state")
            if port.get("protocol", "tcp") != "tcp" or state is None:
                continue
            number = _valid_port(port.get("portid"))
            if number is not None and state.get("state") == "open":
                yield ListedPort(name, address, number)


def _name(element: Element | None, address: str) -> str:
    if element is None:
        return address
    try:
        return parse_target(str(element.get("name"))).host
    except TargetError:
        return address


def _masscan_records(text: str) -> list[Any]:
    # masscan 1.0 ended the list with an unquoted ``{finished: 1}`` record; later ones
    # with a comma before the closing bracket
    body = re.sub(r"\{\s*\"?finished\"?\s*:\s*1\s*\}", "", text).strip()
    if body.startswith("["):
        try:
            data = json.loads(body)
        except ValueError:
            try:
                data = json.loads(re.sub(r",\s*\]\s*$", "]", body))
            except ValueError as exc:
                raise InputError(f"masscan JSON that does not parse: {exc}") from exc
        return data if isinstance(data, list) else []
    records = []
    for line in body.splitlines():
        line = line.strip().rstrip(",")
        if not line or line in ("[", "]"):
            continue
        try:
            records.append(json.loads(line))
        except ValueError as exc:
            raise InputError(f"masscan JSON line that does not parse: {exc}") from exc
    return records


def _masscan_json(text: str) -> Iterator[ListedPort]:
    for record in _masscan_records(text):
        if not isinstance(record, dict):
            continue
        ip = _valid_ip(record.get("ip"))
        ports = record.get("ports")
        if ip is None or not isinstance(ports, list):
            continue
        for entry in ports:
            if not isinstance(entry, dict) or entry.get("proto", "tcp") != "tcp":
                continue
            number = _valid_port(entry.get("port"))
            if number is not None and entry.get("status", "open") == "open":
                yield ListedPort(ip, ip, number)


def _masscan_list(text: str) -> Iterator[ListedPort]:
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[0] == "open" and fields[1] == "tcp":
            number, ip = _valid_port(fields[2]), _valid_ip(fields[3])
            if number is not None and ip is not None:
                yield ListedPort(ip, ip, number)


def _naabu(text: str) -> Iterator[ListedPort]:
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise InputError(f"line {number}: not JSON ({exc})") from exc
        if not isinstance(record, dict):
            continue
        if str(record.get("protocol", "tcp")).lower() != "tcp":
            continue
        port = _valid_port(record.get("port"))
        ip = _valid_ip(record.get("ip"))
        host = record.get("host")
        name = ip
        if isinstance(host, str) and host.strip():
            try:
                name = parse_target(host.strip()).host
            except TargetError:
                name = ip
        if port is None or name is None:
            continue
        yield ListedPort(name, ip, port)


def _hostport(text: str) -> Iterator[ListedPort]:
    for number, line in enumerate(text.splitlines(), 1):
        body = line.split("#", 1)[0].strip()
        if not body:
            continue
        try:
            target = parse_target(body)
        except TargetError as exc:
            raise InputError(f"line {number}: {exc}") from exc
        if target.port is None or target.network is not None:
            raise InputError(f"line {number}: {body[:80]!r} is not host:port")
        yield ListedPort(target.host, target.ip, target.port)


_PARSERS = {
    "nmap-xml": _nmap,
    "masscan-json": _masscan_json,
    "masscan-list": _masscan_list,
    "naabu-jsonl": _naabu,
    "hostport": _hostport,
}


def parse_input(text: str, source: str = "input") -> tuple[str, list[ListedPort]]:
    """Detect the format of ``text`` and read its open TCP ports (each once, in order)."""
    kind = detect_format(text)
    if kind is None:
        raise InputError(f"--input {source}: format not recognised (understood: {_UNDERSTOOD})")
    try:
        found = list(dict.fromkeys(_PARSERS[kind](text)))
    except InputError as exc:
        raise InputError(f"--input {source}: {FORMATS[kind]}: {exc}") from exc
    return kind, found


def read_input(source: str, stdin: TextIO | None = None) -> tuple[str, list[ListedPort]]:
    """Read and parse an ``--input`` file (``-``: standard input)."""
    name = "stdin" if source == "-" else source
    try:
        if source == "-":
            if stdin is None:
                raise InputError("--input -: no standard input")
            text = stdin.read(_MAX_INPUT)
        else:
            with Path(source).open(encoding="utf-8") as handle:
                text = handle.read(_MAX_INPUT)
    except UnicodeDecodeError as exc:
        raise InputError(f"cannot read --input {name}: not UTF-8 text") from exc
    except OSError as exc:
        raise InputError(f"cannot read --input {name}: {exc.strerror or exc}") from exc
    return parse_input(text, name)


def listed_targets(ports: Iterable[ListedPort]) -> list[Target]:
    """``host:port`` targets for the pipeline; a name with a known address keeps both."""
    out = []
    for item in ports:
        text = f"{item.host}:{item.port}"
        out.append(Target(text, item.host, item.ip, None, item.port))
    return out


class ListedPorts(PortScanner):
    """Stands in for the port scanner when the open ports are known: every (host, port) it
    is given is reported open without a connection (``reason``: ``listed``)."""

    async def batches(self, hosts: Iterable[ScanHost]) -> AsyncGenerator[list[PortResult], None]:
        for host in hosts:
            yield [
                PortResult(host.host, host.ip, port, PortState.OPEN, "listed", host.hints.get(port))
                for port in host.ports
            ]
