"""Where the sampling budget goes first: names that suggest leaks, then size.

Listing every resource is cheap; sampling is not. Every plugin lists all it can (up to
``config.max_resources``) and then samples at most ``config.max_sampled`` of them, in the order
of :func:`prioritise`: resources whose name suggests logs, chats, prompts, messages, sessions,
users, tokens, keys or credentials first, then the largest, then by name. What was not
sampled is reported with the reason (:data:`SAMPLING_BUDGET`, :data:`TIME_BUDGET`, ...).

Example::

    >>> names = ["analytics.page_views", "chatbot.log_stream", "app.api_keys", "tmp.x"]
    >>> prioritise(names, name=str, size=lambda n: {"analytics.page_views": 10**9}.get(n))
    ['app.api_keys', 'chatbot.log_stream', 'analytics.page_views', 'tmp.x']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TypeVar

from leakmap.services.common.budget import TIME_BUDGET

__all__ = [
    "ENGINE_NOT_READ",
    "LEAK_HINTS",
    "SAMPLING_BUDGET",
    "TIME_BUDGET",
    "leak_hint",
    "prioritise",
]

T = TypeVar("T")

#: name stems that suggest a leak (a word of the name starting with one of them matches)
LEAK_HINTS = (
    "log",
    "chat",
    "prompt",
    "message",
    "msg",
    "session",
    "user",
    "token",
    "key",
    "apikey",
    "credential",
    "cred",
    "secret",
    "password",
    "passwd",
    "auth",
    "conversation",
    "completion",
    "history",
)
SAMPLING_BUDGET = "sampling budget"
ENGINE_NOT_READ = "not read: would consume messages, contact other systems or run queries"

_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def leak_hint(name: str) -> str | None:
    """The first hint a word of ``name`` starts with (``chatbot.log_stream`` -> ``chat``)."""
    for word in _WORDS.findall(name):
        low = word.lower()
        for hint in LEAK_HINTS:
            if low.startswith(hint):
                return hint
    return None


def prioritise(
    items: Iterable[T], *, name: Callable[[T], str], size: Callable[[T], int | None]
) -> list[T]:
    """Leak-suggesting names first, then the largest, then by name (a stable order)."""
    return sorted(
        items,
        key=lambda item: (leak_hint(name(item)) is None, -(size(item) or 0), name(item)),
    )
