"""Where the rate limiter's windows live, so that every process of a fleet counts the same calls.

* :class:`MemoryWindows`: this process's memory (one process, or tests);
* :class:`RedisWindows`: Redis, when ``[jobs] backend = "redis"`` (pyrate-limiter's
  :class:`RedisBucket`: one Lua script counts and records a call atomically);
* :class:`SqlWindows`: a SQL database, otherwise: PostgreSQL when the store is PostgreSQL, else
  ``ratelimit.db`` in the instance folder (beside the SQLite job queue every local process shares).

Each store hands out pyrate-limiter buckets (the same sliding-window log decides everywhere) that
can also count the calls admitted since a moment, and keeps a pause shared by every process
(after a 429, or when Intercom's headers say someone else spends the budget).

pyrate-limiter's own SQLite and PostgreSQL buckets are not used: the SQLite one checks and
records a call atomically across processes only with a file lock (the ``filelock`` package,
thread-local locks around one shared connection), and the PostgreSQL one needs ``psycopg_pool``
beside SQLAlchemy's pool and refuses a call whenever another process holds the table lock,
which would count a busy table as a full window and keep a fleet below its limit. The bucket
here runs its check and insert in one SQLAlchemy transaction that waits for the write lock
(SQLite's ``BEGIN IMMEDIATE``, a PostgreSQL advisory lock per key) instead.
"""

from __future__ import annotations

import threading
import zlib
from bisect import bisect_left
from collections.abc import Callable
from typing import Protocol

from pyrate_limiter import AbstractBucket, InMemoryBucket, Rate, RateItem, RedisBucket
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Float,
    Index,
    MetaData,
    String,
    Table,
    delete,
    func,
    select,
    text,
)

from deskmate.core.store.db import READ_ONLY

__all__ = [
    "CountingBucket",
    "MemoryWindows",
    "RedisWindows",
    "SqlWindows",
    "Windows",
]

KEY_PREFIX = "deskmate:ratelimit:"
PAUSE_PREFIX = "deskmate:ratepause:"
Clock = Callable[[], float]
"""Unix seconds now (the limiter's clock, injected by tests)."""


class CountingBucket(Protocol):
    """A pyrate-limiter bucket that also says how many calls it admitted since a moment."""

    def put(self, item: RateItem) -> bool: ...
    def leak(self, current_timestamp: int | None = None) -> int: ...
    def waiting(self, item: RateItem) -> int: ...
    def admitted_since(self, start_ms: int) -> int: ...


class Windows(Protocol):
    """Buckets and pauses, by key (a workspace's app id, or a share of it such as ``id:sync``)."""

    def bucket(self, key: str, rates: list[Rate], clock: Clock) -> CountingBucket: ...
    def paused_until(self, key: str) -> float: ...
    def pause(self, key: str, until: float) -> None: ...
    def close(self) -> None: ...


class _MemoryBucket(InMemoryBucket):
    def admitted_since(self, start_ms: int) -> int:
        items = self.items
        return len(items) - bisect_left(items, start_ms, key=lambda item: item.timestamp)


class MemoryWindows:
    """Windows in this process's memory: right for a single process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pauses: dict[str, float] = {}

    def bucket(self, key: str, rates: list[Rate], clock: Clock) -> CountingBucket:
        return _MemoryBucket(rates)

    def paused_until(self, key: str) -> float:
        with self._lock:
            return self._pauses.get(key, 0.0)

    def pause(self, key: str, until: float) -> None:
        with self._lock:
            self._pauses[key] = max(self._pauses.get(key, 0.0), until)

    def close(self) -> None:
        """Nothing to close: the windows live in this process."""


class _RedisBucket(RedisBucket):
    def admitted_since(self, start_ms: int) -> int:
        return int(self.redis.zcount(self.bucket_key, start_ms, "+inf"))


# Raise a key's pause to ARGV[1] unless it is already later; expire it with the pause.
_PAUSE_SCRIPT = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 0
"""


class RedisWindows:
    """Windows in Redis, seen by every process that uses the same server and database."""

    def __init__(self, client: object) -> None:
        self.redis = client
        self._pause = client.register_script(_PAUSE_SCRIPT)  # type: ignore[attr-defined]

    def bucket(self, key: str, rates: list[Rate], clock: Clock) -> CountingBucket:
        return _RedisBucket.init(rates, self.redis, f"{KEY_PREFIX}{key}")  # type: ignore[return-value]

    def close(self) -> None:
        """Close the client's connections (it opens them again if used)."""
        self.redis.close()  # type: ignore[attr-defined]

    def paused_until(self, key: str) -> float:
        value = self.redis.get(f"{PAUSE_PREFIX}{key}")  # type: ignore[attr-defined]
        return float(value) if value else 0.0

    def pause(self, key: str, until: float) -> None:
        # Kept an hour at most (Intercom's windows are a minute): a wrong clock can't stop the
        # fleet for good.
        self._pause(keys=[f"{PAUSE_PREFIX}{key}"], args=[repr(until), 3_600_000])


