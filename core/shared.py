"""What every process of a deployment shares, and where it lives.

``deskmate serve`` and ``deskmate worker`` processes (on one machine or several) spend one
Intercom rate limit per workspace: the limiter's windows live in Redis when
``[jobs] backend = "redis"``, else in the database (PostgreSQL), else in ``ratelimit.db`` in the
instance folder (a SQLite store means one machine, whose processes share that folder already).
The caches that save Intercom calls (:mod:`deskmate.core.caches`) live in Redis too when it is
configured, else in each process's memory: never in the database.
"""

from __future__ import annotations

import threading

from sqlalchemy.engine import make_url

from deskmate.core.caches import MemoryCache, RedisCache, use_cache
from deskmate.core.config import Settings
from deskmate.core.intercom.ratelimit import limiters
from deskmate.core.intercom.windows import RedisWindows, SqlWindows, Windows
from deskmate.core.store.db import make_engine

RATELIMIT_FILE = "ratelimit.db"

_lock = threading.Lock()
_shared: tuple[str, Windows] | None = None  # where, and the windows handed to the limiters


def share_state(settings: Settings) -> None:
    """Point this process's rate limiters and caches at the stores every process of
    ``settings`` sees.

    Called by each part that talks to Intercom (engine, knowledge sync); a second call for the
    same place changes nothing, so limiters already handed out keep counting.
    """
    global _shared
    place = state_location(settings)
    with _lock:
        if _shared is not None and _shared[0] == place and limiters.windows is _shared[1]:
            return
        windows = windows_for(place)
        limiters.use(windows)
        use_cache(RedisCache(windows.redis) if isinstance(windows, RedisWindows) else MemoryCache())
        if _shared is not None:
            _shared[1].close()
        _shared = (place, windows)


def state_location(settings: Settings) -> str:
    """Where shared state lives for ``settings``: a Redis URL or a database URL."""
    if settings.jobs_backend == "redis":
        return str(settings.redis_url)
    url = settings.resolved_database_url()
    if make_url(url).get_backend_name() == "sqlite":
        return f"sqlite:///{settings.instance_path / RATELIMIT_FILE}"
    return url


def windows_for(place: str) -> Windows:
    """The rate limiter's windows at ``place`` (from :func:`state_location`)."""
    if place.startswith(("redis:", "rediss:", "unix:")):
        return RedisWindows(redis_client(place))
    return SqlWindows(make_engine(place))


def redis_client(url: str) -> object:
    """A Redis client for ``url``."""
    import redis  # only a Redis deployment needs the package

    return redis.Redis.from_url(url)


def forget() -> None:
    """Keep state in this process's memory again (tests)."""
    global _shared
    with _lock:
        limiters.clear()
        use_cache(MemoryCache())
        if _shared is not None:
            _shared[1].close()
        _shared = None
