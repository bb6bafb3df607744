"""Fuzzing the shared pre-probe's HTTP parsing, the PostgreSQL and MySQL wire clients, and the
user files that list targets: nmap/masscan/naabu inputs and certificate-transparency exports."""

from __future__ import annotations

import json
import struct

from hypothesis import example, given
from hypothesis import strategies as st

from leakmap.discovery import parse_ct
from leakmap.errors import ProbeError, UsageError
from leakmap.inputs import parse_input
from leakmap.net.bounded import Network
from leakmap.net.preprobe import parse_http_answer, preprobe
from leakmap.services.base import ScanConfig
from leakmap.services.mysql.wire import MysqlClient
from leakmap.services.postgresql.wire import PgClient

from .harness import FUZZ, fake_opener, run

# ------------------------------------------------------------------------ pre-probe

http_heads = st.builds(
    lambda version, status, reason, headers, body: version + b" " + status + b" " + reason
    + b"\r\n" + b"".join(k + b": " + v + b"\r\n" for k, v in headers) + b"\r\n" + body,
    st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/", b"HTTP/9"]),
    st.one_of(st.sampled_from([b"200", b"\xb2\xb3\xb9", b"2\xb90", b"99999", b"-1"]),
              st.binary(max_size=4)),
    st.binary(max_size=10),
    st.lists(st.tuples(st.sampled_from([b"Content-Length", b"Transfer-Encoding", b"X-A"]),
                       st.binary(max_size=12)), max_size=4),
    st.binary(max_size=40),
)  # fmt: skip


@FUZZ
@given(st.one_of(http_heads, st.binary(max_size=200)), st.booleans())
@example(b"HTTP/1.1 \xb2\xb3\xb9 OK\r\n\r\n", False)  # '²³¹'.isdigit() is true; int() refuses
def test_http_answer(raw: bytes, tls: bool) -> None:
    answer = parse_http_answer(raw, tls=tls)
    assert answer is None or 100 <= answer.status <= 999 or answer.status >= 0


@FUZZ
@given(st.one_of(http_heads, st.binary(max_size=300)))
@example(b"HTTP/1.1 200 OK\r\nContent-Length: \xb9\r\n\r\n")
def test_preprobe(data: bytes) -> None:
    network = Network(connect_timeout=0.2, read_timeout=0.2, tcp_opener=fake_opener(data))
    config = ScanConfig(connect_timeout=0.2, read_timeout=0.2)
    run(preprobe(network, "127.0.0.1", 8123, config))  # never raises


# ------------------------------------------------------------------------ PostgreSQL


