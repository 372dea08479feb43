"""Rate limits for the public portal: fixed windows per API key or per client IP.

In-process by default; shared through Redis (``INCR`` + ``EXPIRE`` on a key per bucket and
window) when ``SHUDATA_REDIS_URL`` is set, so several workers or nodes count together. If
Redis cannot be reached the limiter falls back to counting in-process (and says so in the
decision), never letting an outage turn every request into a 500.

>>> lim = MemoryLimiter()
>>> [lim.hit("ip:1.2.3.4", 2, 60, now=100.0).allowed for _ in range(3)]
[True, True, False]
>>> lim.hit("ip:1.2.3.4", 2, 60, now=161.0).allowed  # the next window
True
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int  # seconds until the window ends
    backend: str
    count: int = 0  # requests in this window so far, this one included


class Limiter(Protocol):
    def hit(self, bucket: str, limit: int, window_s: int, now: float | None = None) -> Decision: ...


class MemoryLimiter:
    """Counters in this process (one per bucket and window), pruned as windows pass."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, int], int] = {}
        self._last_prune = 0

    def hit(self, bucket: str, limit: int, window_s: int, now: float | None = None) -> Decision:
        now = time.time() if now is None else now
        window = int(now // window_s)
        with self._lock:
            if window != self._last_prune:
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= window}
                self._last_prune = window
            n = self._counts.get((bucket, window), 0) + 1
            self._counts[(bucket, window)] = n
        reset = int((window + 1) * window_s - now) + 1
        return Decision(n <= limit, limit, max(0, limit - n), reset, "memory", n)


class RedisLimiter:
    """Counters in Redis: ``shudata:rl:<bucket>:<window>`` with an expiry of one window."""

    def __init__(self, url: str, client: Any | None = None) -> None:
        import redis

        self._redis = client or redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._fallback = MemoryLimiter()

    def hit(self, bucket: str, limit: int, window_s: int, now: float | None = None) -> Decision:
        now = time.time() if now is None else now
        window = int(now // window_s)
        key = f"shudata:rl:{bucket}:{window}"
        try:
            pipe = self._redis.pipeline(transaction=True)
            pipe.incr(key)
            pipe.expire(key, window_s + 1)
            n = int(pipe.execute()[0])
        except Exception as exc:  # Redis down: count locally rather than fail every request
            log.warning("rate limiter: Redis unavailable (%s); counting in-process", exc)
            d = self._fallback.hit(bucket, limit, window_s, now)
            return Decision(d.allowed, d.limit, d.remaining, d.reset_s, "memory-fallback", d.count)
        reset = int((window + 1) * window_s - now) + 1
        return Decision(n <= limit, limit, max(0, limit - n), reset, "redis", n)


def build(redis_url: str | None) -> Limiter:
    return RedisLimiter(redis_url) if redis_url else MemoryLimiter()
