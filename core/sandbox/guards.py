"""What stands in front of the sandbox's REST API: the rate limit, injected faults and the log
of calls received. All three share the state's lock."""

from __future__ import annotations

import fnmatch
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

WINDOW_SECONDS = 10
REQUEST_LOG_SIZE = 50_000


def window_limit(per_minute: int) -> int:
    """Calls allowed per 10-second window for a per-minute limit (1000/min → 167, as Intercom)."""
    return -(-per_minute * WINDOW_SECONDS // 60)


@dataclass(frozen=True)
class RateDecision:
    """The verdict on one call and the ``X-RateLimit-*`` headers to send with it."""

    allowed: bool
    limit: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


class RateLimiter:
    """``limit`` calls per 10-second window; a window opens with the first call after the last
    one ended, and ``X-RateLimit-Reset`` is the unix time it ends."""

    def __init__(
        self, limit: int, lock: threading.RLock, clock: Callable[[], float] = time.time
    ) -> None:
        self.limit = limit
        self._lock, self._clock = lock, clock
        self._window_end = 0.0
        self._used = 0

    def check(self) -> RateDecision:
        with self._lock:
            now = self._clock()
            if now >= self._window_end:
                self._window_end, self._used = now + WINDOW_SECONDS, 0
            allowed = self._used < self.limit
            self._used += allowed
            reset = int(self._window_end)
            return RateDecision(allowed, self.limit, self.limit - self._used, reset)


@dataclass(frozen=True)
class Fault:
    """Fail a share (``rate``) of the calls whose path matches one of ``paths`` (glob patterns;
    none = every path). ``status`` 0 or ``"timeout"`` means: wait ``latency_ms`` then answer
    normally (the call takes effect), so a client with a shorter timeout sees an ambiguous failure.
    Any other status: wait ``latency_ms``, then answer with that status and change nothing,
    with a ``Retry-After: retry_after`` header when one is given.

    With ``effect_first`` the call takes effect at once and only its answer waits: a write that
    has landed while its client still waits (and may be killed), or, with an error status, is
    told it failed (an ambiguous failure)."""

    status: int
    rate: float
    latency_ms: int = 0
    paths: tuple[str, ...] = ()
    retry_after: int | None = None
    effect_first: bool = False

    @property
    def is_timeout(self) -> bool:
        return self.status == 0

    def matches(self, path: str) -> bool:
        return not self.paths or any(fnmatch.fnmatchcase(path, p) for p in self.paths)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": "timeout" if self.is_timeout else self.status,
            "rate": self.rate,
            "latency_ms": self.latency_ms,
            "paths": list(self.paths),
            "retry_after": self.retry_after,
            "effect_first": self.effect_first,
        }


class FaultInjector:
    """The active faults; the first matching fault whose dice roll fires decides."""

    def __init__(self, lock: threading.RLock, seed: int = 0) -> None:
        self._lock = lock
        self._faults: list[Fault] = []
        self._rng = random.Random(seed)

    def add(self, fault: Fault, seed: int | None = None) -> None:
        with self._lock:
            self._faults.append(fault)
            if seed is not None:
                self._rng.seed(seed)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def active(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def roll(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(path) and self._rng.random() < fault.rate:
                    return fault
            return None


class RequestLog:
    """The REST calls received (method, path, query, status, time), newest last, bounded."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._entries: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)

    def add(self, method: str, path: str, query: str, status: int) -> None:
        entry = {"method": method, "path": path, "query": query, "status": status}
        entry["time"] = time.time()
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def take(self) -> list[dict[str, Any]]:
        """The calls received so far, forgotten in the same step (none slips in between)."""
        with self._lock:
            taken = list(self._entries)
            self._entries.clear()
            return taken