def pg_msg(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack(">i", len(body) + 4) + body


pg_messages = st.lists(
    st.one_of(
        st.builds(pg_msg, st.sampled_from([b"R", b"S", b"K", b"Z", b"E", b"N", b"T", b"D", b"C",
                                           b"I", b"1", b"?"]), st.binary(max_size=40)),
        st.just(pg_msg(b"R", struct.pack(">i", 0))),
        st.just(pg_msg(b"Z", b"I")),
        st.just(b"R" + struct.pack(">i", 0x7FFFFFFF)),
        st.just(b"D" + struct.pack(">i", 3)),
        st.builds(lambda n, cols: pg_msg(b"D", struct.pack(">h", n) + cols),
                  st.integers(-2, 3), st.binary(max_size=20)),
        st.builds(lambda n, body: pg_msg(b"T", struct.pack(">h", n) + body),
                  st.integers(-2, 3), st.binary(max_size=40)),
        st.binary(max_size=10),
    ),
    max_size=8,
).map(b"".join)  # fmt: skip


@FUZZ
@given(pg_messages)
def test_postgres_client(data: bytes) -> None:
    network = Network(connect_timeout=0.5, read_timeout=0.5, tcp_opener=fake_opener(data))

    async def go() -> None:
        client = PgClient(network, "127.0.0.1", 5432, timeout=0.5, reply_limit=4096)
        try:
            login = await client.login("postgres", "postgres")
            if login.ok:
                await client.query("SELECT 1", max_rows=5)
        except (ProbeError, TimeoutError, OSError):
            pass
        finally:
            await client.close()

    run(go())


# ------------------------------------------------------------------------ MySQL


def my_packet(seq: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "little") + bytes([seq & 0xFF]) + payload


GREETING = my_packet(
    0,
    b"\x0a8.0.36\x00" + struct.pack("<I", 7) + b"abcdefgh\x00" + struct.pack("<H", 0x8209)
    + b"\x21" + struct.pack("<H", 2) + struct.pack("<H", 0x0008) + b"\x15" + b"\x00" * 10
    + b"ijklmnopqrst\x00" + b"mysql_native_password\x00",
)  # fmt: skip

my_packets = st.lists(
    st.one_of(
        st.builds(my_packet, st.integers(0, 5), st.one_of(
            st.sampled_from([b"\x00\x00\x00\x02\x00\x00\x00", b"\xfe", b"\xff\x15\x04#28000no",
                             b"\x01", b"\xfb", b"\xfc\xff", b"\xfe\x00\x00\x02\x00"]),
            st.binary(max_size=40))),
        st.just(b"\xff\xff\xff\x00"),  # a 16 MB packet announced
        st.binary(max_size=10),
    ),
    max_size=8,
).map(b"".join)  # fmt: skip


@FUZZ
@given(st.booleans(), my_packets)
def test_mysql_client(greeting: bool, data: bytes) -> None:
    stream = (GREETING if greeting else b"") + data
    network = Network(connect_timeout=0.5, read_timeout=0.5, tcp_opener=fake_opener(stream))

    async def go() -> None:
        client = MysqlClient(network, "127.0.0.1", 3306, timeout=0.5)
        try:
            login = await client.login("root")
            if login.ok:
                await client.query("SELECT 1", max_rows=5)
        except (ProbeError, TimeoutError, OSError):
            pass
        finally:
            await client.close()

    run(go())


# ------------------------------------------------------------------------ user files

nmap_xml = st.builds(
    lambda addr, port, state, proto: (
        '<?xml version="1.0"?><nmaprun><host><address addr="' + addr + '" addrtype="ipv4"/>'
        '<ports><port protocol="'
        + proto
        + '" portid="'
        + port
        + '"><state state="'
        + state
        + '"/></port></ports></host></nmaprun>'
    ),
    st.sampled_from(["127.0.0.1", "::1", "999.1.1.1", "x", ""]),
    st.sampled_from(["8123", "0", "65536", "¹", "-1", "99999999999999999999"]),
    st.sampled_from(["open", "closed", ""]),
    st.sampled_from(["tcp", "udp"]),
)
inputs = st.one_of(
    st.text(max_size=300),
    nmap_xml,
    st.just('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
            "<nmaprun>&b;</nmaprun>"),
    st.lists(st.fixed_dictionaries({"ip": st.sampled_from(["127.0.0.1", "::1", "x", None, 1]),
                                    "port": st.one_of(st.integers(-1, 70000), st.text(max_size=3)),
                                    "host": st.text(max_size=6)}), max_size=3)
    .map(lambda rows: "\n".join(json.dumps(r) for r in rows)),
    st.lists(st.sampled_from(["open tcp 8123 127.0.0.1 1", "open tcp ¹ 127.0.0.1 1",
                              "open udp 53 ::1 1", "#masscan", "open tcp 80"]), max_size=4)
    .map("\n".join),
)  # fmt: skip


@FUZZ
@given(inputs)
def test_port_scanner_inputs(text: str) -> None:
    try:
        _, ports = parse_input(text)
    except UsageError:
        return
    assert all(0 < p.port < 65536 for p in ports)


ct_exports = st.one_of(
    st.text(max_size=200),
    st.lists(st.fixed_dictionaries({"name_value": st.one_of(st.text(max_size=30), st.integers(),
                                                            st.none())}), max_size=4)
    .map(json.dumps),
    st.builds(json.dumps, st.one_of(st.integers(), st.dictionaries(st.text(max_size=3),
                                                                   st.integers(), max_size=2))),
    st.just("[" * 50_000),
)  # fmt: skip


@FUZZ
@given(ct_exports)
def test_ct_export(text: str) -> None:
    try:
        names = parse_ct(text)
    except UsageError:
        return
    assert all(isinstance(n, str) and n for n in names)
