"""A live run keeps its conversation; a run that lost it writes nothing more.

A run holds its conversation's lease for ``jobs.lease_seconds``, so that a killed run's events go
to the next run after that time. A live run may need longer: Intercom's ``429`` waits, a slow
model, many events in one drain. :class:`LeaseKeeper` renews the lease (and the run's claims on
its events) every third of it from a background thread while the run makes progress; a run that
writes nothing for :data:`MAX_PERIODS` lease periods (stuck in a hook) gives its conversation up.
Before each Intercom write and before settling an event, :func:`check_lease` stops a run whose
lease may have run out, so two runs never act on one conversation at once (a second run would
find the first one's write still in flight, not yet on the conversation, and make it again).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from types import TracebackType

log = logging.getLogger(__name__)

MAX_PERIODS = 10
"""How many lease periods a run may go without progress before another run can take it."""

_current: ContextVar[LeaseKeeper | None] = ContextVar("deskmate_lease_keeper", default=None)


class LeaseLost(BaseException):
    """The run's lease ran out or another run took the conversation: the run must stop.

    A ``BaseException``, like ``KeyboardInterrupt``: the ``except Exception`` that isolates a
    plugin or hands a failed conversation over must not turn it into a failure of the event,
    which is the other run's now.
    """


class LeaseKeeper:
    """Renews a run's lease with ``renew`` (False: another run holds it) while the block runs.

    ``period`` is the lease's length in seconds, counted from ``taken_at`` (``time.monotonic()``
    read before the lease was taken; default now). Within the block, :func:`check_lease` raises
    :class:`LeaseLost` once another run holds the lease or its last renewal is a period old.
    """

    def __init__(
        self, renew: Callable[[], bool], period: float, *, taken_at: float | None = None
    ) -> None:
        self.renew = renew
        self.period = period
        self.lost = False
        start = time.monotonic() if taken_at is None else taken_at
        self._held_until = start + period
        self._progress = start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep, name="deskmate-lease", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        self._token = _current.set(self)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        _current.reset(self._token)
        self._stop.set()
        self._thread.join(timeout=self.period)  # a renewal stuck on the database is left behind

    def held(self) -> bool:
        """Whether the run may still act: its lease is its own and not past its end."""
        return not self.lost and time.monotonic() < self._held_until

    def progressed(self) -> None:
        """The run is about to act: it is not stuck, keep renewing."""
        self._progress = time.monotonic()

    def _keep(self) -> None:
        while not self._stop.wait(self.period / 3):
            started = time.monotonic()
            if started - self._progress > MAX_PERIODS * self.period:
                log.warning(
                    "a run made no progress for %d lease periods; giving it up", MAX_PERIODS
                )
                return
            try:
                renewed = self.renew()
            except Exception:  # the database's errors: the lease still runs until its end
                log.warning("could not renew a conversation's lease", exc_info=True)
                continue
            if not renewed:
                self.lost = True
                return
            self._held_until = started + self.period


def check_lease() -> None:
    """Raise :class:`LeaseLost` when the run this thread is in no longer holds its conversation,
    else count the run as making progress (outside a run, e.g. ``deskmate eval`` or a test
    calling the engine, there is nothing to check)."""
    keeper = _current.get()
    if keeper is None:
        return
    if not keeper.held():
        raise LeaseLost("another run holds this conversation now; this run stops")
    keeper.progressed()
