"""Random, format-valid fake values and the validators the corpus labels rest on.

Everything here is driven by a caller-supplied :class:`random.Random`, so a seed gives the
same values every time. Nothing is a real credential: secrets are random strings in the
published *shape* of each provider's keys (see ``/work/shared/notes/secrets.md``), cards and
IBANs are random numbers with correct check digits, phone numbers are random subscriber
digits accepted by libphonenumber.

Two kinds of values come out of this module:

* positives (``secret_*``, ``card``, ``iban``, ``phone``, ``email`` ...): what a classifier
  must report;
* hard negatives (``decoy_*``): values that *look* like positives (UUIDs, digests, SRI
  strings, placeholders, documented example keys, Luhn-failing numbers, ...) and must not be
  reported. Every numeric decoy is checked against the validators and regenerated when it
  would accidentally be valid.

Validators (:func:`luhn_ok`, :func:`iban_ok`, :func:`phone_ok`) are plain functions; the
generator's oracle (:mod:`benchmarks.classify.oracle`) uses them to reject lines whose
labels would not hold.
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

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

__all__ = [
    "ALNUM",
    "B64URL",
    "CARD_ISSUERS",
    "EXAMPLE_KEYS",
    "HELDOUT_PLACEHOLDERS",
    "HEX",
    "IBAN_LAYOUTS",
    "MODEL_NAMES",
    "PHONE_REGIONS",
    "PLACEHOLDERS",
    "SECRET_PROVIDERS",
    "SecretProvider",
    "card",
    "decoy_card",
    "decoy_iban",
    "decoy_phone",
    "email",
    "epoch_ms",
    "epoch_s",
    "hexstr",
    "iban",
    "iban_ok",
    "luhn_ok",
    "luhn_runs",
    "person_name",
    "phone",
    "phone_ok",
    "rand",
    "safe_digits",
]

LOWER = string.ascii_lowercase
UPPER = string.ascii_uppercase
LETTERS = string.ascii_letters
DIGITS = string.digits
ALNUM = LETTERS + DIGITS
B64URL = ALNUM + "-_"
B64 = ALNUM + "+/"
HEX = "0123456789abcdef"
B32 = UPPER + "234567"


def rand(rng: random.Random, alphabet: str, n: int) -> str:
    """``n`` characters drawn uniformly from ``alphabet``."""
    return "".join(rng.choice(alphabet) for _ in range(n))


def hexstr(rng: random.Random, n: int) -> str:
    """``n`` lowercase hex digits."""
    return rand(rng, HEX, n)


def b64_bytes(rng: random.Random, n: int, *, urlsafe: bool = False) -> str:
    """Standard (or URL-safe, unpadded) base64 of ``n`` random bytes."""
    raw = bytes(rng.getrandbits(8) for _ in range(n))
    if urlsafe:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return base64.b64encode(raw).decode()


def b64url_json(obj: object) -> str:
    """Unpadded URL-safe base64 of compact JSON (a JWT segment)."""
    raw = json.dumps(obj, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# --------------------------------------------------------------------------- validators


def luhn_ok(digits: str) -> bool:
    """True when the digit string passes the Luhn check (separators must be removed)."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


_DIGIT_RUN = re.compile(r"(?<![\w.])\d(?:[ -]?\d){12,18}(?![\w])")
_GROUPED16 = re.compile(r"\b\d{4}([ -])\d{4}\1\d{4}\1\d{4}\b")


def luhn_runs(text: str) -> list[str]:
    """Card-shaped digit runs in ``text`` (13-19 digits, single space/dash separators, or a
    4-4-4-4 grouped window) that pass Luhn. Used to keep decoys and filler card-free."""
    hits = []
    for rx in (_DIGIT_RUN, _GROUPED16):
        for m in rx.finditer(text):
            digits = m.group(0).replace(" ", "").replace("-", "")
            if luhn_ok(digits):
                hits.append(m.group(0))
    return hits


def _luhn_digit(body: str) -> str:
    for d in DIGITS:
        if luhn_ok(body + d):
            return d
    raise AssertionError("unreachable")


