"""What a source's page loop works with during one run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from deskmate.core.config import WorkspaceSettings
from deskmate.core.intercom.client import IntercomClient
from deskmate.plugins.knowledge_sync.checkpoint import RunState
from deskmate.plugins.knowledge_sync.options import SyncOptions
from deskmate.plugins.knowledge_sync.report import SyncReport
from deskmate.plugins.knowledge_sync.writer import Batch, StoreWriter

Progress = Callable[[SyncReport], None]
"""Called after every item with the report so far (``items`` of ``total``)."""

MAX_PAGES = 100_000
"""No listing is followed further than this, whatever Intercom says about its pages."""


@dataclass
class SyncContext:
    """The run's client, store, options and position; ``save`` checkpoints within a page."""

    workspace: WorkspaceSettings
    client: IntercomClient
    writer: StoreWriter
    options: SyncOptions
    run: RunState
    report: SyncReport
    save: Callable[[Batch], None]
    progress: Progress | None = None

    def advance(self, count: int = 1) -> None:
        """Count ``count`` more items looked at and tell the progress display."""
        self.report.items += count
        if self.progress is not None:
            self.progress(self.report)
