"""HTTP answers, MySQL greetings and TSV bodies -> what they prove (positive evidence only).

Answers marked "recorded 18.16" were captured from Debian's clickhouse-server 18.16.1 here;
the newer ones are reconstructed from ClickHouse's documented formats.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from leakmap.net.bounded import Network
from leakmap.services.base import AuthState, ScanConfig, Transport
from leakmap.services.clickhouse.fingerprint import (
    Probe,
    classify_http_answer,
    mysql_greeting,
    probe_http,
    probe_native,
    transport_order,
)
from leakmap.services.clickhouse.http import refused_settings
from leakmap.services.clickhouse.plugin import ClickHouse
from leakmap.services.clickhouse.tsv import parse_tsv, unescape_field
from leakmap.services.common.proof import Challenge

CH_HEADERS = {"X-ClickHouse-Server-Display-Name": "vm", "Content-Type": "text/tab-separated-values"}


@pytest.mark.parametrize(
    ("status", "headers", "body", "transport", "version", "auth"),
    [
        # recorded 18.16: SELECT version(), 12345 * 23456 on the open server
        (200, CH_HEADERS, "18.16.1\t289564320\n", Transport.HTTP, "18.16.1", AuthState.NONE),
        # ClickHouse headers but not the answer asked for: ClickHouse-looking, access unproven
        (200, CH_HEADERS, "18.16.1\n", Transport.HTTP, None, AuthState.UNKNOWN),
        (200, CH_HEADERS, "18.16.1\t289564321\n", Transport.HTTP, None, AuthState.UNKNOWN),
        # recorded 18.16: password server
        (
            401,
            {**CH_HEADERS, "WWW-Authenticate": 'Basic realm="ClickHouse server HTTP API"'},
            "Code: 194, e.displayText() = DB::Exception: Password required for user default, "
            "e.what() = DB::Exception\n",
            Transport.HTTP,
            None,
            AuthState.REQUIRED,
        ),
        # current versions: 516 with the version in the text
        (
            401,
            {"X-ClickHouse-Exception-Code": "516", "X-ClickHouse-Server-Display-Name": "x"},
            "Code: 516. DB::Exception: default: Authentication failed: password is incorrect, "
            "or there is no user with such name. (AUTHENTICATION_FAILED) "
            "(version 24.8.4.13 (official build))\n",
            Transport.HTTP,
            "24.8.4.13",
            AuthState.REQUIRED,
        ),
        # 18.x IP restriction: ClickHouse, but auth unknown
        (
            403,
            CH_HEADERS,
            "Code: 195, e.displayText() = DB::Exception: User default is not allowed to connect "
            "from address 10.1.1.1, e.what() = DB::Exception",
            Transport.HTTP,
            None,
            AuthState.UNKNOWN,
        ),
        # a DB::Exception body without headers (a proxy stripped them) still counts
        (
            500,
            {},
            "Code: 60, e.displayText() = DB::Exception: Table x doesn't exist",
            Transport.HTTP,
            None,
            AuthState.UNKNOWN,
        ),
        # recorded 18.16: an HTTP request to the native port
        (
            400,
            {},
            "Port 9000 is for clickhouse-client program.\nYou must use port 8123 for HTTP.\n",
            Transport.NATIVE,
            None,
            None,
        ),
        # recorded 18.16: interserver port, POST without parameters
        (
            500,
            {},
            "Poco::Exception. Code: 1000, e.code() = 0, e.displayText() = Not found: endpoint, "
            "e.what() = Not found",
            Transport.INTERSERVER,
            None,
            None,
        ),
    ],
)
def test_clickhouse_answers(
    status: int,
    headers: dict[str, str],
    body: str,
    transport: Transport,
    version: str | None,
    auth: AuthState | None,
) -> None:
    probe = classify_http_answer(
        status, httpx.Headers(headers), body, 8123, challenge=Challenge(12345, 23456)
    )
    assert probe is not None
    assert probe.transport == transport
    assert probe.version == version
    assert probe.auth == auth


@pytest.mark.parametrize(
    ("status", "headers", "body"),
    [
        (200, {"Server": "nginx"}, "Ok.\n"),  # the decoy: Ok. to everything
        (200, {}, "1\n"),  # SELECT 1 answered 1, but no ClickHouse header
        (200, {}, "18.16.1\n"),  # a version-looking echo without headers
        (404, {"Server": "nginx"}, "<html>404 Not Found</html>"),
        (400, {}, "Bad Request"),
        (200, {"X-Clickhouse": "fake"}, "Ok.\n"),  # not an X-ClickHouse-* header
        (500, {}, "Error code: 500 Internal error"),
        (200, {"Content-Type": "application/json"}, '{"code": 194}'),
    ],
)
def test_non_clickhouse_answers(status: int, headers: dict[str, str], body: str) -> None:
    assert classify_http_answer(status, httpx.Headers(headers), body, 8123) is None


def _greeting(version: bytes) -> bytes:
    payload = b"\x0a" + version + b"\x00" + b"\x01\x00\x00\x00" + b"abcdefgh\x00"
    return len(payload).to_bytes(3, "little") + b"\x00" + payload


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (_greeting(b"24.8.4.13-ClickHouse"), (True, "24.8.4.13")),
        (_greeting(b"20.2.1.1-ClickHouse"), (True, "20.2.1.1")),  # as in ClickHouse's docs
        (_greeting(b"8.0.32-ClickHouse"), (True, None)),  # a MySQL-looking version: no CVEs
        (_greeting(b"8.0.33"), (False, None)),  # a real MySQL
        (_greeting(b"10.11.6-MariaDB-0+deb12u1"), (False, None)),
        (_greeting(b"8.0.33-ClickHouse-not"), (False, None)),
        (_greeting(b"evil-ClickHouse"), (False, None)),
        (b"\x00\x00", (False, None)),
        (b"J\x00\x00\x00\x0a" + b"A" * 500, (False, None)),  # no NUL within bounds
    ],
)
def test_mysql_greeting(raw: bytes, expected: tuple[bool, str | None]) -> None:
    assert mysql_greeting(raw) == expected


@pytest.mark.parametrize(
    ("port", "first"),
    [
        (8123, Transport.HTTP),
        (8443, Transport.HTTPS),
        (9000, Transport.NATIVE),
        (9440, Transport.NATIVE_TLS),
        (9004, Transport.NATIVE),
        (9009, Transport.HTTP),
        (9363, Transport.HTTP),
        (18123, Transport.HTTP),
    ],
)
def test_transport_order(port: int, first: Transport) -> None:
    order = transport_order(port, ClickHouse.default_ports)
    assert order[0] == first
    assert set(order) == {Transport.HTTP, Transport.HTTPS, Transport.NATIVE, Transport.NATIVE_TLS}


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("plain", "plain"),
        ("\\N", None),
        ("a\\tb\\nc", "a\tb\nc"),
        ("back\\\\slash", "back\\slash"),
        ("q\\'", "q'"),
        ('{"k":"v\\\\n"}', '{"k":"v\\n"}'),
    ],
)
def test_unescape_field(raw: str, value: str | None) -> None:
    assert unescape_field(raw) == value


@pytest.mark.parametrize(
    ("body", "truncated", "rows"),
    [
        (b"a\tb\nc\td\n", False, [["a", "b"], ["c", "d"]]),
        (b"a\tb\nc\td", False, [["a", "b"], ["c", "d"]]),
        (b"a\tb\nc\td", True, [["a", "b"]]),  # cut mid-line: the partial line is dropped
        (b"a\tb\n", True, [["a", "b"]]),
        (b"", False, []),
        (b"x\t\\N\n", False, [["x", None]]),
        (b"\xff\xfe\tok\n", False, [["\ufffd\ufffd", "ok"]]),
    ],
)
def test_parse_tsv(body: bytes, truncated: bool, rows: list[list[str | None]]) -> None:
    assert parse_tsv(body, truncated=truncated) == rows


@pytest.mark.parametrize(
    ("message", "named"),
    [
        # recorded 18.16 (readonly profile): "readonly" in "readonly mode" is not a setting name
        ("Cannot override setting (max_threads) in readonly mode", {"max_threads"}),
        # recorded 26.9 (chDB)
        ("Cannot modify 'max_threads' setting in readonly mode. (READONLY)", {"max_threads"}),
        ("Unknown setting 'read_overflow_mode'. (UNKNOWN_SETTING)", {"read_overflow_mode"}),
        # recorded 18.16
        ("Unknown setting max_memory_usage", {"max_memory_usage"}),
        ("Setting max_execution_time should not be greater than 5", {"max_execution_time"}),
        ("Table functions are forbidden in readonly mode", set()),
        ("Cannot override setting (max_threads_x) in readonly mode", set()),
    ],
)
def test_refused_settings(message: str, named: set[str]) -> None:
    candidates = {"readonly", "max_threads", "read_overflow_mode", "max_memory_usage"} | {
        "max_execution_time"
    }
    assert refused_settings(message, candidates) == named


def _probe_with(handler: Callable[[httpx.Request], httpx.Response], port: int) -> Probe:
    network = Network(http_transport=httpx.MockTransport(handler))
    return asyncio.run(probe_http(network, "127.0.20.78", port, tls=False, config=ScanConfig()))


def test_prometheus_metrics_endpoint() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/metrics":
            body = "# HELP ClickHouseProfileEvents_Query x\nClickHouseProfileEvents_Query 12\n"
            return httpx.Response(200, text=body)
        return httpx.Response(404, text="There is no handle /\n\nUse clickhouse-client:\n")

    assert _probe_with(handler, 9363).transport == Transport.PROMETHEUS


def test_plain_prometheus_of_something_else_is_not_clickhouse() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="# HELP go_goroutines x\ngo_goroutines 12\n")

    assert _probe_with(handler, 9363).transport is None


def test_interserver_404_page() -> None:
    # recorded 18.16: GET of an unknown path on the interserver port
    page = (
        "There is no handle /leakmap-probe-404\n\nUse / or /ping for health checks.\n"
        "Or /replicas_status for more sophisticated health checks.\n\nSend queries from your "
        "program with POST method or GET /?query=...\n\nUse clickhouse-client:\n"
    )

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(200, text="Ok.\n")
        return httpx.Response(404, text=page)

    assert _probe_with(handler, 9009).transport == Transport.INTERSERVER


def test_interserver_error_without_query_headers() -> None:
    text = "Code: 516. DB::Exception: Authentication failed. (AUTHENTICATION_FAILED)"
    probe = classify_http_answer(401, httpx.Headers({}), text, 9009)
    assert probe is not None and probe.transport == Transport.INTERSERVER


async def test_native_probe_reads_a_clickhouse_mysql_greeting() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(_greeting(b"23.8.2.7-ClickHouse"))  # server speaks first
        await writer.drain()
        await reader.read(1024)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.20.79", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        probe = await probe_native(Network(), "127.0.20.79", port, tls=False, config=ScanConfig())
    assert probe.transport == Transport.MYSQL
    assert probe.version == "23.8.2.7"