def iban_ok(value: str) -> bool:
    """True when ``value`` (spaces allowed) is a mod-97-valid IBAN of a known length."""
    s = value.replace(" ", "").upper()
    if len(s) < 15 or len(s) > 34 or not s[:2].isalpha() or not s[2:4].isdigit():
        return False
    layout = IBAN_LAYOUTS.get(s[:2])
    if layout is not None and len(s) != 4 + sum(n for _, n in layout):
        return False
    if not s.isalnum():
        return False
    moved = s[4:] + s[:4]
    num = "".join(str(int(ch, 36)) for ch in moved)
    return int(num) % 97 == 1


def phone_ok(text: str, region: str | None = None) -> bool:
    """True when libphonenumber parses ``text`` as a valid number."""
    try:
        num = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(num))


def safe_digits(rng: random.Random, n: int, *, first: str = "123456789") -> str:
    """A random ``n``-digit string that does *not* pass Luhn (when 13 <= n <= 19).

    Used for ids, order numbers and other long numbers that must never be mistaken for a
    card number by construction.
    """
    while True:
        s = rng.choice(first) + rand(rng, DIGITS, n - 1)
        if not (13 <= n <= 19) or not luhn_ok(s):
            return s


def epoch_s(rng: random.Random) -> str:
    """A 10-digit epoch timestamp (2023-2027)."""
    return str(rng.randint(1_672_531_200, 1_798_761_600))


def epoch_ms(rng: random.Random) -> str:
    """A 13-digit epoch timestamp in milliseconds that fails Luhn."""
    while True:
        s = str(rng.randint(1_672_531_200_000, 1_798_761_600_000))
        if not luhn_ok(s):
            return s


# --------------------------------------------------------------------------- cards

# issuer -> (prefixes, length, grouping)
CARD_ISSUERS: dict[str, tuple[tuple[str, ...], int, tuple[int, ...]]] = {
    "visa": (("4",), 16, (4, 4, 4, 4)),
    "mastercard": (
        ("51", "52", "53", "54", "55", "2221", "2320", "2500", "2720"),
        16,
        (4, 4, 4, 4),
    ),
    "amex": (("34", "37"), 15, (4, 6, 5)),
    "discover": (("6011", "644", "65"), 16, (4, 4, 4, 4)),
    "jcb": (("3528", "3540", "3589"), 16, (4, 4, 4, 4)),
    "diners": (("36", "38"), 14, (4, 6, 4)),
    "unionpay": (("62",), 16, (4, 4, 4, 4)),
}


def _group(digits: str, groups: tuple[int, ...], sep: str) -> str:
    out, i = [], 0
    for g in groups:
        out.append(digits[i : i + g])
        i += g
    return sep.join(out)


def _card_digits(rng: random.Random, issuer: str, valid: bool) -> tuple[str, tuple[int, ...]]:
    prefixes, length, groups = CARD_ISSUERS[issuer]
    prefix = rng.choice(prefixes)
    body = prefix + rand(rng, DIGITS, length - len(prefix) - 1)
    good = _luhn_digit(body)
    if valid:
        return body + good, groups
    bad = rng.choice([d for d in DIGITS if d != good])
    return body + bad, groups


def card(rng: random.Random) -> tuple[str, str]:
    """A Luhn-valid card number with a real issuer prefix; returns ``(text, issuer)``.

    The surface form is plain digits, grouped with spaces or grouped with dashes.
    """
    issuer = rng.choice(sorted(CARD_ISSUERS))
    digits, groups = _card_digits(rng, issuer, True)
    sep = rng.choice(["", " ", "-"])
    return (digits if not sep else _group(digits, groups, sep)), issuer


def decoy_card(rng: random.Random) -> str:
    """A card-like number with an issuer prefix that FAILS Luhn."""
    issuer = rng.choice(sorted(CARD_ISSUERS))
    digits, groups = _card_digits(rng, issuer, False)
    sep = rng.choice(["", " ", "-"])
    return digits if not sep else _group(digits, groups, sep)


# --------------------------------------------------------------------------- IBAN

