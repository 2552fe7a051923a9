"""Per-learner limit on tutor requests (MAX_AI_REQUESTS_PER_MINUTE), a sliding one-minute window.

With REDIS_URL the window is a Redis sorted set per learner, updated in one MULTI/EXEC, so every
sidecar process shares it; without it, an in-process window (the embedded default is one process).
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import deque
from typing import Any

from sidecar.errors import RateLimited

WINDOW_SECONDS = 60.0


class MemoryLimiter:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - WINDOW_SECONDS:
                hits.popleft()
            if len(hits) >= self.limit:
                raise _limited(hits[0] + WINDOW_SECONDS - now)
            hits.append(now)


class RedisLimiter:
    def __init__(self, limit: int, url: str) -> None:
        import redis

        self.limit = limit
        self.client: Any = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def hit(self, key: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        name = f"drona:ai-rate:{key}"
        member = f"{now:.6f}:{uuid.uuid4().hex[:8]}"
        pipe = self.client.pipeline(transaction=True)
        pipe.zremrangebyscore(name, 0, now - WINDOW_SECONDS)
        pipe.zadd(name, {member: now})
        pipe.zcard(name)
        pipe.zrange(name, 0, 0, withscores=True)
        pipe.expire(name, int(WINDOW_SECONDS) + 1)
        _, _, count, oldest, _ = pipe.execute()
        if count > self.limit:
            self.client.zrem(name, member)  # a refused request does not use up the window
            raise _limited(float(oldest[0][1]) + WINDOW_SECONDS - now if oldest else WINDOW_SECONDS)


def _limited(wait: float) -> RateLimited:
    seconds = max(1, math.ceil(wait))
    return RateLimited(f"You've asked the tutor a lot in the last minute. Try again in {seconds} s.", seconds)


_limiters: dict[tuple[int, str | None], Any] = {}
_lock = threading.Lock()


def get_limiter(limit: int, redis_url: str | None) -> MemoryLimiter | RedisLimiter:
    with _lock:
        key = (limit, redis_url)
        if key not in _limiters:
            _limiters[key] = RedisLimiter(limit, redis_url) if redis_url else MemoryLimiter(limit)
        limiter: MemoryLimiter | RedisLimiter = _limiters[key]
        return limiter
