"""Every rule has fixtures; each positive fixture is reported with the exact rule id and
span, and each negative fixture is not reported by that rule."""

from __future__ import annotations

import dataclasses
import random
import subprocess
import sys
import zlib
from typing import Any

import pytest

from leakmap.classify import Classifier
from leakmap.classify.rules import Rule, builtin_rules

from .classify_fakes import load_fixtures, render

FIXTURES = load_fixtures()
RULE_IDS = [r.id for r in builtin_rules(trusted=False)]


def _cases(kind: str) -> list[Any]:
    return [
        pytest.param(rule_id, i, template, id=f"{rule_id}-{i}")
        for rule_id, fx in FIXTURES.items()
        for i, template in enumerate(fx.get(kind, []))
    ]


def _rng(rule_id: str, i: int, kind: str) -> random.Random:
    return random.Random(zlib.crc32(f"{kind}:{rule_id}:{i}".encode()))


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier.load()


def test_builtin_rules_validate_fully_and_match_the_fast_load() -> None:
    assert builtin_rules(trusted=False) == builtin_rules(trusted=True)


def test_rule_and_schema_have_the_same_fields_and_defaults() -> None:
    from leakmap.classify._schema import RuleSchema

    plain = {
        f.name: (f.default is dataclasses.MISSING, f.default) for f in dataclasses.fields(Rule)
    }
    schema = {
        name: (info.is_required(), None if info.is_required() else info.default)
        for name, info in RuleSchema.model_fields.items()
    }
    plain = {k: (req, None if req else d) for k, (req, d) in plain.items()}
    assert plain == schema


def test_loading_the_shipped_rules_does_not_import_pydantic() -> None:
    code = (
        "import sys; from leakmap.classify import Classifier; Classifier.load(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pydantic'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_at_least_sixty_secret_rules_and_all_categories() -> None:
    categories = [r.category.value for r in builtin_rules()]
    assert categories.count("secret") >= 60
    assert {"secret", "pii", "chat", "infrastructure"} <= set(categories)


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_every_rule_has_positive_and_negative_fixtures(rule_id: str) -> None:
    fx = FIXTURES.get(rule_id)
    assert fx is not None, f"no fixtures for {rule_id}"
    assert fx.get("positive"), f"no positive fixture for {rule_id}"
    assert fx.get("negative"), f"no negative fixture for {rule_id}"


def test_no_fixtures_for_unknown_rules() -> None:
    assert set(FIXTURES) <= set(RULE_IDS)


@pytest.mark.parametrize(("rule_id", "i", "template"), _cases("positive"))
def test_positive(clf: Classifier, rule_id: str, i: int, template: str) -> None:
    rendered = render(template, _rng(rule_id, i, "positive"))
    assert rendered.span is not None, "a positive fixture marks its span with «»"
    found = [(m.rule, m.start, m.end) for m in clf.scan(rendered.text)]
    assert (rule_id, *rendered.span) in found, (
        f"{rule_id} should report {rendered.span} in {rendered.text!r}; got {found}"
    )


@pytest.mark.parametrize(("rule_id", "i", "template"), _cases("negative"))
def test_negative(clf: Classifier, rule_id: str, i: int, template: str) -> None:
    rendered = render(template, _rng(rule_id, i, "negative"))
    found = [(m.rule, m.start, m.end) for m in clf.scan(rendered.text) if m.rule == rule_id]
    assert not found, f"{rule_id} must not report anything in {rendered.text!r}"


@pytest.mark.parametrize(("rule_id", "i", "template"), _cases("positive"))
def test_positive_alone_in_a_batch(clf: Classifier, rule_id: str, i: int, template: str) -> None:
    """scan_many gives each text the same findings as scan, offsets relative to the text."""
    rendered = render(template, _rng(rule_id, i, "positive"))
    texts = ["nothing here", rendered.text, "", "still nothing"]
    batch = clf.scan_many(texts)
    assert [[(m.rule, m.start, m.end) for m in ms] for ms in batch] == [
        [(m.rule, m.start, m.end) for m in clf.scan(t)] for t in texts
    ]


_PREFIX = {"secret": "secret.", "pii": "pii.", "chat": "chat.", "infrastructure": "infra."}


@pytest.mark.parametrize("rule", builtin_rules(trusted=False), ids=lambda r: r.id)
def test_rule_id_names_its_category(rule: Any) -> None:
    assert rule.id.startswith(_PREFIX[rule.category.value])
