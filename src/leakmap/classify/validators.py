"""Validators and filters: plain functions over a candidate value.

A rule names its validator (``validator: luhn``); the engine calls it with the value
(the rule's ``secret_group``) and drops the candidate when it returns False. A value that
fails its checksum is not a finding. :func:`is_placeholder` is applied to every
``secret`` candidate: documented example keys, templates and masks are not secrets.
"""

from __future__ import annotations

import base64
import binascii
import collections
import hmac
import ipaddress
import json
import math
import re
import urllib.parse
from collections import Counter
from collections.abc import Callable
from functools import cache
from typing import Any

__all__ = [
    "DOCUMENTED_EXAMPLE_VALUES",
    "VALIDATORS",
    "Validator",
    "conversational",
    "documented_jwt",
    "email_tld",
    "env_dump",
    "iban",
    "internal_hostname",
    "is_placeholder",
    "jwt",
    "luhn",
    "mixed_alnum",
    "mixed_password",
    "netrc_password",
    "opaque_token",
    "phone",
    "private_host",
    "private_ip",
    "private_ip_dashed",
    "private_ip_nonloopback",
    "private_ip_port",
    "prose",
    "random_token",
    "shannon_entropy",
    "ssn",
    "turn_text",
    "utterance",
]

Validator = Callable[[str], bool]

# Compiled once here: the validators run thousands of times per scan, and the re module's
# own cache (512 patterns) is shared with phonenumbers, which can evict them.
_NON_DIGITS = re.compile(r"\D")
_WINDOWS_DRIVE = re.compile(r"[A-Za-z]:\\")


# The C loop behind Counter(), without Counter's Python-level set-up (which costs more than
# the counting for a 40-character key); Counter itself where an interpreter lacks it.
_count_into: Callable[[dict[str, int], str], None] | None = getattr(
    collections, "_count_elements", None
)


def shannon_entropy(value: str) -> float:
    """Shannon entropy of ``value`` in bits per character (0.0 for an empty string)."""
    if not value:
        return 0.0
    n = len(value)
    if _count_into is not None:
        counts: dict[str, int] = {}
        _count_into(counts, value)
    else:
        counts = Counter(value)
    return math.log2(n) - sum(map(_c_log2_c, counts.values())) / n


@cache  # counts are small integers: a C-level memo beats recomputing the logarithm
def _c_log2_c(count: int) -> float:
    return count * math.log2(count)


# --- placeholders and documented examples -------------------------------------------------

# Masks and template syntax: anywhere in the value; letters only in one case (``xxxx`` or
# ``XXXX``, never ``XxXx``: random keys contain mixed-case runs by chance).
_PLACEHOLDER_MASKS = (
    "xxxx", "XXXX", "***", "•••", "…", "...", "${", "{{", "%(", "123456789", "abcdefghij",
    "ABCDEFGHIJ",
)  # fmt: skip
# Words: in one case (all lower, all UPPER or Title) and only where a token starts (start of
# the value, after a non-letter, or a camelCase boundary for UPPER/Title), so ``ghp_EYOURe…``
# or ``…8LJXxXxEb…`` in a random key is not a placeholder.
_PLACEHOLDER_WORDS = (
    "example", "placeholder", "changeme", "change-me", "change_me", "redacted", "masked",
    "dummy", "your", "insert", "replace", "sample", "qwerty",
)  # fmt: skip
# Documented examples put a long UPPER word anywhere (AKIAI44QH8DHBEXAMPLE, …EXAMPLEKEY,
# …SAMPLE…), and AWS's pages a lower-case ``example`` at the very end (…RdGtexample).
# Random text spells a six- or seven-letter word with odds below 1e-8 per value.
_PLACEHOLDER_UPPER_ANYWHERE = ("EXAMPLE", "PLACEHOLDER", "CHANGEME", "REDACTED", "SAMPLE")

