"""A per-workspace rate limiter shared by every thread, client and process of a deployment.

Intercom counts calls per app and per workspace per minute, enforced in 10-second windows
(a 1000/min limit allows 167 calls per 10 s). The limiter keeps deskmate at ``headroom`` (90 %
by default) of both windows, so the rest is left for retries, other apps and people using the
API by hand. When Intercom's ``X-RateLimit-Remaining`` says less is left than we think (another
process or app is spending the same budget), the limiter pauses until ``X-RateLimit-Reset``.

The window accounting is pyrate-limiter's sliding-window log, in a bucket kept where every
process of the deployment sees it (Redis, the database, or this process's memory: see
:mod:`deskmate.core.intercom.windows`), so three workers share one budget rather than each
spending it. A pause (after a 429, or when Intercom's counters say someone else spends the
budget) is kept there too, so every process waits. We call the bucket directly rather than
through ``pyrate_limiter.Limiter`` so that the clock and the sleep can be injected (tests never
wait for real) and the server's own counters can pause the limiter.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pyrate_limiter import Duration, Rate, RateItem

from deskmate.core.config import WorkspaceSettings
from deskmate.core.intercom.errors import RateLimited
from deskmate.core.intercom.windows import MemoryWindows, Windows

__all__ = [
    "DEFAULT_HEADROOM",
    "LimiterRegistry",
    "RateLimiter",
    "limiter_for",
    "limiters",
    "reset_time",
]

DEFAULT_HEADROOM = 0.95
WINDOWS_PER_MINUTE = 6
RESET_SLACK = 1.0
_WINDOW_MS = 10 * Duration.SECOND.value


@dataclass(frozen=True)
class _ServerWindow:
    """Intercom's own counters from the last response: calls left in the window, until when."""

    remaining: int
    limit: int
    reset_at: float


