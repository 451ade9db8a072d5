"""What one sync did: the CLI's summary and the stats kept in the sync state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_COUNTS = ("added", "updated", "unchanged", "removed", "items", "api_calls")


@dataclass
class SyncReport:
    """Counts of one run of one source (``items`` is how many listed items it looked at)."""

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
        """One line for people: what changed, what was skipped and why, calls and time."""
        skipped = sum(self.skipped.values())
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items()))
        line = (
            f"{self.source}s: {self.items} looked at, {self.added} added, "
            f"{self.updated} updated, {self.removed} removed, {self.unchanged} unchanged, "
            f"{skipped} skipped"
        )
        if reasons:
            line += f" ({reasons})"
        line += f"; {self.api_calls} API calls in {self.seconds:.1f}s"
        if self.resumed:
            line += " (resumed an interrupted run)"
        if self.dry_run:
            line += " — dry run, nothing was stored"
        return line
