"""The provider rule files: no value reported twice, and the breadth floor of issue 13."""

from __future__ import annotations

import random
import zlib
from pathlib import Path

import pytest
import yaml

from leakmap.classify import Classifier

from .classify_fakes import render

# Both provider files' fixtures (providers_services.yaml, providers_platforms.yaml).
_PROVIDERS: dict[str, dict[str, list[str]]] = {
    rule_id: fx
    for path in sorted(Path(__file__).parent.glob("fixtures_providers_*.yaml"))
    for rule_id, fx in yaml.safe_load(path.read_text(encoding="utf-8")).items()
}


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier.load()


@pytest.mark.parametrize(
    ("rule_id", "i", "template"),
    [
        pytest.param(rule_id, i, t, id=f"{rule_id}-{i}")
        for rule_id, fx in _PROVIDERS.items()
        for i, t in enumerate(fx["positive"])
    ],
)
def test_a_provider_value_is_reported_once(
    clf: Classifier, rule_id: str, i: int, template: str
) -> None:
    """A provider rule that overlaps a generic one (a connection URL, an assignment, a JWT
    inside a URL) wins by priority: the marked value is one secret finding, the provider's."""
    rendered = render(template, random.Random(zlib.crc32(f"once:{rule_id}:{i}".encode())))
    assert rendered.span is not None
    start, end = rendered.span
    over = [
        m.rule
        for m in clf.scan(rendered.text)
        if m.category.value == "secret" and m.start < end and start < m.end
    ]
    assert over == [rule_id], f"{rendered.text!r}: {over}"


def test_at_least_300_distinct_providers_and_token_kinds(clf: Classifier) -> None:
    """Issue 13's breadth floor, counted on the loaded rules: the distinct second segments
    of the secret rule ids (``secret.<provider>.<kind>``)."""
    kinds = {r.id.split(".")[1] for r in clf.rules if r.category.value == "secret"}
    assert len(kinds) >= 300, f"{len(kinds)} providers and token kinds"
