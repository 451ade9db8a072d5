"""A circuit breaker per model endpoint, in process: stop calling an endpoint that keeps failing.

After ``failures`` failed calls in a row the circuit opens for ``seconds``: no call is made and
the plugin falls back at once. Then one trial call is let through (half-open); it closes the
circuit when it succeeds and opens it again when it fails.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class BreakerState:
    """What ``/metrics``, the audit and ``deskmate verify`` say about one endpoint."""

    endpoint: str
    failures: int = 0
    open_until: float = 0.0
    trial: bool = False
    last_error: str = ""

    def is_open(self, now: float) -> bool:
        return now < self.open_until


class Breakers:
    """Every endpoint's breaker; thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._states: dict[str, BreakerState] = {}

    def state(self, endpoint: str) -> BreakerState:
        with self._lock:
            return self._states.setdefault(endpoint, BreakerState(endpoint))

    def allow(self, endpoint: str) -> bool:
        """Whether a call may go to ``endpoint`` now (one trial at a time once it reopens)."""
        with self._lock:
            state = self._states.setdefault(endpoint, BreakerState(endpoint))
            if state.is_open(self._clock()):
                return False
            if state.open_until and state.trial:
                return False
            if state.open_until:
                state.trial = True
            return True

    def succeeded(self, endpoint: str) -> None:
        with self._lock:
            self._states[endpoint] = BreakerState(endpoint)

    def failed(self, endpoint: str, error: str, threshold: int, seconds: float) -> bool:
        """Count a failed call; returns whether the circuit is open now."""
        with self._lock:
            state = self._states.setdefault(endpoint, BreakerState(endpoint))
            state.failures += 1
            state.last_error = error
            if state.trial or state.failures >= threshold:
                state.open_until = self._clock() + seconds
                state.trial = False
                return True
            return False

    def seconds_left(self, endpoint: str) -> float:
        """How long the circuit of ``endpoint`` stays open (0 when closed)."""
        state = self.state(endpoint)
        return max(0.0, state.open_until - self._clock())

    def open_endpoints(self) -> list[BreakerState]:
        now = self._clock()
        with self._lock:
            return [s for s in self._states.values() if s.is_open(now)]

    def reset(self) -> None:
        with self._lock:
            self._states.clear()


BREAKERS = Breakers()
"""The process's breakers (the web host, its embedded worker and ``deskmate verify`` share it)."""
