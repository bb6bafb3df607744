"""Fuzzing ClickHouse's remote-byte parsers: the native Hello/Exception, the native query
client's Data blocks, TabSeparated answers, error texts, the MySQL greeting, the HTTP
fingerprint and the open-proof judge."""

from __future__ import annotations

import struct

import httpx
from hypothesis import example, given
from hypothesis import strategies as st

from leakmap.errors import ProbeError
from leakmap.net.bounded import Network
from leakmap.sanitize import sanitize
from leakmap.services.base import AuthState, ScanConfig
from leakmap.services.clickhouse.codes import parse_error, parse_version
from leakmap.services.clickhouse.fingerprint import classify_http_answer, mysql_greeting
from leakmap.services.clickhouse.http import to_rows
from leakmap.services.clickhouse.native import (
    NativeException,
    NativeHello,
    encode_string,
    encode_uvarint,
    parse_server_packet,
)
from leakmap.services.clickhouse.native_query import ChNative
from leakmap.services.clickhouse.query import judge_proof
from leakmap.services.clickhouse.tsv import parse_tsv
from leakmap.services.common.proof import Challenge

from .harness import FUZZ, fake_opener, run

CONTROL = {chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F)}


# ------------------------------------------------------------------------ native first packet


def hello(revision: int = 54412, timezone: str = "UTC") -> bytes:
    return (
        encode_uvarint(0)
        + encode_string("ClickHouse")
        + encode_uvarint(18)
        + encode_uvarint(16)
        + encode_uvarint(revision)
        + encode_string(timezone)
        + encode_string("fuzz")
        + encode_uvarint(1)
    )


first_packets = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda h, cut, tail: h[:cut] + tail, st.just(hello()), st.integers(0, 40),
              st.binary(max_size=40)),
    st.builds(
        lambda code, parts, nested: encode_uvarint(2) + struct.pack("<i", code)
        + b"".join(encode_uvarint(len(p)) + p for p in parts) + nested,
        st.integers(-(2**31), 2**31 - 1), st.lists(st.binary(max_size=30), max_size=4),
        st.binary(max_size=3),
    ),
)  # fmt: skip


@FUZZ
@given(first_packets, st.integers(0, 60000))
@example(b"\x00" + b"\xff" * 12, 54405)  # a varint that never ends
@example(b"\x00" + encode_uvarint(2**62) + b"x", 54405)  # an absurd string length
def test_native_first_packet(data: bytes, revision: int) -> None:
    try:
        packet = parse_server_packet(data, revision)
    except ProbeError:
        return
    assert isinstance(packet, NativeHello | NativeException)


# ------------------------------------------------------------------------ native query client

TYPES = st.one_of(
    st.sampled_from(
        ["String", "UInt8", "Int64", "UInt256", "Float32", "Float64", "Date", "DateTime",
         "DateTime('Asia/Shanghai')", "DateTime('../../etc')", "DateTime('America')",
         "DateTime('\x00')", "FixedString(¹)", "UUID", "Bool", "Nothing", "Nullable(String)",
         "Nullable(Nullable(UInt8))", "FixedString(3)", "FixedString(0)", "FixedString(99999999)",
         "Enum8('a' = 1, 'b' = 2)", "Enum16('x' = -1)", "Array(String)", "LowCardinality(String)"]
    ),
    st.text(max_size=40),
)  # fmt: skip


@st.composite
def data_packets(draw: st.DrawFn) -> bytes:
    """A Data packet with plausible framing and arbitrary column bodies."""
    ncols = draw(st.integers(0, 3))
    nrows = draw(st.integers(0, 4))
    out = encode_uvarint(1) + encode_string("") + b"\x01\x00\x02\xff\xff\xff\xff\x00"
    out += encode_uvarint(ncols) + encode_uvarint(nrows)
    for _ in range(ncols):
        out += encode_string(draw(st.text(max_size=8)))
        out += encode_string(draw(TYPES))
        out += draw(st.binary(max_size=64))
    return out


replies = st.lists(
    st.one_of(
        data_packets(),
        st.binary(max_size=80),
        st.just(encode_uvarint(5)),  # end of stream
        st.builds(lambda b: encode_uvarint(3) + b, st.binary(max_size=12)),  # progress
        st.builds(lambda b: encode_uvarint(2) + b, st.binary(max_size=40)),  # exception
    ),
    max_size=4,
).map(b"".join)


@FUZZ
@given(st.booleans(), st.sampled_from([54412, 54429, 54460, 1, 2**40]), replies)
@example(True, 54412, encode_uvarint(1) + encode_string("") + b"\x00" + b"\x01\x01"
         + encode_string("t") + encode_string("DateTime('America')") + b"\x00" * 4)  # fmt: skip