# The example credentials of the OAuth RFCs, quoted in every OAuth library's docs and tests:
# RFC 6749 (access/refresh tokens, the client s6BhdRkqt3's secret, a resource owner's
# password), RFC 6750, RFC 7009, and RFC 5849 / OAuth Core 1.0a (consumer key and secret,
# temporary and token credentials, verifier). Like ``scott:tiger``: published examples.
DOCUMENTED_EXAMPLE_VALUES = frozenset(
    [
        "2YotnFZFEjr1zCsicMWpAA",
        "tGzv3JOkF0XG5Qx2TlKWIA",
        "gX1fBat3bV",
        "A3ddj3w",
        "mF_9.B5f-4.1JqM",
        "45ghiukldjahdnhzdauz",
        "dpf43f3p2l4k3l03",
        "kd94hf93k423kf44",
        "hh5s93j4hdidpola",
        "hdhd0244k9j7ao03",
        "nnch734d00sl2jdk",
        "pfkkdhi9sl3r4s00",
        "hfdp7dh39dks9884",
    ]
)


@cache
def _placeholder_regex() -> re.Pattern[str]:
    lower = "|".join(re.escape(w) for w in _PLACEHOLDER_WORDS)
    upper = "|".join(re.escape(w.upper()) for w in _PLACEHOLDER_WORDS)
    title = "|".join(re.escape(w[0].upper() + w[1:]) for w in _PLACEHOLDER_WORDS)
    parts = (
        "|".join(re.escape(w) for w in _PLACEHOLDER_MASKS),
        "|".join(_PLACEHOLDER_UPPER_ANYWHERE),
        rf"(?<![A-Za-z])(?:{lower})",
        rf"(?<![A-Z])(?:{upper}|{title})",
        r"_(?:here|HERE|Here)(?![a-z])",
        r"[a-z0-9]example$",
        r"<[^>]*>",
        r"%s\b",
        r"^\$[A-Za-z_]\w*$",
        r"(.)\1{5,}",
    )
    return re.compile("|".join(parts))


# Every literal the placeholder regex can match, lower-cased: a value containing none of them
# (nearly every real key) needs only the repeated-character test.
_PLACEHOLDER_HINTS = (
    *dict.fromkeys(
        w.lower() for w in (*_PLACEHOLDER_MASKS, *_PLACEHOLDER_WORDS, *_PLACEHOLDER_UPPER_ANYWHERE)
    ),
    "_here",
    "<",
    "%s",
)
_REPEATED = re.compile(r"(.)\1{5,}")


@cache
def _placeholder_hints() -> Any:
    """One small Aho-Corasick automaton over the hints: a single C-level pass per value."""
    import ahocorasick

    automaton: Any = ahocorasick.Automaton()
    for hint in _PLACEHOLDER_HINTS:
        automaton.add_word(hint, hint)
    automaton.make_automaton()
    return automaton


def is_placeholder(value: str) -> bool:
    """True for templates, masks, documented examples and similar non-secrets."""
    if value in DOCUMENTED_EXAMPLE_VALUES:
        return True
    if (
        not value.startswith("$")
        and next(_placeholder_hints().iter(value.lower()), None) is None
        and _REPEATED.search(value) is None
        and "%" not in value
    ):
        return False
    pattern = _placeholder_regex()
    if pattern.search(value) is not None:
        return True
    if "%" in value:  # a URL-encoded mask: postgresql://reader:%2A%2A%2A@db/rag
        decoded = urllib.parse.unquote(value)
        return decoded != value and pattern.search(decoded) is not None
    return False


# --- payment cards -------------------------------------------------------------------------

