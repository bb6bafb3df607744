"""Checks over a merged ClickHouse server and users configuration.

Example, Debian's shipped ``/etc/clickhouse-server``::

    high    users.xml:…  clickhouse-config.user-empty-password   user 'default' has no password
    high    users.xml:…  clickhouse-config.networks-open         user 'default': networks ::/0
"""

from __future__ import annotations

import ipaddress
import posixpath
from collections.abc import Iterator

from leakmap.audit.checks import Hit, check
from leakmap.audit.parsers.clickhouse import ClickHouseConfig, Node
from leakmap.findings import Severity

__all__: list[str] = []

_AUTH = (
    "password",
    "password_sha256_hex",
    "password_double_sha1_hex",
    "password_bcrypt_hash",
    "ldap",
    "kerberos",
    "ssl_certificates",
    "ssh_keys",
    "http_authentication",
)
_OPEN = {"::/0", "0.0.0.0/0", "::", "0.0.0.0", "0/0", "::0/0"}  # noqa: S104 - what we look for
_SENSITIVE = {
    "/",
    "/etc",
    "/root",
    "/home",
    "/var",
    "/var/lib",
    "/var/log",
    "/usr",
    "/opt",
    "/proc",
    "/sys",
    "/boot",
    "/dev",
    "/run",
    "/tmp",  # noqa: S108 - what we look for
    "/var/lib/clickhouse",
    "/etc/clickhouse-server",
}


def _loopback(value: str) -> bool:
    text = value.strip().strip("[]")
    if text in ("localhost", "ip6-localhost"):
        return True
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return network.network_address.is_loopback and network.broadcast_address.is_loopback


def _listen(cfg: ClickHouseConfig) -> tuple[bool | None, list[Node]]:
    """(listens beyond loopback: True/False, None when unknown; the listen_host elements)."""
    if cfg.server is None:
        return None, []
    hosts = cfg.server.findall("listen_host")
    if not hosts:
        return False, []  # the server's default: ::1 and 127.0.0.1
    if any(h.unknown for h in hosts):
        return None, hosts
    return any(not _loopback(h.text) for h in hosts), hosts


def _users(cfg: ClickHouseConfig) -> Iterator[Node]:
    for section in cfg.sections("users"):
        yield from section.children


def _profile(cfg: ClickHouseConfig, name: str) -> Node | None:
    for section in cfg.sections("profiles"):
        found = section.find(name)
        if found is not None:
            return found
    return None


def _networks(user: Node) -> tuple[str, Node | None]:
    """('open', 'remote', 'local' or 'unknown', the <networks> element)."""
    nets = user.find("networks")
    if nets is None:
        return "open", None
    if nets.unknown or (nets.attrib.get("incl") and not nets.children):
        return "unknown", nets
    entries = [(c.tag, c.text.strip()) for c in nets.children]
    if not entries:
        return "open", nets
    if any(tag == "ip" and value in _OPEN for tag, value in entries):
        return "open", nets
    if any(tag == "host_regexp" and value in (".*", "^.*$", ".+", "^.*") for tag, value in entries):
        return "open", nets
    if all(tag == "ip" and _loopback(value) for tag, value in entries):
        return "local", nets
    if all(tag == "host" and value == "localhost" for tag, value in entries):
        return "local", nets
    return "remote", nets


def _net_text(nets: Node | None) -> str:
    if nets is None:
        return "no <networks>"
    shown = ", ".join(c.text.strip() for c in nets.children[:6])
    return f"networks {shown}" if shown else "empty <networks>"


@check("clickhouse")
def listen_wildcard(cfg: ClickHouseConfig) -> Iterator[Hit]:
    _, hosts = _listen(cfg)
    for host in hosts:
        if host.text.strip().strip("[]") in _OPEN:
            yield Hit(
                "clickhouse-config.listen-wildcard",
                host.path,
                host.line,
                f"listen_host {host.text.strip()}",
                key=host.text.strip(),
            )


@check("clickhouse")
def user_passwords(cfg: ClickHouseConfig) -> Iterator[Hit]:
    public, _ = _listen(cfg)
    for user in _users(cfg):
        present = [user.find(tag) for tag in _AUTH]
        found = [n for n in present if n is not None]
        if any(n.unknown for n in found):
            continue
        plain = user.find("password")
        others = [n for n in found if n.tag != "password"]
        where = plain or user
        if user.find("no_password") is not None or (
            not others and (plain is None or not plain.text.strip())
        ):
            reach, nets = _networks(user)
            reachable = reach in ("open", "remote", "unknown") and public is not False
            severity = Severity.CRITICAL if reachable else Severity.HIGH
            why = "" if reachable else " (the server listens on loopback only)"
            yield Hit(
                "clickhouse-config.user-empty-password",
                where.path,
                where.line,
                f"user '{user.tag}' has no password; {_net_text(nets)}{why}",
                key=user.tag,
                severity=severity,
            )
        elif plain is not None and plain.text.strip():
            yield Hit(
                "clickhouse-config.user-plaintext-password",
                plain.path,
                plain.line,
                f"user '{user.tag}': <password> holds the password in plain text",
                key=user.tag,
            )
        for tag in ("password_sha256_hex", "password_double_sha1_hex"):
            node = user.find(tag)
            if node is not None and node.text.strip():
                yield Hit(
                    "clickhouse-config.user-unsalted-hash",
                    node.path,
                    node.line,
                    f"user '{user.tag}': {tag}",
                    key=user.tag,
                )