# country -> BBAN layout as (charset, count) runs: "n" digits, "a" upper letters, "c" alnum
IBAN_LAYOUTS: dict[str, tuple[tuple[str, int], ...]] = {
    "DE": (("n", 18),),
    "GB": (("a", 4), ("n", 14)),
    "FR": (("n", 10), ("c", 11), ("n", 2)),
    "ES": (("n", 20),),
    "IT": (("a", 1), ("n", 10), ("c", 12)),
    "NL": (("a", 4), ("n", 10)),
    "CH": (("n", 5), ("c", 12)),
    "PL": (("n", 24),),
    "BE": (("n", 12),),
    "AT": (("n", 16),),
}
_CHARSETS = {"n": DIGITS, "a": UPPER, "c": UPPER + DIGITS}


def _iban_check(country: str, bban: str) -> int:
    moved = bban + country + "00"
    num = int("".join(str(int(ch, 36)) for ch in moved))
    return 98 - num % 97


def _bban(rng: random.Random, country: str) -> str:
    return "".join(rand(rng, _CHARSETS[cs], n) for cs, n in IBAN_LAYOUTS[country])


def _iban_form(rng: random.Random, s: str) -> str:
    if rng.random() < 0.5:
        return " ".join(s[i : i + 4] for i in range(0, len(s), 4))
    return s


def iban(rng: random.Random) -> tuple[str, str]:
    """A mod-97-valid IBAN; returns ``(text, country)`` (compact or grouped by 4)."""
    country = rng.choice(sorted(IBAN_LAYOUTS))
    bban = _bban(rng, country)
    s = f"{country}{_iban_check(country, bban):02d}{bban}"
    assert iban_ok(s)
    return _iban_form(rng, s), country


def decoy_iban(rng: random.Random) -> str:
    """An IBAN-shaped string whose check digits are wrong (fails mod-97)."""
    country = rng.choice(sorted(IBAN_LAYOUTS))
    bban = _bban(rng, country)
    good = _iban_check(country, bban)
    bad = rng.choice([c for c in range(2, 99) if c != good])
    s = f"{country}{bad:02d}{bban}"
    assert not iban_ok(s)
    text = _iban_form(rng, s)
    if luhn_runs(text):
        return decoy_iban(rng)
    return text


# --------------------------------------------------------------------------- phones

PHONE_REGIONS = ("US", "GB", "DE", "FR", "IN", "JP", "BR", "AU", "ES", "IT", "NL", "MX", "CA")
_PHONE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE)


def phone(rng: random.Random, *, national_ok: bool = True) -> tuple[str, str]:
    """A libphonenumber-valid phone number; returns ``(text, region)``.

    Built from the region's example number with random subscriber digits, kept only when
    ``is_valid_number`` accepts it. Surface forms: E.164, international, and (US/CA only,
    where the region is unambiguous) the national ``(415) 555-0134`` form.
    """
    while True:
        region = rng.choice(PHONE_REGIONS)
        example = phonenumbers.example_number_for_type(region, rng.choice(_PHONE_TYPES))
        if example is None:
            continue
        nat = str(example.national_number)
        keep = max(1, len(nat) - rng.randint(4, 6))
        cand = nat[:keep] + rand(rng, DIGITS, len(nat) - keep)
        num = phonenumbers.parse(f"+{example.country_code}{cand}", None)
        if not phonenumbers.is_valid_number(num):
            continue
        forms = [PhoneNumberFormat.E164, PhoneNumberFormat.INTERNATIONAL]
        if national_ok and region in ("US", "CA"):
            forms.append(PhoneNumberFormat.NATIONAL)
        text = phonenumbers.format_number(num, rng.choice(forms))
        return text, region


def decoy_phone(rng: random.Random) -> str:
    """A ``+CC``-prefixed, phone-shaped string that libphonenumber rejects as invalid."""
    while True:
        cc = rng.choice(["1", "44", "49", "33", "91", "81"])
        n = rng.choice([4, 5, 6, 13, 14])
        cand = f"+{cc} {safe_digits(rng, n)}"
        if not phone_ok(cand) and not luhn_runs(cand):
            return cand


# --------------------------------------------------------------------------- people, e-mail

