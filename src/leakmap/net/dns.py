"""Name resolution: scan targets through the system resolver, discovery through dnspython.

:func:`resolve_system` asks the operating system (``loop.getaddrinfo``), so ``/etc/hosts``
and the configured resolvers apply exactly as for any other program. The pipeline takes a
:data:`Resolver` (any ``async (name) -> [ip, ...]``), so tests can pass a test double and
never send a DNS query.

:class:`leakmap.net.dnsclient.DnsClient` (a module of its own: dnspython costs start-up
time that a scan of addresses should not pay) sends the queries of subdomain discovery
(``leakmap discover``) with dnspython's asynchronous resolver, to the resolvers given
(``--resolver IP[:PORT]``) or the system's: A and AAAA with CNAME chains followed, NS, and
zone transfers (AXFR over TCP, bounded in time and names).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable

__all__ = ["ResolutionError", "Resolver", "resolve_system"]

#: ``async (hostname) -> addresses`` (IPv4 and IPv6 as strings, no duplicates).
Resolver = Callable[[str], Awaitable[list[str]]]


class ResolutionError(Exception):
    """A name did not resolve (reported as a note by the pipeline, never fatal)."""


async def resolve_system(name: str, *, timeout: float = 5.0) -> list[str]:
    """A and AAAA records of ``name`` through the system resolver, in the resolver's order.

    Raises :class:`ResolutionError` when the name has no address or the lookup times out.
    """
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(name, None, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP),
            timeout,
        )
    except TimeoutError as exc:
        raise ResolutionError(f"{name}: lookup timed out after {timeout:g} s") from exc
    except (socket.gaierror, UnicodeError, OSError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "no address"
        raise ResolutionError(f"{name}: {reason}") from exc
    seen: dict[str, None] = {}
    for family, _type, _proto, _canon, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = str(sockaddr[0]).split("%", 1)[0]
        try:
            seen.setdefault(str(ipaddress.ip_address(address)), None)
        except ValueError:
            continue
    if not seen:
        raise ResolutionError(f"{name}: no A or AAAA record")
    return list(seen)
