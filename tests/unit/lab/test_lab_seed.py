"""Seed data generators: format-valid fakes, determinism, and the harmless analytics constants."""

from __future__ import annotations

import json
import random
import re

import phonenumbers
import pytest

from leakmap.errors import LabError
from leakmap.lab import seed as seedmod
from leakmap.lab.seed import (
    KINDS,
    build_dataset,
    fake_card,
    fake_phone,
    fake_secret,
    luhn_valid,
    seed_clickhouse,
)

# Published formats (shared/notes/secrets.md), anchored.
FORMATS = {
    "openai": r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{58,74}T3BlbkFJ[A-Za-z0-9_-]{58,74}",
    "anthropic": r"sk-ant-(?:api03|admin01)-[\w-]{93}AA",
    "aws": r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}",
    "aws_secret": r"[A-Za-z0-9/+]{40}",
    "github": r"(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}",
    "gitlab": r"glpat-[A-Za-z0-9_-]{20}",
    "slack": r"xox[baprs]-[0-9]{10,13}-[0-9]{10,13}[A-Za-z0-9-]*",
    "stripe": r"(?:sk|rk)_(?:test|live|prod)_[A-Za-z0-9]{10,99}",
    "google": r"AIza[\w-]{35}",
    "huggingface": r"hf_[A-Za-z]{34}",
    "groq": r"gsk_[A-Za-z0-9]{52}",
    "deepseek": r"sk-[a-f0-9]{32}",
    "openrouter": r"sk-or-v1-[0-9a-f]{64}",
}


@pytest.mark.parametrize("provider", sorted(FORMATS))
def test_fake_secret_matches_published_format(provider: str) -> None:
    rng = random.Random(provider)
    values = {fake_secret(rng, provider).value for _ in range(20)}
    assert len(values) == 20  # random, not a constant
    for value in values:
        assert re.fullmatch(FORMATS[provider], value), value
        assert "EXAMPLE" not in value


def test_fake_secret_unknown_provider() -> None:
    with pytest.raises(LabError):
        fake_secret(random.Random(1), "nope")


@pytest.mark.parametrize(
    ("digits", "valid"),
    [("4111111111111111", True), ("4111111111111112", False), ("378282246310005", True),
     ("5555555555554444", True), ("0", True), ("18", True), ("19", False)],
)  # fmt: skip
def test_luhn(digits: str, valid: bool) -> None:
    assert luhn_valid(digits) is valid


def test_fake_cards_are_luhn_valid_with_issuer_lengths() -> None:
    rng = random.Random(3)
    for _ in range(200):
        card = fake_card(rng)
        assert luhn_valid(card)
        assert (card.startswith("37") and len(card) == 15) or (card[0] in "452" and len(card) == 16)


@pytest.mark.parametrize("region", ["US", "GB", "DE", "FR", "CN", "IN", "BR", "JP"])
def test_fake_phones_are_valid(region: str) -> None:
    rng = random.Random(region)
    for _ in range(10):
        number = fake_phone(rng, region)
        parsed = phonenumbers.parse(number, None)
        assert phonenumbers.is_valid_number(parsed)
        assert phonenumbers.region_code_for_number(parsed) == region


def test_dataset_is_deterministic_per_seed() -> None:
    a, b, c = build_dataset(11), build_dataset(11), build_dataset(12)
    assert a == b
    assert a.secrets != c.secrets
    assert a.rows != c.rows


def test_every_block_of_kinds_holds_every_category() -> None:
    ds = build_dataset(5, pool_size=len(KINDS) * 3)
    for start in range(0, len(ds.rows), len(KINDS)):
        block = ds.rows[start : start + len(KINDS)]
        assert [r.kind for r in block] == list(KINDS)
        text = "\n".join(f"{r.message}\n{r.request}\n{r.response}\n{r.metadata}" for r in block)
        assert any(s.value in text for s in ds.secrets)
        assert "@" in text and ".svc.cluster.local" in text and ".internal" in text
        assert re.search(r'"role": "user"', text)
        assert re.search(r"\b(?:10|172|192)\.\d+\.\d+\.\d+:\d+\b", text)
        assert re.search(r"/(?:opt|var/lib)/", text)


def test_pool_json_columns_parse() -> None:
    ds = build_dataset(9, pool_size=40)
    providers = {s.provider for s in ds.secrets}
    assert {"openai", "anthropic", "aws", "aws_secret", "github", "deepseek"} <= providers
    for row in ds.rows:
        json.loads(row.metadata)
        if row.request:
            req = json.loads(row.request)
            assert all(set(m) == {"role", "content"} for m in req["messages"])
            assert {m["role"] for m in req["messages"]} <= {"system", "user", "assistant"}
        if row.response.startswith("{"):
            json.loads(row.response)
        assert row.metadata.startswith("{") and row.metadata != "{}"  # trace_id splice


def test_pool_size_floor() -> None:
    with pytest.raises(LabError):
        build_dataset(1, pool_size=len(KINDS) - 1)


def test_analytics_constants_hold_nothing_sensitive() -> None:
    text = " ".join(
        map(str, (*seedmod._PATHS, *seedmod._COUNTRIES, *seedmod._DEVICES, *seedmod._STATUSES))
    )
    assert "@" not in text
    assert not re.search(r"/(var|opt|etc|home|usr|srv|root|tmp)\b", text)
    assert not re.search(r"\d{5,}", text)
    assert "." not in text.replace("/", "")  # no hostnames, no IPs


def test_sql_array_refuses_quotes() -> None:
    assert seedmod._sql_array(["a", 1]) == "['a', 1]"
    with pytest.raises(LabError):
        seedmod._sql_array(["it's"])


class RecordingQuery:
    """A stand-in for the lab admin client that records SQL (the real one is tested in
    tests/integration); ``fail_on`` makes one statement raise, like a server error would."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.sql: list[str] = []
        self.fail_on = fail_on

    def __call__(self, sql: str) -> str:
        self.sql.append(sql)
        if self.fail_on and self.fail_on in sql:
            raise LabError("server said no")
        return ""


def test_seed_statement_order_and_scratch_cleanup() -> None:
    q = RecordingQuery()
    summary = seed_clickhouse(q, rows=25, seed=3)
    assert summary.tables == {"chatbot.log_stream": 25, "analytics.page_views": 25}
    assert q.sql[:3] == [
        "DROP DATABASE IF EXISTS chatbot",
        "DROP DATABASE IF EXISTS analytics",
        "DROP DATABASE IF EXISTS leakmap_seed_scratch",
    ]
    assert q.sql[-2] == "DROP DATABASE IF EXISTS leakmap_seed_scratch"
    assert "FROM numbers(25)" in q.sql[-1] and "analytics.page_views" in q.sql[-1]
    assert len(summary.dataset.rows) == 25 and len(summary.dataset.rows) <= 200


def test_seed_drops_scratch_even_on_failure() -> None:
    q = RecordingQuery(fail_on="INSERT INTO chatbot.log_stream")
    with pytest.raises(LabError):
        seed_clickhouse(q, rows=10, seed=3)
    assert q.sql[-1] == "DROP DATABASE IF EXISTS leakmap_seed_scratch"


@pytest.mark.parametrize(("rows", "analytics"), [(0, None), (-1, None), (10, -1)])
def test_seed_rejects_bad_counts(rows: int, analytics: int | None) -> None:
    with pytest.raises(LabError):
        seed_clickhouse(RecordingQuery(), rows=rows, analytics_rows=analytics)
