"""Hostile behaviours the scanner currently gets wrong, each with the work item that fixes it.

A behaviour listed here is an expected failure of the "never called open" test, strictly:
when the fix lands the test passes unexpectedly and fails the run, so the entry must be
removed with the fix. Nothing is listed here to make a test pass quietly.
"""

from __future__ import annotations

__all__ = ["KNOWN_OPEN"]

_ITEM1_NATIVE = (
    "issue 12 item 1 (helper core): a native Hello is taken as proof of open; an echo of "
    "leakmap's own Hello parses as one"
)

#: behaviour name -> why it is still called open
KNOWN_OPEN: dict[str, str] = {
    "native-echo": _ITEM1_NATIVE,
    "tls-wrong-name-native-echo": _ITEM1_NATIVE,
}
