# ruff: noqa: E501  (tool output samples are kept byte for byte as the tools write them)
"""``--input``: each tool's output format (as its documentation shows it) read into the
open TCP ports it lists; detection by content; bad files are one-line errors."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from leakmap.inputs import InputError, ListedPort, detect_format, parse_input, read_input

NMAP_XML = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nmaprun>
<nmaprun scanner="nmap" args="nmap -sT -oX out.xml db.example.test 192.0.2.9" version="7.93">
<host starttime="1" endtime="2"><status state="up" reason="user-set"/>
<address addr="192.0.2.10" addrtype="ipv4"/>
<address addr="00:11:22:33:44:55" addrtype="mac"/>
<hostnames><hostname name="db.example.test" type="user"/>
<hostname name="ptr.example.test" type="PTR"/></hostnames>
<ports><extraports state="closed" count="5"/>
<port protocol="tcp" portid="8123"><state state="open" reason="syn-ack"/>
<service name="polipo"/></port>
<port protocol="tcp" portid="9000"><state state="filtered" reason="no-response"/></port>
<port protocol="udp" portid="9009"><state state="open" reason="udp-response"/></port>
</ports></host>
<host><status state="up"/><address addr="2001:db8::9" addrtype="ipv6"/>
<ports><port protocol="tcp" portid="9000"><state state="open" reason="syn-ack"/></port></ports>
</host>
<runstats><finished time="2"/></runstats>
</nmaprun>
"""

MASSCAN_JSON = """[
{   "ip": "192.0.2.10",   "timestamp": "1700000000", "ports": [ {"port": 8123, "proto": "tcp", "status": "open", "reason": "syn-ack", "ttl": 64} ] }
,
{   "ip": "192.0.2.11",   "timestamp": "1700000000", "ports": [ {"port": 53, "proto": "udp", "status": "open", "reason": "", "ttl": 64} ] }
]
"""

# masscan 1.0: a comma after the last record and an unquoted {finished: 1}
MASSCAN_JSON_OLD = """[
{   "ip": "192.0.2.10",   "timestamp": "1538491010", "ports": [ {"port": 9000, "proto": "tcp", "status": "open", "reason": "syn-ack", "ttl": 64} ] },
{finished: 1}
]
"""

MASSCAN_LIST = """#masscan
open tcp 8123 192.0.2.10 1700000000
open tcp 9000 192.0.2.10 1700000001
open udp 53 192.0.2.10 1700000001
# end
"""

NAABU = """{"host":"db.example.test","ip":"192.0.2.10","port":8123,"protocol":"tcp","tls":false,"timestamp":"2024-01-01T00:00:00Z"}
{"ip":"192.0.2.11","port":9000}
{"host":"192.0.2.12","ip":"192.0.2.12","port":9009,"protocol":"tcp"}
{"host":"x","ip":"192.0.2.13","port":161,"protocol":"udp"}
"""

HOSTPORT = """# hosts from the inventory
192.0.2.10:8123
db.example.test:9000   # the primary
[2001:db8::9]:9000

"""


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        (
            NMAP_XML,
            "nmap-xml",
            [
                ListedPort("db.example.test", "192.0.2.10", 8123),
                ListedPort("2001:db8::9", "2001:db8::9", 9000),
            ],
        ),
        (MASSCAN_JSON, "masscan-json", [ListedPort("192.0.2.10", "192.0.2.10", 8123)]),
        (MASSCAN_JSON_OLD, "masscan-json", [ListedPort("192.0.2.10", "192.0.2.10", 9000)]),
        (
            MASSCAN_LIST,
            "masscan-list",
            [
                ListedPort("192.0.2.10", "192.0.2.10", 8123),
                ListedPort("192.0.2.10", "192.0.2.10", 9000),
            ],
        ),
        (
            NAABU,
            "naabu-jsonl",
            [
                ListedPort("db.example.test", "192.0.2.10", 8123),
                ListedPort("192.0.2.11", "192.0.2.11", 9000),
                ListedPort("192.0.2.12", "192.0.2.12", 9009),
            ],
        ),
        (
            HOSTPORT,
            "hostport",
            [
                ListedPort("192.0.2.10", "192.0.2.10", 8123),
                ListedPort("db.example.test", None, 9000),
                ListedPort("2001:db8::9", "2001:db8::9", 9000),
            ],
        ),
    ],
)
def test_each_format_gives_its_open_tcp_ports(
    text: str, kind: str, expected: list[ListedPort]
) -> None:
    assert detect_format(text) == kind
    assert parse_input(text) == (kind, expected)


def test_leakmap_ports_output_reads_as_naabu_lines() -> None:
    assert parse_input('{"ip":"127.0.0.1","port":8123}\n') == (
        "naabu-jsonl",
        [ListedPort("127.0.0.1", "127.0.0.1", 8123)],
    )


def test_duplicates_are_listed_once() -> None:
    assert parse_input("127.0.0.1:9000\n127.0.0.1:9000\n")[1] == [
        ListedPort("127.0.0.1", "127.0.0.1", 9000)
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hello world\n", "format not recognised (understood: nmap XML (-oX), masscan JSON"),
        ("", "format not recognised"),
        ("<html><body>nope</body></html>", "format not recognised"),
        ("192.0.2.1\n", "format not recognised"),  # an address without a port is a target list
        ("127.0.0.1:80\nnot a target!\n", "line 2"),
        ("<nmaprun><host>", "does not parse"),
        ('{"ip":"1.2.3.4","port":1}\n{oops\n', "line 2: not JSON"),
    ],
)
def test_bad_input_is_one_line(text: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_input(text, "scan.out")
    assert message in str(info.value) and "\n" not in str(info.value)
    assert "scan.out" in str(info.value)


def test_xml_entity_bomb_is_refused() -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE nmaprun [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><nmaprun>&b;</nmaprun>'
    )
    with pytest.raises(InputError, match="does not parse"):
        parse_input(bomb)


def test_read_input_file_stdin_and_errors(tmp_path: Path) -> None:
    f = tmp_path / "masscan.txt"
    f.write_text(MASSCAN_LIST)
    assert read_input(str(f))[0] == "masscan-list"
    assert read_input("-", io.StringIO(HOSTPORT))[0] == "hostport"
    with pytest.raises(InputError, match=r"cannot read --input .*missing"):
        read_input(str(tmp_path / "missing"))
    (tmp_path / "bin").write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(InputError, match="not UTF-8"):
        read_input(str(tmp_path / "bin"))
