"""The whole HTTP assessment against a CURRENT ClickHouse, replayed with httpx.MockTransport.

No current server can run here (Debian ships 18.16), so the answers are replayed: the bodies
of the metadata queries (system.columns features, table functions, SHOW GRANTS, settings,
system.tables with total_rows, error texts) are RECORDED from ClickHouse 26.9.2.1 (chDB, see
``recorded/clickhouse_26_9.json``); HTTP status codes and X-ClickHouse-* headers are
reconstructed from the documented behaviour; table contents are fakes generated at test time.
The replay server refuses any statement the guard should have stopped and any system.parts
query (26.9 has total_rows, so the scanner must not need it).
"""

from __future__ import annotations

import json
import re
import secrets
import string
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from leakmap.classify import Classifier
from leakmap.net.bounded import Network
from leakmap.services.base import (
    AuthState,
    DataCategory,
    Endpoint,
    ScanConfig,
    ScanContext,
    Transport,
)
from leakmap.services.clickhouse.http import ChHttp
from leakmap.services.clickhouse.plugin import ClickHouse
from leakmap.services.clickhouse.safety import guard_sql

PROOF = re.compile(r"SELECT version\(\), (\d+) \* (\d+) FORMAT TabSeparated$")
REC = json.loads((Path(__file__).parent / "recorded" / "clickhouse_26_9.json").read_text())
IP = "127.0.20.77"


def fake_openai_key() -> str:
    alnum = string.ascii_letters + string.digits
    body = "".join(secrets.choice(alnum) for _ in range(64))
    tail = "".join(secrets.choice(alnum) for _ in range(64))
    return f"sk-proj-{body}T3BlbkFJ{tail}"


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


@dataclass
class Replay:
    """A replayed ClickHouse 26.9 HTTP endpoint."""

    auth_error: str | None = None
    refuse_settings: bool = False  # a readonly=1 profile: every override but readonly refused
    weird_table: str = "we`ird; DROP TABLE x --"
    secret: str = field(default_factory=fake_openai_key)
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def headers(self, **extra: str) -> dict[str, str]:
        return {
            "X-ClickHouse-Server-Display-Name": "replay",
            "X-ClickHouse-Timezone": "Asia/Shanghai",
            "X-ClickHouse-Format": "TabSeparated",
            **extra,
        }

    def error(self, status: int, text: str, code: str) -> httpx.Response:
        return httpx.Response(
            status, headers=self.headers(**{"X-ClickHouse-Exception-Code": code}), text=text
        )

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.method == "POST"
        sql = request.content.decode()
        params = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
        self.seen.append((sql, params))
        guard_sql(sql)  # the replay server itself checks the scanner's promise
        assert "system.parts" not in sql, "26.9 has total_rows: system.parts must not be read"
        if self.auth_error is not None:
            return self.error(401, self.auth_error, "516")
        if self.refuse_settings:
            for name in params:
                if name not in ("readonly", "query_id"):
                    text = REC["readonly_refusal_error"].replace("max_threads", name)
                    return self.error(500, text, "164")

        def ok(body: str) -> httpx.Response:
            return httpx.Response(200, headers=self.headers(), text=body)

        proof = PROOF.match(sql)
        if proof:  # the replay computes, as a real server does
            product = int(proof.group(1)) * int(proof.group(2))
            return ok(f"{REC['version'].strip()}\t{product}\n")
        if "FROM system.columns WHERE database = 'system'" in sql:
            return ok(REC["features"])
        if "FROM system.tables" in sql:
            assert "total_rows" in sql
            extra = (
                f"analytics\tpage_views\tMergeTree\t3000000\n"
                f"analytics\t{_esc(self.weird_table)}\tMergeTree\t1\n"
                "queue\tevents_kafka\tKafka\t\\N\n"
            )
            return ok(REC["tables"] + extra)
        if "FROM system.columns WHERE database NOT IN" in sql:
            return ok(
                "chatbot\tlog_stream\tts\tDateTime\nchatbot\tlog_stream\tmessage\tString\n"
                "analytics\tpage_views\tpath\tString\nanalytics\tpage_views\tviews\tUInt64\n"
                f"analytics\t{_esc(self.weird_table)}\tx\tString\n"
                "queue\tevents_kafka\traw\tString\n"
            )
        # samples read every column as toString(col): the same text as the column itself
        if " FROM `chatbot`.`log_stream` LIMIT" in sql:
            chat = json.dumps(
                {
                    "messages": [
                        {"role": "user", "content": "hi"},
                        {"role": "assistant", "content": "hello"},
                    ]
                }
            )
            rows = [
                f"2026-01-01 00:00:00\tcalling api with key={self.secret}",
                f"2026-01-01 00:00:01\t{_esc(chat)}",
                "2026-01-01 00:00:02\tcontact jane.roe@example.org about the invoice",
                "2026-01-01 00:00:03\tconnect to redis-0.cache.svc.cluster.local:6379 failed",
            ]
            return ok("ts\tmessage\n" + "\n".join(rows) + "\n")
        if " FROM `analytics`.`page_views` LIMIT" in sql:
            return ok("path\tviews\n/home\t10\n/pricing\t7\n")
        if " FROM `analytics`.`we\\`ird; DROP TABLE x --` LIMIT" in sql:
            return ok("x\nplain\n")
        if "FROM system.settings" in sql:
            return ok(REC["settings_readonly_profile"] if self.refuse_settings else REC["settings"])
        if "FROM system.table_functions" in sql:
            return ok(REC["table_functions"])
        if sql.startswith("SELECT name FROM system.databases"):
            return ok("analytics\nchatbot\nempty_db\nqueue\n")
        if sql.startswith("SELECT name FROM system.users"):
            return ok("default\nreader\n")
        if sql.startswith("SHOW GRANTS"):
            return ok(REC["grants"])
        return self.error(404, f"Code: 60. DB::Exception: unexpected {sql[:40]!r}", "60")