FIRST = [
    "james",
    "mary",
    "robert",
    "patricia",
    "john",
    "jennifer",
    "michael",
    "linda",
    "david",
    "elizabeth",
    "william",
    "barbara",
    "sofia",
    "lukas",
    "emma",
    "noah",
    "olivia",
    "liam",
    "hannah",
    "felix",
    "chloe",
    "mateo",
    "aiko",
    "haruto",
    "priya",
    "arjun",
    "fatima",
    "omar",
    "lea",
    "jonas",
    "ines",
    "tomas",
    "ana",
    "mei",
    "wei",
    "yuki",
    "kenji",
    "lucia",
    "marco",
    "giulia",
    "pierre",
    "camille",
]
LAST = [
    "smith",
    "johnson",
    "williams",
    "brown",
    "jones",
    "garcia",
    "miller",
    "davis",
    "rodriguez",
    "martinez",
    "hernandez",
    "lopez",
    "muller",
    "schmidt",
    "schneider",
    "fischer",
    "weber",
    "dubois",
    "martin",
    "bernard",
    "rossi",
    "russo",
    "ferrari",
    "tanaka",
    "suzuki",
    "sato",
    "patel",
    "sharma",
    "singh",
    "kumar",
    "nguyen",
    "kim",
    "park",
    "chen",
    "wang",
    "silva",
    "santos",
    "novak",
    "kowalski",
]
MAIL_DOMAINS = [
    "gmail.com",
    "outlook.com",
    "yahoo.com",
    "hotmail.co.uk",
    "protonmail.com",
    "icloud.com",
    "gmx.de",
    "web.de",
    "orange.fr",
    "libero.it",
    "yandex.ru",
    "qq.com",
    "naver.com",
    "acme-robotics.io",
    "northwind.ai",
    "globex.com",
    "initech.net",
    "umbrella-health.org",
    "contoso-bank.de",
    "hooli.dev",
    "piedpiper.app",
]


def person_name(rng: random.Random) -> tuple[str, str]:
    """A (first, last) name pair, lowercase."""
    return rng.choice(FIRST), rng.choice(LAST)


def email(rng: random.Random) -> str:
    """A personal-looking e-mail address on a real TLD (never a reserved example domain)."""
    first, last = person_name(rng)
    local = rng.choice(
        [
            f"{first}.{last}",
            f"{first}{last}",
            f"{first[0]}{last}",
            f"{first}_{last}{rng.randint(1, 99)}",
            f"{first}.{last}+{rng.choice(['news', 'ai', 'work'])}",
            f"{last}.{first}{rng.randint(70, 99)}",
        ]
    )
    return f"{local}@{rng.choice(MAIL_DOMAINS)}"


# --------------------------------------------------------------------------- secrets


@dataclass(frozen=True)
class SecretProvider:
    """How to make one provider's key and how it shows up in a log.

    ``needs_context``: the bare token has no unique marker (DeepSeek ``sk-<hex>``, Cohere,
    Mistral, Azure OpenAI); the corpus then only ever places it next to a provider keyword
    (env var name, field name, header to the provider's host).
    """

    kind: str
    make: Callable[[random.Random], str]
    env: tuple[str, ...]
    header: tuple[str, str]  # (header name, value prefix)
    host: str
    needs_context: bool = False


def _openai(prefix: str) -> Callable[[random.Random], str]:
    def make(rng: random.Random) -> str:
        a = rand(rng, B64URL, rng.randint(58, 74))
        b = rand(rng, B64URL, rng.randint(58, 74))
        return f"sk-{prefix}-{a}T3BlbkFJ{b}"

    return make


def _openai_legacy(rng: random.Random) -> str:
    return f"sk-{rand(rng, ALNUM, 20)}T3BlbkFJ{rand(rng, ALNUM, 20)}"


def _anthropic(rng: random.Random) -> str:
    kind = rng.choice(["api03", "api03", "admin01"])
    return f"sk-ant-{kind}-{rand(rng, B64URL, 93)}AA"


def _aws_key_id(rng: random.Random) -> str:
    return rng.choice(["AKIA", "ASIA"]) + rand(rng, B32, 16)


