"""Knowledge indexes built from the store, one per workspace, kept in step incrementally.

The store's ``knowledge_passages`` (with their documents) are read through SQLAlchemy. Each
workspace's index is checked at most every ``check_every`` seconds with one aggregate query (row
count, highest passage id, latest document sync time); when that fingerprint moves, only the
passages that appeared, disappeared or whose document was re-synced are loaded or dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from deskmate.core.brain.search import KnowledgeIndex, Passage
from deskmate.core.store.models import KnowledgeDocument, KnowledgePassage

log = logging.getLogger(__name__)

Fingerprint = tuple[int, int | None, datetime | None]


@dataclass
class _Cached:
    index: KnowledgeIndex = field(default_factory=KnowledgeIndex)
    stamps: dict[str, datetime | None] = field(default_factory=dict)
    fingerprint: Fingerprint | None = None
    checked_at: float = float("-inf")


def to_passage(passage: KnowledgePassage, document: KnowledgeDocument) -> Passage:
    """The search view of a stored passage; its heading joins the document title."""
    title = document.title or ""
    if passage.heading and passage.heading != title:
        title = f"{title} — {passage.heading}" if title else passage.heading
    return Passage(
        id=str(passage.id),
        doc_id=document.external_id,
        title=title,
        text=passage.text,
        url=document.url,
        locale=document.locale or None,
        visibility="public" if document.visibility == "public" else "internal",
        source=document.source,
    )


class StoreKnowledge:
    """Per-workspace :class:`KnowledgeIndex` objects that follow the store's knowledge tables."""

    def __init__(
        self,
        engine: Engine | Callable[[], Engine],
        *,
        check_every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine_source = engine
        self._engine: Engine | None = engine if isinstance(engine, Engine) else None
        self._check_every = check_every
        self._clock = clock
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            assert callable(self._engine_source)
            self._engine = self._engine_source()
        return self._engine

    def index(self, workspace_id: str) -> KnowledgeIndex:
        """The workspace's index, refreshed first when the store changed since the last check."""
        with self._lock:
            cached = self._cache.setdefault(workspace_id, _Cached())
            now = self._clock()
            if now - cached.checked_at >= self._check_every:
                cached.checked_at = now
                self._refresh(workspace_id, cached)
            return cached.index

    def warm(self, workspace_ids: Iterable[str]) -> threading.Thread:
        """Build the workspaces' indexes in a background thread, so no reply waits for it."""
        thread = threading.Thread(
            target=self._warm, args=(list(workspace_ids),), name="deskmate-knowledge", daemon=True
        )
        thread.start()
        return thread

    def _warm(self, workspace_ids: list[str]) -> None:
        for workspace_id in workspace_ids:
            try:
                self.index(workspace_id)
            except SQLAlchemyError as exc:
                log.warning("could not load knowledge for %s: %s", workspace_id, type(exc).__name__)

    def invalidate(self, workspace_id: str | None = None) -> None:
        """Make the next :meth:`index` call check the store now (after a sync, say)."""
        with self._lock:
            targets = [workspace_id] if workspace_id else list(self._cache)
            for key in targets:
                if key in self._cache:
                    self._cache[key].checked_at = float("-inf")

    def _refresh(self, workspace_id: str, cached: _Cached) -> None:
        with Session(self.engine) as conn:
            fingerprint = _fingerprint(conn, workspace_id)
            if fingerprint == cached.fingerprint:
                return
            current = dict(_stamps(conn, workspace_id))
            gone = [pid for pid, stamp in cached.stamps.items() if current.get(pid, 0) != stamp]
            wanted = [pid for pid, stamp in current.items() if cached.stamps.get(pid, 0) != stamp]
            cached.index.remove(gone)
            cached.index.add(_load(conn, [int(pid) for pid in wanted]))
        cached.stamps = current
        cached.fingerprint = fingerprint


def _joined() -> Any:
    return select(KnowledgePassage, KnowledgeDocument).join(
        KnowledgeDocument, KnowledgeDocument.id == KnowledgePassage.document_id
    )


def _fingerprint(conn: Session, workspace_id: str) -> Fingerprint:
    row = conn.execute(
        select(
            func.count(KnowledgePassage.id),
            func.max(KnowledgePassage.id),
            func.max(KnowledgeDocument.synced_at),
        )
        .join(KnowledgeDocument, KnowledgeDocument.id == KnowledgePassage.document_id)
        .where(KnowledgePassage.workspace_id == workspace_id)
    ).one()
    return (row[0], row[1], row[2])


def _stamps(conn: Session, workspace_id: str) -> Iterable[tuple[str, datetime | None]]:
    rows = conn.execute(
        select(KnowledgePassage.id, KnowledgeDocument.synced_at)
        .join(KnowledgeDocument, KnowledgeDocument.id == KnowledgePassage.document_id)
        .where(KnowledgePassage.workspace_id == workspace_id)
    )
    return ((str(pid), stamp) for pid, stamp in rows)


def _load(conn: Session, passage_ids: list[int], batch: int = 500) -> Iterable[Passage]:
    for start in range(0, len(passage_ids), batch):
        chunk = passage_ids[start : start + batch]
        rows = conn.execute(_joined().where(KnowledgePassage.id.in_(chunk)))
        for passage, document in rows:
            yield to_passage(passage, document)
