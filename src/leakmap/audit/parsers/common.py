"""Helpers shared by the parsers: bounded reading, YAML values with lines."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from leakmap.audit.deploy import EnvVar
from leakmap.audit.model import ParseError
from leakmap.audit.parsers.yamlsource import LineDict, LineList

__all__ = ["MAX_BYTES", "command_words", "env_of", "line_of", "read_text"]

MAX_BYTES = 8 * 1024 * 1024


def read_text(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ParseError(f"cannot read ({exc.strerror or type(exc).__name__})") from None
    if len(raw) > MAX_BYTES:
        raise ParseError(f"larger than {MAX_BYTES // (1024 * 1024)} MiB")
    if b"\x00" in raw:
        raise ParseError("binary data, not text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ParseError("not UTF-8 text") from None


def line_of(mapping: Any, key: str, default: int = 1) -> int:
    if isinstance(mapping, LineDict):
        return mapping.lines.get(key, mapping.line or default)
    return default


def command_words(value: Any) -> list[str]:
    """A command as words: a list as is, a string split like a shell would."""
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError:
            return value.split()
    return []


def env_of(value: Any, base_line: int) -> dict[str, EnvVar]:
    """Environment from a compose mapping or list (``KEY=VALUE``) or a Kubernetes env list
    (``{name, value}`` / ``{name, valueFrom}``: the latter is unknown, never empty)."""
    out: dict[str, EnvVar] = {}
    if isinstance(value, LineDict):
        for key, val in value.items():
            line = value.lines.get(key, base_line)
            out[str(key)] = EnvVar("" if val is None else str(val), line)
    elif isinstance(value, LineList):
        for item, line in zip(value, value.item_lines, strict=False):
            if isinstance(item, str):
                key, sep, val = item.partition("=")
                out[key] = EnvVar(val if sep else None, line)
            elif isinstance(item, LineDict) and "name" in item:
                if "value" in item:
                    val = item["value"]
                    out[str(item["name"])] = EnvVar("" if val is None else str(val), line)
                else:
                    out[str(item["name"])] = EnvVar(None, line)
    return out
