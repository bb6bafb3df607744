"""The classifier library: API contract, rule loading, batching, windows, validators."""

from __future__ import annotations

import dataclasses
import hashlib
import random
import re
import string
from pathlib import Path

import pytest

from leakmap.categories import DataCategory
from leakmap.classify import Classifier, Match, redact, value_hash
from leakmap.classify import validators as v
from leakmap.errors import RuleFileError, UsageError

GHP = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A"


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier.load()


def _rule_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(body, encoding="utf-8")
    return path


# --- Match and redaction --------------------------------------------------------------------


def test_match_never_shows_its_value(clf: Classifier) -> None:
    (m,) = clf.scan(f"GITHUB_TOKEN={GHP}")
    assert m.value == GHP
    assert GHP not in repr(m) and GHP not in str(m)
    assert GHP[4:] not in m.redacted
    assert m.category is DataCategory.SECRET
    assert (m.start, m.end) == (13, 13 + len(GHP))
    value_field = next(f for f in dataclasses.fields(Match) if f.name == "value")
    assert value_field.repr is False
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.value = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "prefix"),
    [
        ("sk-proj-" + "Ab1" * 50, "sk-proj-"),
        (GHP, "ghp_"),
        ("jane.doe@gmail.com", "jane"),
        ("hunter22", "hu"),
        ("abc", ""),
    ],
)
def test_redact_shape(value: str, prefix: str) -> None:
    out = redact(value)
    assert out == f"{prefix}…#{hashlib.sha256(value.encode()).hexdigest()[:6]}"
    assert len(out.split("…")[0]) <= len(value) // 4
    assert redact(value) == out  # deterministic, unsalted


def test_redact_keep_is_capped() -> None:
    assert redact("0123456789abcdef", keep=16).startswith("0123…")
    assert redact("0123456789abcdef", keep=0).startswith("…#")
    assert redact("ab\x1bcdefghijklmnop", keep=4).startswith("ab?c…")


def test_value_hash_is_sha256() -> None:
    assert value_hash("x") == hashlib.sha256(b"x").hexdigest()


# --- scanning -------------------------------------------------------------------------------


def test_scan_sorted_and_empty(clf: Classifier) -> None:
    assert clf.scan("") == []
    assert clf.scan_many([]) == []
    text = f"a {GHP} mail jane.doe@gmail.com host db-1.prod.internal {GHP}"
    starts = [m.start for m in clf.scan(text)]
    assert starts == sorted(starts) and len(starts) == 4


def test_overlap_prefers_the_specific_rule(clf: Classifier) -> None:
    rules = {m.rule for m in clf.scan(f'{{"api_key": "{GHP}"}}')}
    assert rules == {"secret.github.classic-pat"}


def test_categories_may_overlap(clf: Classifier) -> None:
    line = '{"role":"user","content":"mail me at jane.doe@gmail.com"}'
    assert {m.category.value for m in clf.scan(line)} == {"chat", "pii"}


def test_scan_many_never_matches_across_texts(clf: Classifier) -> None:
    joined = '{"role":"user",\n"content":"hello there"}'
    assert [m.rule for m in clf.scan(joined)] == ["chat.message.role-content"]
    assert clf.scan_many(['{"role":"user",', '"content":"hello there"}']) == [[], []]


def test_scan_many_offsets_are_per_text(clf: Classifier) -> None:
    texts = ["x", f"  {GHP}", "", GHP]
    got = [[(m.rule, m.start, m.end) for m in ms] for ms in clf.scan_many(texts)]
    rid = "secret.github.classic-pat"
    assert got == [[], [(rid, 2, 2 + len(GHP))], [], [(rid, 0, len(GHP))]]


def test_unicode_that_changes_length_when_lowered(clf: Classifier) -> None:
    prefix = "İ" * 5  # 'İ'.lower() is two code points
    ms = clf.scan(f"{prefix} token {GHP}")
    assert [(m.start, m.end) for m in ms] == [(12, 12 + len(GHP))]


