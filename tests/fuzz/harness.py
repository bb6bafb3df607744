"""Shared pieces of the fuzzers: one settings profile (a fixed budget) and fake streams.

Every fuzzer asserts one thing beyond "no crash": the parser raises only the errors it
documents (``ProbeError`` and its children for remote bytes, ``UsageError`` and its children
for user files, plus ``TimeoutError``/``OSError`` where a client documents them), never
``IndexError``, ``ValueError``, ``struct.error``, ``UnicodeDecodeError``, ``RecursionError`` or
``MemoryError``. A crash hypothesis finds is fixed and kept as an ``@example`` (a regression).

Budget: ``LEAKMAP_FUZZ_EXAMPLES`` examples per fuzzer (default 200; CI runs the default, about
a minute for the whole directory on 2 cores). Run longer locally with e.g.
``LEAKMAP_FUZZ_EXAMPLES=20000 pytest tests/fuzz -x``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from hypothesis import HealthCheck, settings

__all__ = ["FUZZ", "FakeWriter", "fake_opener", "run", "stream_of"]

T = TypeVar("T")

FUZZ = settings(
    max_examples=int(os.environ.get("LEAKMAP_FUZZ_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


def stream_of(data: bytes) -> asyncio.StreamReader:
    """A reader that holds ``data`` and then EOF (call inside a running loop)."""
    reader = asyncio.StreamReader(limit=1 << 16)
    reader.feed_data(data)
    reader.feed_eof()
    return reader


class FakeWriter:
    """Swallows what a client writes."""

    def __init__(self) -> None:
        self.written = bytearray()
        self._closed = False

    def write(self, data: bytes) -> None:
        self.written += data

    async def drain(self) -> None:
        return None

    def close(self) -> None:
        self._closed = True

    def is_closing(self) -> bool:
        return self._closed

    async def wait_closed(self) -> None:
        return None

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


def fake_opener(
    data: bytes,
) -> Callable[..., Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]:
    """A ``Network.tcp_opener`` whose every connection reads ``data`` then EOF."""

    async def opener(
        host: str, port: int, **kwargs: Any
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return stream_of(data), cast(asyncio.StreamWriter, FakeWriter())

    return opener
