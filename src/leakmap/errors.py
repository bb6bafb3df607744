"""The exception tree of leakmap.

::

    LeakmapError
    +-- UsageError          bad input from the user: exit code 2, one line, no traceback
    |   +-- TargetError     an unparseable target or an unreadable target file
    |   +-- PortSpecError   a bad --ports list
    |   +-- RuleFileError   a rule file that does not load or validate
    +-- ProbeError          a service answered something we cannot use (never fatal to a scan)
    |   +-- ProtocolError   the bytes on the wire were not the protocol we expected
    |   +-- ResponseTooLarge a bounded read hit its byte limit
    +-- LabError            the demo lab could not be started or stopped

Messages never carry a raw secret: build them from masked values only.
"""

from __future__ import annotations

__all__ = [
    "LabError",
    "LeakmapError",
    "PortSpecError",
    "ProbeError",
    "ProtocolError",
    "ResponseTooLarge",
    "RuleFileError",
    "TargetError",
    "UsageError",
]


class LeakmapError(Exception):
    """Base of every error leakmap raises on purpose."""


class UsageError(LeakmapError):
    """Bad input from the user."""


class TargetError(UsageError):
    """A target that cannot be parsed, or a target file that cannot be read."""


class PortSpecError(UsageError):
    """A --ports value that cannot be parsed."""


class RuleFileError(UsageError):
    """A rule file that cannot be loaded or does not validate."""


class ProbeError(LeakmapError):
    """A probe could not finish; the pipeline records it as state `unknown`/`error`."""


class ProtocolError(ProbeError):
    """The server's bytes did not follow the protocol."""


class ResponseTooLarge(ProbeError):
    """A bounded read reached its byte limit."""


class LabError(LeakmapError):
    """The demo lab could not be started, stopped or inspected."""