# Issuer ranges: (prefix length, low, high, allowed lengths), inclusive, on the leading digits.
_CARD_RANGES: tuple[tuple[int, int, int, tuple[int, ...]], ...] = (
    (1, 4, 4, (13, 16, 19)),  # Visa
    (2, 51, 55, (16,)),  # Mastercard
    (4, 2221, 2720, (16,)),  # Mastercard 2-series
    (2, 34, 34, (15,)),  # American Express
    (2, 37, 37, (15,)),
    (4, 6011, 6011, (16, 19)),  # Discover
    (2, 65, 65, (16, 19)),
    (3, 644, 649, (16, 19)),
    (4, 3528, 3589, (16, 19)),  # JCB
    (3, 300, 305, (14, 16, 19)),  # Diners Club
    (2, 36, 36, (14, 16, 19)),
    (2, 38, 39, (14, 16, 19)),
    (2, 62, 62, (16, 17, 18, 19)),  # UnionPay
    (4, 5018, 5018, (12, 13, 14, 15, 16, 17, 18, 19)),  # Maestro
    (4, 5020, 5020, (12, 13, 14, 15, 16, 17, 18, 19)),
    (4, 5038, 5038, (12, 13, 14, 15, 16, 17, 18, 19)),
    (4, 6304, 6304, (12, 13, 14, 15, 16, 17, 18, 19)),
    (4, 6759, 6759, (12, 13, 14, 15, 16, 17, 18, 19)),
    (4, 6761, 6763, (12, 13, 14, 15, 16, 17, 18, 19)),
    (4, 2200, 2204, (16, 17, 18, 19)),  # Mir
)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn(value: str) -> bool:
    """A payment card number: issuer prefix and length, then the Luhn checksum."""
    digits = value.replace(" ", "").replace("-", "")
    if not digits.isdigit() or len(set(digits)) < 4:
        return False
    n = len(digits)
    for plen, low, high, lengths in _CARD_RANGES:
        if n in lengths and low <= int(digits[:plen]) <= high:
            return _luhn_ok(digits)
    return False


# --- IBAN ----------------------------------------------------------------------------------

_IBAN_LENGTHS = dict(
    item.split(":")
    for item in (  # noqa: SIM905
        "AD:24 AE:23 AL:28 AT:20 AZ:28 BA:20 BE:16 BG:22 BH:22 BI:27 BR:29 BY:28 CH:21 CR:22 "
        "CY:28 CZ:24 DE:22 DJ:27 DK:18 DO:28 EE:20 EG:29 ES:24 FI:18 FK:18 FO:18 FR:27 GB:22 "
        "GE:22 GI:23 GL:18 GR:27 GT:28 HR:21 HU:28 IE:22 IL:23 IQ:23 IS:26 IT:27 JO:30 KW:30 "
        "KZ:20 LB:28 LC:32 LI:21 LT:20 LU:20 LV:21 LY:25 MC:27 MD:24 ME:22 MK:19 MN:20 MR:27 "
        "MT:31 MU:30 NI:28 NL:18 NO:15 OM:23 PK:24 PL:28 PS:29 QA:29 RO:24 RS:22 RU:33 SA:24 "
        "SC:31 SD:18 SE:24 SI:19 SK:24 SM:27 SO:23 ST:25 SV:28 TL:23 TN:24 TR:26 UA:29 VA:22 "
        "VG:24 XK:20 YE:30"
    ).split()
)


def iban(value: str) -> bool:
    """An IBAN: a known country, that country's length, and the ISO 13616 mod-97 check."""
    compact = "".join(value.split()).upper()
    expected = _IBAN_LENGTHS.get(compact[:2])
    if expected is None or len(compact) != int(expected) or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


# --- phone numbers -------------------------------------------------------------------------

_DATEISH = re.compile(r"^\+?\d{4}[-./]\d{2}[-./]\d{2}$|^\d{2}[-./]\d{2}[-./]\d{4}$")


@cache
def _phonenumbers() -> Any:
    """The phonenumbers module, imported on first use (it takes ~0.1 s), with its pattern
    cache on where the installed version has one: its metadata patterns then stay
    compiled instead of fighting other code for the re module's 512 cached patterns."""
    import phonenumbers

    enable_cache = getattr(phonenumbers, "enable_pattern_cache", None)
    if enable_cache is not None:
        enable_cache()
    return phonenumbers


