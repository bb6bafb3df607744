"""The benchmark corpus generator: deterministic, format-valid positives, honest labels."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from benchmarks.classify import fakes
from benchmarks.classify.bench_classify import (
    Run,
    parse_detect_secrets,
    parse_leakmap_jsonl,
    run_leakmap,
    score,
)
from benchmarks.classify.corpus import LineRecord, generate, main
from benchmarks.classify.oracle import violations

ROOT = Path(__file__).resolve().parents[3]
STYLES = ["main", "heldout"]
DECOYS = {
    "main": [
        "uuid",
        "sri",
        "placeholder",
        "example_key",
        "luhn_fail",
        "iban_fail",
        "epoch_ms",
        "base64_image",
        "model_name",
        "masked_key",
    ],
    "heldout": [
        "ulid",
        "objectid",
        "stripe_object_id",
        "placeholder",
        "example_key",
        "luhn_fail",
        "iban_fail",
        "epoch_ms",
        "base64_audio",
        "model_name",
        "masked_key",
        "sri",
    ],
}


def _corpus(seed: int, lines: int, style: str = "main") -> list[LineRecord]:
    return list(generate(seed, lines=lines, style=style))


@pytest.mark.parametrize("style", STYLES)
def test_same_seed_same_corpus_other_seed_other_corpus(style: str) -> None:
    a = _corpus(11, 300, style)
    b = _corpus(11, 300, style)
    c = _corpus(12, 300, style)
    assert a == b
    assert [r.text for r in a] != [r.text for r in c]
    assert len(a) == 300


@pytest.mark.parametrize("style", STYLES)
def test_mix_of_clean_and_every_category(style: str) -> None:
    recs = _corpus(5, 2000, style)
    counts = Counter(lab for r in recs for lab in (r.labels or {"clean"}))
    clean = counts["clean"] / len(recs)
    assert 0.5 <= clean <= 0.7, clean
    for cat in ("secret", "pii", "chat", "infrastructure"):
        assert counts[cat] >= 100, (cat, counts)
    assert len({r.family for r in recs}) >= 10
    assert sum(bool(r.unscored) for r in recs) < len(recs) * 0.06
    decoys = Counter(d for r in recs for d in r.decoys)
    for kind in DECOYS[style]:
        assert decoys[kind] > 0, kind


@pytest.mark.parametrize("style", STYLES)
def test_oracle_agrees_with_every_label(style: str) -> None:
    for r in _corpus(7, 700, style):
        assert violations(r.text, r.labels) == [], r.kinds
        assert "\n" not in r.text and "\r" not in r.text
        # every category in the labels comes from an inserted positive of that category
        assert {k.split(".")[0] for k in r.kinds} == set(r.labels)


@pytest.mark.parametrize("style", STYLES)
def test_cards_in_positive_lines_pass_luhn_and_decoys_do_not(style: str) -> None:
    seen_card = seen_decoy = 0
    for r in _corpus(9, 2500, style):
        if any(k.startswith("pii.card_") for k in r.kinds):
            assert fakes.luhn_runs(r.text), r.kinds
            seen_card += 1
        if "luhn_fail" in r.decoys and "pii" not in r.labels:
            assert fakes.luhn_runs(r.text) == []
            seen_decoy += 1
    assert seen_card >= 5 and seen_decoy >= 5


@pytest.mark.parametrize("seed", range(5))
def test_value_generators_are_valid_and_decoys_invalid(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(50):
        text, issuer = fakes.card(rng)
        digits = re.sub(r"[ -]", "", text)
        prefixes, length, _ = fakes.CARD_ISSUERS[issuer]
        assert fakes.luhn_ok(digits) and len(digits) == length
        assert digits.startswith(prefixes)
        assert not fakes.luhn_ok(re.sub(r"[ -]", "", fakes.decoy_card(rng)))
        iban, _ = fakes.iban(rng)
        assert fakes.iban_ok(iban)
        assert not fakes.iban_ok(fakes.decoy_iban(rng))
        phone, region = fakes.phone(rng)
        assert fakes.phone_ok(phone, region)
        assert not fakes.phone_ok(fakes.decoy_phone(rng))
        assert not fakes.luhn_ok(fakes.epoch_ms(rng))
        assert not fakes.luhn_ok(fakes.safe_digits(rng, 16))
        assert "@example." not in fakes.email(rng)


# The published shapes (notes/secrets.md); the fakes must match them exactly.
SHAPES = {
    "openai_project": r"sk-proj-[A-Za-z0-9_-]{58,74}T3BlbkFJ[A-Za-z0-9_-]{58,74}",
    "openai_svcacct": r"sk-svcacct-[A-Za-z0-9_-]{58,74}T3BlbkFJ[A-Za-z0-9_-]{58,74}",
    "openai_admin": r"sk-admin-[A-Za-z0-9_-]{58,74}T3BlbkFJ[A-Za-z0-9_-]{58,74}",
    "openai_legacy": r"sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}",
    "anthropic": r"sk-ant-(?:api03|admin01)-[\w-]{93}AA",
    "deepseek": r"sk-[a-f0-9]{32}",
    "google_ai": r"AIza[\w-]{35}",
    "huggingface": r"(?:hf_|api_org_)[A-Za-z]{34}",
    "groq": r"gsk_[A-Za-z0-9]{52}",
    "xai": r"xai-[0-9A-Za-z_]{80}",
    "replicate": r"r8_[0-9A-Za-z_-]{37}",
    "perplexity": r"pplx-[A-Za-z0-9]{48}",
    "openrouter": r"sk-or-v1-[0-9a-f]{64}",
    "cohere": r"[A-Za-z0-9]{40}",
    "mistral": r"[A-Za-z0-9]{32}",
    "azure_openai": r"[0-9a-f]{32}",
    "aws_key_id": r"(?:AKIA|ASIA)[A-Z2-7]{16}",
    "github": r"(?:(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})",
    "gitlab": r"glpat-[A-Za-z0-9_-]{20}",
    "slack": r"xox[baprs]-[0-9]{10,13}-[0-9]{10,13}[A-Za-z0-9-]*",
    "stripe": r"(?:sk|rk)_(?:test|live|prod)_[A-Za-z0-9]{10,99}",
    "sendgrid": r"SG\.[\w-]{22}\.[\w-]{43}",
    "telegram": r"[0-9]{8,10}:AA[\w-]{33}",
}


@pytest.mark.parametrize("provider", fakes.SECRET_PROVIDERS, ids=lambda p: p.kind)
def test_fake_keys_have_the_published_shape(provider: fakes.SecretProvider) -> None:
    rng = random.Random(provider.kind)
    for _ in range(30):
        token = provider.make(rng)
        assert re.fullmatch(SHAPES[provider.kind], token), token[:12]
        assert token not in fakes.EXAMPLE_KEYS


@pytest.mark.parametrize("style", STYLES)
def test_output_does_not_depend_on_the_hash_seed(style: str, tmp_path: Path) -> None:
    outs = []
    for hashseed in ("1", "2"):
        out, lab = tmp_path / f"c{hashseed}.log", tmp_path / f"l{hashseed}.jsonl"
        cmd = [
            sys.executable,
            "-m",
            "benchmarks.classify.corpus",
            "--lines",
            "150",
            "--seed",
            "2",
            "--style",
            style,
            "--out",
            str(out),
            "--labels",
            str(lab),
        ]
        env = dict(os.environ, PYTHONHASHSEED=hashseed)
        subprocess.run(cmd, check=True, env=env, cwd=ROOT, capture_output=True)
        outs.append(out.read_bytes() + lab.read_bytes())
    assert outs[0] == outs[1]


def test_cli_writes_text_and_labels_line_for_line(tmp_path: Path) -> None:
    out, lab = tmp_path / "c.log", tmp_path / "l.jsonl"
    assert main(["--lines", "200", "--seed", "3", "--out", str(out), "--labels", str(lab)]) == 0
    text = out.read_text(encoding="utf-8").split("\n")
    labels = [json.loads(x) for x in lab.read_text(encoding="utf-8").splitlines()]
    assert text[-1] == "" and len(text) - 1 == len(labels) == 200
    assert [x["line"] for x in labels] == list(range(1, 201))
    assert all(set(x["labels"]) <= {"secret", "pii", "chat", "infrastructure"} for x in labels)


def test_scoring_counts_lines_not_findings() -> None:
    labels = [
        {
            "line": 1,
            "labels": ["secret"],
            "family": "f",
            "kinds": ["secret.x"],
            "decoys": [],
            "unscored": [],
        },
        {
            "line": 2,
            "labels": [],
            "family": "f",
            "kinds": [],
            "decoys": ["uuid"],
            "unscored": [],
        },
        {
            "line": 3,
            "labels": ["secret"],
            "family": "f",
            "kinds": ["secret.y"],
            "decoys": [],
            "unscored": [],
        },
        {"line": 4, "labels": [], "family": "g", "kinds": [], "decoys": [], "unscored": ["secret"]},
    ]
    out = "\n".join(
        json.dumps(
            {
                "path": "c.log",
                "line": ln,
                "start": 0,
                "end": 3,
                "category": "secret",
                "rule": r,
                "redacted": "abc…#123456",
            }
        )
        for ln, r in [(1, "a"), (1, "b"), (2, "c"), (4, "d")]
    )
    run = parse_leakmap_jsonl(out + "\nnot json\n")
    assert run.malformed == 1 and run.findings == 4
    s, fps, fns = score(labels, run, "secret")
    assert (s.tp, s.fp, s.fn, s.tn) == (1, 1, 1, 0)
    assert s.precision == 0.5 and s.recall == 0.5
    assert list(fps) == ["f [clean] rule=c decoys=uuid"] and list(fns) == ["f: secret.y"]


def test_raw_value_in_redacted_is_counted_as_a_leak() -> None:
    lines = ["token=abcdefghijklmnopqrstuvwxyz0123 end"]
    good = {
        "line": 1,
        "start": 6,
        "end": 32,
        "category": "secret",
        "rule": "r",
        "redacted": "abcd…#0f0f0f",
        "path": "x",
    }
    bad = dict(good, redacted="abcdefghijklmnopqrstuvwxyz0123")
    assert parse_leakmap_jsonl(json.dumps(good), lines).raw_leaks == 0
    assert parse_leakmap_jsonl(json.dumps(bad), lines).raw_leaks == 1


def test_detect_secrets_results_are_secret_findings_per_line() -> None:
    data = {
        "results": {
            "c.log": [
                {"type": "Hex High Entropy String", "line_number": 4, "hashed_secret": "x"},
                {"type": "JSON Web Token", "line_number": 4, "hashed_secret": "y"},
                {"type": "AWS Access Key", "line_number": 9, "hashed_secret": "z"},
            ]
        }
    }
    run = parse_detect_secrets(json.dumps(data))
    assert isinstance(run, Run) and run.findings == 3
    assert sorted(run.predicted) == [4, 9]
    assert run.predicted[4]["secret"] == {"HexHighEntropyString", "JSONWebToken"}


_FAKE_LEAKMAP = """
import sys
from pathlib import Path
counter = Path(sys.argv[1])
n = int(counter.read_text()) if counter.exists() else 0
counter.write_text(str(n + 1))
line = '{"path": "c", "line": 1, "start": 0, "end": 3, "category": "pii", "rule": "r", '
line += '"redacted": "x…#000000"}'
print(line if n == 0 or sys.argv[2] == "same" else line.replace('"line": 1', '"line": 2'))
sys.exit(1)
"""


@pytest.mark.parametrize("mode", ["same", "drift"])
def test_leakmap_runs_repeat_and_must_agree(tmp_path: Path, mode: str) -> None:
    script = tmp_path / "fake_leakmap.py"
    script.write_text(_FAKE_LEAKMAP, encoding="utf-8")
    corpus = tmp_path / "c"
    corpus.write_text("abc\n", encoding="utf-8")
    cmd = [sys.executable, str(script), str(tmp_path / "count"), mode, "--"]
    run = run_leakmap(corpus, ["abc"], cmd, timeout=60, repeat=3)
    assert (tmp_path / "count").read_text() == ("3" if mode == "same" else "2")
    if mode == "same":
        assert run.ok and run.findings == 1 and run.seconds > 0
    else:
        assert not run.ok and run.error == "output differs between runs"
