"""Telling a value from a name: filters for secret rules that match on a field name
(``api_key = ...``, ``"token": ...``, ``password=...``, ``scheme://user:pass@host``).

In real code most such fields hold a *name*, not a secret: an identifier or a constant
(``passphrase = DEFAULT_KEK_PASSPHRASE``), a reference (``api_key = settings.OPENAI_API_KEY``),
a call or an expression (``password=os.getenv("PW")``, minified ``t.password=n.password``),
a type annotation (``token: _StrPathToken``), a URN or a MIME type
(``token_type = "urn:ietf:params:oauth:token-type:jwt"``), an enum-like value equal to its
key or an environment-variable name (``"api_key": "OPENAI_API_KEY"``), a template
placeholder (``${TOKEN}``, ``{{ token }}``, ``%(password)s``, ``<token>``, ``{password}``),
or a widely documented example (``scott:tiger``, ``user:password@localhost``,
``postgres:postgres``). A machine-made secret is none of these: it is random, so when it
is split into words (camelCase, snake_case, digit runs) most pieces are one or two
characters long or digits are scattered through it.

All decisions come from the value's shape and the characters around it; there is no list
of paths or packages. A rule opts in with ``names_filter`` (see :data:`NAME_FILTERS`):

* ``identifier`` -- keys, tokens, secrets: drop every kind of name above.
* ``code`` -- passwords: drop code (references, calls, expressions, constants, templates)
  but keep word-like values (``Summer2024!`` is a plausible password).
* ``dsn`` -- a password in a connection string (``UID=scott;PWD=tiger``): ``code``, plus
  documented example credentials.
* ``url`` -- a password in a URL: ``code``, plus documented example credentials.
* ``basic`` -- an HTTP Basic credential: the base64 pair decoded, then as ``url``.
* ``generic`` / ``generic_password`` -- ``identifier`` / ``code`` for rules that know a
  secret only by its field name, plus what the text around says: fields named fake,
  dummy, mock, example or sample, variables under quoted keys, README badge tokens, lines
  of base64 blocks.
* ``pem`` -- a private-key block abridged in documentation (see :func:`_pem_abridged`).

Every password filter, and ``generic``, also drops values that say what they are
(:func:`says_secret`: ``MySekretPa$$word``, ``s3cre3t!``).

Each filter is called as ``filter(value, text, start)`` (``start``: where the value begins
in ``text``) and returns True when the candidate is a name, to be dropped.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import re
from collections.abc import Callable
from urllib.parse import unquote

from leakmap.classify.validators import DOCUMENTED_EXAMPLE_VALUES, documented_jwt

__all__ = [
    "NAME_FILTERS",
    "NameFilter",
    "is_code",
    "is_documented_credential",
    "is_name",
    "says_secret",
    "typed_sequence",
    "word_like",
]

NameFilter = Callable[[str, str, int], bool]

# Pieces of a token: an acronym before a capitalised word, a (capitalised) word, an
# acronym, a digit run.
_PIECES = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_TOKENS = re.compile(r"[A-Za-z0-9]+")
_VOWELS = frozenset("aeiouyAEIOUY")
_CONSONANT_RUN = re.compile(r"[b-df-hj-np-tv-xzB-DF-HJ-NP-TV-XZ]{6,}")

# URNs, ARNs and MIME types are names of things, never secrets.
_URN_MIME = re.compile(
    r"(?i)^(?:urn|arn):[a-z0-9-]+:|^(?:application|text|image|audio|video|multipart|font|"
    r"model|message)/[\w.+-]+$"
)
# Code syntax: calls, indexing, blocks, comparisons and logic, a leading operator, object
# literal keys (``,range:``), assignment chains (``,t.host=``), the rest of a query string
# (``foobar&expires=0``), format placeholders, a negated name (``!questionToken``), a
# concatenation cut at its string (``letter+texcommand+``).
_CODE_SYNTAX = re.compile(
    r"[()\[\]{}]|==|!=|\|\||&&|=>|->|^[=:]|^!!|!\d|[,;]\s*[\w$.]+\s*[:=]|&[a-z][a-z_]{2,}="
    r"|%\(\w+\)s|^<[\w .-]+>$"
    r"|\.[+*]|\\[dwsS]|^\^|^![a-z_$][\w$]*(?:[A-Z][\w$]*|\.[\w$]+)+$|[\w$)\]]\+\+?$"
)
# An indexed operand in minified JavaScript, maybe before a logical operator
# (``w.password=f[1]||""``): code, however short its name.
_INDEXED = re.compile(r"[A-Za-z_$][\w$]{0,40}\[[\w$'\"]{1,20}\](?:\|\||&&|\?\?)?")
# Minified object literals and assignment chains: a value cut from ``pwd:!1,ls:!1`` or
# ``INDEX_PASS:1,ID_LOW24:2``: a minified boolean, or a number or short name followed by
# the next member. Code whatever its words.
_MINIFIED = re.compile(r"^![01](?:[,;]|$)|^[\w$.!]{1,12}[,;][A-Za-z_$][\w$]*[:=]")
# Operators that are code only next to an attribute reference (``A.password?A.username+``,
# ``bi.createToken=bi.hasTokenLabel``): alone they are common in base64 and passwords.
_WEAK_SYNTAX = re.compile(r"[\w$]=[\w$]|[\w$]\?[\w$]|[\w$][+*]")
_ATTRIBUTE = re.compile(r"[A-Za-z_$][\w$]*\.[A-Za-z_$]")

# ``a.b``, ``A::B``, and optional chaining as minifiers and bundlers write it
# (``init2?.credentials``).
_DOTTED = re.compile(r"[~$]?[A-Za-z_$][\w$]*(?:(?:\??\.|::?)[A-Za-z_$][\w$]*)+")
_CONSTANT = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")  # DEFAULT_KEK_PASSPHRASE
_SNAKE_WORDS = re.compile(r"_*[a-z]+(?:_[a-z]+)+")  # password_env
_DUNDER = re.compile(r"__[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*__")  # __generate__
_VERSION = re.compile(r"v?\d+(?:\.\d+){2,}(?:[-+.][\w.]+)*")  # 11.0.0-6-next.41
_PATH = re.compile(r"[~.]?/?[\w.-]+(?:/[\w.-]+)+/?")  # Documents/litellm/tests
_ARGUMENT = re.compile(r"[A-Za-z_]\w*,")  # password=password, (a keyword argument)
_NULLISH = frozenset(["none", "null", "nil", "undefined", "true", "false", "self", "this"])


def word_like(token: str) -> bool:
    """True for an alphanumeric token that reads as a name: ``e``, ``getXMLHttpRequest``,
    ``TFMPNetForSequenceClassification``, ``V1SecretVolumeSource``, ``cachedvol112233``;
    False for random text such as ``aZ3kd9FjQ2x`` or ``lucWJjEhlxZW01cXI3``."""
    if len(token) <= 4 or token.isdigit():
        return True
    pieces = _PIECES.findall(token)
    digit_runs = [p for p in pieces if p.isdigit()]
    if len(digit_runs) > 2 or sum(map(len, digit_runs)) > 6:
        return False
    words = [p for p in pieces if not p.isdigit()]
    if not words:
        return False
    short = sum(1 for w in words if len(w) <= 2)
    if short > max(1, len(words) // 3):
        return False
    if not token.isupper() and any(len(w) > 6 and w.isupper() for w in words):
        return False  # a long capital run inside mixed case: HIORBWNPAVOHBMrwgry...
    for w in words:
        if len(w) >= 8:
            vowels = sum(1 for ch in w if ch in _VOWELS)
            if vowels * 6 < len(w) or _CONSONANT_RUN.search(w):
                return False
    return True


def _tokens_are_names(value: str) -> bool:
    """Every alphanumeric token reads as a name, and at least one holds a real word of
    four letters or more (``p@ss{w0rd}`` has none)."""
    tokens = _TOKENS.findall(value)
    if not tokens or not all(word_like(t) for t in tokens):
        return False
    return any(len(p) >= 4 and p.isalpha() for t in tokens for p in _PIECES.findall(t))


def is_code(value: str) -> bool:
    """True for code rather than a value: a reference (``self.config.password``,
    ``settings.OPENAI_API_KEY``), a call or expression (``os.getenv(``, ``t.slice(a+1)``,
    ``==e.type``, ``!0,range:!0``), a constant name (``DEFAULT_KEK_PASSPHRASE``), a
    snake_case name (``password_env``), a null-like word, a version number, or a template
    (``{password}``, ``%(password)s``, ``<password>``). Every word in it reads as a name."""
    v = value.rstrip(",;")
    if not v or _MINIFIED.search(value):
        return True
    if _ARGUMENT.fullmatch(value) and word_like(v):
        return True
    if _PATH.fullmatch(v) and _tokens_are_names(v):
        return True
    if v.lower() in _NULLISH or _SNAKE_WORDS.fullmatch(v) or _CONSTANT.fullmatch(v):
        return True
    if _DUNDER.fullmatch(v):
        return True
    if _VERSION.fullmatch(v):
        return True
    if _INDEXED.fullmatch(v):
        return word_like(v.partition("[")[0].lstrip("$_") or "x")
    if _DOTTED.fullmatch(v):
        return _tokens_are_names(v)
    syntax = _CODE_SYNTAX.search(v) or (_WEAK_SYNTAX.search(v) and _ATTRIBUTE.search(v))
    if syntax:
        return _tokens_are_names(v)
    return False


def is_name(value: str) -> bool:
    """True for a value that names something: :func:`is_code`, a URN, ARN or MIME type,
    or an identifier, type name, path or environment-variable name whose every word reads
    as a name (``_auth_user_backend``, ``~azure.core.credentials.TokenProvider``,
    ``AWS::Auth::AccountIdEndpointMode``, ``Get-AzAccessToken``, ``auth-request-type/at``)."""
    if is_code(value) or _URN_MIME.search(value):
        return True
    v = value.strip(",;").rstrip("!?")  # an editor's token class: ``constant.datatype!``
    if not re.fullmatch(r"[\w$~.:/@-]+", v):
        return False
    return _tokens_are_names(v)


# Widely documented example credentials: SQLAlchemy's and Oracle's scott/tiger, the
# placeholders every tutorial uses, and a password equal to its user.
_EXAMPLE_USERS = frozenset(
    [
        "scott",
        "user",
        "username",
        "usr",
        "myuser",
        "dbuser",
        "postgres",
        "root",
        "admin",
        "guest",
        "test",
        "foo",
        "me",
        "john",
        "alice",
        "bob",
        "demo",
    ]
)
_EXAMPLE_PASSWORDS = frozenset(
    [
        "tiger",
        "password",
        "passwd",
        "pass",
        "pwd",
        "secret",
        "postgres",
        "root",
        "admin",
        "guest",
        "test",
        "bar",
        "pw",
        "mypassword",
        "mysecretpassword",
        "s3cr3t",
        "p4ssw0rd",
    ]
)


# Leetspeak as people write example passwords (``Pa$$w0rd``, ``s3cre3t!``): digits and
# symbols read as the letters they stand for; then runs of one letter fold to one.
_DELEET = str.maketrans("013457$@!", "oieastsai")
_NOT_LOWER = re.compile(r"[^a-z]+")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_REPEATS = re.compile(r"(.)\1+")
_SELF_DESCRIBING = re.compile(r"pas+w(?:o?r)?d|secret|sekret|changeme|letmein")


def says_secret(value: str) -> bool:
    """True for a value that says what it is (``MySekretPa$$word``, ``s3cre3t!``,
    ``a%20secret``, ``P4ssw0rd1``): an example someone typed, not a machine-made secret,
    whose random letters spell no word. Read through URL encoding and leetspeak; at most
    eight other letters beside the words (a token with a ``secret_`` prefix and a random
    tail is not an example)."""
    if "%" in value:
        value = unquote(value)
    low = value.lower()
    # Symbols read as letters (``Pa$$w0rd``) or as separators (``Pass@Word1``).
    for text in (low, _NOT_ALNUM.sub("", low)):
        letters = _REPEATS.sub(r"\1", _NOT_LOWER.sub("", text.translate(_DELEET)))
        rest, words = _SELF_DESCRIBING.subn("", letters)
        if words > 0 and len(rest) <= 8:
            return True
    return False


def typed_sequence(value: str) -> bool:
    """True for a value typed as runs along the keyboard's sequences (``abcd1234efgh5678``,
    ``0123456789abcdef``, ``a1b2c3d4567890ab``): at least three quarters of its characters
    are followed, next or one further on, by the next character. Random text has about one
    in thirty."""
    if len(value) < 8:
        return False
    low = value.lower()
    # A step: the next character, or the one after it (``a1b2c3d4``, AWS's example runs),
    # is the following one.
    ahead = itertools.zip_longest(low, low[1:], low[2:], fillvalue="")
    steps = sum(1 for a, b, c in ahead if b and (_follows(a, b) or _follows(a, c)))
    return steps * 4 >= (len(value) - 1) * 3


def _follows(a: str, b: str) -> bool:
    return b != "" and ord(b) - ord(a) == 1


_TRAILING_DIGITS = re.compile(r"\d{1,3}$")


def is_documented_credential(user: str, password: str) -> bool:
    """True for documented example credentials: a password equal to its user, or a known
    tutorial pair (``scott:tiger``, ``user:password``, ``postgres:postgres``; ``scott``'s
    password with anything after ``tiger``, as in a quoting example). The host does not
    count: the test fixtures and real leaks alike may name any host."""
    u, p = user.lower(), password.lower()
    if u.rstrip("0123456789") and p.rstrip("0123456789"):  # user1:pass1, as examples number them
        u, p = _TRAILING_DIGITS.sub("", u), _TRAILING_DIGITS.sub("", p)
    scott = u == "scott" and p.startswith("tiger")  # also tiger^5HHH, a quoting example
    return (p == u and p != "") or (u in _EXAMPLE_USERS and (p in _EXAMPLE_PASSWORDS or scott))


_URL_AROUND = re.compile(r"(?:^|[/@])([^/:@\s\"'<>]*)$")


def _url_credential(value: str, text: str, start: int) -> bool:
    """A URL password (``value`` at ``start``) that is code or a documented example."""
    if is_code(value) or says_secret(value):
        return True
    lo = max(0, start - 256)
    before = text[lo:start]
    if not before.endswith(":"):
        return False
    user_m = _URL_AROUND.search(before[:-1])
    user = user_m.group(1) if user_m else ""
    return is_documented_credential(unquote(user), unquote(value))


def _basic_credential(value: str, text: str, start: int) -> bool:
    """An HTTP Basic value whose decoded ``user:password`` is a documented example."""
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
        decoded = raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    user, sep, password = decoded.partition(":")
    if not sep:
        return False
    if password in DOCUMENTED_EXAMPLE_VALUES:  # RFC 6749's s6BhdRkqt3:gX1fBat3bV
        return True
    return is_documented_credential(user, password) or is_code(password) or says_secret(password)


# The text before a value inside an ARN (``arn:aws:secretsmanager:...:secret:NAME``).
_ARN_BEFORE = re.compile(r"(?i)\barn:(?:[\w*-]*:){2,5}[^\s\"']*$")  # arn:*:secretsmanager:*


def _identifier(value: str, text: str, start: int) -> bool:
    """A key or token value that is a name, a resource name inside an ARN, or a JWT from
    documentation (a bearer token or a field holding one: see :func:`validators.jwt`)."""
    if is_name(value) or _ARN_BEFORE.search(text, max(0, start - 160), start) is not None:
        return True
    return value.startswith("eyJ") and documented_jwt(value)


# A field whose own name says its value is not real (``FAKE_AUTH_KEY = "..."``,
# ``"dummy_token": ...``, ``mockApiKey: ...``): the word starts the name or one of its parts.
_FAKE_FIELD = re.compile(
    r"(?:(?<![A-Za-z])(?:fake|dummy|mock|example|sample)|(?<![A-Z])(?:Fake|Dummy|Mock|Example"
    r"|Sample|FAKE|DUMMY|MOCK|EXAMPLE|SAMPLE))(?![a-z])[\w.-]*\\?[\"']?[ \t]*"
    r"(?::=|=>|=|:)[ \t]*\\?[\"']?$"
)


# A quoted key and an unquoted value: a dict or object literal whose value is a variable.
_QUOTED_KEY = re.compile(r"[\"'][ \t]*(?::|=>)[ \t]*$")
_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")
# A query parameter of an image URL (``badge.svg?token=...``): badge tokens are published.
_IMAGE_QUERY = re.compile(r"(?i)\.(?:svg|png|gif|jpe?g|webp)\?(?:[^\s\"'()<>?]*&)?[\w.-]*=$")
# An image's address in HTML or Markdown (``<img src="https://badge…?token=``, ``![ci](…?token=``):
# the same, without a file extension.
_IMAGE_SRC = re.compile(
    r"(?i)(?:<img\b[^>]{0,200}?\bsrc[ \t]*=[ \t]*[\"']?|!\[[^\]\n]{0,100}\]\()"
    r"[^\s\"'()<>]*\?(?:[^\s\"'()<>?]*&)?[\w.-]*=$"
)
# The name of the field a value is assigned to (``"nextForwardToken": "``, ``ClientToken=``).
_FIELD_BEFORE = re.compile(r"([A-Za-z][\w.-]{0,80})\\?[\"']?[ \t]*(?::=|=>|=|:)[ \t]*\\?[\"']?$")
# What a token field's other words say when its value is not a credential: a page or stream
# position (NextToken, nextForwardToken, ContinuationToken, PaginationToken, cursor and
# marker tokens), an idempotency or request-deduplication key (IdempotencyToken, AWS's
# ClientToken), an optimistic-lock or job handle (PolicyUpdateToken, ExportToken,
# NodeAssociationStatusToken), or whom a token is about (SubjectFromWebIdentityToken).
_NOT_CREDENTIAL_PARTS = frozenset(
    [
        "next", "prev", "previous", "forward", "backward", "continuation", "pagination",
        "page", "paging", "cursor", "marker", "idempotency", "idempotent", "dedup",
        "deduplication", "update", "export", "import", "copy", "status", "sync", "resume",
        "scroll", "poll", "change", "delta", "etag", "subject",
    ]
)  # fmt: skip


def _position_token_field(text: str, start: int) -> bool:
    """The value is assigned to a ``…Token`` field whose other words name a position,
    an idempotency key or a handle (see ``_NOT_CREDENTIAL_PARTS``), or to AWS's
    ``ClientToken`` (an idempotency key). ``AccessToken``, ``SessionToken``,
    ``refresh_token``, ``client_secret`` keep being reported."""
    m = _FIELD_BEFORE.search(text, max(0, start - 100), start)
    if m is None:
        return False
    parts = [p.lower() for p in _PIECES.findall(m.group(1)) if not p.isdigit()]
    if not parts or parts[-1] != "token":
        return False
    return parts[:-1] == ["client"] or any(p in _NOT_CREDENTIAL_PARTS for p in parts[:-1])


# The value follows a field whose value is a marked example, in the same comma-, semicolon-
# or ampersand-separated list (``AccessKeyId=ABCDE12345670EXAMPLE, RawSecretAccessKey=…``):
# the pair is the example. Fields merely side by side on a log line are not a pair.
_EXAMPLE_SIBLING = re.compile(
    r"[=:][ \t]*[\"']?[\w/+.-]*EXAMPLE[\w/+=.-]*[\"']?[ \t]*[,;&][ \t]*"
    r"[A-Za-z][\w.-]{0,60}[\"']?[ \t]*[=:][ \t]*[\"']?$"
)
# The next line of a wrapped base64 block (PEM and MIME wrap at 64 and 76 characters).
_NEXT_BASE64_LINE = re.compile(r"(?:\r?\n|\\n)[ \t]*[A-Za-z0-9+/]{40,}")


def _not_a_secret_here(value: str, text: str, start: int) -> bool:
    """What the text around a value says for rules that know a secret only by its field's
    name: the field is named fake, dummy, mock, example or sample; the value is a variable
    under a quoted key (``'u_ao_pass': Uniform1f``); it is a query parameter of an image
    URL (a README badge); or it is one line of a wrapped base64 block (a certificate body:
    private keys have their own rule)."""
    lo = max(0, start - 200)
    if _FAKE_FIELD.search(text, max(0, start - 96), start) or _IMAGE_QUERY.search(text, lo, start):
        return True
    if _IMAGE_SRC.search(text, max(0, start - 400), start) or _position_token_field(text, start):
        return True
    if "EXAMPLE" in text[max(0, start - 160) : start] and _EXAMPLE_SIBLING.search(
        text, max(0, start - 160), start
    ):
        return True
    if _IDENTIFIER.fullmatch(value) and word_like(value) and _QUOTED_KEY.search(text, lo, start):
        return True
    end = start + len(value)
    return len(value) in (64, 76) and _NEXT_BASE64_LINE.match(text, end) is not None


def _generic(value: str, text: str, start: int) -> bool:
    """:func:`_identifier`, values that say what they are, and :func:`_not_a_secret_here`.
    For rules that know a secret only by its field's name; a provider's key format is
    reported whatever its field is called."""
    if _identifier(value, text, start) or says_secret(value) or typed_sequence(value):
        return True
    if _basic_credential(value, text, start):  # "auth": base64 of user:password, an example
        return True
    return _not_a_secret_here(value, text, start)


# A word in Markdown or reST emphasis (``:param passwd: **DEPRECATED**``): prose.
_EMPHASISED_WORD = re.compile(r"([*_`]{1,3})[A-Za-z]{3,}\1")


def _generic_password(value: str, text: str, start: int) -> bool:
    """The ``code`` filter, :func:`typed_sequence`, an emphasised word and
    :func:`_not_a_secret_here`."""
    if is_code(value) or says_secret(value) or typed_sequence(value):
        return True
    if _EMPHASISED_WORD.fullmatch(value):
        return True
    return _not_a_secret_here(value, text, start)


# A PEM block: its markers, and what may stand between base64 lines.
_PEM_END = re.compile(r"-----END[ A-Z0-9_-]{0,100}PRIVATE KEY")
_PEM_MARKERS = re.compile(r"-----(?:BEGIN|END)[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----")
_PEM_SPACE = re.compile(r"\\{1,2}[rn]|\s")
_PEM_HEADER = re.compile(r"^[\w-]+:", re.M)


def _pem_abridged(value: str, text: str, start: int) -> bool:
    """A private-key block that is an abridged example, not a key: an END marker close
    after a body that stopped at something that is not base64 (``MIIEpQ...iieR. -----END``,
    as API docs abridge keys), a body too short for any key (``foobar==``), or a DER body
    whose own length field says it is cut to less than half (a docstring quoting the first
    line of a key). A block cut off with no END marker near (a log line that was cut) is
    kept."""
    body = _PEM_MARKERS.sub("", value)
    if "EXAMPLE" in body:  # AWS's pages mark example keys inside the base64 (EXAMPLEBAAKCAQ…)
        return True
    if "-----END" not in value:
        end = start + len(value)
        return _PEM_END.search(text, end, end + 48) is not None
    if _PEM_HEADER.search(body.replace("\\n", "\n")):
        return False  # an encrypted key's Proc-Type / DEK-Info headers: judge no further
    b64 = _PEM_SPACE.sub("", body)
    if len(b64) < 32:
        return True
    if not b64.startswith(("MII", "MIG")):
        return False
    try:
        der = base64.b64decode(b64[: len(b64) // 4 * 4])
    except (binascii.Error, ValueError):
        return False
    if der[1] not in (0x81, 0x82):
        return False
    # 0x82: two length bytes follow; 0x81: one.
    declared = 4 + int.from_bytes(der[2:4], "big") if der[1] == 0x82 else 3 + der[2]
    return len(der) * 2 < declared


_DSN_USER = re.compile(r"(?i)(?:\buid|\buser(?:name)?|\buser id)\s*=\s*([^;'\"\s]+)[^\n]*$")


def _dsn_credential(value: str, text: str, start: int) -> bool:
    """A DSN password (``UID=scott;PWD=tiger``) that is code or a documented example."""
    if is_code(value) or says_secret(value):
        return True
    user = _DSN_USER.search(text, max(0, start - 200), start)
    return user is not None and is_documented_credential(user.group(1), value)


NAME_FILTERS: dict[str, NameFilter] = {
    "generic": _generic,
    "generic_password": _generic_password,
    "pem": _pem_abridged,
    "dsn": _dsn_credential,
    "identifier": _identifier,
    "code": lambda value, _text, _start: is_code(value) or says_secret(value),
    "url": _url_credential,
    "basic": _basic_credential,
}
