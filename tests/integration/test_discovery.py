"""Discovery against real DNS servers: Debian's dnsmasq on loopback, serving a zone of a few
dozen names (some on real ClickHouse servers), a wildcard zone, and zone transfers.

* ``scan --domain corp.test --resolver R --ct-file F`` reports every ClickHouse by a name that
  points at it, with its address; the CT-only name is found without AXFR; a CNAME to a third
  party and an excluded address are reported as skipped and never receive a connection
  (listeners on them count connections); ``--follow-out-of-scope`` does scan the third party.
* ``discover`` finds the names of an AXFR that dnsmasq's authoritative mode allows.
* a wildcard zone yields the names that have records of their own, plus one note.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leakmap.lab.addresses import random_loopback
from leakmap.lab.clickhouse import ClickHouseInstance

from .dns_servers import Dnsmasq, dnsmasq_binary
from .test_scan_cli import FAST, leakmap_scan

pytestmark = pytest.mark.integration

ZONE = "corp.test"
CT_ONLY = "zq7-ledger-archive"  # in no wordlist
FILLERS = [
    "www",
    "mail",
    "api",
    "vpn",
    "grafana",
    "kibana",
    "jenkins",
    "gitlab",
    "wiki",
    "status",
    "sso",
    "auth",
    "static",
    "files",
    "backup",
    "ftp",
    "ns2",
    "proxy",
    "gateway",
    "portal",
    "shop",
    "billing",
    "crm",
    "support",
    "mx",
]


class Trap:
    """Listeners on 8123 and 9000 of one loopback address that count connections."""

    def __init__(self) -> None:
        self.ip = random_loopback((8123, 9000))
        self.socks = []
        for port in (8123, 9000):
            s = socket.socket()
            s.bind((self.ip, port))
            s.listen(64)
            s.setblocking(False)
            self.socks.append(s)

    def connections(self) -> int:
        count = 0
        for s in self.socks:
            while True:
                try:
                    conn, _ = s.accept()
                except BlockingIOError:
                    break
                conn.close()
                count += 1
        return count

    def close(self) -> None:
        for s in self.socks:
            s.close()


@pytest.fixture(scope="module")
def traps() -> Iterator[tuple[Trap, Trap]]:
    third_party, excluded = Trap(), Trap()
    try:
        yield third_party, excluded
    finally:
        third_party.close()
        excluded.close()


@pytest.fixture(scope="module")
def zone(
    ch_open: ClickHouseInstance,
    ch_password: ClickHouseInstance,
    ch_readonly: ClickHouseInstance,
    traps: tuple[Trap, Trap],
) -> Iterator[Dnsmasq]:
    if dnsmasq_binary() is None:
        pytest.skip("dnsmasq not installed (scripts/bootstrap: apt dnsmasq-base)")
    third_party, excluded = traps
    records = {
        f"db.{ZONE}": ch_open.ip,
        f"analytics-staging.{ZONE}": ch_open.ip,
        f"clickhouse.{ZONE}": ch_password.ip,
        f"{CT_ONLY}.{ZONE}": ch_readonly.ip,
        f"legacy.{ZONE}": excluded.ip,
        "cdn.thirdparty.test": third_party.ip,
    }
    records.update({f"{label}.{ZONE}": random_loopback(()) for label in FILLERS})
    server = Dnsmasq(
        records,
        cnames={f"app.{ZONE}": f"db.{ZONE}", f"cdn.{ZONE}": "cdn.thirdparty.test"},
        auth_zone=ZONE,
    ).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def ct_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What crt.sh returns: several names in one name_value, wildcards, other domains."""
    path = tmp_path_factory.mktemp("ct") / "crtsh.json"
    certs = [
        {
            "issuer_ca_id": 1,
            "common_name": f"{CT_ONLY}.{ZONE}",
            "name_value": f"{CT_ONLY}.{ZONE}\n*.{ZONE}",
            "id": 1,
        },
        {"common_name": "www.elsewhere.test", "name_value": "www.elsewhere.test", "id": 2},
    ]
    path.write_text(json.dumps(certs))
    return path


def _discover(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leakmap", "discover", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def domain_scan(
    zone: Dnsmasq, ct_file: Path, traps: tuple[Trap, Trap]
) -> tuple[dict[str, Any], str]:
    _, excluded = traps
    run = leakmap_scan(
        "--domain",
        ZONE,
        "--resolver",
        zone.resolver,
        "--ct-file",
        str(ct_file),
        "--no-axfr",
        "--exclude",
        excluded.ip,
        "--format",
        "json",
        *FAST,
    )
    assert run.code == 0, run.stderr
    return run.json(), run.stderr


