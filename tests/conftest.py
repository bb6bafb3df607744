"""Suite-wide rules.

In CI (``CI`` set to anything but ``0``/``false``, or ``LEAKMAP_STRICT_SKIPS=1``) a skipped
integration test is a failure: a missing server binary or venv must not turn CI green by
skipping every test that needs it. Unit tests may still skip (e.g. platform-specific ones).
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest


def strict_skips() -> bool:
    """True when skipped integration tests must fail (CI, or LEAKMAP_STRICT_SKIPS=1)."""
    if os.environ.get("LEAKMAP_STRICT_SKIPS", "").strip() == "1":
        return True
    ci = os.environ.get("CI", "").strip().lower()
    return ci not in ("", "0", "false", "no")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if (
        report.skipped
        and item.get_closest_marker("integration") is not None
        and not hasattr(report, "wasxfail")
        and strict_skips()
    ):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"integration test skipped in CI (a skip is a failure here): {reason}"
    return report


@pytest.fixture(scope="session", autouse=True)
def _private_history(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Scans run by tests record their history in a temporary data directory, never in
    the developer's own (platformdirs follows XDG_DATA_HOME; subprocesses inherit it)."""
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("xdg-data"))
    # and keep the classifier's compiled Hyperscan databases in a cache of their own
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
