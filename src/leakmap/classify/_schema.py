"""The rule-file schema as pydantic models: what ``--rules FILE`` and the test-suite
validate against. Imported only to validate a file: the shipped rules, checked in full by the
tests, load straight into :class:`~leakmap.classify.rules.Rule` without it (start-up time).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from leakmap.categories import DataCategory
from leakmap.classify.rules import Rule, lowered, lowered_literals

__all__ = ["RuleFile", "RuleSchema", "short_error"]

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*(?:\.[a-z0-9][a-z0-9_-]*)+$")


class RuleSchema(BaseModel):
    """One detection rule as written in a file (fields: :mod:`leakmap.classify.rules`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    category: DataCategory
    description: str
    keywords: tuple[str, ...] = ()
    shapes: tuple[str, ...] = ()
    keyword_case: Literal["any", "upper"] = "any"
    anchor: bool = False
    regex: str
    secret_group: int | str = 0
    ignore_case: bool = False
    min_entropy: float | None = Field(default=None, ge=0.0, le=8.0)
    validator: str | None = None
    requires: tuple[str, ...] = ()
    exclude_before: tuple[str, ...] = ()
    requires_window: int = Field(default=512, ge=0, le=65536)
    allowlist: tuple[str, ...] = ()
    stopwords: tuple[str, ...] = ()
    placeholder_filter: bool = True
    names_filter: (
        Literal["identifier", "generic", "generic_password", "code", "dsn", "url", "basic", "pem"]
        | None
    ) = None
    window: int = Field(default=384, ge=0, le=65536)
    window_before: int | None = Field(default=None, ge=0, le=65536)
    back: str | None = None
    priority: int = 50
    confidence: Literal["high", "medium", "low"] = "high"
    severity: Literal["critical", "high", "medium", "low", "info"] = "high"
    keep_prefix: int | None = Field(default=None, ge=0, le=16)
    references: tuple[str, ...] = ()

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"rule id {value!r} must look like 'category.provider.kind'")
        return value

    @field_validator("keywords")
    @classmethod
    def _lower_keywords(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not k for k in value):
            raise ValueError("empty keyword")
        for k in value:
            if "#" in k and any("0" <= ch <= "9" for ch in k[k.index("#") :]):
                raise ValueError(f"keyword {k!r}: a literal digit may not follow '#'")
        return lowered_literals(value)

    @field_validator("shapes")
    @classmethod
    def _check_shapes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not k or any(ch in "123456789" for ch in k) for k in value):
            raise ValueError("a shape is non-empty and writes every digit as 0")
        return lowered_literals(value)

    @field_validator("stopwords")
    @classmethod
    def _lower_stopwords(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return lowered(value)

    @field_validator("regex")
    @classmethod
    def _check_regex(cls, value: str) -> str:
        _compile(value, "regex")
        return value

    @field_validator("back")
    @classmethod
    def _check_back(cls, value: str | None) -> str | None:
        if value is not None:
            _compile(value, "back")
            if re.fullmatch(value, "") is not None or re.fullmatch(value, "ab") is not None:
                raise ValueError("back is one character class, such as '[a-z0-9.-]'")
        return value

    @field_validator("requires", "allowlist", "exclude_before")
    @classmethod
    def _check_regexes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            _compile(item, "pattern")
        return value

    @model_validator(mode="after")
    def _check_group_and_validator(self) -> RuleSchema:
        if self.anchor and not (self.keywords or self.shapes):
            raise ValueError("anchor: true needs keywords or shapes")
        if self.back is not None and (self.anchor or not (self.keywords or self.shapes)):
            raise ValueError("back is for window rules (anchor: false) with keywords or shapes")
        compiled = re.compile(self.regex)
        group = self.secret_group
        if isinstance(group, int):
            if group > compiled.groups:
                raise ValueError(f"secret_group {group} > number of groups {compiled.groups}")
        elif group not in compiled.groupindex:
            raise ValueError(f"secret_group {group!r} is not a named group of the regex")
        if self.validator is not None:
            from leakmap.classify.validators import VALIDATORS

            if self.validator not in VALIDATORS:
                known = ", ".join(sorted(VALIDATORS))
                raise ValueError(f"unknown validator {self.validator!r} (known: {known})")
        return self


class RuleFile(BaseModel):
    """The top level of a rule file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: tuple[RuleSchema, ...]

    def to_rules(self) -> tuple[Rule, ...]:
        """The validated rules as the engine's :class:`Rule` objects."""
        return tuple(Rule(**dict(r)) for r in self.rules)


def _compile(pattern: str, what: str) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"bad {what}: {exc}") from None


def short_error(exc: ValidationError) -> str:
    """The first error of ``exc`` on one line: ``rules.3.regex: bad regex: ...``."""
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first.get("loc", ()))
    msg = str(first.get("msg", "invalid"))
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{loc}: {msg}{more}"