def test_scan_domain_reports_every_clickhouse_by_name(
    domain_scan: tuple[dict[str, Any], str],
    ch_open: ClickHouseInstance,
    ch_password: ClickHouseInstance,
    ch_readonly: ClickHouseInstance,
) -> None:
    doc, _ = domain_scan
    hosts = {(s["ip"], s["host"]) for s in doc["services"] if s["service"] == "clickhouse"}
    assert {ip for ip, _ in hosts} == {ch_open.ip, ch_password.ip, ch_readonly.ip}
    by_ip = {ip: host for ip, host in hosts}
    # names with an address of their own come before CNAMEs, then alphabetical
    assert by_ip[ch_open.ip] == f"analytics-staging.{ZONE}"
    assert by_ip[ch_password.ip] == f"clickhouse.{ZONE}"
    # only the CT file has this name (no AXFR in this run, no wordlist has it)
    assert by_ip[ch_readonly.ip] == f"{CT_ONLY}.{ZONE}"
    # every name on the shared address is listed
    assert any(
        ch_open.ip in n
        and f"analytics-staging.{ZONE}" in n
        and f"app.{ZONE}" in n
        and f"db.{ZONE}" in n
        for n in doc["notes"]
    )


def test_out_of_scope_and_excluded_names_are_reported_not_probed(
    domain_scan: tuple[dict[str, Any], str], traps: tuple[Trap, Trap]
) -> None:
    doc, _ = domain_scan
    third_party, excluded = traps
    notes = "\n".join(doc["notes"])
    assert f"skipped cdn.{ZONE}: out of scope: CNAME to cdn.thirdparty.test" in notes
    assert f"skipped legacy.{ZONE}: address excluded by --exclude ({excluded.ip})" in notes
    assert "1 out of scope" in notes and "1 address excluded by --exclude" in notes
    assert not any(s["ip"] in (third_party.ip, excluded.ip) for s in doc["services"])
    assert third_party.connections() == 0 and excluded.connections() == 0


def test_follow_out_of_scope_scans_the_third_party(
    zone: Dnsmasq, traps: tuple[Trap, Trap], tmp_path: Path
) -> None:
    third_party, excluded = traps
    third_party.connections()
    words = tmp_path / "words.txt"
    words.write_text("cdn\nlegacy\n")
    run = leakmap_scan(
        "--domain",
        ZONE,
        "--resolver",
        zone.resolver,
        "--wordlist",
        str(words),
        "--no-axfr",
        "--exclude",
        excluded.ip,
        "--follow-out-of-scope",
        "--format",
        "json",
        *FAST,
    )
    assert run.code == 0, run.stderr
    assert third_party.connections() >= 2  # 8123 and 9000 were probed
    assert excluded.connections() == 0  # --follow-out-of-scope never overrides --exclude


def test_discover_finds_the_names_of_an_allowed_zone_transfer(
    zone: Dnsmasq, tmp_path: Path
) -> None:
    words = tmp_path / "words.txt"
    words.write_text("www\n")
    run = _discover(
        ZONE,
        "--resolver",
        zone.resolver,
        "--ns-port",
        str(zone.port),
        "--wordlist",
        str(words),
        "--format",
        "jsonl",
    )
    assert run.returncode == 0, run.stderr
    names = {r["name"]: r for r in map(json.loads, run.stdout.splitlines())}
    assert "axfr" in names[f"{CT_ONLY}.{ZONE}"]["sources"]
    assert names[f"app.{ZONE}"]["cnames"] == [f"db.{ZONE}"]
    assert names[f"www.{ZONE}"]["sources"] == ["axfr", "wordlist"]
    assert len(names) >= len(FILLERS) + 6
    assert f"zone transfer ALLOWED by ns1.{ZONE}" in run.stderr


def test_wildcard_zone_does_not_explode() -> None:
    if dnsmasq_binary() is None:
        pytest.skip("dnsmasq not installed (scripts/bootstrap: apt dnsmasq-base)")
    wild = random_loopback(())
    with Dnsmasq(
        {"db.wild.test": random_loopback(()), "api.wild.test": "::1"},
        wildcard={"wild.test": wild},
    ) as server:
        run = _discover("wild.test", "--resolver", server.resolver, "--format", "jsonl")
    assert run.returncode == 0, run.stderr
    names = {r["name"]: r for r in map(json.loads, run.stdout.splitlines())}
    # the bundled wordlist has thousands of labels, all of which resolve here
    assert set(names) == {"wild.test", "db.wild.test", "api.wild.test"}, sorted(names)[:20]
    assert "::1" in names["api.wild.test"]["addresses"]
    assert run.stderr.count("wildcard DNS") == 1
    assert "wordlist name(s) matched only the wildcard" in run.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["not_a_domain!"], "not a domain name"),
        (["127.0.0.1"], "not a domain name"),
        (["corp.test", "--resolver", "dns.example"], "--resolver takes IP[:PORT]"),
        (["corp.test", "--ct-file", "/nonexistent/ct.json"], "cannot read --ct-file"),
    ],
)
def test_bad_input_is_one_line_exit_2(args: list[str], message: str) -> None:
    run = _discover(*args)
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and message in run.stderr


def test_a_resolver_that_does_not_answer_does_not_stall_on_the_wordlist() -> None:
    """A UDP socket that never answers: the apex lookup times out, the 5,000 wordlist names
    are not each left to time out (that would take minutes)."""
    import time

    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind((random_loopback(()), 0))
    ip, port = silent.getsockname()
    try:
        started = time.monotonic()
        run = _discover("corp.test", "--resolver", f"{ip}:{port}", "--dns-timeout", "0.5")
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert run.returncode == 0, run.stderr
    assert "DNS is failing" in run.stderr
    assert elapsed < 20, elapsed