@example(True, 54412, encode_uvarint(1) + encode_string("") + b"\x00" + b"\x01\x01"
         + encode_string("t") + encode_string("FixedString(\u00b9)") + b"x")  # fmt: skip
def test_native_query_client(with_hello: bool, revision: int, reply: bytes) -> None:
    data = (hello(revision) if with_hello else b"") + reply
    config = ScanConfig(connect_timeout=0.5, read_timeout=0.5, query_timeout_s=1)
    network = Network(connect_timeout=0.5, read_timeout=0.5, tcp_opener=fake_opener(data))

    async def go() -> None:
        client = ChNative(network, "127.0.0.1", 9000, config)
        try:
            first = await client.connect()
            if isinstance(first, NativeHello):
                result = await client.query("SELECT 1", allow_truncate=True)
                assert all(len(row) == len(result.columns) for row in result.rows)
        except (ProbeError, TimeoutError, OSError):
            pass
        finally:
            await client.close()

    run(go())


# ------------------------------------------------------------------------ HTTP answers


@FUZZ
@given(st.binary(max_size=600), st.booleans(), st.one_of(st.none(), st.integers(0, 5)))
def test_tsv(body: bytes, truncated: bool, max_rows: int | None) -> None:
    rows = parse_tsv(body, truncated=truncated, max_rows=max_rows)
    assert max_rows is None or len(rows) <= max_rows


@FUZZ
@given(st.text(max_size=400), st.one_of(st.none(), st.text(max_size=12)), st.integers(1, 500))
@example("Code: 99999999999999999999999, e.displayText() = DB::Exception: x", None, 300)
@example("", "\xb9", 300)  # str.isdigit() is true for a superscript one; int() refuses it
def test_error_text_and_version(text: str, header: str | None, limit: int) -> None:
    err = parse_error(text, header)
    if err is not None:
        assert not CONTROL & set(err.message)
    parse_version(text)
    cleaned = sanitize(text, limit)
    assert not CONTROL & set(cleaned) and len(cleaned) <= max(limit, 1)


@FUZZ
@given(st.one_of(st.binary(max_size=200),
                 st.builds(lambda n, v, t: n + b"\x0a" + v + b"-ClickHouse\x00" + t,
                           st.binary(min_size=4, max_size=4), st.binary(max_size=30),
                           st.binary(max_size=30))))  # fmt: skip
def test_mysql_greeting(raw: bytes) -> None:
    is_ch, version = mysql_greeting(raw)
    assert is_ch or version is None


headers = st.dictionaries(
    st.sampled_from(["X-ClickHouse-Summary", "X-ClickHouse-Exception-Code", "Content-Encoding",
                     "X-ClickHouse-Timezone", "X-ClickHouse-Server-Display-Name", "Server"]),
    st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=20),
    max_size=4,
)  # fmt: skip


@st.composite
def answers(draw: st.DrawFn) -> tuple[int, dict[str, str], bytes, Challenge]:
    challenge = Challenge(draw(st.integers(10_007, 46_339)), draw(st.integers(10_007, 46_339)))
    body = draw(
        st.one_of(
            st.binary(max_size=300),
            st.builds(
                lambda v, p, t: v + b"\t" + p + t,
                st.sampled_from([b"18.16.1", b"23.8.2.7", b"x"]),
                st.sampled_from([challenge.expected.encode(), b"1", b""]),
                st.sampled_from([b"\n", b"", b"\n\n", b"\nmore\n", b"\x1b\n"]),
            ),
        )
    )
    return draw(st.sampled_from([200, 500, 403, 401, 0, 999])), draw(headers), body, challenge


@FUZZ
@given(answers(), st.booleans(), st.integers(1, 65535))
@example((200, {"X-ClickHouse-Exception-Code": "\xb9"}, b"", Challenge(10007, 10007)), False, 1)
def test_http_answer_and_open_proof(
    answer: tuple[int, dict[str, str], bytes, Challenge], truncated: bool, port: int
) -> None:
    status, hdrs, body, challenge = answer
    h = httpx.Headers([(k.encode(), v.encode("latin-1")) for k, v in hdrs.items()])  # as sent
    text = body.decode("utf-8", "replace")
    probe = classify_http_answer(status, h, text, port, challenge=challenge, truncated=truncated)
    proof = judge_proof(to_rows(status, h, body, truncated), challenge)
    # open is claimed only on an answer that holds the product the scanner asked for
    for auth in (probe.auth if probe else None, proof.auth):
        if auth is AuthState.NONE:
            assert challenge.expected.encode() in body and not truncated
