"""Target and port-list parsing, exclusions, the host budget and resolution (no DNS traffic:
names go through a test-double resolver)."""

from __future__ import annotations

import io
import ipaddress
from pathlib import Path

import pytest

from leakmap.errors import PortSpecError, TargetError, UsageError
from leakmap.net.dns import ResolutionError
from leakmap.services.base import Transport
from leakmap.targets import (
    Target,
    TargetSet,
    collect_targets,
    parse_exclusions,
    parse_ports,
    parse_target,
    read_target_source,
    resolve_targets,
)

CH_PORTS = (8123, 8443, 9000, 9004, 9005, 9009, 9363, 9440)


@pytest.mark.parametrize(
    ("text", "host", "ip", "port", "transport"),
    [
        ("127.0.0.2", "127.0.0.2", "127.0.0.2", None, None),
        ("  127.0.0.2 ", "127.0.0.2", "127.0.0.2", None, None),
        ("::1", "::1", "::1", None, None),
        ("2001:DB8::10", "2001:db8::10", "2001:db8::10", None, None),
        ("127.0.0.2:8123", "127.0.0.2", "127.0.0.2", 8123, None),
        ("[::1]:9000", "::1", "::1", 9000, None),
        ("[2001:db8::1]", "2001:db8::1", "2001:db8::1", None, None),
        ("db.internal", "db.internal", None, None, None),
        ("DB.Example.Internal.", "db.example.internal", None, None, None),
        ("db-1.prod.internal:9440", "db-1.prod.internal", None, 9440, None),
        ("localhost", "localhost", None, None, None),
        ("http://127.0.0.3:8123/play", "127.0.0.3", "127.0.0.3", 8123, Transport.HTTP),
        ("https://db.internal/", "db.internal", None, 443, Transport.HTTPS),
        ("http://db.internal", "db.internal", None, 80, Transport.HTTP),
        ("HTTP://[::1]:8123", "::1", "::1", 8123, Transport.HTTP),
        ("clickhouse://127.0.0.1", "127.0.0.1", "127.0.0.1", 9000, Transport.NATIVE),
        # schemes are declared by the plugins, not a closed list in targets.py
        ("clickhouses://127.0.0.1", "127.0.0.1", "127.0.0.1", 9440, Transport.NATIVE_TLS),
        ("redis://127.0.0.1", "127.0.0.1", "127.0.0.1", 6379, "resp"),
        ("tcp://127.0.0.1:9009", "127.0.0.1", "127.0.0.1", 9009, None),
        ("127.0.0.5/32", "127.0.0.5", "127.0.0.5", None, None),
        ("bücher.example", "xn--bcher-kva.example", None, None, None),
    ],
)
def test_parse_target_good(
    text: str, host: str, ip: str | None, port: int | None, transport: Transport | None
) -> None:
    target = parse_target(text)
    assert (target.host, target.ip, target.port, target.transport) == (host, ip, port, transport)
    assert target.network is None


@pytest.mark.parametrize(
    ("text", "network", "size"),
    [
        ("127.0.0.0/30", "127.0.0.0/30", 4),
        ("127.0.0.9/30", "127.0.0.8/30", 4),  # host bits set: taken as its network, like nmap
        ("::1/127", "::/127", 2),
    ],
)
def test_parse_target_network(text: str, network: str, size: int) -> None:
    target = parse_target(text)
    assert target.network == ipaddress.ip_network(network)
    assert target.ip is None and target.size == size


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty target"),
        ("   ", "empty target"),
        ("127.0.0.1:0", "out of range"),
        ("127.0.0.1:65536", "out of range"),
        ("127.0.0.1:http", "bad port"),
        ("127.0.0.1:", "bad port"),
        (":8123", "without a host"),
        ("256.1.1.1", "not a valid IP"),
        ("1.2.3", "not a valid IP"),
        ("127.0.0.0/33", "bad network"),
        ("10.0.0.0/8x", "bad network"),
        ("[::1", "bracketed"),
        ("[127.0.0.1]:80", "bracketed"),
        ("[::1]:x", "bracketed"),
        ("::1:99999:1", "[addr]:port"),
        ("ftp://host/", "unsupported URL scheme"),
        ("http://:8123/", "without a host"),
        ("http://host:99999/", "bad URL"),
        ("tcp://host", "needs a port"),
        ("db internal", "not an address"),
        ("under_score-.internal", "not an address"),
        ("-leading.internal", "not an address"),
        ("a..b", "bad hostname|not an address"),
        ("x" * 64 + ".internal", "bad hostname|not an address"),
        ("$(reboot)", "not an address"),
        ("a" * 2000, "not an address"),
    ],
)
def test_parse_target_bad(text: str, message: str) -> None:
    with pytest.raises(TargetError, match=message.replace("[", r"\[")):
        parse_target(text)


