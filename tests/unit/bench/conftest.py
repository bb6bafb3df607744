"""Make the repository root importable so tests can import the ``benchmarks`` package
(``python -m pytest`` adds it already; plain ``pytest`` does not)."""

from __future__ import annotations

import sys
from pathlib import Path

__all__: list[str] = []

_ROOT = str(Path(__file__).resolve().parents[3])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
