"""Synthetic, deterministic seed data for the lab: what a leaky AI chat backend logs.

Two databases, built on OUR OWN lab server through its admin client (never by the scanner):

``chatbot.log_stream``
    AI chat logs (ts, level, service, host, message, request, response, metadata): chat turns as
    ``{"messages": [{"role", "content"}]}`` JSON, fake API keys of many providers (random, but
    format-valid), e-mail addresses, phone numbers and Luhn-valid card numbers in user
    messages, internal hostnames (``*.svc.cluster.local``, ``*.internal``), private IPs with
    ports, server paths and stack traces: every category a scan should report
    (secret, pii, chat, infrastructure), densely - each run of :data:`KINDS` consecutive rows
    holds all of them, so a sample of the first rows sees everything.

``analytics.page_views``
    a plain analytics table (ts, path, country, device, duration_ms, status, views) that holds
    NOTHING sensitive: no e-mails, no key-like ids, no private IPs, no file-system paths.

Everything follows from one integer seed: :func:`build_dataset` makes a pool of distinct log
rows in Python (``random.Random(seed)``); the server then writes ``rows`` rows with
``INSERT ... SELECT ... FROM numbers(N)``, row ``n`` taking pool entry ``n % pool_size`` and a
timestamp/trace id derived from ``n``. Growing to 3 million rows is one server-side statement.

Example::

    with ClickHouseInstance("127.0.9.1") as ch:
        summary = seed_clickhouse(ch.admin_query, rows=1000, seed=7)
        summary.dataset.secrets[0].provider   # 'openai'
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import phonenumbers

from leakmap.errors import LabError

__all__ = [
    "ANALYTICS_DB",
    "ANALYTICS_TABLE",
    "CHAT_DB",
    "CHAT_TABLE",
    "DEFAULT_ROWS",
    "DEFAULT_SEED",
    "KINDS",
    "MAX_ROWS",
    "Dataset",
    "FakeSecret",
    "LogRow",
    "QueryFn",
    "SeedSummary",
    "build_dataset",
    "fake_card",
    "fake_phone",
    "fake_secret",
    "luhn_valid",
    "seed_clickhouse",
]

CHAT_DB = "chatbot"
CHAT_TABLE = "log_stream"
ANALYTICS_DB = "analytics"
ANALYTICS_TABLE = "page_views"
SCRATCH_DB = "leakmap_seed_scratch"
DEFAULT_ROWS = 1000
DEFAULT_SEED = 20250129
MAX_ROWS = 10_000_000
BASE_TS = 1738108800  # 2025-01-29 00:00:00 UTC

QueryFn = Callable[[str], str]
"""Runs one SQL statement on the lab server and returns the body (e.g. ``admin_query``)."""

# The order of row kinds in the pool; every block of len(KINDS) rows holds each once.
KINDS = (
    "chat_openai_key",
    "chat_pii",
    "infra_error",
    "chat_anthropic_key",
    "config_dump",
    "chat_plain",
    "db_debug",
    "java_trace",
    "chat_misc_keys",
    "chat_pii_intl",
)

_ALNUM = string.ascii_letters + string.digits
_URLSAFE = _ALNUM + "-_"
_HEX = "0123456789abcdef"
_B32 = string.ascii_uppercase + "234567"


@dataclass(frozen=True)
class FakeSecret:
    """One generated fake credential: ``provider`` names the format (``openai``, ``aws``, ...)."""

    provider: str
    value: str


@dataclass(frozen=True)
class LogRow:
    """One pool entry of ``chatbot.log_stream`` (the server adds ts and a trace id)."""

    kind: str
    level: str
    service: str
    host: str
    message: str
    request: str
    response: str
    metadata: str


@dataclass(frozen=True)
class Dataset:
    """Everything generated from one seed: the pool and what it planted."""

    seed: int
    rows: tuple[LogRow, ...]
    secrets: tuple[FakeSecret, ...]
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    cards: tuple[str, ...]
    hostnames: tuple[str, ...]
    private_endpoints: tuple[str, ...]
    paths: tuple[str, ...]


@dataclass(frozen=True)
class SeedSummary:
    """What :func:`seed_clickhouse` wrote."""

    dataset: Dataset
    tables: dict[str, int] = field(default_factory=dict)
    """``"db.table"`` -> rows written."""


# --- generators of format-valid fakes --------------------------------------------------------


def _rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def fake_secret(rng: random.Random, provider: str) -> FakeSecret:
    """A random, format-valid fake credential of ``provider``'s published key format."""
    makers: dict[str, Callable[[], str]] = {
        "openai": lambda: f"sk-proj-{_rand(rng, _URLSAFE, 64)}T3BlbkFJ{_rand(rng, _URLSAFE, 64)}",
        "anthropic": lambda: f"sk-ant-api03-{_rand(rng, _URLSAFE, 93)}AA",
        "aws": lambda: "AKIA" + _rand(rng, _B32, 16),
        "aws_secret": lambda: _rand(rng, _ALNUM + "/+", 40),
        "github": lambda: "ghp_" + _rand(rng, _ALNUM, 36),
        "gitlab": lambda: "glpat-" + _rand(rng, _URLSAFE, 20),
        "slack": lambda: (
            f"xoxb-{_rand(rng, string.digits, 12)}-{_rand(rng, string.digits, 13)}-"
            f"{_rand(rng, _ALNUM, 24)}"
        ),
        "stripe": lambda: "sk_live_" + _rand(rng, _ALNUM, 24),
        "google": lambda: "AIza" + _rand(rng, _URLSAFE, 35),
        "huggingface": lambda: "hf_" + _rand(rng, string.ascii_letters, 34),
        "groq": lambda: "gsk_" + _rand(rng, _ALNUM, 52),
        "deepseek": lambda: "sk-" + _rand(rng, _HEX, 32),
        "openrouter": lambda: "sk-or-v1-" + _rand(rng, _HEX, 64),
    }
    try:
        return FakeSecret(provider, makers[provider]())
    except KeyError:
        raise LabError(f"no fake-key format for {provider!r}") from None


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum over a string of digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def fake_card(rng: random.Random) -> str:
    """A random Luhn-valid card number of a real issuer prefix and length (Visa/MC/Amex)."""
    prefix, length = rng.choice((("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("37", 15)))
    body = prefix + _rand(rng, string.digits, length - len(prefix) - 1)
    for check in string.digits:
        if luhn_valid(body + check):
            return body + check
    raise AssertionError("unreachable: one check digit always fits")  # pragma: no cover


def fake_phone(rng: random.Random, region: str) -> str:
    """A random number that libphonenumber considers valid for ``region``, in E.164 form."""
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        raise LabError(f"no example number for region {region}")
    national = str(example.national_number)
    for _ in range(500):
        # Keep the leading digits of the example (the mobile range), randomise the rest.
        keep = min(3, len(national) - 4)
        candidate = national[:keep] + _rand(rng, string.digits, len(national) - keep)
        num = phonenumbers.PhoneNumber(
            country_code=example.country_code, national_number=int(candidate)
        )
        if phonenumbers.is_valid_number(num):
            return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
    raise LabError(f"could not make a valid phone number for {region}")  # pragma: no cover


# --- the pool ---------------------------------------------------------------------------------

_FIRST = ("alice", "bob", "chen", "dana", "emre", "fatima", "gao", "hiro", "ines", "jonas")
_LAST = ("meyer", "li", "okafor", "rossi", "tanaka", "novak", "garcia", "singh", "berg", "wang")
_MAIL_DOMAINS = ("gmail.com", "outlook.com", "proton.me", "yahoo.co.jp", "northwind-ai.com")
_SERVICES = ("chat-api", "inference-gateway", "billing-worker", "embeddings", "auth-svc")
_NAMESPACES = ("prod", "inference", "payments", "platform")
_MODELS = ("deepthink-chat", "deepthink-coder", "gpt-4o", "claude-3-5-sonnet", "llama-3-70b")
_PLAIN_QUESTIONS = (
    ("How do I reverse a list in Python?", "Use `my_list[::-1]` or `my_list.reverse()`."),
    ("Summarise the plot of Hamlet in two sentences.", "A prince avenges his father."),
    ("What is the capital of Australia?", "Canberra."),
    ("Translate 'good morning' into French.", "Bonjour."),
    ("Give me three ideas for a team offsite.", "A hike, a cooking class, an escape room."),
)
_PHONE_REGIONS = ("US", "GB", "DE", "FR", "CN", "IN", "BR", "JP")


@dataclass
class _Planted:
    secrets: list[FakeSecret] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    cards: list[str] = field(default_factory=list)
    hostnames: list[str] = field(default_factory=list)
    endpoints: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


class _PoolBuilder:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.planted = _Planted()

    # small pieces -------------------------------------------------------------------------
    def secret(self, provider: str) -> str:
        s = fake_secret(self.rng, provider)
        self.planted.secrets.append(s)
        return s.value

    def email(self) -> str:
        r = self.rng
        e = f"{r.choice(_FIRST)}.{r.choice(_LAST)}{r.randint(1, 999)}@{r.choice(_MAIL_DOMAINS)}"
        self.planted.emails.append(e)
        return e

    def phone(self, region: str | None = None) -> str:
        p = fake_phone(self.rng, region or self.rng.choice(_PHONE_REGIONS))
        self.planted.phones.append(p)
        return p

    def card(self) -> str:
        c = fake_card(self.rng)
        self.planted.cards.append(c)
        return c

    def k8s_host(self) -> str:
        r = self.rng
        h = f"{r.choice(_SERVICES)}-{r.randint(0, 9)}.{r.choice(_NAMESPACES)}.svc.cluster.local"
        self.planted.hostnames.append(h)
        return h

    def internal_host(self) -> str:
        r = self.rng
        kind = r.choice(("db", "redis", "vllm", "kafka", "vault"))
        h = f"{kind}-{r.randint(1, 40)}.prod.internal"
        self.planted.hostnames.append(h)
        return h

    def private_endpoint(self) -> str:
        r = self.rng
        ip = r.choice(
            (
                f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
                f"172.{r.randint(16, 31)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
                f"192.168.{r.randint(0, 255)}.{r.randint(1, 254)}",
            )
        )
        ep = f"{ip}:{r.choice((5432, 6379, 8000, 8080, 9000, 9092, 8200))}"
        self.planted.endpoints.append(ep)
        return ep

    def path(self, template: str) -> str:
        p = template.format(n=self.rng.randint(1, 99))
        self.planted.paths.append(p)
        return p

    def pod(self) -> str:
        return (
            f"{self.rng.choice(_SERVICES)}-{_rand(self.rng, _HEX[:10] + 'bcdfghjklmnpqrstvwxz', 5)}"
        )

    # rows ---------------------------------------------------------------------------------
    @staticmethod
    def chat(model: str, turns: Sequence[tuple[str, str]], **extra: object) -> str:
        body: dict[str, object] = {
            "model": model,
            "messages": [{"role": role, "content": content} for role, content in turns],
        }
        body.update(extra)
        return json.dumps(body, ensure_ascii=False)

    def answer(self, text: str) -> str:
        return json.dumps(
            {
                "id": "chatcmpl-" + _rand(self.rng, _ALNUM, 12),
                "choices": [{"message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": self.rng.randint(20, 900)},
            },
            ensure_ascii=False,
        )

    def meta(self, **fields: object) -> str:
        return json.dumps(fields, ensure_ascii=False)

    def row(self, kind: str) -> LogRow:
        r = self.rng
        model = r.choice(_MODELS)
        system = "You are a helpful assistant for Northwind AI customers."
        if kind == "chat_openai_key":
            key = self.secret("openai")
            req = self.chat(
                model,
                [
                    ("system", system),
                    (
                        "user",
                        f"my script fails with 401, here it is: client = OpenAI(api_key='{key}')",
                    ),
                ],
            )
            return LogRow(
                kind, "INFO", "chat-api", self.pod(), "chat completion ok", req,
                self.answer("The key looks revoked; rotate it in the dashboard."),
                self.meta(user_id=r.randint(10_000, 99_999), latency_ms=r.randint(80, 4000)),
            )  # fmt: skip
        if kind in ("chat_pii", "chat_pii_intl"):
            email = self.email()
            phone = self.phone("US" if kind == "chat_pii" else None)
            card = self.card()
            req = self.chat(
                model,
                [
                    ("system", system),
                    (
                        "user",
                        f"Please update my billing details. Card {card}, exp 0{r.randint(1, 9)}/"
                        f"{r.randint(27, 31)}. Reach me at {email} or {phone}.",
                    ),
                ],
                user=email,
            )
            return LogRow(
                kind, "INFO", "billing-worker", self.pod(), "billing intent detected", req,
                self.answer("I have forwarded your request to billing."),
                self.meta(customer_email=email, plan=r.choice(("pro", "team", "free"))),
            )  # fmt: skip
        if kind == "infra_error":
            host = self.k8s_host()
            ep = self.private_endpoint()
            path = self.path("/opt/chatbot/app/handlers/chat_{n}.py")
            trace = (
                "Traceback (most recent call last):\n"
                f'  File "{path}", line {r.randint(10, 400)}, in handle\n'
                "    resp = await upstream.post(payload)\n"
                '  File "/usr/lib/python3.11/site-packages/httpx/_client.py", line 1574, in send\n'
                f"httpx.ConnectError: [Errno 111] Connection refused ({host} -> {ep})"
            )
            return LogRow(
                kind, "ERROR", "inference-gateway", self.pod(),
                f"upstream connect error to {ep} ({host}); retrying", "", trace,
                self.meta(upstream=host, endpoint=ep, attempt=r.randint(1, 5)),
            )  # fmt: skip
        if kind == "chat_anthropic_key":
            key = self.secret("anthropic")
            req = self.chat(
                model,
                [
                    ("system", system),
                    ("user", f"why does this .env not work?\nANTHROPIC_API_KEY={key}\nDEBUG=1"),
                    ("assistant", "Which SDK version do you use?"),
                    ("user", "the latest one"),
                ],
            )
            return LogRow(
                kind, "INFO", "chat-api", self.pod(), "chat completion ok", req,
                self.answer("Make sure the variable is exported before starting the app."),
                self.meta(user_id=r.randint(10_000, 99_999), turns=4),
            )  # fmt: skip
        if kind == "config_dump":
            akid = self.secret("aws")
            sak = self.secret("aws_secret")
            gh = self.secret("github")
            path = self.path("/etc/chatbot/secrets-{n}.env")
            msg = (
                f"loaded config from {path}: AWS_ACCESS_KEY_ID={akid} "
                f"aws_secret_access_key={sak} GITHUB_TOKEN={gh}"
            )
            return LogRow(
                kind, "DEBUG", "auth-svc", self.pod(), msg, "", "",
                self.meta(config_path=path, reload=True),
            )  # fmt: skip
        if kind == "chat_plain":
            q, a = r.choice(_PLAIN_QUESTIONS)
            req = self.chat(model, [("system", system), ("user", q)])
            return LogRow(
                kind, "INFO", "chat-api", self.pod(), "chat completion ok", req, self.answer(a),
                self.meta(user_id=r.randint(10_000, 99_999), latency_ms=r.randint(80, 4000)),
            )  # fmt: skip
        if kind == "db_debug":
            host = self.internal_host()
            ep = self.private_endpoint()
            pw = _rand(r, _ALNUM, 16)
            data_path = self.path("/var/lib/chatbot/sessions/shard-{n}")
            msg = (
                f"connecting to postgresql://chatbot:{pw}@{host}:5432/conversations "
                f"(fallback {ep}); session store at {data_path}"
            )
            return LogRow(
                kind, "DEBUG", "chat-api", self.pod(), msg, "", "",
                self.meta(db_host=host, pool_size=r.randint(5, 50)),
            )  # fmt: skip
        if kind == "java_trace":
            host = self.k8s_host()
            path = self.path("/opt/gateway/lib/gateway-core-{n}.jar")
            trace = (
                f"java.net.SocketTimeoutException: Read timed out ({host})\n"
                "\tat java.base/java.net.SocketInputStream.socketRead0(Native Method)\n"
                "\tat com.northwind.gateway.UpstreamClient.call(UpstreamClient.java:"
                f"{r.randint(40, 300)})\n"
                f"\tat com.northwind.gateway.ChatRouter.route(ChatRouter.java:{r.randint(40, 300)})"
                f"\n\t... 12 more (jar: {path})"
            )
            return LogRow(
                kind, "ERROR", "inference-gateway", self.pod(), "request failed", "", trace,
                self.meta(upstream=host),
            )  # fmt: skip
        if kind == "chat_misc_keys":
            provider = r.choice(("slack", "stripe", "google", "huggingface", "groq", "gitlab"))
            key = self.secret(provider)
            ds = self.secret("deepseek")
            req = self.chat(
                model,
                [
                    ("system", system),
                    (
                        "user",
                        f"I use two keys, deepseek api_key={ds} and my {provider} token {key}. "
                        "Can you check the integration code?",
                    ),
                ],
            )
            return LogRow(
                kind, "WARN", "chat-api", self.pod(), "possible credential in prompt", req,
                self.answer("Never share keys in a chat; please rotate them."),
                self.meta(user_id=r.randint(10_000, 99_999), flagged=True),
            )  # fmt: skip
        raise LabError(f"unknown row kind {kind!r}")


def build_dataset(seed: int = DEFAULT_SEED, pool_size: int = 200) -> Dataset:
    """The pool of distinct ``log_stream`` rows and everything planted in it, from ``seed``."""
    if pool_size < len(KINDS):
        raise LabError(f"pool_size must be at least {len(KINDS)}")
    b = _PoolBuilder(seed)
    rows = tuple(b.row(KINDS[i % len(KINDS)]) for i in range(pool_size))
    p = b.planted
    return Dataset(
        seed=seed,
        rows=rows,
        secrets=tuple(p.secrets),
        emails=tuple(p.emails),
        phones=tuple(p.phones),
        cards=tuple(p.cards),
        hostnames=tuple(p.hostnames),
        private_endpoints=tuple(p.endpoints),
        paths=tuple(p.paths),
    )


# --- writing it ---------------------------------------------------------------------------------

_LOG_STREAM_DDL = f"""
CREATE TABLE {CHAT_DB}.{CHAT_TABLE} (
    ts DateTime,
    level String,
    service String,
    host String,
    message String,
    request String,
    response String,
    metadata String
) ENGINE = MergeTree() PARTITION BY toYYYYMM(ts) ORDER BY ts
"""

_PAGE_VIEWS_DDL = f"""
CREATE TABLE {ANALYTICS_DB}.{ANALYTICS_TABLE} (
    ts DateTime,
    path String,
    country FixedString(2),
    device String,
    duration_ms UInt32,
    status UInt16,
    views UInt32
) ENGINE = MergeTree() PARTITION BY toYYYYMM(ts) ORDER BY ts
"""

_PATHS = (
    "/",
    "/pricing",
    "/product/tour",
    "/docs/quickstart",
    "/docs/models",
    "/blog/launch-week",
    "/blog/benchmarks",
    "/signup",
    "/login",
    "/about",
    "/careers",
    "/changelog",
)
_COUNTRIES = ("US", "DE", "CN", "IN", "BR", "FR", "JP", "GB", "KR", "CA")
_DEVICES = ("desktop", "mobile", "tablet")
_STATUSES = (200, 200, 200, 200, 200, 301, 304, 404, 500)


def _sql_array(values: Sequence[str | int]) -> str:
    """A ClickHouse array literal of plain constants (our own constants only: no quoting)."""
    out = []
    for v in values:
        if isinstance(v, int):
            out.append(str(v))
        else:
            if "'" in v or "\\" in v:
                raise LabError("seed constants must not need escaping")
            out.append(f"'{v}'")
    return "[" + ", ".join(out) + "]"


def _pick(values: Sequence[str | int], salt: int, seed: int) -> str:
    return (
        f"arrayElement({_sql_array(values)}, "
        f"1 + intHash32(number * {salt} + {seed % 1_000_003}) % {len(values)})"
    )


def seed_clickhouse(
    query: QueryFn,
    *,
    rows: int = DEFAULT_ROWS,
    analytics_rows: int | None = None,
    seed: int = DEFAULT_SEED,
    pool_size: int = 200,
) -> SeedSummary:
    """(Re)create ``chatbot.log_stream`` and ``analytics.page_views`` through ``query``.

    ``query`` must run statements on the LAB server as its admin
    (``ClickHouseInstance.admin_query``): the scanner never writes.
    Idempotent: existing lab databases are dropped first. ``analytics_rows`` defaults to ``rows``.
    """
    if rows < 1 or rows > MAX_ROWS:
        raise LabError(f"rows must be between 1 and {MAX_ROWS}")
    analytics_rows = rows if analytics_rows is None else analytics_rows
    if analytics_rows < 0 or analytics_rows > MAX_ROWS:
        raise LabError(f"analytics_rows must be between 0 and {MAX_ROWS}")
    dataset = build_dataset(seed, pool_size=min(pool_size, max(rows, len(KINDS))))
    pool = len(dataset.rows)

    for db in (CHAT_DB, ANALYTICS_DB, SCRATCH_DB):
        query(f"DROP DATABASE IF EXISTS {db}")
    query(f"CREATE DATABASE {CHAT_DB}")
    query(f"CREATE DATABASE {ANALYTICS_DB}")
    query(f"CREATE DATABASE {SCRATCH_DB}")
    try:
        query(_LOG_STREAM_DDL)
        query(_PAGE_VIEWS_DDL)
        query(
            f"CREATE TABLE {SCRATCH_DB}.pool (k UInt32, level String, service String, "
            "host String, message String, request String, response String, metadata String) "
            "ENGINE = Memory"
        )
        lines = [
            json.dumps(
                {
                    "k": i,
                    "level": r.level,
                    "service": r.service,
                    "host": r.host,
                    "message": r.message,
                    "request": r.request,
                    "response": r.response,
                    "metadata": r.metadata,
                },
                ensure_ascii=False,
            )
            for i, r in enumerate(dataset.rows)
        ]
        query(f"INSERT INTO {SCRATCH_DB}.pool FORMAT JSONEachRow\n" + "\n".join(lines) + "\n")
        s = seed % 1_000_003
        # Row n: pool entry n % pool, one line every 7 s, a trace id derived from (seed, n).
        query(
            f"INSERT INTO {CHAT_DB}.{CHAT_TABLE} "  # noqa: S608 - our constants and ints only
            f"SELECT toDateTime({BASE_TS}) + number * 7 AS ts, level, service, host, message, "
            "request, response, "
            'concat(\'{"trace_id":"\', lower(hex(cityHash64(number, '
            f"{s}))), '\",', substring(metadata, 2)) AS metadata "
            f"FROM (SELECT number, toUInt32(number % {pool}) AS k FROM numbers({rows})) "
            f"ANY LEFT JOIN {SCRATCH_DB}.pool USING k"
        )
    finally:
        query(f"DROP DATABASE IF EXISTS {SCRATCH_DB}")
    if analytics_rows:
        query(
            f"INSERT INTO {ANALYTICS_DB}.{ANALYTICS_TABLE} SELECT "  # noqa: S608 - as above
            f"toDateTime({BASE_TS}) + number * 3 AS ts, "
            f"{_pick(_PATHS, 3, seed)} AS path, "
            f"toFixedString({_pick(_COUNTRIES, 5, seed)}, 2) AS country, "
            f"{_pick(_DEVICES, 7, seed)} AS device, "
            f"toUInt32(40 + intHash32(number * 11 + {s}) % 4000) AS duration_ms, "
            f"toUInt16({_pick(_STATUSES, 13, seed)}) AS status, "
            f"toUInt32(1 + intHash32(number * 17 + {s}) % 50) AS views "
            f"FROM numbers({analytics_rows})"
        )
    return SeedSummary(
        dataset=dataset,
        tables={
            f"{CHAT_DB}.{CHAT_TABLE}": rows,
            f"{ANALYTICS_DB}.{ANALYTICS_TABLE}": analytics_rows,
        },
    )