_metadata = MetaData()
rate_calls = Table(
    "deskmate_rate_calls",
    _metadata,
    Column("bucket", String(200), nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Index("ix_deskmate_rate_calls_bucket_at", "bucket", "at_ms"),
)
rate_pauses = Table(
    "deskmate_rate_pauses",
    _metadata,
    Column("bucket", String(200), primary_key=True),
    Column("until", Float, nullable=False),
)


def _serialise(conn: Connection, key: str) -> None:
    """Make this transaction the only one counting ``key``'s calls until it ends.

    SQLite's engines already began with ``BEGIN IMMEDIATE`` (the write lock); PostgreSQL takes a
    transaction-scoped advisory lock per key, so different workspaces don't wait for each other.
    """
    if conn.dialect.name == "postgresql":
        lock_id = zlib.crc32(f"{KEY_PREFIX}{key}".encode())
        conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})


class _SqlBucket(AbstractBucket):
    """A sliding-window log in a SQL table, one transaction per call: leak, count, decide, add.

    A call is dated when its transaction holds the lock, not when it asked: a call that waited
    for another process's transaction must not be filed before calls that went out meanwhile.
    """

    is_async = False

    def __init__(self, engine: Engine, key: str, rates: list[Rate], clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self.reader = engine.execution_options(**{READ_ONLY: True})
        self.key = key
        self.rates = rates
        self._mine = rate_calls.c.bucket == key

    def put(self, item: RateItem) -> bool:
        with self.engine.begin() as conn:
            _serialise(conn, self.key)
            item = RateItem(item.name, max(item.timestamp, int(self.clock() * 1000)), item.weight)
            bound = self._algorithm.leak_bound(self.rates, item.timestamp)
            conn.execute(delete(rate_calls).where(self._mine, rate_calls.c.at_ms < bound))
            counts = [
                self._since(conn, self._algorithm.window_start(rate, item.timestamp))
                for rate in self.rates
            ]
            decision = self._algorithm.decide(
                self.rates, counts, item.weight, item.timestamp, lambda at: self._nth(conn, at)
            )
            if not self._record(item, decision):
                return False
            conn.execute(rate_calls.insert(), [{"bucket": self.key, "at_ms": item.timestamp}])
            return True

    def _since(self, conn: Connection, start_ms: int) -> int:
        query = select(func.count()).where(self._mine, rate_calls.c.at_ms >= start_ms)
        return int(conn.execute(query).scalar_one())

    def _nth(self, conn: Connection, index: int) -> int | None:
        """The timestamp of the ``index``-th latest call (0 is the latest)."""
        query = select(rate_calls.c.at_ms).where(self._mine).order_by(rate_calls.c.at_ms.desc())
        return conn.execute(query.offset(index).limit(1)).scalar()

    def leak(self, current_timestamp: int | None = None) -> int:
        """Nothing to do: :meth:`put` drops the calls that left every window in its transaction."""
        return 0

    def admitted_since(self, start_ms: int) -> int:
        with self.reader.connect() as conn:
            return self._since(conn, start_ms)

    def flush(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(rate_calls).where(rate_calls.c.bucket == self.key))
        self.failing_rate = None

    def count(self) -> int:
        return self.admitted_since(0)

    def peek(self, index: int) -> RateItem | None:
        with self.reader.connect() as conn:
            found = self._nth(conn, index)
        return None if found is None else RateItem(self.key, found)


class SqlWindows:
    """Windows in a SQL database (its two tables are created on first use)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reader = engine.execution_options(**{READ_ONLY: True})
        with engine.begin() as conn:
            _serialise(conn, "schema")
            _metadata.create_all(conn, checkfirst=True)

    def bucket(self, key: str, rates: list[Rate], clock: Clock) -> CountingBucket:
        return _SqlBucket(self.engine, key, rates, clock)  # type: ignore[return-value]

    def close(self) -> None:
        """Close the pooled connections (a bucket still in use opens one again)."""
        self.engine.dispose()

    def paused_until(self, key: str) -> float:
        query = select(rate_pauses.c.until).where(rate_pauses.c.bucket == key)
        with self.reader.connect() as conn:
            return float(conn.execute(query).scalar() or 0.0)

    def pause(self, key: str, until: float) -> None:
        with self.engine.begin() as conn:
            _serialise(conn, key)
            current = conn.execute(
                select(rate_pauses.c.until).where(rate_pauses.c.bucket == key)
            ).scalar()
            if current is None:
                conn.execute(rate_pauses.insert(), [{"bucket": key, "until": until}])
            elif until > current:
                conn.execute(
                    rate_pauses.update().where(rate_pauses.c.bucket == key).values(until=until)
                )
