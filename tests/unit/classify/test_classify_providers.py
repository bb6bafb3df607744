"""The provider rule files: no value reported twice, and the breadth floor of issue 13."""

from __future__ import annotations

import random
import zlib
from pathlib import Path

import pytest
import yaml

from leakmap.classify import Classifier

from .classify_fakes import render

_SERVICES = yaml.safe_load(
    (Path(__file__).parent / "fixtures_providers_services.yaml").read_text(encoding="utf-8")
)


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier.load()


@pytest.mark.parametrize(
    ("rule_id", "i", "template"),
    [
        pytest.param(rule_id, i, t, id=f"{rule_id}-{i}")
        for rule_id, fx in _SERVICES.items()
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
