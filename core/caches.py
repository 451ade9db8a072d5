"""Caches that save Intercom calls (tag ids, contact enrichment), shared by a fleet when it can be.

With ``[jobs] backend = "redis"`` the cache lives in Redis, so a process that starts finds what
the others already fetched; otherwise each process keeps its own, in memory. Either way nothing
cached reaches a disk deskmate writes: contact attributes are personal data, kept only for their
time to live, in memory (Redis's own persistence is the operator's choice: see docs/scaling.md).
Values are JSON (strings, numbers, lists, mappings).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Protocol

__all__ = ["Cache", "MemoryCache", "RedisCache", "cache", "use_cache"]

KEY_PREFIX = "deskmate:cache:"
MAX_ENTRIES = 20_000


class Cache(Protocol):
    """A key-value cache whose entries expire ``ttl`` seconds after they are put."""

    def get(self, key: str) -> Any | None: ...
    def put(self, key: str, value: Any, ttl: float) -> None: ...
    def clear(self) -> None: ...


class MemoryCache:
    """This process's cache: bounded to :data:`MAX_ENTRIES`, the oldest put going first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, Any]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> Any | None:
        with self._lock:
            found = self._entries.get(key)
        if found is None or time.monotonic() >= found[0]:
            return None
        return found[1]

    def put(self, key: str, value: Any, ttl: float) -> None:
        if ttl <= 0:
            return
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = (time.monotonic() + ttl, value)
            while len(self._entries) > MAX_ENTRIES:
                del self._entries[next(iter(self._entries))]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class RedisCache:
    """A cache in Redis, seen by every process on the same server; Redis expires the entries."""

    def __init__(self, client: Any) -> None:
        self.redis = client

    def get(self, key: str) -> Any | None:
        raw = self.redis.get(KEY_PREFIX + key)
        return None if raw is None else json.loads(raw)

    def put(self, key: str, value: Any, ttl: float) -> None:
        if ttl > 0:
            self.redis.set(KEY_PREFIX + key, json.dumps(value), px=max(1, int(ttl * 1000)))

    def clear(self) -> None:
        for key in self.redis.scan_iter(match=f"{KEY_PREFIX}*", count=500):
            self.redis.delete(key)


_current: Cache = MemoryCache()


def cache() -> Cache:
    """This process's cache (memory until :func:`use_cache`)."""
    return _current


def use_cache(new: Cache) -> None:
    """Cache in ``new`` from now on."""
    global _current
    _current = new
