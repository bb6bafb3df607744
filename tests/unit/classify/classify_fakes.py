"""Format-valid fake secrets and personal data, generated at test time, and the fixture
template language of ``fixtures.yaml``.

A template is text with:

* ``⟨kind:arg⟩`` generator tokens, replaced by a fresh random value (see :data:`KINDS`);
* ``«`` and ``»`` around the one span the rule must report (start/end are asserted).

Every value comes from a seeded :class:`random.Random`, so a failure is reproducible;
none is a real credential.
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

__all__ = [
    "KINDS",
    "Rendered",
    "card",
    "iban",
    "jwt",
    "load_fixtures",
    "pem",
    "render",
    "ssn",
]

_ALNUM = string.ascii_letters + string.digits
_CHARSETS = {
    "an": _ALNUM,
    "hex": "0123456789abcdef",
    "HEX": "0123456789ABCDEF",
    "lo": string.ascii_lowercase,
    "up": string.ascii_uppercase,
    "al": string.ascii_letters,
    "d": string.digits,
    "w": _ALNUM + "_-",
    "b64": _ALNUM + "+/",
    "b32": "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",
    "b32l": "abcdefghijklmnopqrstuvwxyz234567",
    "age": "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L",
    "upd": string.ascii_uppercase + string.digits,
    "lod": string.ascii_lowercase + string.digits,
}
_BAD = re.compile(r"(?i)xxxx|your|example|sample|dummy|insert|replace|(.)\1{3,}")


def _chars(rng: random.Random, alphabet: str, n: int) -> str:
    while True:
        out = "".join(rng.choice(alphabet) for _ in range(n))
        # Avoid accidental placeholder words and long runs (they are filtered on purpose).
        if not _BAD.search(out) and (n < 12 or len(set(out)) > min(8, len(alphabet) // 2)):
            return out


def _luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def card(rng: random.Random, issuer: str = "visa") -> str:
    """A Luhn-valid number with a real issuer prefix and length."""
    prefix, length = {
        "visa": ("4", 16),
        "mc": ("5" + str(rng.randint(1, 5)), 16),
        "amex": ("3" + rng.choice("47"), 15),
        "discover": ("6011", 16),
    }[issuer]
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    return body + _luhn_digit(body)


_IBAN_BBAN = {"DE": 18, "GB": 18, "FR": 23, "NL": 14, "ES": 20, "IT": 23, "CH": 17}


def iban(rng: random.Random, country: str = "DE") -> str:
    """A mod-97-valid IBAN (digits-only BBAN, except GB/NL which start with a bank code)."""
    n = _IBAN_BBAN[country]
    if country in ("GB", "NL"):
        bban = _chars(rng, string.ascii_uppercase, 4) + _chars(rng, string.digits, n - 4)
    elif country == "IT":
        bban = rng.choice(string.ascii_uppercase) + _chars(rng, string.digits, n - 1)
    else:
        bban = _chars(rng, string.digits, n)
    numeric = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    check = 98 - int(numeric) % 97
    return f"{country}{check:02d}{bban}"


def ssn(rng: random.Random, dashes: bool = True) -> str:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    group = rng.randint(1, 99)
    serial = rng.randint(1, 9999)
    sep = "-" if dashes else ""
    return f"{area:03d}{sep}{group:02d}{sep}{serial:04d}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(rng: random.Random) -> str:
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64url(json.dumps({"sub": _chars(rng, _ALNUM, 12), "iat": 1700000000}).encode())
    return f"{header}.{payload}.{_chars(rng, _ALNUM + '_-', 43)}"


def pem(rng: random.Random, kind: str = "RSA", newline: str = "\n") -> str:
    body = base64.b64encode(bytes(rng.getrandbits(8) for _ in range(300))).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    label = f"{kind} PRIVATE KEY" if kind else "PRIVATE KEY"
    return newline.join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"])


KINDS: dict[str, Callable[[random.Random, str], str]] = {
    "card": lambda rng, arg: card(rng, arg or "visa"),
    "iban": lambda rng, arg: iban(rng, arg or "DE"),
    "ssn": lambda rng, arg: ssn(rng, arg != "nodash"),
    "jwt": lambda rng, arg: jwt(rng),
    "pem": lambda rng, arg: pem(rng, "RSA", "\\n" if arg == "escaped" else "\n"),
    "uuid": lambda rng, arg: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
}


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    span: tuple[int, int] | None
    generated: tuple[str, ...]


_TOKEN = re.compile(r"⟨(\w+)(?::([^⟩]*))?⟩|«|»")


def render(template: str, rng: random.Random) -> Rendered:
    """Fill the template's generator tokens and locate its «marked» span."""
    out: list[str] = []
    pos = 0
    length = 0
    start: int | None = None
    end: int | None = None
    generated: list[str] = []
    for m in _TOKEN.finditer(template):
        literal = template[pos : m.start()]
        out.append(literal)
        length += len(literal)
        pos = m.end()
        token = m.group(0)
        if token == "«":
            start = length
        elif token == "»":
            end = length
        else:
            kind, arg = m.group(1), m.group(2) or ""
            if kind in _CHARSETS:
                value = _chars(rng, _CHARSETS[kind], int(arg))
            else:
                value = KINDS[kind](rng, arg)
            generated.append(value)
            out.append(value)
            length += len(value)
    out.append(template[pos:])
    span = (start, end) if start is not None and end is not None else None
    return Rendered("".join(out), span, tuple(generated))


def load_fixtures() -> dict[str, dict[str, list[str]]]:
    """Every rule's fixtures: ``fixtures.yaml`` and the ``fixtures_*.yaml`` beside it (one
    file per rule file, so that rule sets grow without editing one shared file), merged;
    a rule id fixed in two files is an error."""
    out: dict[str, dict[str, list[str]]] = {}
    here = Path(__file__).parent
    for path in [here / "fixtures.yaml", *sorted(here.glob("fixtures_*.yaml"))]:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for rule_id, fx in data.items():
            if rule_id in out:
                raise ValueError(f"{path.name}: fixtures for {rule_id} given twice")
            out[rule_id] = fx
    return out
