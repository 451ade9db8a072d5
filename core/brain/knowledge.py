"""Knowledge indexes built from the store, one per workspace, kept in step incrementally.

The store replaces a document's passages (new ids) whenever its content changes, so a passage id
always means the same text. Each workspace's index is checked at most every ``check_every``
seconds with two single-table aggregates (passage count and highest id; document count and latest
sync time); when that fingerprint moves, the passage ids are listed and only passages that
appeared are loaded and those that disappeared dropped. Single-table reads, joined here, follow
the store's advice (a join's plan can turn quadratic on PostgreSQL after a fresh sync).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from deskmate.core.brain import translation, vocabulary
from deskmate.core.brain.search import KnowledgeIndex, Passage
from deskmate.core.store.db import DatabaseError, make_session_factory
from deskmate.core.store.knowledge import PassageRow, iter_passages
from deskmate.core.store.models import KnowledgeDocument, KnowledgePassage

log = logging.getLogger(__name__)

STORE_ERRORS = (SQLAlchemyError, DatabaseError)
"""What reading the store may raise: an unreachable, unmigrated or misplaced database."""

Fingerprint = tuple[int, int | None, int, datetime | None]
LOAD_BATCH = 500


@dataclass
class _Cached:
    index: KnowledgeIndex = field(default_factory=KnowledgeIndex)
    fingerprint: Fingerprint | None = None
    checked_at: float = float("-inf")


def to_passage(row: PassageRow) -> Passage:
    """The search view of a stored passage; its heading joins the document title."""
    title = row.title or ""
    if row.heading and row.heading != title:
        title = f"{title} — {row.heading}" if title else row.heading
    return Passage(
        id=str(row.passage_id),
        doc_id=row.external_id,
        title=title,
        text=row.text,
        url=row.url,
        locale=row.locale or None,
        visibility="public" if row.visibility == "public" else "internal",
        source=row.source,
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
        self._session_factory: sessionmaker[Session] | None = None

    def close(self) -> None:
        """Close the database connections this source opened (it opens them again if used)."""
        if self._engine is not None and callable(self._engine_source):
            self._engine.dispose()

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
        """Build the workspaces' indexes (and their typo-correction tables) and load the
        everyday-language word lists and the translation table in a background thread, so no
        reply waits for them."""
        thread = threading.Thread(
            target=self._warm, args=(list(workspace_ids),), name="deskmate-knowledge", daemon=True
        )
        thread.start()
        return thread

    def _warm(self, workspace_ids: list[str]) -> None:
        vocabulary.warm()
        translation.warm()
        for workspace_id in workspace_ids:
            try:
                self.index(workspace_id).prepare_corrections()
            except STORE_ERRORS as exc:
                log.warning("could not load knowledge for %s: %s", workspace_id, type(exc).__name__)

    def invalidate(self, workspace_id: str | None = None) -> None:
        """Make the next :meth:`index` call check the store now (after a sync, say)."""
        with self._lock:
            targets = [workspace_id] if workspace_id else list(self._cache)
            for key in targets:
                if key in self._cache:
                    self._cache[key].checked_at = float("-inf")

    def _refresh(self, workspace_id: str, cached: _Cached) -> None:
        """Read what changed in one short read-only transaction, then index it outside."""
        index = cached.index
        gone: set[int] = set()
        with self._read_session() as session:
            fingerprint = _fingerprint(session, workspace_id)
            if fingerprint == cached.fingerprint:
                return
            if len(index) == 0:
                added = [to_passage(row) for row in iter_passages(session, workspace_id)]
            else:
                current = _passage_ids(session, workspace_id)
                known = {int(pid) for pid in index.ids()}
                gone = known - current
                added = list(_load(session, sorted(current - known)))
        index.remove(str(pid) for pid in gone)
        index.add(added)
        cached.fingerprint = fingerprint

    def _read_session(self) -> Session:
        """A read-only session: on SQLite a deferred transaction that never takes the write lock."""
        if self._session_factory is None:
            self._session_factory = make_session_factory(self.engine, read_only=True)
        return self._session_factory()


def _fingerprint(session: Session, workspace_id: str) -> Fingerprint:
    passages = session.execute(
        select(func.count(KnowledgePassage.id), func.max(KnowledgePassage.id)).where(
            KnowledgePassage.workspace_id == workspace_id
        )
    ).one()
    documents = session.execute(
        select(func.count(KnowledgeDocument.id), func.max(KnowledgeDocument.synced_at)).where(
            KnowledgeDocument.workspace_id == workspace_id
        )
    ).one()
    return (passages[0], passages[1], documents[0], documents[1])


def _passage_ids(session: Session, workspace_id: str) -> set[int]:
    stmt = select(KnowledgePassage.id).where(KnowledgePassage.workspace_id == workspace_id)
    return set(session.scalars(stmt))


def _load(session: Session, passage_ids: list[int]) -> Iterator[Passage]:
    """The passages with these ids and their documents' fields, in batches."""
    doc, passage = KnowledgeDocument, KnowledgePassage
    for start in range(0, len(passage_ids), LOAD_BATCH):
        rows = session.execute(
            select(
                passage.id,
                passage.document_id,
                passage.position,
                passage.heading,
                passage.text,
            ).where(passage.id.in_(passage_ids[start : start + LOAD_BATCH]))
        ).all()
        doc_ids = {row[1] for row in rows}
        docs = {
            d[0]: d[1:]
            for d in session.execute(
                select(
                    doc.id,
                    doc.source,
                    doc.external_id,
                    doc.locale,
                    doc.title,
                    doc.url,
                    doc.visibility,
                ).where(doc.id.in_(doc_ids))
            )
        }
        for pid, document_id, position, heading, text in rows:
            fields = docs.get(document_id)
            if fields is not None:
                yield to_passage(PassageRow(pid, document_id, *fields, position, heading, text))
