"""Subdomain discovery: from a domain name to the names under it and their addresses.

:func:`discover` gathers candidate names for each domain from

* the domain itself;
* a wordlist of common labels (the bundled ``wordlist.txt``, several thousand labels built
  from naming patterns by ``scripts/make_wordlist.py``; ``--wordlist FILE`` replaces it);
* a zone transfer (AXFR) asked of each of the domain's name servers (most refuse: that is a
  note, not an error);
* certificate-transparency exports (``--ct-file``): the JSON crt.sh returns (``name_value``
  may hold several names, one a line, and ``*.`` names) or a plain list of names;

and resolves every candidate (A and AAAA, CNAME chains followed) through :class:`DnsClient`.

**Wildcards.** Before the wordlist runs, a few random labels are resolved; when they answer,
the domain has a wildcard record, and a wordlist name whose answer is the wildcard's answer
is dropped (one note says so). Names from AXFR and CT are kept: they are evidence of their own.

**Scope.** A name is in scope when it and every name in its CNAME chain are under one of the
given domains, and none of its addresses is excluded. A CNAME to a third party is reported
but not scanned unless ``follow_out_of_scope``; an address excluded by ``--exclude`` is never
scanned (``follow_out_of_scope`` does not override the user's exclusions).
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from leakmap.errors import UsageError
from leakmap.net.dnsclient import DnsClient, NameAnswer
from leakmap.targets import Exclusions, Target

__all__ = [
    "DiscoveredName",
    "Discovery",
    "DiscoveryError",
    "bundled_wordlist",
    "discover",
    "names_by_address",
    "parse_ct",
    "parse_domain",
    "read_ct_file",
    "read_wordlist",
    "scan_targets",
    "summary_notes",
]

_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_WILDCARD_PROBES = 3
_MAX_FILE = 64 * 1024 * 1024


class DiscoveryError(UsageError):
    """A domain that is not a domain, or a wordlist or CT file that cannot be used."""


@dataclass(slots=True)
class DiscoveredName:
    """One name found, how, what it resolves to, and whether it is scanned."""

    name: str
    domain: str
    sources: set[str] = field(default_factory=set)
    addresses: tuple[str, ...] = ()
    cnames: tuple[str, ...] = ()
    status: str = "unresolved"
    #: empty when in scope; else why it is not scanned
    skipped: str = ""

    @property
    def in_scope(self) -> bool:
        return not self.skipped and bool(self.addresses)

    def record(self) -> dict[str, object]:
        return {
            "name": self.name,
            "domain": self.domain,
            "addresses": list(self.addresses),
            "cnames": list(self.cnames),
            "sources": sorted(self.sources),
            "status": self.status,
            "scan": self.in_scope,
            "skipped": self.skipped or None,
        }


@dataclass(slots=True)
class Discovery:
    """The outcome of :func:`discover`: names with addresses (and the out-of-scope ones),
    and notes (wildcards, zone transfers, CT names outside the domains)."""

    names: list[DiscoveredName]
    notes: list[str]
    queries: int = 0

    @property
    def scannable(self) -> list[DiscoveredName]:
        return [n for n in self.names if n.in_scope]

    @property
    def skipped(self) -> list[DiscoveredName]:
        return [n for n in self.names if n.skipped]


def parse_domain(text: str) -> str:
    """A domain name, lower case, no final dot; raises DiscoveryError for anything else."""
    raw = text.strip().lower().rstrip(".")
    if raw.startswith("*."):
        raw = raw[2:]
    try:
        name = raw.encode("idna").decode("ascii") if raw else ""
    except UnicodeError:
        name = ""
    labels = name.split(".")
    if (
        not name
        or len(name) > 253
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise DiscoveryError(f"not a domain name: {text.strip()[:80]!r}")
    return name


def _under(name: str, domain: str) -> bool:
    return name == domain or name.endswith("." + domain)


def _read_text(path: str, what: str) -> str:
    try:
        with Path(path).open(encoding="utf-8") as handle:
            return handle.read(_MAX_FILE)
    except UnicodeDecodeError as exc:
        raise DiscoveryError(f"cannot read {what} {path}: not UTF-8 text") from exc
    except OSError as exc:
        raise DiscoveryError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc


def bundled_wordlist() -> list[str]:
    """The labels shipped with leakmap (``discovery/wordlist.txt``)."""
    text = resources.files(__package__).joinpath("wordlist.txt").read_text(encoding="utf-8")
    return _labels(text.splitlines())


def _labels(lines: Iterable[str]) -> list[str]:
    out: dict[str, None] = {}
    for line in lines:
        label = line.split("#", 1)[0].strip().lower().rstrip(".")
        if label and all(_LABEL.match(part) for part in label.split(".")):
            out[label] = None
    return list(out)


def read_wordlist(path: str) -> list[str]:
    """``--wordlist FILE``: one label a line (``#`` comments); raises DiscoveryError."""
    labels = _labels(_read_text(path, "--wordlist").splitlines())
    if not labels:
        raise DiscoveryError(f"--wordlist {path}: no usable label (one a line, like 'db')")
    return labels


def _ct_names(values: Iterable[object]) -> list[str]:
    names: dict[str, None] = {}
    for value in values:
        if not isinstance(value, str):
            continue
        for line in value.splitlines():
            candidate = line.strip().lower().rstrip(".")
            if candidate.startswith("*."):
                candidate = candidate[2:]
            if not candidate or " " in candidate or "@" in candidate:
                continue
            try:
                names[parse_domain(candidate)] = None
            except DiscoveryError:
                continue
    return list(names)


def parse_ct(text: str, source: str = "ct") -> list[str]:
    """Names from a CT export: crt.sh JSON (a list of objects with ``name_value`` and
    ``common_name``) or a plain list of names, one a line. Raises DiscoveryError when it is
    neither."""
    body = text.lstrip("\ufeff").strip()
    if body.startswith(("[", "{")):
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise DiscoveryError(f"--ct-file {source}: JSON that does not parse ({exc})") from exc
        except RecursionError:
            raise DiscoveryError(f"--ct-file {source}: JSON nested too deep") from None
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list):
            raise DiscoveryError(f"--ct-file {source}: JSON, but not a list of certificates")
        values: list[object] = []
        for item in data:
            if isinstance(item, dict):
                values += [item.get("name_value"), item.get("common_name")]
            else:
                values.append(item)
        return _ct_names(values)
    lines = [ln.split("#", 1)[0].strip() for ln in body.splitlines()]
    lines = [ln for ln in lines if ln]
    names = _ct_names(lines)
    if lines and not names:
        raise DiscoveryError(
            f"--ct-file {source}: neither crt.sh JSON nor a list of names (one a line)"
        )
    return names


