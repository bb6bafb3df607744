"""Fuzzing what users hand in: targets, target files, --ports and --exclude values, classifier
rule files and baselines. The only error allowed is a UsageError (a one-line message, exit 2)."""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from leakmap.classify.rules import load_rule_file
from leakmap.classify.suppress import load_baseline
from leakmap.errors import UsageError
from leakmap.targets import parse_exclusions, parse_ports, parse_target, read_target_source

from .harness import FUZZ

target_text = st.one_of(
    st.text(max_size=60),
    st.builds(
        lambda a, b, c: a + b + c,
        st.sampled_from(["", "http://", "https://", "[", "tcp://", "clickhouse://u:p@"]),
        st.sampled_from(["127.0.0.1", "::1", "[::1]", "10.0.0.0/8", "host.example", "0/0",
                         "1.2.3.4/33", "xn--", "a" * 70, "127.1", "::ffff:1.2.3.4%eth0"]),
        st.sampled_from(["", ":8123", ":0", ":65536", ":-1", ":99999999999999999999", "/x?y#z",
                         "]:1", ":", ":8123/path"]),
    ),
)  # fmt: skip


@FUZZ
@given(target_text)
@example("[::1]:99999999999999999999")
@example("http://[::1")
@example("[::1]:¹")  # str.isdigit() is true for a superscript one; int() refuses it
def test_target(text: str) -> None:
    with contextlib.suppress(UsageError):
        parse_target(text)


@FUZZ
@given(st.text(max_size=300))
def test_target_file(content: str) -> None:
    try:
        pairs = read_target_source("-", io.StringIO(content))
    except UsageError:
        return
    assert all(item and "#" not in where for item, where in pairs)


@FUZZ
@given(st.one_of(st.text(max_size=40),
                 st.lists(st.sampled_from(["8123", "+", "-", "0", "65535", "65536", "1-65535",
                                           "9000-8000", "redis", "+http", ",", " ", "¹",
                                           "99999999999999"]),
                          max_size=6).map("".join)))  # fmt: skip
def test_ports(spec: str) -> None:
    try:
        ports = parse_ports(spec, defaults=(8123, 9000), services={"redis": (6379,)})
    except UsageError:
        return
    assert all(0 < p < 65536 for p in ports)


@FUZZ
@given(st.lists(target_text, max_size=4))
def test_exclusions(items: list[str]) -> None:
    with contextlib.suppress(UsageError):
        parse_exclusions(items)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=25,
)  # fmt: skip

rule_files = st.one_of(
    st.text(max_size=300),
    st.builds(
        lambda rules: json.dumps({"rules": rules}),  # JSON is YAML
        st.lists(
            st.fixed_dictionaries(
                {"id": st.sampled_from(["x.y", "secret.z", "", "a" * 200]),
                 "category": st.sampled_from(["secret", "pii", "nope", 1]),
                 "severity": st.sampled_from(["high", "low", None]),
                 "regex": st.sampled_from(["(a", "a{99999999}", "(?P<x>a)", "a" * 5, "",
                                           "(?<=a+)b"]),
                 "keywords": st.lists(st.text(max_size=5), max_size=3)},
                optional={"entropy": st.floats(allow_nan=True), "group": st.integers(-2, 3),
                          "window": st.integers(-1, 10**9), "extra": json_values},
            ),
            max_size=3,
        ),
    ),
    json_values.map(json.dumps),
    st.just("a: &a [*a]"),  # a recursive YAML alias
    st.just("- " * 2000 + "x"),  # deep nesting
)  # fmt: skip


def _in_file(text: str, name: str) -> Path:
    d = Path(tempfile.mkdtemp(prefix="leakmap-fuzz-"))
    path = d / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path


@FUZZ
@given(rule_files)
def test_rule_file(text: str) -> None:
    path = _in_file(text, "rules.yaml")
    try:
        load_rule_file(path)
    except UsageError:
        pass
    finally:
        path.unlink()
        path.parent.rmdir()


baselines = st.one_of(
    st.text(max_size=200),
    json_values.map(json.dumps),
    st.builds(lambda f: json.dumps({"schema": "leakmap.classify/1", "findings": f}), json_values),
    st.lists(json_values.map(json.dumps), max_size=4).map("\n".join),
    st.just("[" * 100_000),
)  # fmt: skip


@FUZZ
@given(baselines)
@example('{"schema": "leakmap.classify/1", "findings": 5}')
@example("{" + '"a":' * 50_000 + "1" + "}" * 50_000)
def test_baseline(text: str) -> None:
    path = _in_file(text, "base.jsonl")
    try:
        load_baseline(path)
    except UsageError:
        pass
    finally:
        path.unlink()
        path.parent.rmdir()