def phone(value: str) -> bool:
    """A phone number that libphonenumber calls valid (international, or US/NANP national)."""
    phonenumbers = _phonenumbers()
    compact = value.strip()
    if _DATEISH.match(compact):
        return False
    digits = _NON_DIGITS.sub("", compact)
    if len(digits) < 8 or len(set(digits)) < 3:
        return False
    region = None if compact.startswith(("+", "00")) else "US"
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    try:
        number = phonenumbers.parse(compact, region)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(number))


# --- e-mail --------------------------------------------------------------------------------


@cache
def _tlds() -> frozenset[str]:
    from leakmap.classify._tlds import TLDS_TEXT

    return frozenset(TLDS_TEXT.split())


_NOT_A_PERSON = frozenset(
    {"git", "user", "you", "your", "yourname", "youremail", "name", "email", "someone",
     "username", "example", "foo", "bar", "test", "noreply", "no-reply", "donotreply"}
)  # fmt: skip


# Names that resolve only inside a network or the DNS tree itself: never a mailbox domain.
_NOT_MAIL_DOMAINS = (".home.arpa", ".in-addr.arpa", ".ip6.arpa", ".internal", ".local", ".lan")


def email_tld(value: str) -> bool:
    """An e-mail address whose domain ends in a real TLD and whose local part is not a
    placeholder such as ``you@`` or ``git@``."""
    local, _, domain = value.rpartition("@")
    if not local or "." not in domain:
        return False
    if local.lower() in _NOT_A_PERSON:
        return False
    low = domain.lower()
    if low.endswith(_NOT_MAIL_DOMAINS):
        return False
    tld = low.rsplit(".", 1)[1]
    return tld in _tlds()


# --- US social security number -------------------------------------------------------------


def ssn(value: str) -> bool:
    """A US SSN: area not 000/666/900-999, group not 00, serial not 0000, not a famous sample."""
    digits = _NON_DIGITS.sub("", value)
    if len(digits) != 9:
        return False
    area, group, serial = int(digits[:3]), int(digits[3:5]), int(digits[5:])
    if area in (0, 666) or area >= 900 or group == 0 or serial == 0:
        return False
    return digits not in {"123456789", "078051120", "219099999"}


# --- JWT -----------------------------------------------------------------------------------


def _b64url_json(part: str) -> object:
    padded = part + "=" * (-len(part) % 4)
    try:
        return json.loads(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


# Keys that documentation signs its example tokens with (jwt.io's "your-256-bit-secret",
# the libraries' "secret"), and jwt.io's example claims.
_DOC_JWT_KEYS = (
    b"secret", b"your-256-bit-secret", b"your-384-bit-secret", b"your-512-bit-secret",
    b"key", b"secret-key", b"secret_key", b"secretkey", b"mysecret", b"my-secret", b"my_secret",
    b"changeme", b"password", b"",
)  # fmt: skip
_HMAC_ALGS = {"HS256": "sha256", "HS384": "sha384", "HS512": "sha512"}


def _documented_jwt(parts: list[str], header: dict[str, object], payload: object) -> bool:
    """A documentation example: jwt.io's claims (``"sub": "1234567890", "name": "John
    Doe"``), or an HMAC signature that verifies with a documented key."""
    if isinstance(payload, dict) and payload.get("sub") == "1234567890":
        return True
    digest = _HMAC_ALGS.get(str(header.get("alg")))
    if digest is None:
        return False
    signing_input = f"{parts[0]}.{parts[1]}".encode()
    signature = parts[2] + "=" * (-len(parts[2]) % 4)
    try:
        expected = base64.urlsafe_b64decode(signature)
    except (binascii.Error, ValueError):
        return False
    return any(
        hmac.compare_digest(hmac.new(key, signing_input, digest).digest(), expected)
        for key in _DOC_JWT_KEYS
    )


def documented_jwt(value: str) -> bool:
    """True for a JWT (three parts, a JSON header naming its ``alg``) from documentation:
    see :func:`_documented_jwt`. Other shapes (a provider token that only starts like a
    JWT) are not judged: False."""
    parts = value.split(".")
    if len(parts) != 3:
        return False
    header = _b64url_json(parts[0])
    if not isinstance(header, dict) or "alg" not in header:
        return False
    return _documented_jwt(parts, header, _b64url_json(parts[1]))


def jwt(value: str) -> bool:
    """A JWT/JWS: three parts; a header or payload that decodes to JSON must be an object,
    and a header object must name its ``alg``. (Parts that do not decode are tolerated:
    the eyJ...eyJ... shape alone is specific, and logs truncate or mangle tokens.) A
    documentation example (:func:`_documented_jwt`) is not a secret."""
    parts = value.split(".")
    if len(parts) != 3:
        return False
    header = _b64url_json(parts[0])
    if header is not None and (not isinstance(header, dict) or "alg" not in header):
        return False
    payload = _b64url_json(parts[1])
    if payload is not None and not isinstance(payload, dict):
        return False
    return not (isinstance(header, dict) and _documented_jwt(parts, header, payload))


# --- infrastructure ------------------------------------------------------------------------

_DOC_NETS = tuple(
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "0.0.0.0/8")
)


