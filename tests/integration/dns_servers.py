"""Real DNS servers for the discovery tests: Debian's dnsmasq on random loopback addresses.

:class:`Dnsmasq` runs ``dnsmasq --keep-in-foreground`` with a generated config (no upstream
servers, no /etc/hosts, nothing but the records given), listening on one 127.x.y.z address
and a random high port (UDP and TCP), as root without privileges dropped and without a pid
file. Two modes:

* ``auth_zone``: authoritative for that zone (``--auth-server``/``--auth-zone``), NS record
  ``ns1.ZONE`` pointing at the server itself, and zone transfers (AXFR) allowed to loopback
  (``--auth-peer``): dnsmasq's authoritative mode does serve AXFR of its zones;
* otherwise a plain local server, where ``--address=/ZONE/IP`` makes a wildcard zone.

Records: ``host_records`` (name -> address, A or AAAA), ``cnames`` (alias -> target; dnsmasq
needs the target among its own records).
"""

from __future__ import annotations

import ipaddress
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Self

from leakmap.lab.addresses import random_loopback, require_loopback

__all__ = ["Dnsmasq", "dnsmasq_binary"]


def dnsmasq_binary() -> str | None:
    return shutil.which("dnsmasq") or (
        "/usr/sbin/dnsmasq" if os.path.exists("/usr/sbin/dnsmasq") else None
    )


def _udp_and_tcp_free(ip: str, port: int) -> bool:
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind((ip, port))
            except OSError:
                return False
    return True


class Dnsmasq:
    """One dnsmasq process (see the module docstring). ``.ip``, ``.port``, ``.resolver``."""

    def __init__(
        self,
        host_records: Mapping[str, str],
        *,
        cnames: Mapping[str, str] | None = None,
        auth_zone: str | None = None,
        wildcard: Mapping[str, str] | None = None,
        extra: Sequence[str] = (),
    ) -> None:
        self.ip = require_loopback(random_loopback(()))
        self.port = 0
        for _ in range(50):
            port = random.randint(20000, 60000)
            if _udp_and_tcp_free(self.ip, port):
                self.port = port
                break
        if not self.port:
            raise RuntimeError("no free port for dnsmasq")
        lines = [
            f"port={self.port}",
            f"listen-address={self.ip}",
            "bind-interfaces",
            "no-resolv",
            "no-hosts",
            "no-poll",
            "cache-size=0",
            "log-facility=-",
        ]
        if auth_zone:
            lines += [
                f"auth-server=ns1.{auth_zone},{self.ip}",
                f"auth-zone={auth_zone}",
                "auth-peer=127.0.0.1," + self.ip,
                f"auth-soa=1,hostmaster.{auth_zone}",
                f"host-record=ns1.{auth_zone},{self.ip}",
            ]
        for zone, ip in (wildcard or {}).items():
            lines.append(f"address=/{zone}/{require_loopback(ip)}")
        for name, ip in host_records.items():
            if not ipaddress.ip_address(ip).is_loopback:  # records point at loopback only
                raise ValueError(f"not a loopback address: {ip}")
            lines.append(f"host-record={name},{ip}")
        for alias, target in (cnames or {}).items():
            lines.append(f"cname={alias},{target}")
        lines += list(extra)
        self._dir = Path(tempfile.mkdtemp(prefix="leakmap-dnsmasq-"))
        self.config = self._dir / "dnsmasq.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def resolver(self) -> str:
        return f"{self.ip}:{self.port}"

    def start(self) -> Self:
        binary = dnsmasq_binary()
        if binary is None:
            raise RuntimeError("dnsmasq not installed (apt dnsmasq-base)")
        self._proc = subprocess.Popen(
            [
                binary,
                "--keep-in-foreground",
                f"--conf-file={self.config}",
                "--pid-file=",
                "--user=root",
                "--group=root",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(self._dir / "log").open("wb"),
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"dnsmasq exited: {(self._dir / 'log').read_text()[-500:]}")
            with socket.socket() as s:
                s.settimeout(0.2)
                if s.connect_ex((self.ip, self.port)) == 0:
                    return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("dnsmasq did not start listening")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
        self._proc = None
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