@pytest.mark.parametrize("noise", ["", "😀", "ÄÖÜ ß", "日本語のログ", "\udcff", "İ"])
def test_text_that_is_not_ascii_gives_what_the_per_character_shape_gives(
    clf: Classifier, noise: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    line = (
        f"{noise} user {noise} bob@example.org said {noise}: token {GHP} to 10.2.3.4:8080 {noise}"
    )
    fast = [(m.rule, m.start, m.end) for m in clf.scan(line)]
    from leakmap.classify import engine

    monkeypatch.setattr(
        engine, "_shape", lambda text, _=True: " " + text.translate(engine._SHAPE_MAP)
    )
    assert [(m.rule, m.start, m.end) for m in clf.scan(line)] == fast
    assert {"pii.email", "secret.github.classic-pat", "infra.ip.private-with-port"} <= {
        rule for rule, _, _ in fast
    }


def test_a_keyword_that_is_not_ascii_still_hits(tmp_path: Path) -> None:
    body = (
        _CUSTOM.replace("keywords: [acme_]", "keywords: ['пароль=']").replace(
            "'acme_[a-z0-9]{24}'", "'пароль=(?P<v>[a-z0-9]{24})'"
        )
        + "    secret_group: v\n"
    )
    clf = Classifier.load([_rule_file(tmp_path, body)])
    text = "😀 ПАРОЛЬ=zz пароль=k3j4h5g6f7d8s9a0p1o2i3u4"
    assert [(m.rule, m.start) for m in clf.scan(text) if m.rule.startswith("custom.")] == [
        ("custom.acme.internal-token", 19)
    ]


def test_window_cut_does_not_truncate_a_match(tmp_path: Path) -> None:
    rules = _rule_file(
        tmp_path,
        "rules:\n"
        "  - id: test.marker\n"
        "    category: infrastructure\n"
        "    description: t\n"
        "    keywords: [marker]\n"
        "    regex: 'marker[a-z]+'\n"
        "    window: 16\n"
        "    window_before: 0\n",
    )
    clf = Classifier([r for r in Classifier.load([rules]).rules if r.id == "test.marker"])
    text = "marker" + "b" * 100 + " end"
    assert [(m.start, m.end) for m in clf.scan(text)] == [(0, 106)]


# --- loading rules --------------------------------------------------------------------------

_CUSTOM = """rules:
  - id: custom.acme.internal-token
    category: secret
    description: ACME internal token
    keywords: [acme_]
    anchor: true
    regex: 'acme_[a-z0-9]{24}'
    min_entropy: 3.0
"""


def test_user_rule_file_adds_a_rule(tmp_path: Path) -> None:
    clf = Classifier.load([_rule_file(tmp_path, _CUSTOM)])
    assert [m.rule for m in clf.scan("t=acme_k3j4h5g6f7d8s9a0p1o2i3u4")] == [
        "custom.acme.internal-token"
    ]


_BACK = """rules:
  - id: test.acme.mail
    category: pii
    description: t
    keywords: ['@acme.']
    BACK
    window_before: 40
    window: 40
    regex: '(?<![\\w.])[a-z][a-z.]*@acme\\.(?:com|org)(?![\\w.])'
"""


@pytest.mark.parametrize(
    "text",
    [
        "mail bob.smith@acme.com now",  # the run before '@' is the match's start: fast path
        "to:.bob@acme.org",  # the run starts with a dot, where the regex cannot start
        "x" * 60 + " a.b@acme.com",
        "é.bob@acme.com and ann@acme.com, zed@acme.org",
        "bob@acme.net cara@acme.org",
    ],
)
def test_back_finds_what_the_window_search_finds(tmp_path: Path, text: str) -> None:
    # The rule's look-behind refuses every character of its back class, as back requires.
    def found(back: str) -> list[tuple[int, int]]:
        path = _rule_file(tmp_path, _BACK.replace("BACK", back))
        clf = Classifier([r for r in Classifier.load([path]).rules if r.id == "test.acme.mail"])
        return [(m.start, m.end) for m in clf.scan(text)]

    assert found("back: '[a-z.]'") == found("")


def test_hash_in_a_keyword_stands_for_one_digit(tmp_path: Path) -> None:
    body = _CUSTOM.replace("keywords: [acme_]", "keywords: ['acme7#_']").replace(
        "'acme_[a-z0-9]{24}'", "'acme7[0-9]_[a-z0-9]{24}'"
    )
    clf = Classifier.load([_rule_file(tmp_path, body)])
    tail = "_k3j4h5g6f7d8s9a0p1o2i3u4"
    for head, found in [("acme70", True), ("acme79", True), ("acme80", False), ("acme7x", False)]:
        rules = [m.rule for m in clf.scan(f"t={head}{tail}") if m.rule.startswith("custom.")]
        assert rules == (["custom.acme.internal-token"] if found else []), head


def test_private_address_keywords_skip_decimals_but_not_addresses() -> None:
    clf = Classifier.load()
    found = {
        text: [m.rule for m in clf.scan(text) if m.rule.startswith("infra.ip.")]
        for text in ("took 10.5 s of 100.0", "db at 10.2.33.4", "at 172.20.0.9", "100.64.1.1")
    }
    assert found == {
        "took 10.5 s of 100.0": [],
        "db at 10.2.33.4": ["infra.ip.private"],
        "at 172.20.0.9": ["infra.ip.private"],
        "100.64.1.1": ["infra.ip.private"],
    }


def test_user_rule_replaces_a_builtin_id(tmp_path: Path) -> None:
    body = _CUSTOM.replace("custom.acme.internal-token", "secret.github.classic-pat")
    clf = Classifier.load([_rule_file(tmp_path, body)])
    assert [m.rule for m in clf.scan(GHP)] == []
    assert len([r for r in clf.rules if r.id == "secret.github.classic-pat"]) == 1


def test_disable_with_glob() -> None:
    clf = Classifier.load(disabled=["secret.github.*", "pii.email"])
    ids = {r.id for r in clf.rules}
    assert not any(i.startswith("secret.github.") for i in ids)
    assert "pii.email" not in ids and "pii.phone" in ids
    assert clf.scan(GHP) == []


def test_disable_unknown_rule_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="matches no rule"):
        Classifier.load(disabled=["secret.nope.*"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("rules: [", "not valid YAML"),
        ("- a\n- b\n", "expected a mapping"),
        ("rules:\n  - id: x\n", "id"),
        (_CUSTOM.replace("'acme_[a-z0-9]{24}'", "'acme_[a-z'"), "bad regex"),
        (_CUSTOM + "    validator: nope\n", "unknown validator"),
        (_CUSTOM + "    colour: red\n", "colour"),
        (_CUSTOM.replace("category: secret", "category: gossip"), "category"),
        (_CUSTOM + _CUSTOM.replace("rules:\n", ""), "duplicate rule id"),
        (_CUSTOM.replace("keywords: [acme_]", "keywords: []"), "anchor"),
        (_CUSTOM + "    secret_group: 3\n", "secret_group"),
        (_CUSTOM.replace("keywords: [acme_]", "keywords: ['acme#1_']"), "may not follow"),
        (_CUSTOM + "    back: '[a-z]+'\n", "one character class"),
        (_CUSTOM + "    back: '[a-z]'\n", "window rules"),
    ],
)
def test_bad_rule_file(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(RuleFileError, match=message) as info:
        Classifier.load([_rule_file(tmp_path, body)])
    assert "\n" not in str(info.value)


def test_missing_rule_file(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="cannot read"):
        Classifier.load([tmp_path / "missing.yaml"])


# --- validators -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("4539 1488 0343 6467", True),
        ("4539148803436467", True),
        ("378282246310005", True),
        ("4539 1488 0343 6468", False),  # Luhn
        ("1234567812345670", False),  # passes Luhn, no issuer starts with 1
        ("4111111111111111", False),  # too few distinct digits
    ],
)
def test_luhn(value: str, ok: bool) -> None:
    assert v.luhn(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("DE89 3704 0044 0532 0130 00", True),
        ("GB82WEST12345698765432", True),
        ("DE89 3704 0044 0532 0130 01", False),
        ("DE89370400440532013", False),
        ("XX89370400440532013000", False),
    ],
)
def test_iban(value: str, ok: bool) -> None:
    assert v.iban(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("+1 415 555 2671", True),
        ("+44 20 7946 0958", True),
        ("(201) 555-0123", True),
        ("+1 000 000 0000", False),
        ("2024-01-31", False),
        ("+49 123", False),
    ],
)
def test_phone(value: str, ok: bool) -> None:
    assert v.phone(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("jane@gmail.com", True),
        ("a.b@sub.example.museum", True),
        ("x@corp.xn--p1ai", True),
        ("jane@host.notatld", False),
        ("git@github.com", False),
        ("jane@localhost", False),
    ],
)
def test_email_tld(value: str, ok: bool) -> None:
    assert v.email_tld(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [("536-22-1234", True), ("666-22-1234", False), ("900-22-1234", False),
     ("536-00-1234", False), ("536-22-0000", False), ("123-45-6789", False)],
)  # fmt: skip
def test_ssn(value: str, ok: bool) -> None:
    assert v.ssn(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [("10.1.2.3", True), ("172.16.0.1", True), ("192.168.0.1", True), ("127.0.0.1", True),
     ("169.254.169.254", True), ("100.64.1.1", True), ("fd00::1", True),
     ("8.8.8.8", False), ("192.0.2.1", False), ("172.32.0.1", False), ("nope", False)],
)  # fmt: skip
def test_private_ip(value: str, ok: bool) -> None:
    assert v.private_ip(value) is ok