_CGNAT = ipaddress.ip_network("100.64.0.0/10")


def private_ip(value: str) -> bool:
    """An RFC 1918, loopback, link-local, CGNAT or ULA address (not a documentation range)."""
    host = value.strip("[]")
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    if any(addr in net for net in _DOC_NETS if net.version == addr.version):
        return False
    if addr.version == 4 and addr in _CGNAT:
        return True
    return addr.is_private or addr.is_loopback or addr.is_link_local


def private_ip_nonloopback(value: str) -> bool:
    """A private address other than loopback (a bare 127.0.0.1 says little)."""
    try:
        if ipaddress.ip_address(value.strip("[]")).is_loopback:
            return False
    except ValueError:
        return False
    return private_ip(value)


def private_ip_dashed(value: str) -> bool:
    """``ip-10-0-1-23[.domain]``: the dashed address is private."""
    first = value.split(".", 1)[0]
    return private_ip(first.removeprefix("ip-").replace("-", "."))


def private_ip_port(value: str) -> bool:
    """``address:port`` (IPv6 in brackets) with a private address and a port in 1..65535."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        return False
    return private_ip(host)


# Suffixes that only exist inside private networks.
_INTERNAL_SUFFIXES = (
    ".internal", ".localdomain", ".corp", ".intranet", ".consul", ".cluster.local",
    ".home.arpa", ".intra", ".internal.cloudapp.net",
)  # fmt: skip
# Suffixes that also end code identifiers (self.local, value.private): a name under them
# must look like a host (three or more labels, or a digit or dash in it).
_AMBIGUOUS_SUFFIXES = (".local", ".lan", ".private", ".priv")


def internal_hostname(value: str) -> bool:
    """A multi-label host name under an internal-only suffix, not a code identifier,
    a file name or a version."""
    name = value.lower().rstrip(".")
    labels = name.split(".")
    if len(labels) < 2 or any(not label for label in labels):
        return False
    if labels[0].isdigit() or all(label.isdigit() for label in labels[:-1]):
        return False
    if name.endswith(_INTERNAL_SUFFIXES):
        return True
    if name.endswith(_AMBIGUOUS_SUFFIXES):
        hostlike = len(labels) >= 3 or any(ch.isdigit() or ch == "-" for ch in name)
        return hostlike
    return False


def private_host(value: str) -> bool:
    """The target of a remote shell command that names a private machine: a private
    address, a name under an internal suffix, or a bare (single-label) host name."""
    name = value.lower().rstrip(".")
    if not name or name in ("localhost", "-"):
        return False
    if all(part.isdigit() for part in name.split(".")):
        return private_ip_nonloopback(name)
    if "." not in name:
        # a bare name: a host on the local network (db1, bastion), not a file or option
        return any(ch.isalpha() for ch in name) and not name.startswith("-")
    return internal_hostname(name) or name.endswith(_AMBIGUOUS_SUFFIXES)


_ENV_PAIR = re.compile(r"(?<![\w-])([A-Z][A-Z0-9_]{1,60})=([^\s=;]*)")
# Variables whose presence says something about the machine (its paths, user, host, cluster).
_REVEALING_ENV = frozenset(
    {"PATH", "HOME", "HOSTNAME", "HOST", "USER", "LOGNAME", "USERNAME", "PWD", "OLDPWD",
     "SHELL", "MAIL", "JAVA_HOME", "PYTHONPATH", "PYTHONHOME", "LD_LIBRARY_PATH", "LD_PRELOAD",
     "VIRTUAL_ENV", "CONDA_PREFIX", "GOPATH", "KUBECONFIG"}
)  # fmt: skip
_ENV_URL_HOST = re.compile(r"^[A-Za-z][\w+.-]*://(?:[^/@\s]*@)?[\w-]+(?:\.[\w-]+)+")


def _env_value_reveals(value: str) -> bool:
    v = value.strip("'\"")
    if len(v) > 1 and (v.startswith(("/", "~/")) or _WINDOWS_DRIVE.match(v)):
        return True
    if _ENV_URL_HOST.match(v):
        return True
    host = v.rsplit("@", 1)[-1].split(":", 1)[0]
    return private_ip_nonloopback(host) or internal_hostname(host)


def env_dump(value: str) -> bool:
    """A run of ``KEY=value`` settings that reveals the machine: a well-known variable
    (PATH, HOME, HOSTNAME, USER, KUBERNETES_*, *_SERVICE_HOST ...) with a value, or a value
    that is a path, a URL with a host, a private address or an internal host name. Plain
    application settings (``MAX_TOKENS=4096 STREAM=true``) or cloud credentials alone are not
    an environment dump."""
    for key, val in _ENV_PAIR.findall(value.replace("\\n", "\n")):
        if not val:
            continue
        if (
            key in _REVEALING_ENV
            or key.startswith("KUBERNETES_")
            or key.endswith(("_SERVICE_HOST", "_SERVICE_PORT"))
        ):
            return True
        if _env_value_reveals(val):
            return True
    return False


_CONVERSATIONAL_WORDS = (
    "i i'm im you you're your my me we our us please thanks thank sure okay ok how what why "
    "when where which who can could would should help here hello hi hey sorry let tell "
    "explain write summarise summarize translate draft give show question quick need want "
    "know idea ideas advice recommend suggest necesito ayuda puedes kannst bitte hilfe "
    "pourrais aide merci"
)
_CONVERSATIONAL = frozenset(_CONVERSATIONAL_WORDS.split())


def conversational(value: str) -> bool:
    """Text that reads like a chat turn rather than a log field: a question or exclamation,
    or a conversational word (I, you, please, how, sure, ...)."""
    text = value.strip()
    if text.endswith(("?", "!")):
        return True
    words = {w.strip(".,;:!?'\"()").lower() for w in text.split()}
    words |= {w.split("'", 1)[0] for w in words if "'" in w}  # what's, I'd, you're
    return not words.isdisjoint(_CONVERSATIONAL)


def prose(value: str) -> bool:
    """Natural-language text, not an identifier or a log field: at least three words, most
    of them words made of letters (a token, digest or blob is not a word)."""
    words = value.split()
    if len(words) < 3:
        return False
    alpha = 0
    for w in words:
        core = w.strip(".,;:!?'\"()-")
        if len(core) <= 40 and core.replace("'", "").isalpha():
            alpha += 1
    return alpha * 3 >= len(words) * 2


_CREDENTIAL_FIELD = re.compile(r"(?i)key|secret|token|passw|credential|private")


def opaque_token(value: str) -> bool:
    """A value that may be a credential: not a bare base64 JSON object such as a page
    cursor or a continuation state (``eyJvZmZzZXQiOjEwfQ``), unless that object holds a
    credential-named field. A JWT (with dots) is not judged here."""
    if not value.startswith(("eyJ", "eyI")) or "." in value:
        return True
    decoded = _b64url_json(value)
    if not isinstance(decoded, dict):
        return True
    return any(isinstance(k, str) and _CREDENTIAL_FIELD.search(k) for k in decoded)


# A question or exclamation closed inside the text, more words after it ("...under 300
# euros? (running on ...)"); a URL query (``/api?x=1``) has no space after its ``?``.
_INNER_QUESTION = re.compile(r"[^\W\d_][?!]+\s+\S")


def utterance(value: str) -> bool:
    """A chat turn rather than a status text: prose that ends like a sentence (or closes a
    question inside it) or uses a conversational word ("logged in from office" is prose but
    not an utterance)."""
    if not prose(value):
        return False
    text = value.rstrip(" \t\"')")
    if text.endswith((".", "?", "!", "…")) or _INNER_QUESTION.search(text) is not None:
        return True
    return conversational(value)


_STATUS_VERB = re.compile(
    r"^\S+\s+(?:logged|signed|connected|disconnected|started|stopped|restarted|joined|left|"
    r"created|deleted|updated|changed|failed|succeeded|authenticated|registered|removed|added|"
    r"granted|revoked|locked|unlocked|enabled|disabled|initiali[sz]ed|loaded|ready|running|idle)\b",
    re.IGNORECASE,
)


def turn_text(value: str) -> bool:
    """The text of a speaker-labelled turn (``AI: A mutex has an owner ...``): an utterance
    of at least four words that is not a status report (``alice logged in from ...``) and
    holds no machine token."""
    words = value.split()
    if len(words) < 4 or not utterance(value):
        return False
    if any(len(w) >= 16 and mixed_alnum(w) for w in words):
        return False  # a token or an id in the text: a log record, not a sentence
    return _STATUS_VERB.match(value) is None


def random_token(value: str) -> bool:
    """A machine-made token: upper- and lower-case letters and digits, and not a bare base64
    JSON object (see :func:`opaque_token`)."""
    return mixed_alnum(value) and opaque_token(value)


def mixed_alnum(value: str) -> bool:
    """Upper-case letters, lower-case letters and digits all present (random tokens)."""
    return (
        any(ch.isupper() for ch in value)
        and any(ch.islower() for ch in value)
        and any(ch.isdigit() for ch in value)
    )


def mixed_password(value: str) -> bool:
    """A password-like value: a letter, plus digits or symbols, and mixed case or a symbol."""
    has_letter = any(ch.isalpha() for ch in value)
    has_digit = any(ch.isdigit() for ch in value)
    has_symbol = any(not ch.isalnum() for ch in value)
    mixed_case = any(ch.isupper() for ch in value) and any(ch.islower() for ch in value)
    return has_letter and (has_digit or has_symbol) and (mixed_case or has_symbol)


def netrc_password(value: str) -> bool:
    """A password in a full ``machine … login … password …`` entry: the structure already
    says it is one, so two kinds of character suffice (``hunter42``); one plain word or
    number (``password resetting``) is prose."""
    kinds = (
        any(ch.islower() for ch in value),
        any(ch.isupper() for ch in value),
        any(ch.isdigit() for ch in value),
        any(not ch.isalnum() for ch in value),
    )
    return sum(kinds) >= 2


VALIDATORS: dict[str, Validator] = {
    "luhn": luhn,
    "iban": iban,
    "phone": phone,
    "conversational": conversational,
    "prose": prose,
    "random_token": random_token,
    "utterance": utterance,
    "email_tld": email_tld,
    "env_dump": env_dump,
    "ssn": ssn,
    "turn_text": turn_text,
    "jwt": jwt,
    "mixed_alnum": mixed_alnum,
    "mixed_password": mixed_password,
    "netrc_password": netrc_password,
    "opaque_token": opaque_token,
    "private_ip": private_ip,
    "private_ip_dashed": private_ip_dashed,
    "private_ip_nonloopback": private_ip_nonloopback,
    "private_ip_port": private_ip_port,
    "private_host": private_host,
    "internal_hostname": internal_hostname,
}
