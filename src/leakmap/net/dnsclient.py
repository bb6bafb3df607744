"""DNS queries for subdomain discovery, with dnspython: A/AAAA with CNAME chains, NS, AXFR.

See :class:`DnsClient`. Kept apart from :mod:`leakmap.net.dns` so that scans of addresses do
not import dnspython.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.message
import dns.name
import dns.nameserver
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.xfr

from leakmap.net.dns import ResolutionError

__all__ = [
    "MAX_AXFR_NAMES",
    "MAX_CNAME_DEPTH",
    "DnsClient",
    "NameAnswer",
    "NameServer",
    "parse_resolver",
]


#: CNAME links followed before a chain is called a loop
MAX_CNAME_DEPTH = 8
#: names kept from one zone transfer (a hostile server may stream without end)
MAX_AXFR_NAMES = 100_000


@dataclass(frozen=True, slots=True)
class NameServer:
    """A resolver to send queries to (``--resolver IP[:PORT]``)."""

    ip: str
    port: int = 53

    def __str__(self) -> str:
        return f"[{self.ip}]:{self.port}" if ":" in self.ip else f"{self.ip}:{self.port}"


def parse_resolver(text: str) -> NameServer:
    """``IP``, ``IP:PORT`` or ``[IPv6]:PORT``; raises ValueError with a one-line reason."""
    raw = text.strip()
    host, port_text = raw, ""
    if raw.startswith("["):
        host, _, rest = raw[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else rest
    elif raw.count(":") == 1:
        host, _, port_text = raw.partition(":")
    try:
        ip = str(ipaddress.ip_address(host))
    except ValueError:
        raise ValueError(f"--resolver takes IP[:PORT], not {raw[:80]!r}") from None
    port = 53
    if port_text:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ValueError(f"--resolver: bad port in {raw[:80]!r}")
        port = int(port_text)
    return NameServer(ip, port)


@dataclass(frozen=True, slots=True)
class NameAnswer:
    """What a name resolved to: ``status`` is ``ok`` (addresses found), ``nxdomain``,
    ``nodata`` (the name exists without A/AAAA), ``loop`` (a CNAME chain too long) or
    ``error`` (timeout, refused, server failure: could not tell)."""

    name: str
    status: str
    addresses: tuple[str, ...] = ()
    cnames: tuple[str, ...] = ()  # the chain, in order: name -> cnames[0] -> cnames[1] ...
    detail: str = ""

    @property
    def canonical(self) -> str:
        return self.cnames[-1] if self.cnames else self.name


def _text(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()


class DnsClient:
    """Asynchronous queries through given resolvers (or the system's), bounded in time and
    in concurrency. No query goes anywhere but the resolvers and, for AXFR, the zone's own
    name servers."""

    def __init__(
        self,
        resolvers: Sequence[NameServer] = (),
        *,
        timeout: float = 3.0,
        concurrency: int = 64,
    ) -> None:
        if resolvers:
            self.resolver = dns.asyncresolver.Resolver(configure=False)
            self.resolver.nameservers = [
                dns.nameserver.Do53Nameserver(r.ip, r.port) for r in resolvers
            ]
        else:
            self.resolver = dns.asyncresolver.Resolver()
        self.resolver.timeout = timeout
        self.resolver.lifetime = timeout * 2
        self.resolver.cache = None
        self.timeout = timeout
        self._gate = asyncio.Semaphore(max(1, concurrency))
        self.queries = 0

    async def _query(self, name: str, rdtype: str) -> dns.message.Message | str:
        """One query; the response, or ``nxdomain``/``error: ...``."""
        async with self._gate:
            self.queries += 1
            try:
                answer = await self.resolver.resolve(
                    name, rdtype, raise_on_no_answer=False, search=False
                )
            except dns.resolver.NXDOMAIN:
                return "nxdomain"
            except (dns.exception.Timeout, dns.resolver.LifetimeTimeout):
                return "error: timeout"
            except dns.resolver.NoNameservers:
                return "error: no server answered (refused or failed)"
            except (dns.exception.DNSException, OSError, ValueError) as exc:
                return f"error: {type(exc).__name__}"
            response = answer.response
            return response if isinstance(response, dns.message.Message) else "error: empty"

    @staticmethod
    def _walk(response: dns.message.Message, name: str, rdtype: int) -> tuple[list[str], list[str]]:
        """The CNAME chain from ``name`` and the addresses at its end, from one answer."""
        records: dict[tuple[str, int], list[str]] = {}
        for rrset in response.answer:
            key = (_text(rrset.name), rrset.rdtype)
            records.setdefault(key, []).extend(
                _text(r.target) if rrset.rdtype == dns.rdatatype.CNAME else r.to_text()
                for r in rrset
            )
        chain: list[str] = []
        current = name
        while (current, dns.rdatatype.CNAME) in records and len(chain) <= MAX_CNAME_DEPTH:
            current = records[(current, dns.rdatatype.CNAME)][0]
            chain.append(current)
        addresses = []
        for value in records.get((current, rdtype), []):
            try:
                addresses.append(str(ipaddress.ip_address(value)))
            except ValueError:
                continue
        return chain, addresses

    async def lookup(self, name: str) -> NameAnswer:
        """A and AAAA of ``name``, following CNAMEs (also across separate queries)."""
        name = name.lower().rstrip(".")
        chain: list[str] = []
        current = name
        for _ in range(MAX_CNAME_DEPTH + 1):
            first = await self._query(current, "A")
            if first == "nxdomain":
                return NameAnswer(name, "nxdomain", (), tuple(chain))
            if isinstance(first, str):
                return NameAnswer(name, "error", (), tuple(chain), first[7:])
            links, v4 = self._walk(first, current, dns.rdatatype.A)
            end = links[-1] if links else current
            second = await self._query(end, "AAAA")
            v6: list[str] = []
            if isinstance(second, dns.message.Message):
                more, v6 = self._walk(second, end, dns.rdatatype.AAAA)
                links += more
            chain += links
            if v4 or v6:
                return NameAnswer(name, "ok", tuple(dict.fromkeys(v4 + v6)), tuple(chain))
            if not links:
                return NameAnswer(name, "nodata", (), tuple(chain))
            current = chain[-1]
            if len(chain) > MAX_CNAME_DEPTH or chain.count(current) > 1:
                break
        return NameAnswer(name, "loop", (), tuple(chain), "CNAME chain too long or a loop")

    async def resolve(self, name: str) -> list[str]:
        """A :data:`Resolver` over these resolvers (raises :class:`ResolutionError`)."""
        answer = await self.lookup(name)
        if answer.status != "ok":
            raise ResolutionError(f"{name}: {answer.detail or answer.status}")
        return list(answer.addresses)

    async def name_servers(self, domain: str) -> list[str]:
        """The NS names of ``domain`` (empty when it has none or the query failed)."""
        response = await self._query(domain, "NS")
        if not isinstance(response, dns.message.Message):
            return []
        return sorted(
            {
                _text(r.target)
                for rrset in response.answer
                if rrset.rdtype == dns.rdatatype.NS
                for r in rrset
            }
        )

    async def zone_transfer(
        self, domain: str, server: str, port: int = 53, *, lifetime: float = 20.0
    ) -> tuple[list[str], str]:
        """Names (with records) an AXFR of ``domain`` from ``server`` gives, and a status:
        ``ok``, ``refused`` or ``error: ...``. Bounded in time and in names."""

        def transfer() -> tuple[list[str], str]:
            found: dict[str, None] = {}
            origin = dns.name.from_text(domain)
            try:
                for message in dns.query.xfr(
                    server,
                    origin,
                    port=port,
                    timeout=self.timeout,
                    lifetime=lifetime,
                    relativize=False,
                ):
                    for rrset in message.answer:
                        if rrset.name.is_subdomain(origin):
                            found[_text(rrset.name)] = None
                    if len(found) >= MAX_AXFR_NAMES:
                        return list(found), f"ok (stopped at {MAX_AXFR_NAMES} names)"
            except dns.xfr.TransferError as exc:
                return [], "refused" if exc.rcode == dns.rcode.REFUSED else f"error: {exc}"
            except dns.exception.FormError as exc:
                return [], f"error: {str(exc)[:80]}"
            except (dns.exception.DNSException, OSError, EOFError) as exc:
                return [], f"error: {type(exc).__name__}"
            return list(found), "ok" if found else "refused"

        return await asyncio.to_thread(transfer)
