"""One budget of new connections a second for a whole scan (``--rate N``).

:class:`RateLimiter` is a token bucket shared by the port scan (whose engine runs in its own
thread: :meth:`RateLimiter.take` is thread-safe) and the network layer that the service
plugins connect through (:meth:`RateLimiter.acquire` before every TCP connection and HTTP
request, which counts a reused HTTP connection too: the cap holds either way).
"""

from __future__ import annotations

import asyncio
import threading
import time

__all__ = ["RateLimiter"]


class RateLimiter:
    """A token bucket: at most ``rate`` starts a second, bursts of at most ``burst``."""

    def __init__(self, rate: float, burst: int | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(1, min(int(rate), 64)))
        self._tokens = self.burst
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def take(self, now: float | None = None) -> bool:
        """Take one token if there is one."""
        with self._lock:
            now = time.monotonic() if now is None else now
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False

    def wait_time(self) -> float:
        """Seconds until the next token."""
        return max(0.0, (1.0 - self._tokens) / self.rate)

    async def acquire(self) -> None:
        """Wait for a token (on the event loop)."""
        while not self.take():
            await asyncio.sleep(max(0.0005, self.wait_time()))
