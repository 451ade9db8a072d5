"""The default brain's configured state: its options and where its knowledge comes from.

The ``startup`` hook configures it from the whole configuration; until then (a test, a one-off
call) it runs on default options with no store, and callers may pass an index explicitly.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

from deskmate.core.brain import language
from deskmate.core.brain.knowledge import StoreKnowledge
from deskmate.core.brain.search import KnowledgeIndex
from deskmate.core.brain.settings import BrainSettings, brain_settings
from deskmate.core.store.db import make_engine


class IndexSource(Protocol):
    """Where workspace indexes come from (``StoreKnowledge`` reads the store)."""

    def index(self, workspace_id: str) -> KnowledgeIndex: ...

    def invalidate(self, workspace_id: str | None = None) -> None: ...


@dataclass
class BrainRuntime:
    """Options plus a per-workspace index source (a store, fixed indexes, or nothing)."""

    settings: BrainSettings = field(default_factory=BrainSettings)
    knowledge: IndexSource | None = None
    indexes: dict[str, KnowledgeIndex] = field(default_factory=dict)
    default_workspace: str | None = None

    def index(self, workspace_id: str | None) -> KnowledgeIndex | None:
        """The knowledge index of ``workspace_id`` (the default workspace when ``None``)."""
        key = workspace_id or self.default_workspace
        if key is None:
            return None
        if key in self.indexes:
            return self.indexes[key]
        return self.knowledge.index(key) if self.knowledge is not None else None


_lock = threading.Lock()
_current = BrainRuntime()


def current() -> BrainRuntime:
    """The runtime the brain's hooks use now."""
    return _current


def install(runtime: BrainRuntime) -> BrainRuntime:
    """Make ``runtime`` the one the hooks use (tests and embedders); return the previous one."""
    global _current
    with _lock:
        previous, _current = _current, runtime
    return previous


def configure(settings: Any, *, warm: bool = True) -> BrainRuntime:
    """Build and install the runtime for the whole configuration ``settings``.

    With ``warm``, every workspace's knowledge index and the language model start loading in
    the background now.
    """
    url = settings.resolved_database_url()
    workspaces = list(getattr(settings, "workspaces", {}) or {})
    knowledge = StoreKnowledge(lambda: make_engine(url))
    runtime = BrainRuntime(
        settings=brain_settings(settings),
        knowledge=knowledge,
        default_workspace=workspaces[0] if len(workspaces) == 1 else None,
    )
    previous = install(runtime)
    if isinstance(previous.knowledge, StoreKnowledge):
        previous.knowledge.close()
    if warm:
        knowledge.warm(workspaces)
        language.warm(runtime.settings.languages)
    return runtime
