"""Known ClickHouse vulnerabilities by version, with branch-aware comparison.

ClickHouse fixes a bug on the main line and backports it to maintained branches: "fixed in
23.10.2.13, 23.9.4.11, 23.8.6.16, 23.3.16.7" means

* a version on one of those branches (same major.minor) is affected below that branch's fix
  (23.8.5.x affected, 23.8.6.16 and 23.8.7.x not);
* a version on a newer branch than the newest fixed one is not affected (23.11.x);
* a version on any other branch (no backport: 23.4 ... 23.7, 22.x) is affected.

The comparison is :mod:`leakmap.services.common.versions`'s. Sources: ClickHouse's security
changelog (docs/whats-new/security-changelog) and the GitHub
advisories it links.
"""

from __future__ import annotations

from dataclasses import replace

from leakmap.findings import Severity
from leakmap.services.common.versions import KnownCve, is_affected
from leakmap.services.common.versions import affected_by as common_affected_by

__all__ = ["CVES", "KnownCve", "affected_by", "is_affected"]

_ADVISORIES = "https://github.com/ClickHouse/ClickHouse/security/advisories/"
_CHANGELOG = "https://clickhouse.com/docs/whats-new/security-changelog"


_TABLE: tuple[KnownCve, ...] = (
    KnownCve(
        "CVE-2018-14668",
        "remote() table function request forgery via user/password fields",
        Severity.MEDIUM,
        ("1.1.54388",),
    ),
    KnownCve(
        "CVE-2018-14671",
        "unixODBC loads arbitrary shared objects (remote code execution)",
        Severity.HIGH,
        ("18.10.3",),
    ),
    KnownCve(
        "CVE-2018-14672",
        "CatBoost model loading path traversal reads arbitrary files",
        Severity.MEDIUM,
        ("18.12.13",),
    ),
    KnownCve(
        "CVE-2019-18657",
        "url() table function HTTP header injection",
        Severity.MEDIUM,
        ("19.13.6.1",),
    ),
    KnownCve(
        "CVE-2019-15024",
        "malicious replica can write to arbitrary paths",
        Severity.MEDIUM,
        ("19.14.3.3",),
    ),
    KnownCve(
        "CVE-2019-16535",
        "decompression OOB read/write over the native protocol (RCE or DoS)",
        Severity.CRITICAL,
        ("19.14.3.3",),
        unauthenticated=True,
    ),
    KnownCve(
        "CVE-2019-16536",
        "stack overflow DoS by an authenticated client",
        Severity.MEDIUM,
        ("19.14.3.3",),
    ),
    KnownCve(
        "CVE-2021-25263",
        "CREATE DICTIONARY reads files outside the permitted directory",
        Severity.MEDIUM,
        ("20.8.18.32", "21.1.9.41", "21.2.9.41", "21.3.6.55", "21.4.3.21"),
    ),
    *(
        KnownCve(
            cve,
            f"{what} in a compression codec on a malicious query",
            Severity.HIGH,
            ("21.10.2.15",),
        )
        for cve, what in (
            ("CVE-2021-43304", "heap buffer overflow (LZ4)"),
            ("CVE-2021-43305", "heap buffer overflow (LZ4)"),
            ("CVE-2021-42387", "heap out-of-bounds read (LZ4)"),
            ("CVE-2021-42388", "heap out-of-bounds read (LZ4)"),
            ("CVE-2021-42389", "divide-by-zero (Delta)"),
            ("CVE-2021-42390", "divide-by-zero (DeltaDouble)"),
            ("CVE-2021-42391", "divide-by-zero (Gorilla)"),
        )
    ),
    KnownCve(
        "CVE-2022-44010",
        "unauthenticated HTTP request crashes the server (heap overflow)",
        Severity.HIGH,
        ("22.9.1.2603", "22.8.2.11", "22.7.4.16", "22.6.6.16", "22.3.12.19"),
        unauthenticated=True,
    ),
    KnownCve(
        "CVE-2022-44011",
        "malformed CapnProto insert crashes the server",
        Severity.MEDIUM,
        ("22.9.1.2603", "22.8.2.11", "22.7.4.16", "22.6.6.16", "22.3.12.19"),
    ),
    KnownCve(
        "CVE-2023-47118",
        "unauthenticated native-port crash (T64 codec heap overflow)",
        Severity.HIGH,
        ("23.10.2.13", "23.9.4.11", "23.8.6.16", "23.3.16.7"),
        unauthenticated=True,
        reference=_ADVISORIES + "GHSA-g22g-p6q2-x39v",
    ),
    KnownCve(
        "CVE-2023-48298",
        "unauthenticated crash (FPC codec integer underflow)",
        Severity.HIGH,
        ("23.10.4.25", "23.9.5.29", "23.8.7.24", "23.3.17.13"),
        unauthenticated=True,
        reference=_ADVISORIES + "GHSA-qw9f-qv29-8938",
    ),
    KnownCve(
        "CVE-2023-48704",
        "unauthenticated native-port crash (Gorilla codec heap overflow)",
        Severity.HIGH,
        ("23.10.5.20", "23.9.6.20", "23.8.8.20", "23.3.18.15"),
        unauthenticated=True,
        reference=_ADVISORIES + "GHSA-5rmf-5g48-xv63",
    ),
    KnownCve(
        "CVE-2024-22412",
        "query cache returns data across roles (RBAC bypass)",
        Severity.MEDIUM,
        ("24.1.1.2048", "23.12.6.19", "23.8.12.13", "23.3.22.3"),
        reference=_ADVISORIES + "GHSA-45h5-f7g3-gr8r",
    ),
    KnownCve(
        "CVE-2024-6873",
        "unauthenticated native-port request redirects execution flow",
        Severity.CRITICAL,
        ("24.5.1.1763", "24.4.2.141", "24.3.4.147", "23.8.15.35"),
        unauthenticated=True,
        reference=_ADVISORIES + "GHSA-432f-r822-j66f",
    ),
    KnownCve(
        "CVE-2025-1385",
        "library-bridge remote code execution for privileged users",
        Severity.HIGH,
        ("25.1.5.5", "24.12.5.65", "24.11.5.34", "24.8.14.27", "24.3.18.6"),
        reference=_ADVISORIES + "GHSA-5phv-x8x4-83x5",
    ),
)


CVES: tuple[KnownCve, ...] = tuple(
    c if c.reference else replace(c, reference=_CHANGELOG) for c in _TABLE
)


def affected_by(version: str | None) -> list[KnownCve]:
    """Known ClickHouse CVEs for a version string such as ``"18.16.1"``."""
    return common_affected_by(version, CVES)
