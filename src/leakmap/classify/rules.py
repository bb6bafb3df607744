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
    names_filter: identifier           # drop values that name things instead of being
                                       # secrets: identifier | code | dsn | url | basic
                                       # (see leakmap.classify.names)
    window: 512                        # characters searched after a hit (and before it,
    window_before: 16                  # unless window_before says otherwise)
    back: '[A-Za-z0-9._%+-]'           # window rules whose match holds the keyword and
                                       # can only start where the run of these characters
                                       # before the keyword starts (the regex's look-behind
                                       # refuses them): one anchored match there, no window
    priority: 50                       # overlap winner within a category (higher = more specific)
    confidence: high                   # high | medium | low
    severity: critical                 # hint for reports
    keep_prefix: 8                     # characters of the value kept in the redacted form
    references: [https://...]

Users add files with the same schema (``--rules FILE``); a file that does not parse or
validate raises :class:`~leakmap.errors.RuleFileError` with a one-line message.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from leakmap.categories import DataCategory
from leakmap.errors import RuleFileError

__all__ = [
    "BUILTIN_RULE_FILES",
    "Rule",
    "builtin_rules",
    "check_unique",
    "load_rule_file",
]

#: The rule files shipped in the package (classify/rules/*.yaml), in load order.
BUILTIN_RULE_FILES = (
    "secrets.yaml",
    "providers.yaml",
    "providers_platforms.yaml",
    "providers_services.yaml",
    "pii.yaml",
    "chat.yaml",
    "infrastructure.yaml",
)


@dataclass(frozen=True, slots=True)
class Rule:
    """One detection rule (see the module docstring for the fields). Built from a file
    validated against :class:`leakmap.classify._schema.RuleSchema` (same fields, same
    defaults: a test holds them equal), or straight from the shipped files."""

    id: str
    category: DataCategory
    description: str
    regex: str
    keywords: tuple[str, ...] = ()
    shapes: tuple[str, ...] = ()
    keyword_case: Literal["any", "upper"] = "any"
    anchor: bool = False
    secret_group: int | str = 0
    ignore_case: bool = False
    min_entropy: float | None = None
    validator: str | None = None
    requires: tuple[str, ...] = ()
    exclude_before: tuple[str, ...] = ()
    requires_window: int = 512
    allowlist: tuple[str, ...] = ()
    stopwords: tuple[str, ...] = ()
    placeholder_filter: bool = True
    names_filter: Literal["identifier", "code", "dsn", "url", "basic"] | None = None
    window: int = 384
    window_before: int | None = None
    back: str | None = None
    priority: int = 50
    confidence: Literal["high", "medium", "low"] = "high"
    severity: Literal["critical", "high", "medium", "low", "info"] = "high"
    keep_prefix: int | None = None
    references: tuple[str, ...] = ()


def lowered_literals(values: Iterable[str]) -> tuple[str, ...]:
    """Keywords and shapes as the engine matches them: lower-cased, duplicates dropped."""
    return tuple(dict.fromkeys(k.lower() for k in values))


def lowered(values: Iterable[str]) -> tuple[str, ...]:
    """Stopwords as the engine compares them: lower-cased."""
    return tuple(k.lower() for k in values)


def _shipped_rule(raw: dict[str, Any]) -> Rule:
    """A shipped rule without the schema: the same normalisation as the schema's
    validators (lower-cased keywords, shapes and stopwords; tuples; the category enum)."""
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
    for name in ("keywords", "shapes"):
        if name in fields:
            fields[name] = lowered_literals(fields[name])
    if "stopwords" in fields:
        fields["stopwords"] = lowered(fields["stopwords"])
    if fields.get("min_entropy") is not None:
        fields["min_entropy"] = float(fields["min_entropy"])
    fields["category"] = DataCategory(fields["category"])
    return Rule(**fields)


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
    if trusted:
        return tuple(_shipped_rule(raw) for raw in data["rules"])
    from pydantic import ValidationError

    from leakmap.classify._schema import RuleFile, short_error

    try:
        parsed = RuleFile.model_validate(data)
    except ValidationError as exc:
        raise RuleFileError(f"rule file {source}: {short_error(exc)}") from None
    return parsed.to_rules()


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
    """The rules shipped in the package. ``trusted`` loads them without the schema (the
    test-suite loads them with ``trusted=False``: validated in full, regexes compiled)."""
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
