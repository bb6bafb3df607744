"""ClickHouse error texts and codes: parse them, read a version out of them, map auth outcomes.

Error bodies look like (by era)::

    Code: 194, e.displayText() = DB::Exception: Password required for user default, e.what() = ...
    Code: 516, e.displayText() = DB::Exception: default: Authentication failed: ...
        ... (version 20.8.3.18)
    Code: 516. DB::Exception: default: Authentication failed: ... (AUTHENTICATION_FAILED)
        ... (version 22.8.3.13 (official build))

:func:`auth_from_code` turns a code into an :class:`~leakmap.services.base.AuthState` plus an
honest note; codes it does not know give ``unknown``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from leakmap.sanitize import sanitize
from leakmap.services.base import AuthState
from leakmap.services.common.versions import parse_version

__all__ = [
    "AUTH_CODES",
    "ChError",
    "auth_from_code",
    "extract_version",
    "parse_error",
    "parse_version",
]

_CODE = re.compile(r"\bCode:\s*(\d{1,6})\b")
_NAME = re.compile(r"\(([A-Z][A-Z0-9_]{2,60})\)")
_VERSION_IN_TEXT = re.compile(r"\(version (\d{1,4}(?:\.\d{1,9}){1,3})")

#: code -> (auth state, short reason). 192-195 are 18.x-19.x, 497 and 516 are ~20.x and later.
#: 497 comes after a successful login: the session exists, only the privilege is missing.
AUTH_CODES: dict[int, tuple[AuthState, str]] = {
    192: (AuthState.REQUIRED, "code 192 UNKNOWN_USER: user 'default' does not exist"),
    193: (AuthState.REQUIRED, "code 193 WRONG_PASSWORD: an empty password is refused"),
    194: (AuthState.REQUIRED, "code 194 REQUIRED_PASSWORD: user 'default' needs a password"),
    195: (
        AuthState.UNKNOWN,
        "code 195 IP_ADDRESS_NOT_ALLOWED: the scanner's address is not allowed for "
        "'default'; whether a password would be needed from an allowed network is unknown",
    ),
    497: (
        AuthState.NONE,
        "code 497 ACCESS_DENIED: 'default' logged in without a password but lacks the "
        "privilege for this query",
    ),
    516: (
        AuthState.REQUIRED,
        "code 516 AUTHENTICATION_FAILED: 'default' with an empty password was refused; "
        "ClickHouse gives the same answer for a wrong password, a missing user and an "
        "IP allow-list, so this may also be a network restriction",
    ),
}


@dataclass(frozen=True, slots=True)
class ChError:
    """A ClickHouse exception as seen on the wire (texts are cleaned and capped).

    ``message`` is the server's text: it may quote data, so reports carry only ``code`` and
    ``name``; the message is used for parsing (refused setting names, version) only."""

    code: int
    name: str
    message: str
    version: str | None = None


def extract_version(text: str) -> str | None:
    """The ``(version X.Y.Z...)`` part of an error text, if present."""
    m = _VERSION_IN_TEXT.search(text)
    return m.group(1) if m else None


def parse_error(text: str, header_code: str | None = None) -> ChError | None:
    """Parse an error body (and the ``X-ClickHouse-Exception-Code`` header when given)."""
    code: int | None = None
    if header_code is not None and re.fullmatch(r"[0-9]{1,6}", header_code.strip()):
        code = int(header_code.strip())  # not str.isdigit: it accepts '¹', which int() refuses
    m = _CODE.search(text[:4096])
    if m and code is None:
        code = int(m.group(1))
    if code is None:
        return None
    if "DB::Exception" not in text and not m:
        return ChError(code=code, name="", message=sanitize(text, 300), version=None)
    name_m = _NAME.search(text[:4096])
    message = text
    if "DB::Exception:" in text:
        message = text.split("DB::Exception:", 1)[1]
        message = message.split(", e.what()", 1)[0]
    return ChError(
        code=code,
        name=name_m.group(1) if name_m else "",
        message=sanitize(message.strip(), 300),
        version=extract_version(text[:4096]),
    )


def auth_from_code(code: int) -> tuple[AuthState, str] | None:
    """The auth state a refusal code proves, with the reason; None if it is not an auth code."""
    return AUTH_CODES.get(code)
