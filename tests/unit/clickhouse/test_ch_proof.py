"""Open means proven (issue 12 item 1): what one answer to ``SELECT version(), A * B`` proves.

HTTP answers are reconstructed from ClickHouse's documented formats (the proven one is the
shape 18.16 gives here); ``recorded`` in a name marks replays through httpx.MockTransport.
"""

from __future__ import annotations

import httpx
import pytest

from leakmap.classify import Classifier
from leakmap.net.bounded import Network
from leakmap.services.base import AuthState, Endpoint, ScanConfig, ScanContext, Transport
from leakmap.services.clickhouse.http import to_rows
from leakmap.services.clickhouse.plugin import ClickHouse
from leakmap.services.clickhouse.query import judge_proof, proof_statement
from leakmap.services.common.proof import Challenge

C = Challenge(12345, 23456)  # product 289564320
CH = {"X-ClickHouse-Server-Display-Name": "vm", "X-ClickHouse-Format": "TabSeparated"}


def judge(
    body: bytes, *, status: int = 200, headers: dict[str, str] | None = None, cut: bool = False
) -> tuple[AuthState, str | None]:
    rows = to_rows(status, httpx.Headers(headers or CH), body, cut)
    proof = judge_proof(rows, C)
    return proof.auth, proof.version


def test_the_exact_answer_proves_open() -> None:
    assert judge(b"18.16.1\t289564320\n") == (AuthState.NONE, "18.16.1")
    assert judge(b"24.8.4.13\t289564320\n") == (AuthState.NONE, "24.8.4.13")


@pytest.mark.parametrize(
    "body",
    [
        b"18.16.1\t289564321\n",  # wrong product
        b"18.16.1\n",  # the old proof: a version line alone
        b"Ok.\n",
        b"1\n",
        proof_statement(C).encode() + b" FORMAT TabSeparated",  # a reflector
        b"18.16.1\t289564320\n18.16.1\t289564320\n",  # two rows
        b"18.16.1\t289564320\textra\n",  # three columns
        b"18.16.1\t 289564320\n",  # padded
        b"18.16.1\t289564320",  # the last row never ended
        b"vX\t289564320\n",  # not a version
        b"18.16.1\t289564320\n\xff\xfe",  # invalid UTF-8 after the answer
        b"",
    ],
)
def test_anything_else_is_unknown(body: bytes) -> None:
    assert judge(body) == (AuthState.UNKNOWN, None)


def test_cut_short_or_compressed_is_unknown_even_with_the_right_text() -> None:
    assert judge(b"18.16.1\t289564320\n", cut=True)[0] is AuthState.UNKNOWN
    gz = {**CH, "Content-Encoding": "gzip"}
    assert judge(b"18.16.1\t289564320\n", headers=gz)[0] is AuthState.UNKNOWN
    assert judge(b"18.16.1\t289564320\n", headers={**CH, "Content-Encoding": "identity"}) == (
        AuthState.NONE,
        "18.16.1",
    )


@pytest.mark.parametrize(
    ("code", "auth"),
    [
        (194, AuthState.REQUIRED),
        (516, AuthState.REQUIRED),
        (195, AuthState.UNKNOWN),
        (497, AuthState.UNKNOWN),  # "logged in, no privilege": nothing checkable
        (60, AuthState.UNKNOWN),
    ],
)
def test_refusals(code: int, auth: AuthState) -> None:
    body = f"Code: {code}. DB::Exception: x. (SOMETHING) (version 24.8.4.13)\n".encode()
    got = judge(body, status=500, headers={**CH, "X-ClickHouse-Exception-Code": str(code)})
    assert got == (auth, "24.8.4.13")


def test_a_200_with_an_exception_header_mid_stream_is_unknown() -> None:
    body = b"18.16.1\t289564320\nCode: 241. DB::Exception: Memory limit (total) exceeded\n"
    headers = {**CH, "X-ClickHouse-Exception-Code": "241"}
    assert judge(body, headers=headers)[0] is AuthState.UNKNOWN


def test_http_error_without_clickhouse_error_is_unknown() -> None:
    assert judge(b"<html>bad gateway</html>", status=502, headers={}) == (AuthState.UNKNOWN, None)


def test_challenges_are_random_and_fit_int32() -> None:
    draws = {Challenge.new() for _ in range(50)}
    assert len(draws) > 45
    for c in draws:
        assert 10_000 < c.a < 46_341 and 10_000 < c.b < 46_341
        assert int(c.expected) < 2**31
        assert c.matches(str(c.a * c.b)) and not c.matches(str(c.a * c.b + 1))


def _endpoint() -> Endpoint:
    return Endpoint("127.0.20.79", "127.0.20.79", 8123, "clickhouse", Transport.HTTP, "test")


async def test_recorded_failure_in_the_middle_of_the_first_query_is_unknown() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection reset mid-body", request=request)

    ctx = ScanContext(
        ScanConfig(), Network(http_transport=httpx.MockTransport(handler)), Classifier.load()
    )
    result = await ClickHouse().assess(_endpoint(), ctx)
    assert result.report.auth is AuthState.UNKNOWN
    assert "clickhouse.open-access" not in {f.rule for f in result.findings}


async def test_recorded_oversized_answer_to_the_first_query_is_unknown() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        sql = request.content.decode()
        a, b = (int(x) for x in sql.split(", ")[1].split(" FORMAT")[0].split(" * "))
        # the right answer, followed by more than the proof's byte limit
        return httpx.Response(200, headers=CH, text=f"18.16.1\t{a * b}\n" + "x" * 10_000)

    ctx = ScanContext(
        ScanConfig(), Network(http_transport=httpx.MockTransport(handler)), Classifier.load()
    )
    result = await ClickHouse().assess(_endpoint(), ctx)
    assert result.report.auth is AuthState.UNKNOWN
