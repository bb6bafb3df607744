"""The classifier: finds secrets, personal data, chat records and infrastructure details.

Public API::

    from leakmap.classify import Classifier, Match, redact
    clf = Classifier.load(extra_rule_files=[Path("my-rules.yaml")], disabled=["pii.phone"])
    for m in clf.scan(line):           # or clf.scan_many(cells) for many short values
        print(m.rule, m.category, m.start, m.end, m.redacted)   # never m.value

Rules are data (``classify/rules/*.yaml``, schema in :mod:`leakmap.classify.rules`).
"""

from __future__ import annotations

from leakmap.classify.engine import Classifier, Match
from leakmap.classify.redact import redact, value_hash
from leakmap.classify.rules import Rule

__all__ = ["Classifier", "Match", "Rule", "redact", "value_hash"]