def read_ct_file(path: str) -> list[str]:
    return parse_ct(_read_text(path, "--ct-file"), path)


async def _wildcard(client: DnsClient, domain: str) -> NameAnswer | None:
    """The answer random labels get under ``domain``, when they resolve (a wildcard)."""
    probes = [f"{secrets.token_hex(8)}-leakmap.{domain}" for _ in range(_WILDCARD_PROBES)]
    answers = await asyncio.gather(*(client.lookup(p) for p in probes))
    hits = [a for a in answers if a.status == "ok"]
    if len(hits) < 2:
        return None
    addresses = tuple(sorted({ip for a in hits for ip in a.addresses}))
    cnames = hits[0].cnames
    return NameAnswer(f"*.{domain}", "ok", addresses, cnames)


def _is_wildcard_answer(answer: NameAnswer, wildcard: NameAnswer) -> bool:
    if not answer.addresses or not set(answer.addresses) <= set(wildcard.addresses):
        return False
    # a CNAME straight to the wildcard's target is the wildcard too
    return answer.canonical == answer.name or answer.cnames[-1:] == wildcard.cnames[-1:]


async def discover(
    domains: Sequence[str],
    client: DnsClient,
    *,
    wordlist: Sequence[str] | None = None,
    ct_names: Sequence[str] = (),
    axfr: bool = True,
    ns_port: int = 53,
    exclusions: Exclusions | None = None,
    follow_out_of_scope: bool = False,
) -> Discovery:
    """Find names under ``domains`` (see the module docstring); never raises for DNS
    failures (they become notes and ``error`` statuses)."""
    exclusions = exclusions or Exclusions()
    labels = bundled_wordlist() if wordlist is None else list(wordlist)
    notes: list[str] = []
    candidates: dict[str, DiscoveredName] = {}

    def add(name: str, domain: str, source: str) -> None:
        entry = candidates.get(name)
        if entry is None:
            entry = candidates[name] = DiscoveredName(name, domain)
        entry.sources.add(source)

    outside = 0
    for name in ct_names:
        domain = next((d for d in domains if _under(name, d)), None)
        if domain is None:
            outside += 1
            continue
        add(name, domain, "ct")
    if outside:
        notes.append(f"ct: {outside} name(s) in the CT file are outside the given domains")

    wildcards: dict[str, NameAnswer] = {}
    for domain in domains:
        if exclusions.excludes_name(domain):
            notes.append(f"{domain}: excluded by --exclude, not looked up")
            continue
        add(domain, domain, "domain")
        apex = await client.lookup(domain)
        if apex.status == "error":
            # a resolver that times out or refuses would make every wordlist name wait for
            # its timeout: thousands of them
            notes.append(
                f"{domain}: DNS is failing ({apex.detail}); wordlist and zone transfer skipped"
            )
            continue
        wildcard = await _wildcard(client, domain)
        if wildcard is not None:
            wildcards[domain] = wildcard
            notes.append(
                f"{domain}: wildcard DNS (random names resolve to "
                f"{', '.join(wildcard.addresses[:4])}); wordlist names that only match the "
                "wildcard are left out"
            )
        if axfr:
            notes += await _transfer(client, domain, ns_port, exclusions, add)
        for label in labels:
            add(f"{label}.{domain}", domain, "wordlist")

    names = [n for n in candidates.values() if not exclusions.excludes_name(n.name)]
    answers = await asyncio.gather(*(client.lookup(n.name) for n in names))
    found: list[DiscoveredName] = []
    dropped = dict.fromkeys(wildcards, 0)
    for entry, answer in zip(names, answers, strict=True):
        entry.status, entry.addresses, entry.cnames = (
            answer.status,
            answer.addresses,
            answer.cnames,
        )
        wildcard = wildcards.get(entry.domain)
        if entry.sources == {"wordlist"}:
            if answer.status != "ok":
                continue
            if wildcard is not None and _is_wildcard_answer(answer, wildcard):
                dropped[entry.domain] += 1
                continue
        if answer.status == "nxdomain" and entry.sources <= {"domain", "wordlist"}:
            continue
        _judge(entry, domains, exclusions, follow_out_of_scope)
        found.append(entry)
    for domain, count in dropped.items():
        if count:
            notes.append(f"{domain}: {count} wordlist name(s) matched only the wildcard")
    found.sort(key=lambda n: (n.domain, n.name != n.domain, n.name))
    return Discovery(found, notes, client.queries)


