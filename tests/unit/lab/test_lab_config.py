"""Generated ClickHouse config, loopback gate, pid guards and lab state (no server started)."""

from __future__ import annotations

import hashlib
import os
import random
import stat
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest

from leakmap.errors import LabError
from leakmap.lab.addresses import random_loopback, require_loopback
from leakmap.lab.clickhouse import (
    ADMIN_USER,
    TEMP_PREFIX,
    ClickHouseInstance,
    pid_alive,
    pid_runs_config,
    sweep_stale_dirs,
)
from leakmap.lab.state import LabState, default_state_dir, load_state, save_state


@pytest.mark.parametrize(
    ("ip", "expected"),
    [("127.0.0.1", "127.0.0.1"), (" 127.0.7.1 ", "127.0.7.1"), ("127.250.3.4", "127.250.3.4")],
)
def test_require_loopback_accepts(ip: str, expected: str) -> None:
    assert require_loopback(ip) == expected


@pytest.mark.parametrize(
    "ip",
    ["0.0.0.0", "10.0.0.1", "192.168.1.1", "8.8.8.8", "::", "::1", "::ffff:127.0.0.1",
     "127.0.0.0", "127.255.255.255", "localhost", "", "127.0.0.1/8", "128.0.0.1"],
)  # fmt: skip
def test_require_loopback_refuses(ip: str) -> None:
    with pytest.raises(LabError):
        require_loopback(ip)


def test_random_loopback_range() -> None:
    rng = random.Random(4)
    for _ in range(20):
        ip = random_loopback((1,), rng)  # port 1 is never bound by us in tests: free
        a, b, _c, d = map(int, ip.split("."))
        assert a == 127 and 64 <= b <= 250 and d not in (0, 255)


def _instance(tmp_path: Path, **kw: object) -> ClickHouseInstance:
    return ClickHouseInstance("127.0.9.1", base_dir=tmp_path, **kw)  # type: ignore[arg-type]


def test_config_is_loopback_only_and_private(tmp_path: Path) -> None:
    ch = _instance(tmp_path, http_port=18123, native_port=19000, interserver_port=19009)
    root = ET.fromstring(ch.config_xml())
    assert [e.text for e in root.iter("listen_host")] == ["127.0.9.1"]
    assert root.findtext("interserver_http_host") == "127.0.9.1"
    assert (root.findtext("http_port"), root.findtext("tcp_port")) == ("18123", "19000")
    assert root.findtext("interserver_http_port") == "19009"
    for tag in ("remote_servers", "zookeeper", "graphite", "include_from", "https_port",
                "tcp_port_secure", "mysql_port", "openSSL", "macros"):  # fmt: skip
        assert root.find(tag) is None, tag
    for tag in ("path", "tmp_path", "user_files_path", "format_schema_path"):
        assert (root.findtext(tag) or "").startswith(str(tmp_path)), tag
    assert (root.findtext("logger/log") or "").startswith(str(tmp_path))
    assert root.findtext("timezone") == "Asia/Shanghai"
    assert root.findtext("query_log/table") == "query_log"


def test_users_open_by_default(tmp_path: Path) -> None:
    ch = _instance(tmp_path)
    users = ET.fromstring(ch.users_xml())
    default = users.find("users/default")
    assert default is not None
    assert default.findtext("password") == ""
    assert [e.text for e in default.iter("ip")] == ["::/0"]
    assert default.findtext("profile") == "default"
    assert users.findtext("profiles/default/log_queries") == "1"
    assert users.find("profiles/default/readonly") is None
    admin = users.find(f"users/{ADMIN_USER}")
    assert admin is not None
    assert [e.text for e in admin.iter("ip")] == ["127.0.0.0/8"]
    assert (
        admin.findtext("password_sha256_hex")
        == hashlib.sha256(ch.admin_password.encode()).hexdigest()
    )
    assert ch.admin_password not in ch.users_xml()
    assert users.findtext(f"profiles/{ADMIN_USER}/readonly") == "0"


@pytest.mark.parametrize("sha", [False, True])
def test_users_password(tmp_path: Path, sha: bool) -> None:
    ch = _instance(tmp_path, password="pw-" + os.urandom(4).hex(), password_sha256=sha)
    assert ch.password is not None
    default = ET.fromstring(ch.users_xml()).find("users/default")
    assert default is not None
    if sha:
        assert default.find("password") is None
        assert (
            default.findtext("password_sha256_hex")
            == hashlib.sha256(ch.password.encode()).hexdigest()
        )
    else:
        assert default.findtext("password") == ch.password