def test_target_error_is_usage_error() -> None:
    assert issubclass(TargetError, UsageError) and issubclass(PortSpecError, UsageError)


def test_read_target_source_comments_blanks_and_several_per_line(tmp_path: Path) -> None:
    f = tmp_path / "targets.txt"
    f.write_text(
        "# estate\n\n127.0.0.2\n  127.0.0.3:8123   # the http one\n127.0.0.4, 127.0.0.5\n"
        "http://127.0.0.6:8123/#frag\n",
        encoding="utf-8",
    )
    assert read_target_source(str(f), None) == [
        ("127.0.0.2", f"{f}:3"),
        ("127.0.0.3:8123", f"{f}:4"),
        ("127.0.0.4", f"{f}:5"),
        ("127.0.0.5", f"{f}:5"),
        ("http://127.0.0.6:8123/#frag", f"{f}:6"),
    ]


def test_read_target_source_stdin() -> None:
    assert read_target_source("-", io.StringIO("127.0.0.2\n#x\n")) == [("127.0.0.2", "stdin:1")]


@pytest.mark.parametrize("kind", ["missing", "directory", "binary"])
def test_read_target_source_unreadable(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "t"
    if kind == "directory":
        path.mkdir()
    elif kind == "binary":
        path.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(TargetError, match="cannot read target file"):
        read_target_source(str(path), None)


def test_collect_targets_dedupes_and_merges_sources(tmp_path: Path) -> None:
    f = tmp_path / "t.txt"
    f.write_text("127.0.0.2\n127.0.0.3\n", encoding="utf-8")
    got = collect_targets(
        ["127.0.0.2", "-", "127.0.0.2"], [str(f), "-"], stdin=io.StringIO("127.0.0.4\n")
    )
    assert [t.host for t in got.targets] == ["127.0.0.2", "127.0.0.4", "127.0.0.3"]


def test_collect_targets_names_the_bad_line(tmp_path: Path) -> None:
    f = tmp_path / "t.txt"
    f.write_text("127.0.0.2\n\nnot a target!\n", encoding="utf-8")
    with pytest.raises(TargetError, match=r"t\.txt:3"):
        collect_targets([], [str(f)])


@pytest.mark.parametrize(
    ("targets", "budget", "ok"),
    [
        (["127.0.0.0/16"], 65536, True),
        (["127.0.0.0/15"], 65536, False),
        (["127.0.0.0/24", "127.0.1.0/24"], 511, False),
        (["127.0.0.0/24", "127.0.1.0/24"], 512, True),
        (["::/64"], 65536, False),
        (["127.0.0.0/8"], 65536, False),
    ],
)
def test_collect_targets_budget(targets: list[str], budget: int, ok: bool) -> None:
    if ok:
        assert collect_targets(targets, max_hosts=budget).targets
    else:
        with pytest.raises(TargetError, match=r"--max-hosts|--allow-large"):
            collect_targets(targets, max_hosts=budget)


def test_collect_targets_nothing() -> None:
    with pytest.raises(TargetError, match="no targets"):
        collect_targets([], [], stdin=io.StringIO("# only a comment\n"))


def test_exclusions() -> None:
    ex = parse_exclusions(["127.0.0.8/30", "127.0.0.20,db.internal", "::1"])
    assert ex.excludes_ip("127.0.0.9") and ex.excludes_ip("127.0.0.20") and ex.excludes_ip("::1")
    assert not ex.excludes_ip("127.0.0.12") and not ex.excludes_ip("::2")
    assert ex.excludes_name("DB.internal.") and not ex.excludes_name("db2.internal")
    with pytest.raises(TargetError, match=r"not '127\.0\.0\.1:80'"):
        parse_exclusions(["127.0.0.1:80"])
    with pytest.raises(TargetError, match="--exclude"):
        parse_exclusions(["bad!"])


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (None, CH_PORTS),
        ("8123", (8123,)),
        ("9000,8123,8123", (8123, 9000)),
        ("9000-9003", (9000, 9001, 9002, 9003)),
        ("9000 - 9001, 1", (1, 9000, 9001)),
        ("+6379", tuple(sorted((*CH_PORTS, 6379)))),
        ("+6379,7000-7001", tuple(sorted((*CH_PORTS, 6379, 7000, 7001)))),
        ("clickhouse", CH_PORTS),
        ("ClickHouse,22", (22, *CH_PORTS)),
        ("1-65535", tuple(range(1, 65536))),
    ],
)
def test_parse_ports_good(spec: str | None, expected: tuple[int, ...]) -> None:
    assert parse_ports(spec, defaults=CH_PORTS, services={"clickhouse": CH_PORTS}) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "bad port list"),
        ("+", "bad port list"),
        ("8123,", "bad port list"),
        (",8123", "bad port list"),
        ("0", "out of range"),
        ("65536", "out of range"),
        ("123456", "bad port"),
        ("9010-9000", "empty port range"),
        ("http", "bad port"),
        ("80-", "bad port"),
        ("-80", "bad port"),
        ("8123;9000", "bad port"),
    ],
)
def test_parse_ports_bad(spec: str, message: str) -> None:
    with pytest.raises(PortSpecError, match=message):
        parse_ports(spec, defaults=CH_PORTS, services={"clickhouse": CH_PORTS})