def test_private_ip_port_and_nonloopback() -> None:
    assert v.private_ip_port("10.0.0.1:8123") and v.private_ip_port("[fd12::7]:9000")
    assert not v.private_ip_port("10.0.0.1:0") and not v.private_ip_port("8.8.8.8:53")
    assert v.private_ip_nonloopback("10.0.0.1") and not v.private_ip_nonloopback("127.0.0.1")


def test_jwt_validator() -> None:
    good = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl"
    assert v.jwt(good)
    assert v.jwt("eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln")  # payload not JSON: tolerated
    assert not v.jwt("eyJhbGciOiJIUzI1NiJ9.WzEsMl0.c2ln")  # payload JSON but not an object
    assert not v.jwt("eyJub3RoaW5nIjoxfQ.eyJzdWIiOiIxIn0.c2ln")


@pytest.mark.parametrize(
    "value",
    ["sk-xxxxxxxxxxxx", "your-api-key", "${TOKEN}", "{{ token }}", "<redacted>", "****",
     "AKIAIOSFODNN7EXAMPLE", "changeme", "aaaaaaaaaaaa", "%(password)s", "$DB_PASSWORD",
     "YOUR_API_KEY", "sk-proj-XXXXXXXXXXXX", "AKIAI44QH8DHBEXAMPLE", "insertYourKeyHere",
     "Dummy-token", "api_key_here", "<YOUR KEY>", "sk-...a1b2", "%2A%2A%2A", "%3Credacted%3E"],
)  # fmt: skip
def test_placeholders(value: str) -> None:
    assert v.is_placeholder(value)


