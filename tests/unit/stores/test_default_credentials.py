"""The default-credential list: short, documented, and never shown with its password."""

from __future__ import annotations

from leakmap.services.common.credentials import (
    DEFAULT_CREDENTIALS,
    MAX_ATTEMPTS,
    credentials_for,
)


def test_lists_are_short_and_documented() -> None:
    for service, entries in DEFAULT_CREDENTIALS.items():
        assert 0 < len(credentials_for(service)) <= MAX_ATTEMPTS <= 5
        for entry in entries:
            assert entry.source and entry.user
    assert credentials_for("memcached") == ()


def test_labels_and_reprs_never_carry_the_password() -> None:
    for entries in DEFAULT_CREDENTIALS.values():
        for entry in entries:
            # (a password equal to the user name, admin/admin, shows as the user only)
            assert entry.password not in entry.label.replace(f"'{entry.user}'", "")
            assert entry.password not in repr(entry).replace(f"'{entry.user}'", "")
            assert entry.user in entry.label
