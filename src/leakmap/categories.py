"""The four data categories the classifier reports (a leaf module: cheap to import)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["DataCategory"]


class DataCategory(StrEnum):
    SECRET = "secret"  # noqa: S105 - a category name, not a password
    PII = "pii"
    CHAT = "chat"
    INFRASTRUCTURE = "infrastructure"
