"""The integration harness itself: lab servers, seed content and decoys behave as promised."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Callable

import httpx
import pytest

from leakmap.errors import LabError
from leakmap.lab.addresses import ports_free
from leakmap.lab.clickhouse import ClickHouseInstance
from leakmap.lab.seed import luhn_valid

from .servers import GarbageTcp, OkHttpDecoy

pytestmark = pytest.mark.integration


def _post(url: str, sql: str, **headers: str) -> httpx.Response:
    with httpx.Client(timeout=10, trust_env=False) as client:
        return client.post(url, content=sql.encode(), headers=headers)


def test_open_server_is_open_non_utc_and_seeded(ch_open: ClickHouseInstance) -> None:
    resp = _post(ch_open.http_url, "SELECT version(), timezone()")
    assert resp.status_code == 200
    version, tz = resp.text.strip().split("\t")
    assert version.startswith("18.16")
    assert tz == "Asia/Shanghai"
    counts = dict(
        (f"{db}.{table}", int(n))
        for db, table, n in ch_open.admin_rows(
            "SELECT database, table, sum(rows) FROM system.parts WHERE active "
            "AND database != 'system' GROUP BY database, table"
        )
    )
    # system.query_log / query_thread_log appear once earlier tests have run queries
    assert counts == {"chatbot.log_stream": 1000, "analytics.page_views": 1000}
    # the seeding scratch database is gone
    dbs = {row[0] for row in ch_open.admin_rows("SHOW DATABASES")}
    assert dbs == {"analytics", "chatbot", "default", "system"}


def test_open_server_listens_only_on_its_loopback_ip(ch_open: ClickHouseInstance) -> None:
    with socket.create_connection((ch_open.ip, ch_open.native_port), timeout=2):
        pass
    assert not ports_free(ch_open.ip, ch_open.ports)
    # another loopback address on the same ports is not served by this instance
    other = "127.0.0.1" if ch_open.ip != "127.0.0.1" else "127.0.0.2"
    try:
        resp = _post(f"http://{other}:{ch_open.http_port}", "SELECT 1")
    except httpx.TransportError:
        return
    assert resp.headers.get("X-ClickHouse-Timezone") != "Asia/Shanghai" or "1" not in resp.text


def test_seeded_chat_log_holds_every_planted_kind(ch_open: ClickHouseInstance) -> None:
    assert ch_open.summary is not None
    ds = ch_open.summary.dataset
    # the first 10 rows (one block of KINDS) already hold every category
    body = ch_open.admin_query(
        "SELECT message, request, response, metadata FROM chatbot.log_stream LIMIT 10"
    )
    providers = {s.provider for s in ds.secrets if s.value in body}
    assert {"openai", "anthropic", "aws", "github", "deepseek"} <= providers
    assert any(e in body for e in ds.emails)
    assert any(p in body for p in ds.phones)
    assert any(c in body for c in ds.cards)
    assert ".svc.cluster.local" in body and ".prod.internal" in body
    assert re.search(r"\b(10|172|192)\.\d+\.\d+\.\d+:\d+", body)
    assert "/opt/" in body and "/var/lib/" in body and "Traceback" in body
    for card in ds.cards:
        assert luhn_valid(card)
    first = ch_open.admin_rows("SELECT request FROM chatbot.log_stream LIMIT 1")[0][0]
    request = json.loads(first.replace("\\'", "'").replace("\\\\", "\\"))
    assert [m["role"] for m in request["messages"]] == ["system", "user"]


def test_analytics_table_holds_nothing_sensitive(ch_open: ClickHouseInstance) -> None:
    body = ch_open.admin_query("SELECT * FROM analytics.page_views")
    assert len(body.splitlines()) == 1000
    assert "@" not in body
    assert not re.search(r"\b(10|172|192)\.\d+\.\d+\.\d+", body)
    assert not re.search(r"/(var|opt|etc|home|usr|srv|root|tmp)/", body)
    assert not re.search(r"\b\d{12,19}\b", body)  # no card-like digit runs
    assert not re.search(r"(sk-|AKIA|ghp_|xox|AIza|hf_|gsk_)", body)
    assert ".internal" not in body and ".local" not in body


def test_password_server_refuses_without_password(ch_password: ClickHouseInstance) -> None:
    assert ch_password.password
    resp = _post(ch_password.http_url, "SELECT count() FROM chatbot.log_stream")
    assert resp.status_code != 200
    assert "Code: 194" in resp.text
    ok = _post(
        ch_password.http_url,
        "SELECT count() FROM chatbot.log_stream",
        **{"X-ClickHouse-User": "default", "X-ClickHouse-Key": ch_password.password},
    )
    assert ok.status_code == 200 and ok.text.strip() == "1000"
    # the password is not stored in the clear
    assert ch_password.password not in ch_password.users_file.read_text()


def test_readonly_server_refuses_writes_and_file(ch_readonly: ClickHouseInstance) -> None:
    settings = _post(
        ch_readonly.http_url, "SELECT value FROM system.settings WHERE name = 'readonly'"
    )
    assert settings.text.strip() == "1"
    for sql in (
        "CREATE DATABASE should_not_exist",
        "SELECT * FROM file('x.csv', 'CSV', 'x String') LIMIT 0",
    ):
        resp = _post(ch_readonly.http_url, sql)
        assert "Code: 164" in resp.text, sql
    assert _post(ch_readonly.http_url, "SELECT count() FROM chatbot.log_stream").text == "1000\n"


def test_query_log_records_default_user_not_admin(ch_readonly: ClickHouseInstance) -> None:
    since = time.time() - 1
    marker = f"SELECT {int(since)} AS harness_marker"
    _post(ch_readonly.http_url, marker)
    ch_readonly.admin_query("SELECT 'admin is not logged'")
    logged = ch_readonly.logged_queries(since=since)
    assert marker in {q.query for q in logged}
    assert all(q.user == "default" for q in logged)
    assert not ch_readonly.logged_queries(user="leakmap_lab_admin", since=since)


def test_decoy_answers_ok_to_everything(decoy_ok_http: OkHttpDecoy) -> None:
    with httpx.Client(timeout=5, trust_env=False) as client:
        for method, path in (("GET", "/"), ("GET", "/ping"), ("POST", "/?query=SELECT+1")):
            resp = client.request(method, f"{decoy_ok_http.url}{path}", content=b"SELECT 1")
            assert resp.status_code == 200 and resp.text == "Ok.\n"
            assert not any(h.lower().startswith("x-clickhouse") for h in resp.headers)


def test_garbage_tcp_misbehaves(garbage_tcp: GarbageTcp) -> None:
    with socket.create_connection((garbage_tcp.ip, garbage_tcp.port), timeout=2) as sock:
        sock.settimeout(0.5)
        sock.sendall(b"\x00\x0bClickHouse \x01\x01\x00")
        try:
            data = sock.recv(65536)
        except TimeoutError:
            data = None
    if garbage_tcp.mode == "silent":
        assert data is None
    elif garbage_tcp.mode == "close":
        assert data == b""
    elif garbage_tcp.mode == "http400":
        assert data is not None and data.startswith(b"HTTP/1.1 400")
    else:
        assert data  # garbage / flood send bytes


def test_instance_refuses_non_loopback() -> None:
    for ip in ("0.0.0.0", "10.0.0.1", "::", "::1", "192.168.1.1", "8.8.8.8", "localhost"):
        with pytest.raises(LabError):
            ClickHouseInstance(ip)


def test_busy_port_is_a_clear_lab_error(free_loopback: Callable[..., str]) -> None:
    ip = free_loopback()
    with socket.socket() as blocker:
        blocker.bind((ip, 9009))
        blocker.listen()
        started = time.monotonic()
        with pytest.raises(LabError, match="Address already in use"):
            ClickHouseInstance(ip).start()
        assert time.monotonic() - started < 20


def test_factory_custom_ports_and_plaintext_password(
    ch_factory: Callable[..., ClickHouseInstance],
) -> None:
    ch = ch_factory(
        seed_rows=20, http_port=18123, native_port=19000, interserver_port=19009,
        password="plain-" + socket.gethostname()[:4], timezone="America/New_York",
    )  # fmt: skip
    assert ch.http_url.endswith(":18123")
    assert ch.password is not None and ch.password in ch.users_file.read_text()
    ok = _post(
        ch.http_url, "SELECT timezone(), count() FROM chatbot.log_stream",
        **{"X-ClickHouse-User": "default", "X-ClickHouse-Key": ch.password},
    )  # fmt: skip
    assert ok.text.split() == ["America/New_York", "20"]
    directory = ch.dir
    ch.stop()
    assert ch.status() == "stopped" and not directory.exists()
