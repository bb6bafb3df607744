"""Hostile behaviours the scanner currently gets wrong, each with the work item that fixes it.

A behaviour listed here is an expected failure of the "never called open" test, strictly:
when the fix lands the test passes unexpectedly and fails the run, so the entry must be
removed with the fix. Nothing is listed here to make a test pass quietly.
"""

from __future__ import annotations

__all__ = ["KNOWN_OPEN"]

_ITEM1_HTTP = (
    "issue 12 item 1 (helper core): any 200 with X-ClickHouse-* headers is taken as proof of "
    "open; the arithmetic proof replaces it"
)
_ITEM1_NATIVE = (
    "issue 12 item 1 (helper core): a native Hello is taken as proof of open; an echo of "
    "leakmap's own Hello parses as one"
)

#: behaviour name -> why it is still called open
KNOWN_OPEN: dict[str, str] = {
    "ch-http-gzip-bomb": _ITEM1_HTTP,
    "ch-http-zstd-bomb": _ITEM1_HTTP,
    "ch-http-brotli-bomb": _ITEM1_HTTP,
    "ch-http-ok-reflector": _ITEM1_HTTP,
    "ch-http-one-to-everything": _ITEM1_HTTP,
    "ch-http-version-to-everything": _ITEM1_HTTP,
    "ch-http-echo": _ITEM1_HTTP,
    "ch-http-nasty-text": _ITEM1_HTTP,
    "tls-self-signed-ok": _ITEM1_HTTP,
    "tls-expired-gzip-bomb": _ITEM1_HTTP,
    "native-echo": _ITEM1_NATIVE,
    "tls-wrong-name-native-echo": _ITEM1_NATIVE,
}
