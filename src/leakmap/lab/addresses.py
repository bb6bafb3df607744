"""Loopback-only addressing for the lab and the test servers.

Everything leakmap starts for itself (the demo lab, the integration-test servers, the decoys)
listens on a 127.0.0.0/8 address and nowhere else. :func:`require_loopback` is the one gate;
:func:`random_loopback` picks an address whose ports are free, so two developers (or two test
runs) on one machine do not clash.

Example::

    >>> require_loopback("127.0.7.1")
    '127.0.7.1'
"""

from __future__ import annotations

import ipaddress
import random
import socket
from collections.abc import Iterable

from leakmap.errors import LabError

__all__ = [
    "LOOPBACK_NET",
    "RANDOM_HIGH",
    "RANDOM_LOW",
    "ports_free",
    "random_loopback",
    "require_loopback",
]

LOOPBACK_NET = ipaddress.IPv4Network("127.0.0.0/8")
RANDOM_LOW = ipaddress.IPv4Address("127.64.0.1")
RANDOM_HIGH = ipaddress.IPv4Address("127.250.255.254")


def require_loopback(ip: str) -> str:
    """Return ``ip`` normalised if it is a usable 127.0.0.0/8 host address, else raise LabError."""
    try:
        addr = ipaddress.ip_address(ip.strip())
    except ValueError:
        raise LabError(f"not an IP address: {ip!r}") from None
    if not isinstance(addr, ipaddress.IPv4Address) or addr not in LOOPBACK_NET:
        raise LabError(f"refusing {addr}: the lab only listens on loopback (127.0.0.0/8)")
    if addr in (LOOPBACK_NET.network_address, LOOPBACK_NET.broadcast_address):
        raise LabError(f"refusing {addr}: not a host address")
    return str(addr)


def ports_free(ip: str, ports: Iterable[int]) -> bool:
    """True when every TCP port in ``ports`` can be bound on ``ip`` right now."""
    ip = require_loopback(ip)
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # No SO_REUSEADDR: a port in TIME_WAIT or LISTEN must count as busy.
            try:
                sock.bind((ip, port))
            except OSError:
                return False
    return True


def random_loopback(
    ports: Iterable[int], rng: random.Random | None = None, *, attempts: int = 200
) -> str:
    """A random 127.64.0.1-127.250.255.254 address on which every port in ``ports`` is free."""
    wanted = tuple(ports)
    rng = rng or random.Random()
    low, high = int(RANDOM_LOW), int(RANDOM_HIGH)
    for _ in range(attempts):
        candidate = ipaddress.IPv4Address(rng.randint(low, high))
        last = int(candidate) & 0xFF
        if last in (0, 255):
            continue
        ip = str(candidate)
        if ports_free(ip, wanted):
            return ip
    raise LabError(f"no free loopback address found for ports {list(wanted)}")