def test_random_value_is_not_a_placeholder() -> None:
    assert not v.is_placeholder(GHP)


@pytest.mark.parametrize(
    "infix", ["XxXx", "xxXx", "xXxX", "EYOURe", "bsample", "DUMMy", "eXAMPLe", "RePlace", "tdummy"]
)
@pytest.mark.parametrize("seed", range(5))
def test_random_keys_with_placeholder_like_substrings_are_not_placeholders(
    infix: str, seed: int
) -> None:
    """Placeholder words count only in one case and where a token starts: a random key that
    happens to contain ``XxXx`` or ``YOUR`` inside a run of letters is still a key."""
    rng = random.Random(f"{seed}:{infix}")
    alnum = string.ascii_letters + string.digits
    checked = 0
    while checked < 50:
        head = "".join(rng.choice(alnum) for _ in range(11)) + rng.choice(string.ascii_uppercase)
        tail = "".join(rng.choice(alnum) for _ in range(24))
        value = f"gsk_{head}{infix}{tail}"
        if re.search(r"(?i)your|example|sample|dummy|insert|replace|qwerty|(.)\1{3}", head + tail):
            continue  # the random part itself holds a word: not what this test is about
        if re.search(r"xxxx|XXXX", value):
            continue
        checked += 1
        assert not v.is_placeholder(value), value


def test_entropy() -> None:
    assert v.shannon_entropy("") == 0.0
    assert v.shannon_entropy("aaaa") == 0.0
    assert v.shannon_entropy("abcd") == pytest.approx(2.0)


def test_internal_hostname() -> None:
    assert v.internal_hostname("db.prod.internal")
    assert not v.internal_hostname("internal")
    assert not v.internal_hostname("10.0.0.1.local")


def test_redacted_never_contains_the_tail(clf: Classifier) -> None:
    for m in clf.scan(f"{GHP} jane.doe@gmail.com 4539 1488 0343 6467"):
        assert not re.search(re.escape(m.value[-6:]), m.redacted)


@pytest.mark.parametrize(
    ("run", "reveals"),
    [
        ("PATH=/usr/bin HOME=/root LANG=C", True),
        ("LANG=C TERM=xterm DATA_DIR=/srv/data", True),
        ("LANG=C\\nTERM=xterm\\nDB=10.1.2.3:5432", True),
        ("LANG=C TERM=xterm API=https://api.acme.dev/v1", True),
        ("LANG=C TERM=xterm CACHE=redis.prod.internal", True),
        ("LANG=C TERM=xterm API_SERVICE_HOST=api", True),
        ("MAX_TOKENS=4096 STREAM=true WORKERS=13 TOKENIZER=cl100k_base", False),
        ("AWS_ACCESS_KEY_ID=AKIA AWS_DEFAULT_REGION=eu-west-1 LANG=C", False),
        ("PWD= HOME= LANG=C", False),
        ("LANG=C DB=127.0.0.1 RATIO=3/4", False),
    ],
)
def test_env_dump_reveals_the_machine(run: str, reveals: bool) -> None:
    assert v.env_dump(run) is reveals


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What's a good telescope under 300 euros? (running on /srv/x.json)", True),
        ("A mutex has an owner and guards one resource.", True),
        ("what's the refund window for shoes", True),
        ("logged in from office today", False),
        ("GET /api?x=1 from office today", False),
    ],
)
def test_utterance(text: str, expected: bool) -> None:
    assert v.utterance(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A mutex has an owner and guards one resource.", True),
        ("Beam sweeps the ice / a lone gull…", True),
        ("started", False),
        ("alice logged in from the office.", False),
        ("token aB3dE5fG7hJ9kL1mN3pQ5rS7 rotated ok", False),
    ],
)
def test_turn_text(text: str, expected: bool) -> None:
    assert v.turn_text(text) is expected
