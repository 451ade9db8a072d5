"""What one sync did: the CLI's summary and the stats kept in the sync state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

_COUNTS = ("added", "updated", "unchanged", "removed", "items", "api_calls")


@dataclass
class SyncReport:
    """Counts of one run of one source.

    ``items`` is how many listed items (articles, conversations) it went through, for progress;
    every version it looked at (an article's translations each count) ends up in exactly one of
    ``added``, ``updated``, ``unchanged`` or ``skipped``, whose sum is :attr:`looked_at`.
    ``removed`` counts stored documents a full run no longer found. ``since`` is where the run
    started looking (unix seconds; ``None``: from the beginning) and ``since_from`` says why.
    """

    source: str = ""
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    items: int = 0
    total: int | None = None
    api_calls: int = 0
    seconds: float = 0.0
    dry_run: bool = False
    resumed: bool = False
    since: int | None = None
    since_from: str = ""

    @property
    def looked_at(self) -> int:
        return self.added + self.updated + self.unchanged + sum(self.skipped.values())

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def count(self, result: str) -> None:
        """Count an upsert's result: ``added``, ``updated`` or ``unchanged``."""
        setattr(self, result, getattr(self, result) + 1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            **{name: getattr(self, name) for name in _COUNTS},
            "skipped": dict(self.skipped),
            "seconds": round(self.seconds, 3),
            "dry_run": self.dry_run,
            "resumed": self.resumed,
        }

    def restore(self, stats: dict[str, Any]) -> None:
        """Continue counting from a checkpoint's ``stats`` (a resumed run reports the whole run)."""
        for name in _COUNTS:
            value = stats.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                setattr(self, name, value)
        skipped = stats.get("skipped")
        if isinstance(skipped, dict):
            self.skipped = {str(k): int(v) for k, v in skipped.items() if isinstance(v, int)}

    def summary(self) -> str:
        """One line for people: what was looked at and what became of it, calls and time."""
        skipped = sum(self.skipped.values())
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items()))
        line = (
            f"{self.source}s: {self.looked_at} looked at: {self.added} added, "
            f"{self.updated} updated, {self.unchanged} unchanged, {skipped} skipped"
        )
        if reasons:
            line += f" ({reasons})"
        line += f"; {self.removed} removed; {self.api_calls} API calls in {self.seconds:.1f}s"
        if self.resumed:
            line += " (resumed an interrupted run)"
        if self.dry_run:
            line += " — dry run, nothing was stored"
        if self.looked_at == 0:
            line += f". {self.why_nothing()}"
        return line

    def why_nothing(self) -> str:
        """Why a run looked at nothing, and how to make it look further back."""
        if self.since is None:
            return f"Intercom listed no {self.source}s to learn from."
        day = datetime.fromtimestamp(self.since, UTC).strftime("%Y-%m-%d %H:%M UTC")
        return (
            f"Only {self.source}s updated since {day} ({self.since_from}) were looked at. "
            "Look further back with `deskmate sync --since YYYY-MM-DD`, or at everything with "
            "`deskmate sync --full`."
        )
