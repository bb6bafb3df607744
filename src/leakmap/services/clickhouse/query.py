"""The transport-neutral query interface: run a guarded statement, get rows back.

Everything after the fingerprint - the proof of openness, enumeration, sampling,
capabilities - asks a :class:`ChSession` for :class:`Rows` and never looks at the wire.
:class:`~.http.ChHttp` implements it over HTTP(S); a native-protocol client implements the
same method and plugs into the same chain.

A session promises, for every call of :meth:`ChSession.rows`:

* the statement passed :func:`~.safety.guard_sql` before anything was sent;
* the server-side limits of :func:`~.http.safe_settings` went with it (``readonly=1`` unless
  ``readonly=False``; a setting the server refused is dropped and remembered in ``refused``);
* every byte read was bounded (``limit`` bytes, the scan's timeouts);
* cells come back as text (``None`` for NULL); ``names=True`` also returns the column names;
* ``complete`` is True only when the whole reply arrived, in the encoding asked for, and
  parsed; a byte limit hit with ``allow_truncate`` gives ``truncated=True`` and the rows
  before the cut, never a partial row.

Network errors (timeouts, resets, refused connections) propagate; a ClickHouse exception is
``Rows.error``; any other unusable answer is ``Rows.failure`` (a short, clean description).

:func:`prove_open` is the one proof of openness every transport uses (issue 12): auth
``none`` only when ``SELECT version(), A * B`` with random A and B came back complete, as
exactly one row of a parseable version and the exact product.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from leakmap.services.base import AuthState
from leakmap.services.clickhouse.codes import ChError, auth_from_code
from leakmap.services.common.proof import Challenge

__all__ = ["ChSession", "Proof", "Rows", "judge_proof", "proof_statement", "prove_open"]

Row = tuple[str | None, ...]


@dataclass(frozen=True, slots=True)
class Rows:
    """One statement's answer, whatever the transport."""

    rows: tuple[Row, ...] = ()
    names: tuple[str, ...] = ()
    error: ChError | None = None
    #: an answer that is neither rows nor a ClickHouse exception (e.g. "HTTP 502")
    failure: str | None = None
    #: a byte limit cut the result; ``rows`` are the complete ones before the cut
    truncated: bool = False
    #: the whole reply arrived in the expected encoding and parsed
    complete: bool = True
    #: safety settings dropped because the server refused them (for this endpoint)
    refused_settings: frozenset[str] = frozenset()

    @property
    def ok(self) -> bool:
        return self.error is None and self.failure is None

    def describe_failure(self) -> str:
        """``code N NAME`` or the failure text: safe for notes (never the server's message)."""
        if self.error is not None:
            return f"code {self.error.code} {self.error.name}".rstrip()
        return self.failure or "no answer"


class ChSession(Protocol):
    """A read-only query session on one ClickHouse endpoint (user ``default``, no password)."""

    #: every statement sent, in order (after the guard)
    sent: list[str]
    #: safety settings the server refused (not sent again)
    refused: set[str]

    async def rows(
        self,
        sql: str,
        *,
        names: bool = False,
        limit: int | None = None,
        allow_truncate: bool = False,
        readonly: bool = True,
        max_rows: int | None = None,
    ) -> Rows:
        """Run one read statement (no FORMAT clause: the session picks its own encoding);
        at most ``max_rows`` rows are parsed."""
        ...


@dataclass(frozen=True, slots=True)
class Proof:
    """The access state the first query proved, the version it gave, and why."""

    auth: AuthState
    version: str | None = None
    note: str | None = None


def proof_statement(challenge: Challenge) -> str:
    return f"SELECT version(), {challenge.expression}"


_NOT_PROVEN = "not proven open"
_VERSION = re.compile(r"\d{1,4}(?:\.\d{1,9}){1,3}")


def judge_proof(answer: Rows, challenge: Challenge) -> Proof:
    """What one answer to :func:`proof_statement` proves."""
    err = answer.error
    if err is not None:
        mapped = auth_from_code(err.code)
        if mapped is None or mapped[0] is AuthState.NONE:
            # a refusal code that is not an authentication outcome (497 included: it claims a
            # login but gives no answer the scanner can check)
            what = answer.describe_failure()
            return Proof(
                AuthState.UNKNOWN,
                err.version,
                f"the first query was refused ({what}): no checkable answer, auth state unknown",
            )
        return Proof(mapped[0], err.version, mapped[1])
    if answer.failure is not None:
        why = f"the first query failed ({answer.failure}): auth state unknown"
        return Proof(AuthState.UNKNOWN, None, why)
    if answer.truncated or not answer.complete:
        return Proof(
            AuthState.UNKNOWN,
            None,
            "the answer to the first query was cut short, over a size limit, compressed "
            f"against our request or did not parse: {_NOT_PROVEN}, auth state unknown",
        )
    row = answer.rows[0] if len(answer.rows) == 1 else ()
    version = row[0] if len(row) == 2 else None
    if (
        len(row) != 2
        or version is None
        or _VERSION.fullmatch(version) is None
        or not challenge.matches(row[1])
    ):
        return Proof(
            AuthState.UNKNOWN,
            None,
            "the first query's answer was not the result it asked for (version and the "
            f"product of two random numbers): {_NOT_PROVEN}, auth state unknown",
        )
    return Proof(AuthState.NONE, version, None)


async def prove_open(session: ChSession, challenge: Challenge | None = None) -> Proof:
    """Ask the proof question; network errors propagate (the caller says ``unknown``)."""
    challenge = challenge or Challenge.new()
    answer = await session.rows(proof_statement(challenge), limit=4096, allow_truncate=True)
    return judge_proof(answer, challenge)
