"""A skipped integration test fails the run in CI (and only integration tests, only in CI)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["pytester"]

_ROOT_CONFTEST = Path(__file__).resolve().parents[2] / "conftest.py"

_INNER = """
import pytest

@pytest.mark.integration
def test_needs_server():
    pytest.skip("server binary missing")

def test_unit_skip():
    pytest.skip("not on this platform")

def test_passes():
    assert True
"""


def _run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str | None) -> Any:
    pytester.makeconftest(_ROOT_CONFTEST.read_text())
    pytester.makeini("[pytest]\nmarkers =\n    integration: real servers\n")
    pytester.makepyfile(test_inner=_INNER)
    monkeypatch.delenv("LEAKMAP_STRICT_SKIPS", raising=False)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    return pytester.runpytest_inprocess("-p", "no:cacheprovider")


def test_ci_turns_an_integration_skip_into_a_failure(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _run(pytester, monkeypatch, "true")
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    result.stdout.fnmatch_lines(["*skipped in CI*server binary missing*"])


def test_outside_ci_a_skip_stays_a_skip(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _run(pytester, monkeypatch, None)
    result.assert_outcomes(passed=1, skipped=2)


def test_ci_false_is_not_ci(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _run(pytester, monkeypatch, "false")
    result.assert_outcomes(passed=1, skipped=2)
