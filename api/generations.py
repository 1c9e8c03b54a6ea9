"""Concurrent LLM generations (feedback, tutor turns), bounded in total and per key in each process.

A generation holds a slot from after the request's checks until the answer is complete or its client left;
beyond ``max_generations`` / ``max_generations_per_key`` a request gets 429 with ``Retry-After``. Why: a
student allowed 120 requests a minute could otherwise keep the CPU busy with answers nobody reads."""

from __future__ import annotations

import threading
from collections import Counter

from api.errors import RateLimited

# A generation takes seconds on CPU: try again after a few.
RETRY_AFTER_S = 5


class GenerationSlot:
    """One running generation; ``release`` is idempotent (the stream's end and its client leaving may both call it)."""

    def __init__(self, limiter: GenerationLimiter, key: str) -> None:
        self._limiter, self.key = limiter, key
        self._released = False

    def release(self) -> None:
        self._limiter._release(self)


class GenerationLimiter:
    def __init__(self, total: int, per_key: int) -> None:
        self.total, self.per_key = total, per_key
        self._running: Counter[str] = Counter()
        self._lock = threading.Lock()

    def acquire(self, key: str) -> GenerationSlot:
        with self._lock:
            if self._running[key] >= self.per_key:
                raise RateLimited(
                    f"this key already has {self.per_key} answers being written; wait for one to end",
                    retry_after_s=RETRY_AFTER_S,
                    detail={"limit": "max_generations_per_key"},
                )
            if sum(self._running.values()) >= self.total:
                raise RateLimited(
                    f"{self.total} answers are being written; try again shortly",
                    retry_after_s=RETRY_AFTER_S,
                    detail={"limit": "max_generations"},
                )
            self._running[key] += 1
        return GenerationSlot(self, key)

    def running(self, key: str | None = None) -> int:
        with self._lock:
            return sum(self._running.values()) if key is None else self._running[key]

    def _release(self, slot: GenerationSlot) -> None:
        with self._lock:
            if slot._released:
                return
            slot._released = True
            self._running[slot.key] -= 1
            if self._running[slot.key] <= 0:
                del self._running[slot.key]
