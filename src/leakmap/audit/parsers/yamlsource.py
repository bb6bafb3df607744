"""YAML with line numbers: mappings load as :class:`LineDict` (the 1-based line of each
key in ``.lines``), sequences as :class:`LineList` (``.line`` and ``.item_lines``).

Safe loading only (no tags that build objects); documents are bounded in size by the
caller and anchors/aliases are refused, so an alias bomb cannot blow up a walk.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from leakmap.audit.model import ParseError

__all__ = ["LineDict", "LineList", "load_all", "load_one"]


class LineDict(dict[Any, Any]):
    line: int = 0
    lines: dict[Any, int]


class LineList(list[Any]):
    line: int = 0
    item_lines: list[int]


class _Loader(yaml.SafeLoader):
    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise ParseError("YAML aliases are not accepted", event.start_mark.line + 1)
        return super().compose_node(parent, index)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            key = str(key)
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def _error(exc: yaml.YAMLError) -> ParseError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(exc, "problem", None) or type(exc).__name__
    return ParseError(f"not valid YAML ({problem})", line)


def load_all(text: str) -> Iterator[Any]:
    """Every document of a YAML stream. Raises ParseError."""
    try:
        yield from yaml.load_all(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise _error(exc) from None
    except RecursionError:
        raise ParseError("YAML nested too deeply", None) from None


def load_one(text: str) -> Any:
    docs = list(load_all(text))
    return docs[0] if docs else None
