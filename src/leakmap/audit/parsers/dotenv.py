"""``.env`` files (``.env``, ``.env.*``, ``*.env``), parsed by python-dotenv with the line
of every variable; a line python-dotenv cannot parse is an error naming that line."""

from __future__ import annotations

import io
from pathlib import Path

from dotenv.parser import parse_stream

from leakmap.audit.deploy import DeployDoc, EnvVar
from leakmap.audit.model import ParseError
from leakmap.audit.parsers.common import read_text

__all__ = ["NAME", "parse", "takes"]

NAME = "dotenv"


def takes(path: Path, head: str) -> bool:
    name = path.name.lower()
    return name == ".env" or name.startswith(".env.") or name.endswith(".env")


def parse(path: Path, display: str) -> DeployDoc:
    doc = DeployDoc(kind=NAME)
    for binding in parse_stream(io.StringIO(read_text(path))):
        if binding.error:
            raise ParseError("not a KEY=VALUE line", binding.original.line)
        if binding.key is not None:
            doc.env[binding.key] = EnvVar(binding.value, binding.original.line)
    return doc
