"""Hostile behaviours the scanner currently gets wrong, each with the work item that fixes it.

A behaviour listed here is an expected failure of the "never called open" test, strictly:
when the fix lands the test passes unexpectedly and fails the run, so the entry must be
removed with the fix. Nothing is listed here to make a test pass quietly.
"""

from __future__ import annotations

__all__ = ["KNOWN_OPEN"]

#: behaviour name -> why it is still called open (the native echoes were fixed when the
#: native protocol started carrying the proof question: issue 8 / 12 item 1)
KNOWN_OPEN: dict[str, str] = {}
