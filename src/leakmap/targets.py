"""Scan targets and port lists: parse, bound, exclude, resolve.

Accepted target forms (as arguments, or one a line in ``-l FILE`` / ``-`` for stdin, where
blank lines and ``#`` comments are ignored)::

    192.0.2.10            an IPv4 or IPv6 address (2001:db8::10)
    db.example.internal   a hostname: resolved to every A/AAAA address; the name is kept
    db.internal:8123      a host and one port (that port only)
    [2001:db8::10]:9000   an IPv6 address and one port
    192.0.2.0/28          a network (every host address; bounded by ``max_hosts``)
    http://db:8123/play   a URL: host, port (scheme default 80/443/9000) and a transport hint

``--exclude`` takes addresses, networks and names; it applies after resolution, so excluding
an address also skips every name that resolves to it. Duplicates are scanned once.

Port lists (``--ports``): ``8123,9000``, ranges ``9000-9010``, service names from the
registry (``clickhouse``), and a leading ``+`` to add to the default set instead of
replacing it (``+6379,7000-7002``).

Bad input raises :class:`~leakmap.errors.TargetError` / :class:`~leakmap.errors.PortSpecError`
with a one-line message.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TextIO
from urllib.parse import urlsplit

from leakmap.errors import PortSpecError, TargetError
from leakmap.net.dns import ResolutionError, Resolver, resolve_system

__all__ = [
    "DEFAULT_MAX_HOSTS",
    "LARGE_NETWORK",
    "Exclusions",
    "HostStream",
    "IPNetwork",
    "ResolvedTargets",
    "ScanHost",
    "Target",
    "TargetSet",
    "collect_targets",
    "parse_exclusions",
    "parse_ports",
    "parse_target",
    "read_target_source",
    "resolve_targets",
]

DEFAULT_MAX_HOSTS = 65536
#: addresses in a /16: a larger network needs ``allow_large``
LARGE_NETWORK = 65536

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@functools.cache
def _url_schemes() -> dict[str, tuple[int, str | None]]:
    """URL scheme -> (default port, transport hint): ``http``, ``https``, ``tcp`` and every
    scheme a plugin declares (``clickhouse://``, ``redis://``, ...; see the registry)."""
    from leakmap.services.registry import load_services, url_schemes

    schemes: dict[str, tuple[int, str | None]] = dict(url_schemes(load_services()))
    schemes["tcp"] = (0, None)
    return schemes


_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")
_MAX_TARGET_LEN = 1024


@dataclass(frozen=True, slots=True)
class Target:
    """One parsed target. Exactly one of ``ip`` (a literal), ``network`` or a name in
    ``host`` (with ``ip`` None) describes where to go; ``port`` None means the port set."""

    text: str
    host: str
    ip: str | None = None
    network: IPNetwork | None = None
    port: int | None = None
    transport: str | None = None

    @property
    def is_name(self) -> bool:
        return self.ip is None and self.network is None

    @property
    def size(self) -> int:
        """Addresses this target expands to before resolution (a name counts as one)."""
        return self.network.num_addresses if self.network is not None else 1


@dataclass(frozen=True, slots=True)
class Exclusions:
    """Addresses, networks and names that must not be scanned."""

    networks: tuple[IPNetwork, ...] = ()
    names: frozenset[str] = frozenset()

    def excludes_ip(self, ip: str) -> bool:
        address = ipaddress.ip_address(ip)
        return any(address.version == n.version and address in n for n in self.networks)

    def excludes_name(self, name: str) -> bool:
        return name.lower().rstrip(".") in self.names


@dataclass(frozen=True, slots=True)
class TargetSet:
    targets: tuple[Target, ...]
    exclusions: Exclusions = field(default_factory=Exclusions)


@dataclass(frozen=True, slots=True)
class ScanHost:
    """One address to scan: the name the user gave (or the address), the address, the ports,
    and transport hints from URLs (port -> transport)."""

    host: str
    ip: str
    ports: tuple[int, ...]
    hints: Mapping[int, str] = field(default_factory=dict)


_NO_HINTS: Mapping[int, str] = MappingProxyType({})


class HostStream:
    """The hosts of a scan, read lazily: the named and literal targets (already merged per
    address), then every address of every network, made one at a time as the scan reads
    them, so a /12 is never held in memory. Re-iterable; an address in several targets is
    yielded once, with the union of their ports."""

    def __init__(
        self,
        explicit: Sequence[ScanHost] = (),
        networks: Sequence[IPNetwork] = (),
        ports: Sequence[int] = (),
        exclusions: Exclusions | None = None,
    ) -> None:
        self.explicit = tuple(explicit)
        self.networks = tuple(networks)
        self.ports = tuple(ports)
        self.exclusions = exclusions or Exclusions()
        self._inside = {h.ip for h in self.explicit if self._in_networks(h.ip)}
        #: network addresses --exclude removes (counted, not expanded)
        self.excluded = _excluded_in(self.networks, self.exclusions)

    def _in_networks(self, ip: str, upto: int | None = None) -> bool:
        address = ipaddress.ip_address(ip)
        return any(address.version == n.version and address in n for n in self.networks[:upto])

    def __iter__(self) -> Iterator[ScanHost]:
        for host in self.explicit:
            if host.ip not in self._inside:
                yield host
        by_ip = {h.ip: h for h in self.explicit if h.ip in self._inside}
        excluded = self.exclusions.networks
        for index, network in enumerate(self.networks):
            earlier = [n for n in self.networks[:index] if n.version == network.version]
            skip = [n for n in excluded if n.version == network.version and n.overlaps(network)]
            if any(network.subnet_of(n) for n in skip):  # type: ignore[arg-type]
                continue
            overlapping = [n for n in earlier if n.overlaps(network)]
            for address in _host_addresses(network):
                if skip and any(address in n for n in skip):
                    continue
                if overlapping and any(_is_host_of(address, n) for n in overlapping):
                    continue  # an earlier network yielded it already
                ip = str(address)
                known = by_ip.get(ip)
                if known is None:
                    yield ScanHost(ip, ip, self.ports, _NO_HINTS)
                else:
                    ports = tuple(sorted(set(known.ports) | set(self.ports)))
                    yield ScanHost(known.host, ip, ports, known.hints)

    @property
    def network_addresses(self) -> int:
        """Addresses the networks yield (an upper bound when they overlap each other)."""
        return sum(_host_count(n) for n in self.networks) - self.excluded

    @property
    def job_count(self) -> int:
        """(address, port) probes: exact unless networks overlap each other."""
        extra = sum(
            len(set(h.ports) - set(self.ports)) if h.ip in self._inside else len(h.ports)
            for h in self.explicit
        )
        return self.network_addresses * len(self.ports) + extra

    def __bool__(self) -> bool:
        return bool(self.explicit) or (bool(self.networks) and bool(self.ports))

    def __len__(self) -> int:
        outside = sum(1 for h in self.explicit if h.ip not in self._inside)
        return outside + self.network_addresses

    def __eq__(self, other: object) -> bool:
        if isinstance(other, tuple | list):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class ResolvedTargets:
    hosts: HostStream
    notes: tuple[str, ...] = ()


def _port(text: str, target: str) -> int:
    if not re.fullmatch(r"[0-9]{1,10}", text):  # not str.isdigit: it accepts '¹'
        raise TargetError(f"bad port {text!r} in target {target!r}")
    value = int(text)
    if not 1 <= value <= 65535:
        raise TargetError(f"port {value} out of range 1-65535 in target {target!r}")
    return value


def _address(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _hostname(text: str, target: str) -> str:
    name = text.rstrip(".").lower()
    if not name or len(name) > 253:
        raise TargetError(f"bad hostname in target {target!r}")
    try:
        ascii_name = name.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise TargetError(f"bad hostname in target {target!r}") from exc
    if not all(_LABEL.match(label) for label in ascii_name.split(".")):
        raise TargetError(f"not an address, network, hostname or URL: {target!r}")
    if ascii_name.replace(".", "").isdigit():
        raise TargetError(f"not a valid IP address: {target!r}")
    return ascii_name


def _host_part(text: str, target: str, port: int | None, hint: str | None) -> Target:
    address = _address(text)
    if address is not None:
        return Target(target, str(address), str(address), None, port, hint)
    return Target(target, _hostname(text, target), None, None, port, hint)


def _parse_url(text: str) -> Target:
    try:
        parts = urlsplit(text)
        explicit = parts.port
    except ValueError as exc:
        raise TargetError(f"bad URL target {text!r}: {exc}") from exc
    if "@" in parts.netloc:
        # never echo what may be a password back into a terminal or a log
        raise TargetError("URL targets must not carry credentials (user:password@): remove them")
    scheme = parts.scheme.lower()
    schemes = _url_schemes()
    if scheme not in schemes:
        raise TargetError(f"unsupported URL scheme {scheme!r} in target {text!r}")
    default_port, hint = schemes[scheme]
    host = parts.hostname
    if not host:
        raise TargetError(f"URL target without a host: {text!r}")
    port = explicit if explicit is not None else default_port
    if not port:
        raise TargetError(f"URL target needs a port: {text!r}")
    if not 1 <= port <= 65535:
        raise TargetError(f"port {port} out of range 1-65535 in target {text!r}")
    return _host_part(host, text, port, hint)


def parse_target(text: str) -> Target:
    """Parse one target (see the module docstring for the forms). Raises TargetError."""
    raw = text.strip()
    if not raw:
        raise TargetError("empty target")
    if len(raw) > _MAX_TARGET_LEN or any(c.isspace() for c in raw):
        raise TargetError(f"not an address, network, hostname or URL: {raw[:80]!r}")
    if "://" in raw:
        return _parse_url(raw)
    if raw.startswith("["):
        match = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", raw)
        address = _address(match.group(1)) if match else None
        if match is None or address is None or address.version != 6:
            raise TargetError(f"bad bracketed IPv6 target {raw!r}")
        port = _port(match.group(2), raw) if match.group(2) is not None else None
        return Target(raw, str(address), str(address), None, port)
    if "/" in raw:
        try:
            network = ipaddress.ip_network(raw, strict=False)
        except ValueError as exc:
            raise TargetError(f"bad network {raw!r}: {exc}") from exc
        if network.num_addresses == 1:
            single = str(network.network_address)
            return Target(raw, single, single)
        return Target(raw, str(network), None, network)
    address = _address(raw)
    if address is not None:
        return Target(raw, str(address), str(address))
    if raw.count(":") == 1:
        host, _, port_text = raw.partition(":")
        if not host:
            raise TargetError(f"target without a host: {raw!r}")
        return _host_part(host, raw, _port(port_text, raw), None)
    if ":" in raw:
        raise TargetError(f"bad target {raw!r} (write an IPv6 address with a port as [addr]:port)")
    return _host_part(raw, raw, None, None)


def read_target_source(source: str, stdin: TextIO | None) -> list[tuple[str, str]]:
    """Lines of targets from a file (or ``-`` for stdin) as ``(target, "file:line")`` pairs.

    Blank lines and ``#`` comments (whole lines, or after whitespace) are skipped; several
    targets on one line may be separated by whitespace or commas.
    """
    name = "stdin" if source == "-" else source
    try:
        if source == "-":
            if stdin is None:
                raise TargetError("no standard input to read targets from")
            content = stdin.read()
        else:
            content = Path(source).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise TargetError(f"cannot read target file {name}: not UTF-8 text") from exc
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise TargetError(f"cannot read target file {name}: {reason}") from exc
    out: list[tuple[str, str]] = []
    for number, line in enumerate(content.splitlines(), 1):
        body = re.split(r"(?:^|\s)#", line, maxsplit=1)[0]
        for item in re.split(r"[\s,]+", body.strip()):
            if item:
                out.append((item, f"{name}:{number}"))
    return out


def _exclusion_parts(items: Iterable[str]) -> Iterator[str]:
    for item in items:
        text = item.strip()
        if text.startswith("@"):
            for value, _origin in read_target_source(text[1:], None):
                yield value
            continue
        yield from (p for p in re.split(r"[\s,]+", text) if p)


def parse_exclusions(items: Iterable[str]) -> Exclusions:
    """``--exclude`` values: addresses, networks and names (no ports); ``@FILE`` reads one
    a line from FILE (``#`` comments)."""
    networks: list[IPNetwork] = []
    names: set[str] = set()
    for part in _exclusion_parts(items):
        if part:
            try:
                target = parse_target(part)
            except TargetError as exc:
                raise TargetError(f"--exclude: {exc}") from exc
            if target.port is not None:
                raise TargetError(f"--exclude takes addresses, networks and names, not {part!r}")
            if target.network is not None:
                networks.append(target.network)
            elif target.ip is not None:
                networks.append(ipaddress.ip_network(target.ip))
            else:
                names.add(target.host)
    return Exclusions(tuple(networks), frozenset(names))


def collect_targets(
    args: Sequence[str],
    files: Sequence[str] = (),
    *,
    stdin: TextIO | None = None,
    excludes: Sequence[str] = (),
    max_hosts: int | None = DEFAULT_MAX_HOSTS,
    allow_large: bool = False,
) -> TargetSet:
    """Parse targets from arguments (``-`` reads stdin) and files, apply the host budget.

    Raises TargetError on the first bad target (naming its file and line), on an unreadable
    file, when nothing is left to scan, when one network is larger than a /16 (65,536
    addresses) and ``allow_large`` is not set, or when the targets expand beyond
    ``max_hosts`` addresses (None: no budget).
    """
    raw: list[tuple[str, str]] = []
    stdin_read = False
    sources = [("arg", a) for a in args] + [("file", f) for f in files]
    for kind, value in sources:
        if value == "-" or kind == "file":
            if value == "-":
                if stdin_read:
                    continue
                stdin_read = True
            raw.extend(read_target_source(value, stdin))
        else:
            raw.append((value, "argument"))
    targets: list[Target] = []
    seen: set[tuple[str, int | None]] = set()
    total = 0
    for text, origin in raw:
        try:
            target = parse_target(text)
        except TargetError as exc:
            raise TargetError(f"{exc} ({origin})" if origin != "argument" else str(exc)) from exc
        key = (target.host, target.port)
        if key in seen:
            continue
        seen.add(key)
        if target.size > LARGE_NETWORK and not allow_large:
            raise TargetError(
                f"{target.text} has {target.size:,} addresses, more than a /16 "
                f"({LARGE_NETWORK:,}): pass --allow-large to scan it"
            )
        total += target.size
        if max_hosts is not None and total > max_hosts:
            raise TargetError(
                f"targets expand to more than {max_hosts} addresses (at {target.text!r}); "
                "narrow the networks or raise --max-hosts"
            )
        targets.append(target)
    if not targets:
        raise TargetError("no targets given (arguments, -l FILE, or - for stdin)")
    return TargetSet(tuple(targets), parse_exclusions(excludes))


def _host_addresses(network: IPNetwork) -> Iterator[IPAddress]:
    """The usable addresses of a network (``hosts()``: not the network and broadcast
    addresses of IPv4, not the subnet-router anycast of IPv6), made one at a time."""
    if network.num_addresses <= 2:
        return iter(network)
    return iter(network.hosts())


def _is_host_of(address: IPAddress, network: IPNetwork) -> bool:
    """Whether ``address`` is one of the addresses :func:`_host_addresses` yields."""
    if address.version != network.version or address not in network:
        return False
    if network.num_addresses <= 2:
        return True
    if address == network.network_address:
        return False
    return network.version == 6 or address != network.broadcast_address


def _host_count(network: IPNetwork) -> int:
    n = network.num_addresses
    if n <= 2:
        return n
    return n - 2 if network.version == 4 else n - 1


def parse_ports(
    spec: str | None,
    *,
    defaults: Iterable[int],
    services: Mapping[str, Iterable[int]] | None = None,
) -> tuple[int, ...]:
    """The sorted port set for ``--ports`` (None: the defaults). Raises PortSpecError."""
    default_set = sorted(set(defaults))
    if spec is None:
        if not default_set:
            raise PortSpecError("no default ports: no service plugin is installed")
        return tuple(default_set)
    text = spec.strip()
    ports: set[int] = set()
    if text.startswith("+"):
        ports.update(default_set)
        text = text[1:]
    named = {k.lower(): v for k, v in (services or {}).items()}
    items = [i.strip() for i in text.split(",")]
    if not text or any(not i for i in items):
        raise PortSpecError(f"bad port list {spec!r} (e.g. 8123,9000-9010 or +6379)")
    for item in items:
        if item.lower() in named:
            ports.update(named[item.lower()])
            continue
        match = re.fullmatch(r"(\d{1,5})(?:\s*-\s*(\d{1,5}))?", item)
        if match is None:
            raise PortSpecError(f"bad port {item!r} in {spec!r} (e.g. 8123,9000-9010 or +6379)")
        low = int(match.group(1))
        high = int(match.group(2)) if match.group(2) is not None else low
        if not (1 <= low <= 65535 and 1 <= high <= 65535):
            raise PortSpecError(f"port out of range 1-65535: {item!r}")
        if high < low:
            raise PortSpecError(f"empty port range {item!r}")
        ports.update(range(low, high + 1))
    return tuple(sorted(ports))


async def resolve_targets(
    targets: TargetSet,
    ports: Sequence[int],
    *,
    resolver: Resolver | None = None,
    concurrency: int = 32,
) -> ResolvedTargets:
    """Expand networks, resolve names (concurrently) and merge everything per address.

    A name that does not resolve becomes a note, not an error. Excluded addresses and names
    are dropped (with a note counting them).
    """
    resolve = resolver or resolve_system
    gate = asyncio.Semaphore(max(1, concurrency))
    names = sorted(
        {
            t.host
            for t in targets.targets
            if t.is_name and not targets.exclusions.excludes_name(t.host)
        }
    )

    async def one(name: str) -> tuple[str, list[str] | str]:
        async with gate:
            try:
                return name, await resolve(name)
            except ResolutionError as exc:
                return name, str(exc)

    resolved = dict(await asyncio.gather(*(one(n) for n in names)))
    notes: list[str] = []
    merged: dict[str, tuple[str, set[int], dict[int, str]]] = {}
    excluded = 0
    default_ports = tuple(ports)
    exclusions = targets.exclusions

    def add(host: str, ip: str, target: Target) -> None:
        nonlocal excluded
        if exclusions.excludes_ip(ip):
            excluded += 1
            return
        wanted = (target.port,) if target.port is not None else default_ports
        entry = merged.get(ip)
        if entry is None:
            merged[ip] = (host, set(wanted), {})
            entry = merged[ip]
        elif entry[0] == ip and host != ip:
            merged[ip] = entry = (host, entry[1], entry[2])
        entry[1].update(wanted)
        if target.port is not None and target.transport is not None:
            entry[2][target.port] = target.transport

    networks: list[IPNetwork] = []
    for target in targets.targets:
        if target.network is not None:
            networks.append(target.network)
        elif target.ip is not None:
            add(target.host, target.ip, target)
        elif exclusions.excludes_name(target.host):
            excluded += 1
        else:
            answer = resolved[target.host]
            if isinstance(answer, str):
                notes.append(f"not resolved: {answer}")
                continue
            for ip in answer:
                add(target.host, ip, target)
    explicit = [
        ScanHost(host, ip, tuple(sorted(p)), dict(sorted(h.items())) if h else _NO_HINTS)
        for ip, (host, p, h) in merged.items()
        if p
    ]
    stream = HostStream(explicit, networks if default_ports else (), default_ports, exclusions)
    excluded += stream.excluded
    if excluded:
        notes.append(f"excluded: {excluded} address(es) or name(s) skipped by --exclude")
    return ResolvedTargets(stream, tuple(notes))


def _excluded_in(networks: Sequence[IPNetwork], exclusions: Exclusions) -> int:
    """Addresses of ``networks`` that ``exclusions`` remove, counted without expanding them
    (an excluded range is collapsed first, so overlapping excludes count once)."""
    if not networks or not exclusions.networks:
        return 0
    count = 0
    for version in (4, 6):
        cut = list(
            ipaddress.collapse_addresses(  # type: ignore[type-var]
                n for n in exclusions.networks if n.version == version
            )
        )
        for network in (n for n in networks if n.version == version):
            usable = _host_count(network)
            for part in cut:
                if network.subnet_of(part):  # type: ignore[arg-type]
                    count += usable
                    break
                if part.subnet_of(network):  # type: ignore[arg-type]
                    inside = part.num_addresses
                    if network.num_addresses > 2:
                        # the network's own (and IPv4 broadcast) address is never scanned
                        inside -= int(part.network_address == network.network_address)
                        if version == 4:
                            inside -= int(part.broadcast_address == network.broadcast_address)
                    count += inside
    return count