def _github(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return f"github_pat_{rand(rng, ALNUM, 22)}_{rand(rng, ALNUM, 59)}"
    return f"{rng.choice(['ghp', 'gho', 'ghu', 'ghs', 'ghr'])}_{rand(rng, ALNUM, 36)}"


def _slack(rng: random.Random) -> str:
    a = safe_digits(rng, rng.randint(10, 13))
    b = safe_digits(rng, rng.randint(10, 13))
    if rng.random() < 0.5:
        return f"xoxb-{a}-{b}-{rand(rng, ALNUM, 24)}"
    c = safe_digits(rng, 13)
    return f"xoxp-{a}-{b}-{c}-{hexstr(rng, 32)}"


def _stripe(rng: random.Random) -> str:
    pre = rng.choice(["sk_live", "sk_live", "rk_live", "sk_test"])
    return f"{pre}_{rand(rng, ALNUM, rng.choice([24, 34, 99]))}"


def _telegram(rng: random.Random) -> str:
    return f"{safe_digits(rng, rng.randint(8, 10))}:AA{rand(rng, B64URL, 33)}"


SECRET_PROVIDERS: tuple[SecretProvider, ...] = (
    SecretProvider(
        "openai_project",
        _openai("proj"),
        ("OPENAI_API_KEY",),
        ("Authorization", "Bearer "),
        "api.openai.com",
    ),
    SecretProvider(
        "openai_svcacct",
        _openai("svcacct"),
        ("OPENAI_API_KEY",),
        ("Authorization", "Bearer "),
        "api.openai.com",
    ),
    SecretProvider(
        "openai_admin",
        _openai("admin"),
        ("OPENAI_ADMIN_KEY",),
        ("Authorization", "Bearer "),
        "api.openai.com",
    ),
    SecretProvider(
        "openai_legacy",
        _openai_legacy,
        ("OPENAI_API_KEY",),
        ("Authorization", "Bearer "),
        "api.openai.com",
    ),
    SecretProvider(
        "anthropic", _anthropic, ("ANTHROPIC_API_KEY",), ("x-api-key", ""), "api.anthropic.com"
    ),
    SecretProvider(
        "deepseek",
        lambda r: "sk-" + hexstr(r, 32),
        ("DEEPSEEK_API_KEY",),
        ("Authorization", "Bearer "),
        "api.deepseek.com",
        needs_context=True,
    ),
    SecretProvider(
        "google_ai",
        lambda r: "AIza" + rand(r, B64URL, 35),
        ("GOOGLE_API_KEY", "GEMINI_API_KEY"),
        ("x-goog-api-key", ""),
        "generativelanguage.googleapis.com",
    ),
    SecretProvider(
        "huggingface",
        lambda r: (r.choice(["hf_", "hf_", "api_org_"])) + rand(r, LETTERS, 34),
        ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"),
        ("Authorization", "Bearer "),
        "huggingface.co",
    ),
    SecretProvider(
        "groq",
        lambda r: "gsk_" + rand(r, ALNUM, 52),
        ("GROQ_API_KEY",),
        ("Authorization", "Bearer "),
        "api.groq.com",
    ),
    SecretProvider(
        "xai",
        lambda r: "xai-" + rand(r, ALNUM, 80),
        ("XAI_API_KEY",),
        ("Authorization", "Bearer "),
        "api.x.ai",
    ),
    SecretProvider(
        "replicate",
        lambda r: "r8_" + rand(r, ALNUM, 37),
        ("REPLICATE_API_TOKEN",),
        ("Authorization", "Bearer "),
        "api.replicate.com",
    ),
    SecretProvider(
        "perplexity",
        lambda r: "pplx-" + rand(r, ALNUM, 48),
        ("PERPLEXITY_API_KEY", "PPLX_API_KEY"),
        ("Authorization", "Bearer "),
        "api.perplexity.ai",
    ),
    SecretProvider(
        "openrouter",
        lambda r: "sk-or-v1-" + hexstr(r, 64),
        ("OPENROUTER_API_KEY",),
        ("Authorization", "Bearer "),
        "openrouter.ai",
    ),
    SecretProvider(
        "cohere",
        lambda r: rand(r, ALNUM, 40),
        ("CO_API_KEY", "COHERE_API_KEY"),
        ("Authorization", "Bearer "),
        "api.cohere.com",
        needs_context=True,
    ),
    SecretProvider(
        "mistral",
        lambda r: rand(r, ALNUM, 32),
        ("MISTRAL_API_KEY",),
        ("Authorization", "Bearer "),
        "api.mistral.ai",
        needs_context=True,
    ),
    SecretProvider(
        "azure_openai",
        lambda r: hexstr(r, 32),
        ("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_KEY"),
        ("api-key", ""),
        "{name}.openai.azure.com",
        needs_context=True,
    ),
    SecretProvider(
        "github",
        _github,
        ("GITHUB_TOKEN", "GH_TOKEN"),
        ("Authorization", "token "),
        "api.github.com",
    ),
    SecretProvider(
        "gitlab",
        lambda r: "glpat-" + rand(r, B64URL, 20),
        ("GITLAB_TOKEN", "CI_JOB_TOKEN_OVERRIDE"),
        ("PRIVATE-TOKEN", ""),
        "gitlab.com",
    ),
    SecretProvider(
        "slack", _slack, ("SLACK_BOT_TOKEN",), ("Authorization", "Bearer "), "slack.com"
    ),
    SecretProvider(
        "stripe", _stripe, ("STRIPE_SECRET_KEY",), ("Authorization", "Bearer "), "api.stripe.com"
    ),
    SecretProvider(
        "sendgrid",
        lambda r: f"SG.{rand(r, B64URL, 22)}.{rand(r, B64URL, 43)}",
        ("SENDGRID_API_KEY",),
        ("Authorization", "Bearer "),
        "api.sendgrid.com",
    ),
    SecretProvider(
        "telegram",
        _telegram,
        ("TELEGRAM_BOT_TOKEN",),
        ("Authorization", "Bearer "),
        "api.telegram.org",
    ),
    SecretProvider(
        "aws_key_id",
        _aws_key_id,
        ("AWS_ACCESS_KEY_ID",),
        ("X-Amz-Security-Token", ""),
        "sts.amazonaws.com",
    ),
)

# --------------------------------------------------------------------------- hard negatives

PLACEHOLDERS = (
    "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "sk-proj-XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "sk-ant-xxxxxxxxxxxxxxxx",
    "sk-...",
    "your-api-key",
    "your-api-key-here",
    "YOUR_API_KEY",
    "<YOUR_OPENAI_API_KEY>",
    "${OPENAI_API_KEY}",
    "${ANTHROPIC_API_KEY}",
    "$DEEPSEEK_API_KEY",
    "{{ secrets.OPENAI_API_KEY }}",
    "<redacted>",
    "[REDACTED]",
    "****",
    "********",
    "REPLACE_ME",
    "hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "gsk_...",
    "null",
    "",
)

# placeholders only the heldout style uses (kept apart so the main corpus stays unchanged)
HELDOUT_PLACEHOLDERS = (
    "process.env.OPENAI_API_KEY",
    "os.getenv('ANTHROPIC_API_KEY')",
    "%(api_key)s",
    "{api_key}",
    "sk-********",
    "AKIAXXXXXXXXXXXXXXXX",
    "<OPENAI_KEY>",
    "sk-your-key-here",
    "xxxxx",
    "$(vault read -field=key kv/openai)",
    "${env:LLM_KEY}",
    "$OPENAI_API_KEY",
)

EXAMPLE_KEYS = (
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
)

MODEL_NAMES = (
    "gpt-4o-mini",
    "gpt-4o-2024-08-06",
    "gpt-4.1",
    "gpt-3.5-turbo-0125",
    "o3-mini",
    "o1-preview",
    "text-embedding-3-small",
    "claude-3-5-sonnet-20241022",
    "claude-3-5-haiku-20241022",
    "claude-3-opus-20240229",
    "claude-sonnet-4-20250514",
    "deepseek-chat",
    "deepseek-reasoner",
    "deepseek-coder-v2",
    "gemini-1.5-flash",
    "gemini-2.0-flash-001",
    "gemini-1.5-pro-002",
    "llama-3.1-70b-versatile",
    "meta-llama/Meta-Llama-3.1-8B-Instruct",
    "mistral-large-latest",
    "mixtral-8x7b-32768",
    "command-r-plus",
    "grok-2-1212",
    "qwen2.5-72b-instruct",
    "sonar-pro",
)


def uuid4(rng: random.Random) -> str:
    """A random version-4 UUID string."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
