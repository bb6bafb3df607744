"""``leakmap audit`` on the ClickHouse configuration Debian ships (clickhouse-server package:
/etc/clickhouse-server/config.xml and users.xml), read in place, never changed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from leakmap.audit.engine import audit_paths
from leakmap.findings import Severity

ETC = Path("/etc/clickhouse-server")


@pytest.fixture(scope="module")
def shipped() -> Path:
    if not (ETC / "users.xml").is_file():
        pytest.skip("Debian's clickhouse-server is not installed (scripts/deps/apt/base.txt)")
    return ETC


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


def test_debian_default_user_without_password_is_flagged(shipped: Path) -> None:
    before = _digests(shipped)
    result = audit_paths([str(shipped)])
    assert _digests(shipped) == before
    by_rule = {(f.rule, Path(f.path).name): f for f in result.findings}
    (empty,) = [
        f
        for f in result.findings
        if f.rule == "clickhouse-config.user-empty-password" and "'default'" in f.evidence
    ]
    assert Path(empty.path).name == "users.xml"
    # Debian's config listens on loopback only: high, not critical
    assert empty.severity is Severity.HIGH
    assert ("clickhouse-config.networks-open", "users.xml") in by_rule
    assert ("clickhouse-config.listen-wildcard", "config.xml") not in by_rule
    (main,) = [f for f in result.files if f.path.endswith("config.xml")]
    assert any(m.endswith("users.xml") for m in main.merged)
    lines = (shipped / "users.xml").read_text(encoding="utf-8").splitlines()
    assert "<password>" in lines[empty.line - 1]