def _judge(
    entry: DiscoveredName,
    domains: Sequence[str],
    exclusions: Exclusions,
    follow: bool,
) -> None:
    if entry.status != "ok":
        entry.skipped = f"no address ({entry.status})"
        return
    foreign = [c for c in entry.cnames if not any(_under(c, d) for d in domains)]
    excluded = [ip for ip in entry.addresses if exclusions.excludes_ip(ip)]
    if excluded:
        kept = tuple(ip for ip in entry.addresses if ip not in excluded)
        if not kept:
            entry.skipped = f"address excluded by --exclude ({', '.join(excluded[:4])})"
            return
        entry.addresses = kept
    if any(exclusions.excludes_name(c) for c in entry.cnames):
        entry.skipped = "CNAME target excluded by --exclude"
        return
    if foreign and not follow:
        entry.skipped = (
            f"out of scope: CNAME to {foreign[-1]}, outside {', '.join(domains)} "
            "(--follow-out-of-scope scans it)"
        )


async def _transfer(
    client: DnsClient,
    domain: str,
    port: int,
    exclusions: Exclusions,
    record: Callable[[str, str, str], None],
) -> list[str]:
    """Ask each name server of ``domain`` for a zone transfer; notes on what happened."""
    notes: list[str] = []
    servers = await client.name_servers(domain)
    if not servers:
        return [f"{domain}: no NS records; no zone transfer tried"]
    for server in servers:
        answer = await client.lookup(server)
        if answer.status != "ok":
            notes.append(f"{domain}: name server {server} has no address; AXFR not tried")
            continue
        for ip in answer.addresses:
            if exclusions.excludes_ip(ip):
                notes.append(f"{domain}: AXFR not tried at {server} ({ip}): excluded")
                continue
            names, status = await client.zone_transfer(domain, ip, port)
            if names:
                for name in names:
                    if _under(name, domain) and "*" not in name:
                        record(name, domain, "axfr")
                notes.append(
                    f"{domain}: zone transfer ALLOWED by {server} ({ip}): {len(names)} names"
                )
            else:
                notes.append(f"{domain}: zone transfer {status} by {server} ({ip})")
    return notes


def summary_notes(result: Discovery, *, follow_hint: bool = True) -> list[str]:
    """One note per name that is not scanned (and why), then one count line."""
    notes = [f"skipped {n.name}: {n.skipped}" for n in result.skipped]
    why: dict[str, int] = {}
    for n in result.skipped:
        key = n.skipped.split(":", 1)[0].split(" (", 1)[0]
        why[key] = why.get(key, 0) + 1
    reasons = "; ".join(f"{count} {reason}" for reason, count in sorted(why.items()))
    notes.append(
        f"discovery: {len(result.names)} name(s) found, {len(result.scannable)} to scan, "
        f"{len(result.skipped)} skipped{f' ({reasons})' if reasons else ''}; "
        f"{result.queries} DNS queries"
    )
    return notes


def scan_targets(result: Discovery) -> list[Target]:
    """One target per (name, address) to scan; several names on one address are merged by
    :func:`~leakmap.targets.resolve_targets` (the first name in order is the report's host)."""
    return [Target(name.name, name.name, ip) for name in result.scannable for ip in name.addresses]


def names_by_address(result: Discovery) -> dict[str, list[str]]:
    """Every scanned address and all the names that point at it, in order."""
    out: dict[str, list[str]] = {}
    for name in sorted(result.scannable, key=lambda n: (bool(n.cnames), n.name)):
        for ip in name.addresses:
            out.setdefault(ip, []).append(name.name)
    return out