@check("clickhouse")
def networks_open(cfg: ClickHouseConfig) -> Iterator[Hit]:
    public, _ = _listen(cfg)
    for user in _users(cfg):
        reach, nets = _networks(user)
        if reach != "open":
            continue
        where = nets or user
        yield Hit(
            "clickhouse-config.networks-open",
            where.path,
            where.line,
            f"user '{user.tag}': {_net_text(nets)}"
            + (" (the server listens on loopback only)" if public is False else ""),
            key=user.tag,
            severity=Severity.MEDIUM if public is False else None,
        )


@check("clickhouse")
def access_management(cfg: ClickHouseConfig) -> Iterator[Hit]:
    for user in _users(cfg):
        node = user.find("access_management")
        if node is None or node.text.strip().lower() not in ("1", "true"):
            continue
        reach, nets = _networks(user)
        if reach == "local":
            continue
        yield Hit(
            "clickhouse-config.access-management-remote",
            node.path,
            node.line,
            f"user '{user.tag}': access_management=1, {_net_text(nets)}",
            key=user.tag,
        )


def _readonly(profile: Node | None) -> bool:
    if profile is None:
        return False
    value = profile.value("readonly")
    return value is not None and value.isdigit() and int(value) >= 1


@check("clickhouse")
def readonly_profile(cfg: ClickHouseConfig) -> Iterator[Hit]:
    if not cfg.sections("profiles") and not cfg.sections("users"):
        return
    for user in _users(cfg):
        admin = user.find("access_management")
        if admin is not None and admin.text.strip().lower() in ("1", "true"):
            continue
        name = user.value("profile") or "default"
        if _readonly(_profile(cfg, name)):
            continue
        node = user.find("profile") or user
        yield Hit(
            "clickhouse-config.no-readonly-profile",
            node.path,
            node.line,
            f"user '{user.tag}': profile '{name}' has no readonly setting",
            key=user.tag,
        )


@check("clickhouse")
def server_ports(cfg: ClickHouseConfig) -> Iterator[Hit]:
    server = cfg.server
    if server is None:
        return
    public, hosts = _listen(cfg)
    if public:
        for tag in ("http_port", "tcp_port"):
            node = server.find(tag)
            if node is not None and node.text.strip():
                listen = ", ".join(h.text.strip() for h in hosts)
                yield Hit(
                    "clickhouse-config.plaintext-port-public",
                    node.path,
                    node.line,
                    f"{tag} {node.text.strip()} on listen_host {listen}",
                    key=tag,
                )
    port = server.find("interserver_http_port")
    if (
        port is not None
        and port.text.strip()
        and server.find("interserver_http_credentials") is None
    ):
        yield Hit(
            "clickhouse-config.interserver-no-credentials",
            port.path,
            port.line,
            f"interserver_http_port {port.text.strip()} without interserver_http_credentials",
        )
    for tag, rule in (
        ("mysql_port", "clickhouse-config.mysql-port"),
        ("postgresql_port", "clickhouse-config.postgresql-port"),
    ):
        node = server.find(tag)
        if node is not None and node.text.strip():
            yield Hit(rule, node.path, node.line, f"{tag} {node.text.strip()}")
    prometheus = server.find("prometheus")
    if prometheus is not None and (prometheus.value("port") or "").strip():
        yield Hit(
            "clickhouse-config.prometheus-port",
            prometheus.path,
            prometheus.line,
            f"prometheus port {prometheus.value('port')}",
        )


@check("clickhouse")
def remote_url_allow_hosts(cfg: ClickHouseConfig) -> Iterator[Hit]:
    server = cfg.server
    if server is None or server.find("remote_url_allow_hosts") is not None:
        return
    yield Hit(
        "clickhouse-config.remote-url-allow-hosts-missing",
        server.path,
        server.line,
        "no <remote_url_allow_hosts>: url(), s3() and remote() may reach any host",
    )


@check("clickhouse")
def user_files_path(cfg: ClickHouseConfig) -> Iterator[Hit]:
    server = cfg.server
    if server is None:
        return
    node = server.find("user_files_path")
    if node is None or node.unknown or not node.text.strip():
        return
    value = posixpath.normpath(node.text.strip())
    data = posixpath.normpath((server.value("path") or "/var/lib/clickhouse/").strip())
    sensitive = value in _SENSITIVE or value == data or data.startswith(value.rstrip("/") + "/")
    if sensitive:
        yield Hit(
            "clickhouse-config.user-files-path-sensitive",
            node.path,
            node.line,
            f"user_files_path {node.text.strip()}",
        )
