"""The pure parts of the distributed scan: password masking, shards, result round trips."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from leakmap.distributed import (
    _host_from,
    _host_payload,
    _result_from,
    _result_payload,
    mask_url,
    shards,
)
from leakmap.findings import Finding, Severity
from leakmap.services.base import AuthState, ScanConfig, ServiceReport, ServiceResult, Transport
from leakmap.targets import ScanHost


def test_mask_url_hides_the_password_only() -> None:
    assert mask_url("redis://:S3cret@10.0.0.5:6379/0") == "redis://:***@10.0.0.5:6379/0"
    assert mask_url("redis://user:S3cret@h:6379/1") == "redis://user:***@h:6379/1"
    assert mask_url("redis://h:6379/0") == "redis://h:6379/0"
    assert "p%40ss" not in mask_url("rediss://:p%40ss@h/0")


def test_shards_are_read_lazily_and_keep_every_host() -> None:
    pulled = 0

    def hosts() -> Iterator[ScanHost]:
        nonlocal pulled
        for i in range(1, 1000):
            pulled += 1
            yield ScanHost(
                f"h{i}", f"127.0.{i // 250}.{i % 250 + 1}", (9000,), {9000: Transport.NATIVE}
            )

    stream = shards(hosts(), 10, ScanConfig(), 60.0, ["pii.*"])
    first = next(stream)
    assert len(first.hosts) == 10 and pulled <= 11
    rest = list(stream)
    assert sum(len(s.hosts) for s in [first, *rest]) == 999
    back = _host_from(first.hosts[0])
    assert back == ScanHost("h1", "127.0.0.2", (9000,), {9000: Transport.NATIVE})
    assert first.disabled_rules == ["pii.*"] and first.config["sample_rows"] == 200


def test_results_survive_the_json_round_trip() -> None:
    report = ServiceReport(
        host="db.corp.test",
        ip="127.0.0.5",
        port=8123,
        service="clickhouse",
        transport=Transport.HTTP,
        version="18.16.1",
        auth=AuthState.NONE,
    )
    finding = Finding.make(
        rule="clickhouse.no-auth",
        severity=Severity.CRITICAL,
        host="db.corp.test",
        port=8123,
        service="clickhouse",
        title="t",
        evidence="e",
        remediation="r",
    )
    result = ServiceResult(report, (finding,))
    assert _result_from(_result_payload(result)) == result
    host = ScanHost("a", "127.0.0.1", (1, 2), {})
    assert _host_from(_host_payload(host)) == host


def test_rule_files_travel_with_the_shards(tmp_path: Path) -> None:
    """--rules text rides in the shard payload (JSON) and is bounded in all."""
    from leakmap.distributed import MAX_RULES_BYTES, Shard, read_rules
    from leakmap.errors import UsageError

    one = tmp_path / "a.yaml"
    one.write_text("rules: []\n", encoding="utf-8")
    two = tmp_path / "b.yaml"
    two.write_text("rules: [] # second\n", encoding="utf-8")
    texts = read_rules([one, two])
    assert texts == [("a.yaml", "rules: []\n"), ("b.yaml", "rules: [] # second\n")]
    shard = Shard([], {}, 1.0, rules=[list(t) for t in texts])
    assert Shard(**json.loads(json.dumps(shard.payload()))) == shard
    big = tmp_path / "big.yaml"
    big.write_text("#" * MAX_RULES_BYTES, encoding="utf-8")
    with pytest.raises(UsageError, match="exceed"):
        read_rules([one, big])
