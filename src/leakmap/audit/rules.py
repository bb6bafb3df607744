"""The audit rule catalogue (``rules.yaml`` next to this module), validated on load."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from leakmap.findings import Severity

__all__ = ["RULES", "AuditRule", "load_rules"]


class AuditRule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    severity: Severity
    title: str
    remediation: str
    references: tuple[str, ...] = ()


@functools.cache
def load_rules() -> Mapping[str, AuditRule]:
    text = resources.files("leakmap.audit").joinpath("rules.yaml").read_text("utf-8")
    data: Any = yaml.safe_load(text)
    rules = [AuditRule.model_validate(r) for r in data["rules"]]
    return {r.id: r for r in rules}


class _Lazy(Mapping[str, AuditRule]):
    def __getitem__(self, key: str) -> AuditRule:
        return load_rules()[key]

    def __iter__(self) -> Any:
        return iter(load_rules())

    def __len__(self) -> int:
        return len(load_rules())


#: rule id -> metadata (loaded on first use)
RULES: Mapping[str, AuditRule] = _Lazy()