def _ctx(replay: Replay) -> ScanContext:
    network = Network(http_transport=httpx.MockTransport(replay))
    return ScanContext(ScanConfig(), network, Classifier.load())


def _endpoint() -> Endpoint:
    return Endpoint(IP, IP, 8123, "clickhouse", Transport.HTTP, "replay")


async def test_current_version_open_server() -> None:
    replay = Replay()
    result = await ClickHouse().assess(_endpoint(), _ctx(replay))
    report = result.report
    assert report.version == "26.9.2.1"
    assert report.auth == AuthState.NONE
    by_name = {(r.database, r.table): r for r in report.resources}
    assert set(by_name) == {
        ("chatbot", "log_stream"),
        ("analytics", "page_views"),
        ("analytics", replay.weird_table),
        ("queue", "events_kafka"),
    }
    assert by_name[("analytics", "page_views")].rows == 3_000_000
    assert by_name[("chatbot", "log_stream")].rows == 10
    assert by_name[("queue", "events_kafka")].rows is None
    assert by_name[("queue", "events_kafka")].sampled_rows is None  # never read a Kafka table
    assert by_name[("analytics", replay.weird_table)].sampled_rows == 1
    cats = {df.category for df in by_name[("chatbot", "log_stream")].data_findings}
    assert cats == set(DataCategory)
    assert by_name[("analytics", "page_views")].data_findings == ()
    caps = report.capabilities
    # 26.9's default user: SOURCES + CREATE + INSERT on *.*, readonly=0, allow_ddl=1
    assert (
        caps.get("file"),
        caps.get("url"),
        caps.get("remote"),
        caps.get("write"),
        caps.get("ddl"),
    ) == (True,) * 5
    rules = {f.rule for f in result.findings}
    assert {
        "clickhouse.open-access",
        "clickhouse.data.secret",
        "clickhouse.capability.file",
    } <= rules
    assert "clickhouse.known-cves" not in rules
    assert "system.users lists 2 users: default, reader" in report.notes
    assert "databases (4): analytics, chatbot, empty_db, queue" in report.notes
    # every statement was a read, carried readonly=1 (except the profile-settings read) and
    # the server-side limits
    for sql, params in replay.seen:
        assert params["query_id"].startswith("leakmap-")
        assert params["max_execution_time"] and params["result_overflow_mode"] == "break"
        assert params.get("readonly") == "1" or "FROM system.settings" in sql
    dumped = result.report.model_dump_json() + "".join(f.model_dump_json() for f in result.findings)
    assert replay.secret not in dumped
    assert replay.secret[:20] not in dumped


