r"""Detection rules as data: the YAML schema, its pydantic model and the loader.

A rule file is a YAML document ``{"rules": [RULE, ...]}``; each rule::

    id: secret.openai.project-key      # stable id: <category>.<provider>.<kind>
    category: secret                   # secret | pii | chat | infrastructure
    description: OpenAI project API key
    keywords: [sk-proj-]               # Aho-Corasick literals, matched case-insensitively;
                                       # '#' stands for any digit, after the last literal
                                       # digit only ('10.##.' hits 10.20. but not 10.5)
    shapes: ['000-00-0000']            # literals where 0 stands for any digit, matched on the
                                       # lower-cased text with every ASCII digit turned into 0
                                       # (for number formats without a literal); a rule with
                                       # neither keywords nor shapes runs on the whole text
    keyword_case: upper                # only hits written in upper case in the text count
    anchor: true                       # the match starts exactly where a keyword starts:
                                       # one anchored regex match per hit, no window search
    regex: 'sk-proj-[A-Za-z0-9_-]{58,74}T3BlbkFJ[A-Za-z0-9_-]{58,74}'
    secret_group: 0                    # group (number or name) holding the value; 0 = whole match;
                                       # named groups <name>_a, <name>_b ... are alternatives
                                       # (the first that took part in the match holds the value)
    ignore_case: false
    min_entropy: 3.5                   # minimum Shannon entropy (bits/char) of the value
    validator: luhn                    # a function in validators.py (see VALIDATORS)
    requires: ['"completion"\s*:']     # regexes that must all occur near the value too:
    requires_window: 512               # within this many characters before or after it
    exclude_before: ['://$']           # regexes (end with $) tested on the 128 characters
                                       # before the value: a match drops the candidate
    allowlist: ['EXAMPLE$']            # regexes: a value matching one is not a finding
    stopwords: [example]               # lower-case substrings: a value containing one is dropped
    placeholder_filter: true           # secrets: drop templates and masks (is_placeholder)
    window: 512                        # characters searched after a hit (and before it,
    window_before: 16                  # unless window_before says otherwise)
    priority: 50                       # overlap winner within a category (higher = more specific)
    confidence: high                   # high | medium | low
    severity: critical                 # hint for reports
    keep_prefix: 8                     # characters of the value kept in the redacted form
    references: [https://...]

Users add files with the same schema (``--rules FILE``); a file that does not parse or
validate raises :class:`~leakmap.errors.RuleFileError` with a one-line message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from leakmap.categories import DataCategory
from leakmap.errors import RuleFileError

__all__ = [
    "BUILTIN_RULE_FILES",
    "Rule",
    "RuleFile",
    "builtin_rules",
    "check_unique",
    "load_rule_file",
]

#: The rule files shipped in the package (classify/rules/*.yaml), in load order.
BUILTIN_RULE_FILES = ("secrets.yaml", "pii.yaml", "chat.yaml", "infrastructure.yaml")

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*(?:\.[a-z0-9][a-z0-9_-]*)+$")


class Rule(BaseModel):
    """One detection rule (see the module docstring for the fields)."""

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
    window: int = Field(default=384, ge=0, le=65536)
    window_before: int | None = Field(default=None, ge=0, le=65536)
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
        return tuple(dict.fromkeys(k.lower() for k in value))

    @field_validator("shapes")
    @classmethod
    def _check_shapes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not k or any(ch in "123456789" for ch in k) for k in value):
            raise ValueError("a shape is non-empty and writes every digit as 0")
        return tuple(dict.fromkeys(k.lower() for k in value))

    @field_validator("stopwords")
    @classmethod
    def _lower_stopwords(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(k.lower() for k in value)

    @field_validator("regex")
    @classmethod
    def _check_regex(cls, value: str, info: ValidationInfo) -> str:
        if not _trusted(info):
            _compile(value, "regex")
        return value

    @field_validator("requires", "allowlist", "exclude_before")
    @classmethod
    def _check_regexes(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        if not _trusted(info):
            for item in value:
                _compile(item, "pattern")
        return value

    @model_validator(mode="after")
    def _check_group_and_validator(self, info: ValidationInfo) -> Rule:
        if self.anchor and not (self.keywords or self.shapes):
            raise ValueError("anchor: true needs keywords or shapes")
        if _trusted(info):
            return self  # the shipped rules: compiled and checked by the test-suite
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

    rules: tuple[Rule, ...]


def _trusted(info: ValidationInfo) -> bool:
    """The shipped rule files skip regex compilation at load time (the engine compiles
    lazily); tests validate them in full."""
    return isinstance(info.context, dict) and bool(info.context.get("trusted"))


def _compile(pattern: str, what: str) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"bad {what}: {exc}") from None


def _short(exc: ValidationError) -> str:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first.get("loc", ()))
    msg = str(first.get("msg", "invalid"))
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{loc}: {msg}{more}"


def _parse(text: str, source: str, trusted: bool = False) -> tuple[Rule, ...]:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise RuleFileError(f"rule file {source}:{where} not valid YAML") from None
    if not isinstance(data, dict):
        raise RuleFileError(f"rule file {source}: expected a mapping with a 'rules' list")
    try:
        parsed = RuleFile.model_validate(data, context={"trusted": trusted})
    except ValidationError as exc:
        raise RuleFileError(f"rule file {source}: {_short(exc)}") from None
    return parsed.rules


def load_rule_file(path: Path) -> tuple[Rule, ...]:
    """Load and validate one user rule file; :class:`RuleFileError` on any problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise RuleFileError(f"rule file {path}: cannot read ({reason})") from None
    return _parse(text, str(path))


def builtin_rules(
    names: Iterable[str] = BUILTIN_RULE_FILES, *, trusted: bool = True
) -> tuple[Rule, ...]:
    """The rules shipped in the package. ``trusted`` skips compiling their regexes here
    (the test-suite loads them with ``trusted=False``)."""
    base = resources.files("leakmap.classify").joinpath("rules")
    out: list[Rule] = []
    for name in names:
        out.extend(_parse(base.joinpath(name).read_text(encoding="utf-8"), name, trusted))
    return tuple(out)


def check_unique(rules: Sequence[Rule]) -> None:
    """Raise :class:`RuleFileError` when two rules share an id."""
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise RuleFileError(f"duplicate rule id {rule.id!r}")
        seen.add(rule.id)
