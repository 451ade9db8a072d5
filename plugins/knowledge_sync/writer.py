"""Writes a sync's documents page by page, each page with its checkpoint in one transaction.

A dry run uses the same interface and writes nothing: it compares each document with what is
stored (and what it pretended to store earlier in the run) and counts what would change.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from deskmate.core.store.knowledge import (
    DocumentInput,
    DocumentVersion,
    delete_documents,
    document_versions,
    record_sync_run,
    upsert_document,
)
from deskmate.core.store.models import KnowledgeDocument

Key = tuple[str, str]


class StoredDocument(NamedTuple):
    """What a merge reads back: the body, URL and source time (unix seconds) of a document."""

    body: str
    url: str | None
    updated_at: int | None


class Batch:
    """One page's writes; ``result`` of each upsert is ``added``, ``updated`` or ``unchanged``."""

    def __init__(self, writer: StoreWriter, db: Session | None) -> None:
        self.writer = writer
        self.db = db

    def upsert(self, doc: DocumentInput) -> str:
        key = (doc.external_id, doc.locale)
        known = self.writer.versions(doc.source)
        before = known.get(key)
        digest = doc.content_hash()
        if self.db is not None:
            upsert_document(self.db, self.writer.workspace_id, doc)
        else:
            stamp = int(doc.updated_at.timestamp()) if doc.updated_at else None
            self.writer.pretend[(doc.source, *key)] = StoredDocument(doc.body, doc.url, stamp)
        known[key] = DocumentVersion(doc.updated_at, digest)
        if before is None:
            return "added"
        return "unchanged" if before.content_hash == digest else "updated"

    def delete(self, source: str, keys: Iterable[Key]) -> int:
        known = self.writer.versions(source)
        wanted = [key for key in keys if key in known]
        for key in wanted:
            del known[key]
            self.writer.pretend.pop((source, *key), None)
        if self.db is not None and wanted:
            delete_documents(self.db, self.writer.workspace_id, source, wanted)
        return len(wanted)

    def document(self, source: str, external_id: str, locale: str) -> StoredDocument | None:
        """The stored body, URL and ``updated_at`` of a document as this run left it."""
        if (external_id, locale) not in self.writer.versions(source):
            return None
        pretended = self.writer.pretend.get((source, external_id, locale))
        if pretended is not None:
            return pretended
        with self.writer.reader() as db:
            row = db.execute(
                select(
                    KnowledgeDocument.body, KnowledgeDocument.url, KnowledgeDocument.updated_at
                ).where(
                    KnowledgeDocument.workspace_id == self.writer.workspace_id,
                    KnowledgeDocument.source == source,
                    KnowledgeDocument.external_id == external_id,
                    KnowledgeDocument.locale == locale,
                )
            ).first()
        if row is None:
            return None
        return StoredDocument(row[0], row[1], int(row[2].timestamp()) if row[2] else None)

    def checkpoint(self, source: str, cursor: str, stats: dict[str, Any], *, done: bool) -> None:
        """Save the source's position with this page (a no-op on a dry run)."""
        if self.db is not None:
            record_sync_run(
                self.db, self.writer.workspace_id, source, cursor=cursor, succeeded=done,
                stats=stats,
            )  # fmt: skip


class StoreWriter:
    """The store of one workspace as a sync sees it; ``dry_run`` keeps every change in memory."""

    def __init__(
        self, sessions: sessionmaker[Session], workspace_id: str, *, dry_run: bool = False
    ) -> None:
        self.sessions = sessions
        self.workspace_id = workspace_id
        self.dry_run = dry_run
        self.pretend: dict[tuple[str, str, str], StoredDocument] = {}
        self._versions: dict[str, dict[Key, DocumentVersion]] = {}
        self._open: Session | None = None

    def versions(self, source: str) -> dict[Key, DocumentVersion]:
        """Every document of ``source`` as this run knows it (loaded once, kept up to date)."""
        if source not in self._versions:
            with self.sessions() as db:
                self._versions[source] = document_versions(db, self.workspace_id, source)
        return self._versions[source]

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """The open page transaction (it sees its own writes), else a short read session."""
        if self._open is not None:
            yield self._open
            return
        with self.sessions() as db:
            yield db

    @contextmanager
    def batch(self) -> Iterator[Batch]:
        """A page: everything written inside commits together, or not at all."""
        if self.dry_run:
            yield Batch(self, None)
            return
        snapshot = {source: dict(known) for source, known in self._versions.items()}
        try:
            with self.sessions.begin() as db:
                self._open = db
                yield Batch(self, db)
        except BaseException:
            self._versions = snapshot
            raise
        finally:
            self._open = None