async def test_current_version_readonly_profile_drops_refused_settings() -> None:
    replay = Replay(refuse_settings=True)
    result = await ClickHouse().assess(_endpoint(), _ctx(replay))
    report = result.report
    assert report.auth == AuthState.NONE
    caps = report.capabilities
    got = tuple(caps.get(n) for n in ("file", "write", "ddl", "url"))
    assert got == (
        False,
        False,
        False,
        False,
    )
    assert any("refused these safety settings" in n for n in report.notes)
    # once refused, a setting is never sent again on this endpoint
    _, last_params = replay.seen[-1]
    assert set(last_params) <= {"readonly", "query_id"}
    rules = {f.rule for f in result.findings}
    assert not any(r.startswith("clickhouse.capability") for r in rules)


async def test_current_version_password_server() -> None:
    text = (
        "Code: 516. DB::Exception: default: Authentication failed: password is incorrect, or "
        "there is no user with such name. (AUTHENTICATION_FAILED) "
        "(version 26.9.2.1 (official build))"
    )
    replay = Replay(auth_error=text)
    result = await ClickHouse().assess(_endpoint(), _ctx(replay))
    assert result.report.auth == AuthState.REQUIRED
    assert result.report.version == "26.9.2.1"
    assert result.report.resources == ()
    assert len(replay.seen) == 1  # nothing more was tried
    assert "IP" in result.report.notes[0]  # the honest caveat of code 516
    assert {f.rule for f in result.findings} <= {"clickhouse.known-cves"}


@pytest.mark.parametrize(
    "body",
    [
        b"\xff" * 10_000_000,  # a huge answer to every query
        b"26.9.2.1\n" + b"\x00\x01\x02" * 1000,
    ],
    ids=["huge", "binary"],
)
async def test_hostile_answers_do_not_break_the_assessment(body: bytes) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"X-ClickHouse-Format": "TabSeparated"}, content=body)

    network = Network(http_transport=httpx.MockTransport(handler))
    ctx = ScanContext(ScanConfig(max_response_bytes=64 * 1024), network, Classifier.load())
    result = await ClickHouse().assess(_endpoint(), ctx)
    assert result.report.transport == Transport.HTTP


async def test_a_dropped_keepalive_connection_is_retried_once_with_a_new_query_id() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(parse_qs(request.url.query.decode())["query_id"][0])
        if len(calls) == 1:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return httpx.Response(200, headers={"X-ClickHouse-Format": "TabSeparated"}, text="1\n")

    network = Network(http_transport=httpx.MockTransport(handler))
    async with network.http_client() as client:
        ch = ChHttp(client, f"http://{IP}:8123", ScanConfig())
        res = await ch.query("SELECT 1")
    assert res.ok and res.text() == "1\n"
    assert len(calls) == 2 and calls[0] != calls[1]


async def test_access_denied_on_the_proof_query_is_unknown_not_open() -> None:
    """497 claims a login but answers nothing the scanner can check: unknown (issue 12)."""
    text = (
        "Code: 497. DB::Exception: default: Not enough privileges. To execute this query, it's "
        "necessary to have the grant SELECT ON system.one. (ACCESS_DENIED) (version 26.9.2.1)"
    )

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"X-ClickHouse-Exception-Code": "497", "X-ClickHouse-Server-Display-Name": "r"}
        return httpx.Response(500, headers=headers, text=text)

    network = Network(http_transport=httpx.MockTransport(handler))
    ctx = ScanContext(ScanConfig(), network, Classifier.load())
    result = await ClickHouse().assess(_endpoint(), ctx)
    assert result.report.auth == AuthState.UNKNOWN
    assert result.report.version == "26.9.2.1"
    assert result.report.resources == ()
    assert any("497" in n for n in result.report.notes)
    assert [f.rule for f in result.findings] == ["clickhouse.auth-unknown"]
    caps = result.report.capabilities
    got = tuple(caps.get(n) for n in ("file", "write", "ddl"))
    assert got == (
        None,
        None,
        None,
    )  # nothing proven either way
