"""Where a source's sync stands, kept as JSON in the store's ``sync_state.cursor``.

``since`` is the high-water mark of the last complete run: the next run only looks at items
updated at or after it. ``run`` is the run in progress, saved after every page in the same
transaction as that page's documents, so a run that dies resumes at the page it had not finished
and stores nothing twice.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

MAX_CURSOR_CHARS = 4_000_000


class CheckpointUnreadable(ValueError):
    """The stored cursor is not one this plugin wrote; a ``--full`` run replaces it."""


@dataclass
class RunState:
    """A run in progress: what it covers, how far it got, and what it did so far."""

    full: bool
    since: int | None
    started_at: int
    page: int = 1
    cursor: str | None = None
    high: int | None = None
    seen: list[str] = field(default_factory=list)
    recent: dict[str, int] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)

    def saw(self, updated_at: int | None) -> None:
        """Raise the high-water mark to ``updated_at``."""
        if updated_at is not None and (self.high is None or updated_at > self.high):
            self.high = updated_at

    def tidy(self) -> None:
        """Before saving: one entry per kept document (full runs only need them), and only the
        recent items the next run could list again."""
        self.seen = sorted(set(self.seen)) if self.full else []
        floor = self.next_since()
        self.recent = {key: stamp for key, stamp in self.recent.items() if stamp >= floor}

    def next_since(self) -> int:
        """The next run's starting point: nothing updated since this run began, or after the
        newest item it saw, is missed (the earlier of the two, so clock skew only costs a look)."""
        return self.started_at if self.high is None else min(self.high, self.started_at)


@dataclass
class Checkpoint:
    """A source's saved position: the last complete run's mark, a run in progress, and the
    items at the mark already done (so a re-sync without changes fetches nothing)."""

    since: int | None = None
    run: RunState | None = None
    done: dict[str, int] = field(default_factory=dict)

    def dumps(self) -> str:
        text = json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)
        if len(text) > MAX_CURSOR_CHARS:
            raise ValueError("the sync checkpoint grew beyond its limit")
        return text

    @classmethod
    def loads(cls, text: str | None) -> Checkpoint:
        """The checkpoint stored as ``text`` (empty when none was stored)."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
            run = data.get("run")
            return cls(
                since=_int_or_none(data.get("since")),
                run=RunState(**run) if isinstance(run, dict) else None,
                done={str(k): int(v) for k, v in dict(data.get("done") or {}).items()},
            )
        except (ValueError, TypeError, AttributeError):
            raise CheckpointUnreadable(
                "the saved sync position is unreadable; run the sync with --full to rebuild it"
            ) from None


def _int_or_none(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("not a timestamp")
    return value