class RateLimiter:
    """Admits calls at most at ``headroom`` of ``per_minute``, in every 10-second window too.

    Thread-safe. ``acquire()`` blocks (with the injected ``sleep``) until a call may go out;
    ``observe()`` feeds back Intercom's rate-limit headers; ``share()`` derives a limiter that
    may use only a fraction of this one (a sync job must not starve live replies).

    Limiters with the same ``key`` on the same ``windows`` (a Redis server, a database) share
    one budget, whichever process they live in.
    """

    def __init__(
        self,
        per_minute: int,
        *,
        headroom: float = DEFAULT_HEADROOM,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        parent: RateLimiter | None = None,
        key: str = "intercom",
        windows: Windows | None = None,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        if not 0 < headroom <= 1:
            raise ValueError("headroom must be in (0, 1]")
        self.per_minute = per_minute
        self.headroom_fraction = headroom
        self.per_window = max(1, math.floor(per_minute * headroom / WINDOWS_PER_MINUTE))
        # Never more per minute than six full windows: pyrate-limiter (rightly) rejects a
        # minute rate denser than the window rate.
        self.per_minute_budget = max(
            1, min(math.floor(per_minute * headroom), WINDOWS_PER_MINUTE * self.per_window)
        )
        self.key = key
        self._clock = clock
        self._sleep = sleep
        self._parent = parent
        self._windows: Windows = windows if windows is not None else MemoryWindows()
        self._bucket = self._windows.bucket(key, self._rates(), clock)
        self._lock = threading.Lock()
        self._server: _ServerWindow | None = None

    def __repr__(self) -> str:
        return (
            f"RateLimiter(per_minute={self.per_minute}, per_10s={self.per_window}, "
            f"headroom={self.headroom_fraction})"
        )

    def _rates(self) -> list[Rate]:
        minute = Rate(self.per_minute_budget, Duration.MINUTE)
        if self.per_minute_budget <= self.per_window:  # tiny limits: the minute rate suffices
            self.per_window = self.per_minute_budget
            return [minute]
        return [Rate(self.per_window, _WINDOW_MS), minute]

    def acquire(self, max_wait: float | None = None) -> float:
        """Wait until one call may go out and count it; return the seconds waited.

        Raises :class:`RateLimited` (without waiting) when the wait would exceed ``max_wait``.
        """
        waited = 0.0
        while (delay := self._try_admit()) > 0:
            if max_wait is not None and waited + delay > max_wait:
                raise RateLimited(
                    f"local rate limit: next call allowed in {delay:.1f}s", retry_after=delay
                )
            self._sleep(delay)
            waited += delay
        if self._parent is not None:
            left = None if max_wait is None else max_wait - waited
            waited += self._parent.acquire(left)
        return waited

    def _try_admit(self) -> float:
        """0 when a call was admitted and counted, else the seconds to wait before trying again."""
        with self._lock:
            now = self._clock()
            paused_until = self._windows.paused_until(self.key)
            if now < paused_until:
                return paused_until - now
            now_ms = int(now * 1000)
            self._bucket.leak(now_ms)
            item = RateItem("intercom", now_ms)
            if self._bucket.put(item):
                return 0.0
            return max(int(self._bucket.waiting(item)), 1) / 1000

    def observe(self, headers: Mapping[str, str]) -> None:
        """Take Intercom's ``X-RateLimit-*`` headers into account.

        When the server reports that no more than the reserve we keep (``1 - headroom`` of its
        window limit) is left *and* it counted more calls than this limiter admitted in the last
        10 seconds (someone else, another process or app, spends the budget too), new calls wait
        until the window resets. Our own calls are already paced by the buckets; pausing on them
        too would lose most of a second at every window.
        """
        server = _parse_headers(headers)
        if server is None:
            return
        reserve = math.ceil(server.limit * (1 - self.headroom_fraction))
        with self._lock:
            self._server = server
            others_spend = server.limit - server.remaining > self._admitted_in_window()
            if server.remaining <= reserve and others_spend:
                self._windows.pause(self.key, server.reset_at)
        if self._parent is not None:
            self._parent.observe(headers)

    def _admitted_in_window(self) -> int:
        """Calls admitted under this key, by every process, in the last 10 seconds."""
        return self._bucket.admitted_since(int(self._clock() * 1000) - _WINDOW_MS)

    def pause_until(self, timestamp: float) -> None:
        """Admit nothing before ``timestamp`` (unix seconds), e.g. after a 429; shared with the
        parent, since the server's window is the workspace's."""
        self._windows.pause(self.key, timestamp)
        if self._parent is not None:
            self._parent.pause_until(timestamp)

    def headroom(self) -> float:
        """The fraction of this 10-second window's budget still free, in [0, 1] (for metrics).

        The lower of our own count and Intercom's last report (while its window lasts).
        """
        with self._lock:
            now = self._clock()
            if now < self._windows.paused_until(self.key):
                return 0.0
            free = 1 - self._admitted_in_window() / self.per_window
            server = self._server
            if server is not None and now < server.reset_at and server.limit > 0:
                free = min(free, server.remaining / server.limit)
        own = max(0.0, min(1.0, free))
        return own if self._parent is None else min(own, self._parent.headroom())

    def share(
        self, fraction: float, *, name: str = "share", headroom: float | None = None
    ) -> RateLimiter:
        """A limiter allowed ``fraction`` of this one's calls; its calls count here too.

        The share's window is kept beside this one's under ``key:name``, so every process's
        share named alike (the knowledge sync's, say) spends one budget together.
        """
        if not 0 < fraction <= 1:
            raise ValueError("fraction must be in (0, 1]")
        return RateLimiter(
            max(1, math.floor(self.per_minute * fraction)),
            headroom=self.headroom_fraction if headroom is None else headroom,
            clock=self._clock,
            sleep=self._sleep,
            parent=self,
            key=f"{self.key}:{name}",
            windows=self._windows,
        )


def reset_time(headers: Mapping[str, str]) -> float | None:
    """When Intercom's window resets (unix seconds), from ``X-RateLimit-Reset``; ``None`` if
    absent or unreadable.

    The header is whole seconds, rounded down, so the window may end up to a second later:
    :data:`RESET_SLACK` is added so that waiting until this time never retries too early.
    """
    try:
        reset_at = float(headers["X-RateLimit-Reset"])
    except (KeyError, TypeError, ValueError):
        return None
    return reset_at + RESET_SLACK if math.isfinite(reset_at) else None


def _parse_headers(headers: Mapping[str, str]) -> _ServerWindow | None:
    """Intercom's rate-limit headers, or ``None`` when absent or unreadable."""
    try:
        remaining = int(headers["X-RateLimit-Remaining"])
        limit = int(headers["X-RateLimit-Limit"])
    except (KeyError, TypeError, ValueError):
        return None
    reset_at = reset_time(headers)
    if remaining < 0 or limit <= 0 or reset_at is None:
        return None
    return _ServerWindow(remaining=remaining, limit=limit, reset_at=reset_at)


class LimiterRegistry:
    """One :class:`RateLimiter` per workspace (app id) for the whole process, its window kept in
    the registry's :class:`~deskmate.core.intercom.windows.Windows` (memory until :meth:`use`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._limiters: dict[str, RateLimiter] = {}
        self._windows: Windows = MemoryWindows()

    @property
    def windows(self) -> Windows:
        """Where the workspaces' windows live now."""
        return self._windows

    def use(self, windows: Windows) -> None:
        """Keep every workspace's window in ``windows`` from now on (limiters start afresh)."""
        with self._lock:
            self._windows = windows
            self._limiters.clear()

    def get(self, app_id: str, per_minute: int) -> RateLimiter:
        """The workspace's limiter, created on first use with ``per_minute``."""
        with self._lock:
            limiter = self._limiters.get(app_id)
            if limiter is None:
                limiter = RateLimiter(per_minute, key=app_id, windows=self._windows)
                self._limiters[app_id] = limiter
            return limiter

    def clear(self) -> None:
        """Forget every limiter and keep windows in memory again (tests, or a reload)."""
        with self._lock:
            self._limiters.clear()
            self._windows = MemoryWindows()


limiters = LimiterRegistry()


def limiter_for(workspace: WorkspaceSettings) -> RateLimiter:
    """The process-wide limiter of ``workspace``, sized by its ``rate_limit`` (calls/minute)."""
    return limiters.get(workspace.app_id, workspace.rate_limit)
