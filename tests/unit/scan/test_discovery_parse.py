"""Discovery input parsing without a network: domains, resolvers, CT exports, wordlists,
and the wildcard rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leakmap.discovery import (
    DiscoveryError,
    _is_wildcard_answer,
    bundled_wordlist,
    parse_ct,
    parse_domain,
    read_wordlist,
)
from leakmap.net.dnsclient import NameAnswer, NameServer, parse_resolver


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Example.COM.", "example.com"),
        ("*.corp.test", "corp.test"),
        ("bücher.de", "xn--bcher-kva.de"),
    ],
)
def test_parse_domain(text: str, expected: str) -> None:
    assert parse_domain(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "localhost", "127.0.0.1", "a..b", "-x.com", "x.123", "has space.com", "a" * 64 + ".com"],
)
def test_parse_domain_refuses(text: str) -> None:
    with pytest.raises(DiscoveryError, match="not a domain name"):
        parse_domain(text)


def test_parse_resolver() -> None:
    assert parse_resolver("127.0.0.1") == NameServer("127.0.0.1", 53)
    assert parse_resolver("127.0.0.1:5353") == NameServer("127.0.0.1", 5353)
    assert parse_resolver("[::1]:5300") == NameServer("::1", 5300)
    assert parse_resolver("::1") == NameServer("::1", 53)
    for bad in ("dns.google", "127.0.0.1:0", "127.0.0.1:x", "[::1]:99999"):
        with pytest.raises(ValueError, match="--resolver"):
            parse_resolver(bad)


def test_crtsh_json_with_multi_name_values_and_wildcards() -> None:
    text = json.dumps(
        [
            {"common_name": "a.corp.test", "name_value": "a.corp.test\n*.b.corp.test\nB.Corp.Test"},
            {"common_name": "mail@corp.test", "name_value": "mail@corp.test"},
            {"common_name": "x.other.test", "name_value": "x.other.test"},
        ]
    )
    assert parse_ct(text) == ["a.corp.test", "b.corp.test", "x.other.test"]


def test_plain_list_and_refusals() -> None:
    assert parse_ct("# names\nz.corp.test\n*.y.corp.test\n") == ["z.corp.test", "y.corp.test"]
    with pytest.raises(DiscoveryError, match=r"neither crt\.sh JSON nor a list"):
        parse_ct("%PDF-1.4 binary junk\n!!!\n")
    with pytest.raises(DiscoveryError, match="does not parse"):
        parse_ct('[{"name_value": ')


def test_wordlists(tmp_path: Path) -> None:
    labels = bundled_wordlist()
    assert 3000 <= len(labels) <= 20000 and len(set(labels)) == len(labels)
    assert {"db", "clickhouse", "analytics-staging", "db1"} <= set(labels)
    f = tmp_path / "w.txt"
    f.write_text("# mine\nDB\nbad label!\nch-2\n")
    assert read_wordlist(str(f)) == ["db", "ch-2"]
    f.write_text("!!!\n")
    with pytest.raises(DiscoveryError, match="no usable label"):
        read_wordlist(str(f))


def test_wildcard_rule() -> None:
    wildcard = NameAnswer("*.w.test", "ok", ("127.0.0.9",))
    assert _is_wildcard_answer(NameAnswer("x.w.test", "ok", ("127.0.0.9",)), wildcard)
    assert not _is_wildcard_answer(NameAnswer("db.w.test", "ok", ("127.0.0.8",)), wildcard)
    assert not _is_wildcard_answer(NameAnswer("db.w.test", "ok", ("127.0.0.9", "::1")), wildcard)
