"""Proof of openness: a question only a working server answers right.

"Open means proven": a plugin claims auth ``none`` only on an answer the scanner can check.
For SQL stores that answer is the result of arithmetic on numbers the scanner drew at random
for this one query, read back complete and parsed. A reflector, a lookalike answering
``Ok.`` or a fixed version line, a compression bomb, a reply cut short: none of them can
produce the product, so none of them is called open.

Example::

    >>> c = Challenge(12345, 23456)
    >>> c.expression
    '12345 * 23456'
    >>> c.matches("289564320")
    True
    >>> c.matches("289564320 ")   # exact text only
    False

Both factors are below 46341, so the product fits a signed 32-bit integer in every SQL
dialect (PostgreSQL's ``int4``, MySQL, ClickHouse's ``UInt32``): no overflow, no cast needed.
Guessing it blind succeeds about once in 10^9 draws.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

__all__ = ["Challenge"]

_LOW = 10_007
_HIGH = 46_340  # 46340**2 < 2**31


@dataclass(frozen=True, slots=True)
class Challenge:
    """Two random factors; the server must send back their exact product."""

    a: int
    b: int

    @classmethod
    def new(cls) -> Challenge:
        span = _HIGH - _LOW
        return cls(_LOW + secrets.randbelow(span), _LOW + secrets.randbelow(span))

    @property
    def expression(self) -> str:
        """The SQL (or other) expression to send: ``a * b``."""
        return f"{self.a} * {self.b}"

    @property
    def expected(self) -> str:
        return str(self.a * self.b)

    def matches(self, text: str | None) -> bool:
        """True only for the exact decimal product (no padding, no sign, no extra text)."""
        return text == self.expected