def test_users_readonly_and_networks(tmp_path: Path) -> None:
    ch = _instance(tmp_path, readonly_profile=True, log_queries=False, networks=["127.0.0.1"])
    users = ET.fromstring(ch.users_xml())
    assert users.findtext("users/default/profile") == "readonly"
    assert users.findtext("profiles/readonly/readonly") == "1"
    assert users.find("profiles/readonly/log_queries") is None
    assert [e.text for e in users.findall("users/default/networks/ip")] == ["127.0.0.1/32"]


@pytest.mark.parametrize(
    "kw",
    [{"networks": ["nonsense"]}, {"networks": []}, {"networks": ["<ip>x</ip>"]},
     {"http_port": 9000}, {"http_port": 0}, {"native_port": 70000}, {"password": ""}],
)  # fmt: skip
def test_instance_rejects_bad_options(tmp_path: Path, kw: dict[str, object]) -> None:
    with pytest.raises(LabError):
        _instance(tmp_path, **kw)


def test_start_without_binary_is_a_lab_error(tmp_path: Path) -> None:
    ch = _instance(tmp_path, server_binary=tmp_path / "no-such-clickhouse-server")
    with pytest.raises(LabError, match="not found"):
        ch.start()


def test_pid_guards() -> None:
    assert pid_alive(os.getpid())
    assert not pid_alive(2**22 + 12345)
    # our own process is not a clickhouse-server with that config: never signalled
    assert not pid_runs_config(os.getpid(), Path("/tmp/x/config.xml"))


def test_state_roundtrip_and_mode(tmp_path: Path) -> None:
    state = LabState(
        pid=4242, ip="127.0.7.1", http_port=8123, native_port=9000, interserver_port=9009,
        dir=tmp_path / "clickhouse", config_file=tmp_path / "clickhouse" / "config.xml",
        rows=1000, seed=7, timezone="Asia/Shanghai", started=datetime(2025, 1, 29, tzinfo=UTC),
    )  # fmt: skip
    path = save_state(tmp_path, state)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert '"schema": "leakmap.lab/1"' in path.read_text()
    assert load_state(tmp_path) == state


def test_state_missing_and_corrupt(tmp_path: Path) -> None:
    assert load_state(tmp_path) is None
    (tmp_path / "lab.json").write_text('{"schema": "other/9"}')
    with pytest.raises(LabError, match="not a leakmap lab state"):
        load_state(tmp_path)


@pytest.mark.parametrize(
    ("env", "expected"),
    [({"XDG_STATE_HOME": "/x/state", "HOME": "/h"}, "/x/state/leakmap/lab"),
     ({"XDG_STATE_HOME": "relative", "HOME": "/h"}, "/h/.local/state/leakmap/lab"),
     ({"HOME": "/h"}, "/h/.local/state/leakmap/lab")],
)  # fmt: skip
def test_default_state_dir(env: dict[str, str], expected: str) -> None:
    assert default_state_dir(env) == Path(expected)


def test_sweep_stale_dirs_only_removes_dead_lab_dirs(tmp_path: Path) -> None:
    def make(name: str, marker: bool = True, age: float = 3600.0) -> Path:
        d = tmp_path / name
        d.mkdir()
        (d / "users.xml").write_text(f"<yandex><{ADMIN_USER}/></yandex>" if marker else "<x/>")
        old = time.time() - age
        os.utime(d, (old, old))
        return d

    stale = make(f"{TEMP_PREFIX}stale")
    fresh = make(f"{TEMP_PREFIX}fresh", age=0)
    foreign = make(f"{TEMP_PREFIX}foreign", marker=False)
    other_name = make("something-else")
    busy = make(f"{TEMP_PREFIX}busy")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)", f"--config-file={busy}/config.xml"]
    )
    try:
        time.sleep(0.2)
        os.utime(busy, (time.time() - 3600, time.time() - 3600))
        removed = sweep_stale_dirs(tmp_path)
    finally:
        holder.kill()
        holder.wait()
    assert removed == [stale]
    assert not stale.exists()
    for kept in (fresh, foreign, other_name, busy):
        assert kept.exists(), kept
