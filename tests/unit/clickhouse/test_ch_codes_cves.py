"""Error texts -> code/version/auth state; versions -> known CVEs (branch-aware)."""

from __future__ import annotations

import pytest

from leakmap.services.base import AuthState
from leakmap.services.clickhouse.codes import (
    auth_from_code,
    extract_version,
    parse_error,
    parse_version,
)
from leakmap.services.clickhouse.cves import affected_by, is_affected

# Error bodies: the 18.16 ones were recorded here; the newer ones follow the formats in
# ClickHouse's source (DB::getExceptionMessage) and the notes.
E_18_194 = (
    "Code: 194, e.displayText() = DB::Exception: Password required for user default, "
    "e.what() = DB::Exception\n"
)
E_18_192 = (
    "Code: 192, e.displayText() = DB::Exception: Unknown user nobody, e.what() = DB::Exception"
)
E_20_516 = (
    "Code: 516, e.displayText() = DB::Exception: default: Authentication failed: password is "
    "incorrect or there is no user with such name (version 20.8.3.18)"
)
E_22_516 = (
    "Code: 516. DB::Exception: default: Authentication failed: password is incorrect, or there "
    "is no user with such name. (AUTHENTICATION_FAILED) (version 22.8.3.13 (official build))\n"
)
E_24_164 = (
    "Code: 164. DB::Exception: Cannot modify 'max_threads' setting in readonly mode. "
    "(READONLY) (version 24.8.4.13 (official build))"
)


@pytest.mark.parametrize(
    ("text", "header", "code", "name", "version"),
    [
        (E_18_194, None, 194, "", None),
        (E_18_192, None, 192, "", None),
        (E_20_516, None, 516, "", "20.8.3.18"),
        (E_22_516, "516", 516, "AUTHENTICATION_FAILED", "22.8.3.13"),
        (E_24_164, None, 164, "READONLY", "24.8.4.13"),
        ("whatever", "60", 60, "", None),
    ],
)
def test_parse_error(
    text: str, header: str | None, code: int, name: str, version: str | None
) -> None:
    err = parse_error(text, header)
    assert err is not None
    assert (err.code, err.name, err.version) == (code, name, version)


@pytest.mark.parametrize("text", ["Ok.\n", "", "<html>502 Bad Gateway</html>", "Code: x"])
def test_parse_error_needs_a_code(text: str) -> None:
    assert parse_error(text) is None


def test_error_message_is_cleaned() -> None:
    err = parse_error(
        "Code: 60, e.displayText() = DB::Exception: Table \x1b[31mx\x07 doesn't exist"
    )
    assert err is not None
    assert "\x1b" not in err.message and "\x07" not in err.message


@pytest.mark.parametrize(
    ("code", "state"),
    [
        (192, AuthState.REQUIRED),
        (193, AuthState.REQUIRED),
        (194, AuthState.REQUIRED),
        (516, AuthState.REQUIRED),
        (195, AuthState.UNKNOWN),
        (497, AuthState.NONE),
    ],
)
def test_auth_codes(code: int, state: AuthState) -> None:
    mapped = auth_from_code(code)
    assert mapped is not None and mapped[0] == state
    assert mapped[1]  # always an honest reason


def test_516_note_admits_it_may_be_an_ip_restriction() -> None:
    mapped = auth_from_code(516)
    assert mapped is not None and "IP" in mapped[1]


@pytest.mark.parametrize("code", [60, 62, 164, 0])
def test_other_codes_are_not_auth_verdicts(code: int) -> None:
    assert auth_from_code(code) is None


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("18.16.1", (18, 16, 1)),
        ("23.8.2.7", (23, 8, 2, 7)),
        ("v24.3.1.2672-lts", (24, 3, 1, 2672)),
        ("1.1.54388", (1, 1, 54388)),
        ("Ok.", None),
        ("", None),
        ("18", None),
    ],
)
def test_parse_version(text: str, parsed: tuple[int, ...] | None) -> None:
    assert parse_version(text) == parsed


@pytest.mark.parametrize(
    ("text", "version"),
    [(E_22_516, "22.8.3.13"), (E_20_516, "20.8.3.18"), (E_18_194, None), ("(version x)", None)],
)
def test_extract_version(text: str, version: str | None) -> None:
    assert extract_version(text) == version


FIX_2023_47118 = ("23.10.2.13", "23.9.4.11", "23.8.6.16", "23.3.16.7")


@pytest.mark.parametrize(
    ("version", "affected"),
    [
        ((23, 8, 5, 16), True),  # 23.8 branch below its backport
        ((23, 8, 6, 16), False),  # exactly the backport
        ((23, 8, 7, 24), False),  # above the backport
        ((23, 3, 15, 1), True),
        ((23, 3, 16, 7), False),
        ((23, 5, 9, 9), True),  # a branch that got no backport
        ((23, 10, 1, 1), True),  # main line below the fix
        ((23, 10, 2, 13), False),
        ((23, 11, 1, 1), False),  # newer branch than every fix
        ((24, 1, 1, 1), False),
        ((22, 8, 20, 1), True),  # older branch, no backport
        ((18, 16, 1), True),
    ],
)
def test_branch_aware_comparison(version: tuple[int, ...], affected: bool) -> None:
    assert is_affected(version, FIX_2023_47118) is affected


def test_18_16_known_cves() -> None:
    ids = {c.id for c in affected_by("18.16.1")}
    assert "CVE-2024-6873" in ids and "CVE-2023-47118" in ids and "CVE-2019-16535" in ids
    # fixed before 18.16 (on an older branch than 18.16)
    assert "CVE-2018-14672" not in ids and "CVE-2018-14671" not in ids
    assert "CVE-2018-14668" not in ids


@pytest.mark.parametrize(
    ("version", "present", "absent"),
    [
        ("23.8.15.35", set(), {"CVE-2024-6873", "CVE-2023-48704", "CVE-2024-22412"}),
        ("23.8.12.13", {"CVE-2024-6873"}, {"CVE-2024-22412", "CVE-2023-47118"}),
        ("24.8.14.27", set(), {"CVE-2025-1385", "CVE-2024-6873"}),
        ("24.8.13.1", {"CVE-2025-1385"}, {"CVE-2024-6873"}),
        ("25.2.1.1", set(), {"CVE-2025-1385"}),
        ("not a version", set(), {"CVE-2024-6873"}),
    ],
)
def test_affected_by(version: str, present: set[str], absent: set[str]) -> None:
    ids = {c.id for c in affected_by(version)}
    assert present <= ids
    assert not (absent & ids)