def test_parse_ports_without_plugins() -> None:
    with pytest.raises(PortSpecError, match="no default ports"):
        parse_ports(None, defaults=())


class FakeResolver:
    """Test double for the system resolver: answers from a table, records every query."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    async def __call__(self, name: str) -> list[str]:
        self.asked.append(name)
        if name not in self.table:
            raise ResolutionError(f"{name}: no address")
        return self.table[name]


async def test_resolve_targets_merges_names_networks_and_ports() -> None:
    resolver = FakeResolver({"db.internal": ["127.0.0.2", "::1"], "dup.internal": ["127.0.0.9"]})
    targets = collect_targets(
        [
            "127.0.0.2:8123",
            "db.internal",
            "missing.internal",
            "127.0.0.8/29",
            "http://dup.internal:8123/",
        ],
        excludes=["127.0.0.10"],
    )
    got = await resolve_targets(targets, (9000, 9009), resolver=resolver)
    by_ip = {h.ip: h for h in got.hosts}
    # the /29 gives its host addresses .9-.14 (not the network and broadcast addresses),
    # minus the excluded .10
    assert list(by_ip) == [
        "127.0.0.2",
        "::1",
        "127.0.0.9",
        "127.0.0.11",
        "127.0.0.12",
        "127.0.0.13",
        "127.0.0.14",
    ]
    # an explicit port and the port set merge on one address; the name replaces the bare IP
    assert by_ip["127.0.0.2"].host == "db.internal"
    assert by_ip["127.0.0.2"].ports == (8123, 9000, 9009)
    assert by_ip["::1"].ports == (9000, 9009)
    assert by_ip["127.0.0.11"].host == "127.0.0.11"
    assert by_ip["127.0.0.9"].host == "dup.internal"
    assert by_ip["127.0.0.9"].ports == (8123, 9000, 9009)
    assert by_ip["127.0.0.9"].hints == {8123: Transport.HTTP}
    assert any("missing.internal" in n for n in got.notes)
    assert any("excluded: 1" in n for n in got.notes)
    assert sorted(resolver.asked) == ["db.internal", "dup.internal", "missing.internal"]


async def test_resolve_targets_excluded_name_is_never_looked_up() -> None:
    resolver = FakeResolver({"db.internal": ["127.0.0.2"]})
    targets = collect_targets(["db.internal"], excludes=["db.internal"])
    got = await resolve_targets(targets, (9000,), resolver=resolver)
    assert got.hosts == () and resolver.asked == []


async def test_resolve_targets_exclusion_by_address_covers_names() -> None:
    resolver = FakeResolver({"db.internal": ["127.0.0.2"]})
    targets = collect_targets(["db.internal"], excludes=["127.0.0.0/24"])
    got = await resolve_targets(targets, (9000,), resolver=resolver)
    assert got.hosts == ()


async def test_resolve_system_localhost_from_hosts_file() -> None:
    # 'localhost' comes from /etc/hosts: no DNS query leaves the machine.
    targets = TargetSet((Target("localhost", "localhost"),))
    got = await resolve_targets(targets, (9000,))
    assert got.hosts and all(ipaddress.ip_address(h.ip).is_loopback for h in got.hosts)
    assert {h.host for h in got.hosts} == {"localhost"}


def test_url_with_credentials_is_refused_without_echoing_them() -> None:
    with pytest.raises(TargetError) as info:
        parse_target("http://default:hunter2-fake@127.0.0.1:8123/")
    assert "hunter2" not in str(info.value) and "credentials" in str(info.value)


# --- scope: @FILE excludes, large ranges, streamed networks ---------------------------------


def test_exclude_from_file(tmp_path: Path) -> None:
    f = tmp_path / "skip.txt"
    f.write_text("# owned by someone else\n127.0.0.0/30\nlegacy.internal  # retired\n127.0.5.5\n")
    got = parse_exclusions([f"@{f}", "127.0.9.9"])
    assert got.excludes_ip("127.0.0.3") and got.excludes_ip("127.0.5.5")
    assert got.excludes_ip("127.0.9.9") and not got.excludes_ip("127.0.0.4")
    assert got.excludes_name("legacy.internal")


def test_exclude_from_unreadable_file_is_a_target_error(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="cannot read"):
        parse_exclusions([f"@{tmp_path / 'missing.txt'}"])


def test_larger_than_a_slash_16_needs_allow_large() -> None:
    assert collect_targets(["10.0.0.0/16"]).targets
    with pytest.raises(TargetError, match="--allow-large"):
        collect_targets(["10.0.0.0/15"])
    got = collect_targets(["10.0.0.0/12"], allow_large=True, max_hosts=None)
    assert got.targets[0].size == 2**20


async def test_a_slash_12_is_streamed_not_expanded() -> None:
    """Resolving a /12 makes no host objects; reading the first ones costs no memory that
    grows with the range."""
    import tracemalloc

    targets = collect_targets(["127.16.0.0/12"], allow_large=True, max_hosts=None)
    tracemalloc.start()
    got = await resolve_targets(targets, (8123, 9000))
    first = [h for _, h in zip(range(5), got.hosts, strict=False)]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert [h.ip for h in first] == [f"127.16.0.{i}" for i in range(1, 6)]
    assert peak < 2_000_000, peak  # a list of a million hosts would take hundreds of MB
    assert got.hosts.job_count == (2**20 - 2) * 2
    assert len(got.hosts) == 2**20 - 2


def _brute(targets: TargetSet, ports: tuple[int, ...]) -> dict[str, tuple[str, tuple[int, ...]]]:
    """The expected hosts, by full expansion (what resolve_targets did before streaming)."""
    out: dict[str, tuple[str, set[int]]] = {}
    for t in targets.targets:
        if t.network is not None:
            ips = [
                str(a) for a in (t.network if t.network.num_addresses <= 2 else t.network.hosts())
            ]
        elif t.ip is not None:
            ips = [t.ip]
        else:
            continue
        for ip in ips:
            if targets.exclusions.excludes_ip(ip):
                continue
            _host, p = out.setdefault(ip, (ip, set()))
            p.update((t.port,) if t.port else ports)
    return {ip: (h, tuple(sorted(p))) for ip, (h, p) in out.items()}


@pytest.mark.parametrize("seed", range(40))
async def test_host_stream_equals_full_expansion(seed: int) -> None:
    """Random overlapping networks, addresses and excludes: the stream yields exactly the
    addresses (and ports) a full expansion gives, each once; counts match when nothing
    overlaps."""
    import random

    rng = random.Random(seed)

    def net() -> str:
        prefix = rng.choice([26, 27, 28, 29, 30, 31, 32])
        return str(ipaddress.ip_network(f"127.3.0.{rng.randrange(0, 256)}/{prefix}", strict=False))

    items = [net() for _ in range(rng.randint(1, 4))]
    items += [f"127.3.0.{rng.randrange(256)}:{rng.choice([80, 9000])}" for _ in range(3)]
    excludes = [net() for _ in range(rng.randint(0, 2))]
    targets = collect_targets(items, excludes=excludes)
    got = await resolve_targets(targets, (9000, 9009))
    hosts = list(got.hosts)
    assert len({h.ip for h in hosts}) == len(hosts)
    assert {h.ip: (h.host, h.ports) for h in hosts} == _brute(targets, (9000, 9009))
    networks = [t.network for t in targets.targets if t.network is not None]
    disjoint = not any(a.overlaps(b) for i, a in enumerate(networks) for b in networks[i + 1 :])
    if disjoint:
        assert got.hosts.job_count == sum(len(h.ports) for h in hosts)
        excluded = [n for n in got.notes if n.startswith("excluded")]
        count = int(excluded[0].split()[1]) if excluded else 0
        explicit = {t.ip for t in targets.targets if t.ip is not None}
        brute_excluded = sum(
            1
            for n in networks
            for a in (n if n.num_addresses <= 2 else n.hosts())
            if targets.exclusions.excludes_ip(str(a))
        ) + sum(1 for ip in explicit if targets.exclusions.excludes_ip(ip))
        assert count == brute_excluded
