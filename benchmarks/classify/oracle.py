"""A conservative self-check of the corpus labels, independent of leakmap's rules.

The generator knows what it inserted, so labels are correct by construction *as long as*
the filler text and the hard negatives never contain a real positive by accident (a random
16-digit id that passes Luhn, a base64 blob that happens to hold ``AIza`` + 35 chars, ...).
:func:`violations` looks for such accidents: for every category a line is NOT labelled
with, it searches for unambiguous evidence of that category, using only the published
formats in ``/work/shared/notes/secrets.md`` and the validators in
:mod:`benchmarks.classify.fakes`. The generator regenerates any record with a violation.

It is deliberately strict (it prefers throwing a clean line away to keeping a doubtful
one) and deliberately *not* a classifier: it never decides that a line is positive.
"""

from __future__ import annotations

import re

import phonenumbers

from benchmarks.classify.fakes import (
    EXAMPLE_KEYS,
    HELDOUT_PLACEHOLDERS,
    PLACEHOLDERS,
    iban_ok,
    luhn_runs,
)

__all__ = ["violations"]

_SECRET_PATTERNS = [
    re.compile(p)
    for p in (
        r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{58,74}T3BlbkFJ[A-Za-z0-9_-]{58,74}",
        r"sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}",
        r"sk-ant-(?:api03|admin01)-[\w-]{93}AA",
        r"\bsk-[a-f0-9]{32}\b",
        r"AIza[\w-]{35}",
        r"\bhf_[A-Za-z]{34}",
        r"api_org_[A-Za-z]{34}",
        r"gsk_[A-Za-z0-9]{52}",
        r"xai-[0-9A-Za-z_]{80}",
        r"r8_[0-9A-Za-z_-]{37}",
        r"pplx-[A-Za-z0-9]{48}",
        r"sk-or-v1-[0-9a-f]{64}",
        r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}",
        r"(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}",
        r"github_pat_[A-Za-z0-9_]{82}",
        r"glpat-[A-Za-z0-9_-]{20}",
        r"xox[baprs]-[0-9]{10,13}-[0-9]{10,13}",
        r"(?:sk|rk)_(?:test|live|prod)_[A-Za-z0-9]{10,99}",
        r"SG\.[\w-]{22}\.[\w-]{43}",
        r"[0-9]{8,10}:AA[\w-]{33}",
        r"eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}",
        r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY-----",
        r"\"type\"\s*:\s*\"service_account\"",
        r"[a-z][a-z0-9+.-]{1,20}://[^\s:/@\"']+:[^\s@/\"'*<>$]{3,}@",
        r"hooks\.slack\.com/services/T",
        r"AccountKey=[A-Za-z0-9+/]{20}",
    )
]
_EXAMPLES = re.compile(
    "|".join(
        re.escape(k)
        for k in sorted(EXAMPLE_KEYS + PLACEHOLDERS + HELDOUT_PLACEHOLDERS, key=len, reverse=True)
        if k
    )
)

_TLDS = (
    "com|org|net|io|ai|dev|app|de|fr|it|ru|uk|co|cn|jp|kr|in|br|es|nl|ch|pl|be|at|eu|us|ca|au|"
    "info|biz|me|tech|cloud|xyz|edu|gov"
)
_EMAIL = re.compile(rf"[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+(?:{_TLDS})\b")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
_PLUS_DIGIT = re.compile(r"\+\d")

_PRIVATE_IP = re.compile(
    r"(?<![\d.])(?:10\.\d{1,3}|172\.(?:1[6-9]|2\d|3[01])|192\.168)\.\d{1,3}\.\d{1,3}(?![\d])"
)
_INTERNAL_HOST = re.compile(
    r"[A-Za-z0-9-]\.(?:internal|local|corp|lan|intra|intranet|consul|home\.arpa)\b(?![.-]\w)",
    re.IGNORECASE,
)
_ABS_PATH = re.compile(
    r"(?:^|[\s\"'=(:,\[])(?:/(?:var|etc|home|opt|srv|usr|app|root|tmp|data|mnt|proc|run|lib|"
    r"bin|sbin|workspace|code|go|Users|nix|snap)/|[A-Z]:\\\\?[A-Za-z])"
)
_TRACE = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|\bat [\w$.<>]+\([\w$]+\.java:"
    r"\d+\)"
    r"|goroutine \d+ \[|\.go:\d+ \+0x|\bat .+\(.+\.[cm]?js:\d+:\d+\)"
)
_CHAT = re.compile(
    r"\"role\"\s*:\s*\"(?:user|assistant|system|model|tool)\"|'role'\s*:\s*'(?:user|assistant|system)'"
    r"|\"(?:prompt|completion|messages|contents)\"\s*:\s*[\"\[]"
    r"|(?:^|[\s|\[])(?:user|assistant|human|bot|system)\s*[:>]\s",
    re.IGNORECASE,
)


def _secret_hits(text: str) -> list[str]:
    cleaned = _EXAMPLES.sub(" ", text)
    return [p.pattern[:24] for p in _SECRET_PATTERNS if p.search(cleaned)]


def _in_userinfo(text: str, start: int) -> bool:
    i = text.rfind("://", 0, start)
    return i >= 0 and not any(c in text[i + 3 : start] for c in " \t\"'/@<>,;")


def _pii_hits(text: str) -> list[str]:
    hits: list[str] = []
    for m in _EMAIL.finditer(text):
        # URL user-info (scheme://user:password@host) is not an e-mail address
        if not _in_userinfo(text, m.start()):
            hits.append("email")
            break
    if luhn_runs(text):
        hits.append("luhn")
    for m in _IBAN.finditer(text):
        if iban_ok(m.group(0)):
            hits.append("iban")
    if _PLUS_DIGIT.search(text):
        for _ in phonenumbers.PhoneNumberMatcher(text, None, leniency=phonenumbers.Leniency.VALID):
            hits.append("phone")
            break
    return hits


def _infra_hits(text: str) -> list[str]:
    hits = []
    for name, rx in (
        ("private-ip", _PRIVATE_IP),
        ("internal-host", _INTERNAL_HOST),
        ("abs-path", _ABS_PATH),
        ("trace", _TRACE),
    ):
        if rx.search(text):
            hits.append(name)
    return hits


def violations(text: str, labels: frozenset[str]) -> list[str]:
    """Evidence of categories ``text`` is not labelled with (empty list = labels hold)."""
    out: list[str] = []
    if "secret" not in labels:
        out += [f"secret:{h}" for h in _secret_hits(text)]
    if "pii" not in labels:
        out += [f"pii:{h}" for h in _pii_hits(text)]
    if "infrastructure" not in labels:
        out += [f"infrastructure:{h}" for h in _infra_hits(text)]
    if "chat" not in labels and _CHAT.search(text):
        out.append("chat:marker")
    return out
