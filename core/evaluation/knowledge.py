"""The knowledge an eval answers from, loaded into the eval's own store the way a sync stores it.

The sandbox help center goes through the knowledge sync's own article conversion (the sandbox's
API shape in, documents per locale out), so an eval sees what a synced workspace sees. A
workspace's knowledge is copied from the configured store, read only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from deskmate.core.evaluation.cases import SANDBOX, WORKSPACE, Knowledge
from deskmate.core.passages import split_text
from deskmate.core.sandbox import shapes
from deskmate.core.sandbox.seed import Ids, help_center
from deskmate.core.store.knowledge import DocumentInput, PassageText, upsert_document
from deskmate.core.store.models import KnowledgeDocument, KnowledgePassage
from deskmate.plugins.knowledge_sync.articles import article_documents

SANDBOX_APP_ID = "sandbox"


def sandbox_documents() -> list[DocumentInput]:
    """The sandbox help center's articles as the knowledge sync stores them (every locale)."""
    return [
        doc
        for article in help_center(Ids())
        for doc in article_documents(shapes.article(article, SANDBOX_APP_ID))
    ]


def inline_documents(knowledge: Knowledge) -> list[DocumentInput]:
    """A case's inline documents, split into passages like local files are."""
    return [
        DocumentInput(
            source="file",
            external_id=doc.id,
            title=doc.title,
            body=doc.body,
            passages=split_text(doc.body) or [PassageText(doc.body)],
            locale=doc.locale,
        )
        for doc in knowledge.docs
    ]


def workspace_documents(sessions: sessionmaker[Session], workspace_id: str) -> list[DocumentInput]:
    """The knowledge stored for ``workspace_id`` (articles, learned answers, files)."""
    with sessions() as db:
        records = db.scalars(
            select(KnowledgeDocument).where(KnowledgeDocument.workspace_id == workspace_id)
        ).all()
        passages: dict[int, list[PassageText]] = {}
        rows = db.scalars(
            select(KnowledgePassage)
            .where(KnowledgePassage.workspace_id == workspace_id)
            .order_by(KnowledgePassage.document_id, KnowledgePassage.position)
        )
        for row in rows:
            passages.setdefault(row.document_id, []).append(PassageText(row.text, row.heading))
        return [
            DocumentInput(
                source=r.source,
                external_id=r.external_id,
                title=r.title,
                body=r.body,
                passages=passages.get(r.id) or [PassageText(r.body)],
                locale=r.locale,
                url=r.url,
                visibility=r.visibility,
                updated_at=r.updated_at,
            )
            for r in records
        ]


def documents_for(
    knowledge: Knowledge, workspace: sessionmaker[Session] | None, workspace_id: str
) -> list[DocumentInput]:
    """The documents of ``knowledge``; ``workspace`` reads the configured store."""
    if knowledge.kind == SANDBOX:
        return sandbox_documents()
    if knowledge.kind == WORKSPACE:
        if workspace is None:
            raise LookupError("knowledge: workspace needs a config file naming the database")
        return workspace_documents(workspace, workspace_id)
    return inline_documents(knowledge)


def store_documents(
    sessions: sessionmaker[Session], workspace_id: str, docs: Iterable[DocumentInput]
) -> None:
    """Put ``docs`` in the eval store under ``workspace_id``."""
    with sessions.begin() as db:
        for doc in docs:
            upsert_document(db, workspace_id, doc)


def citation_names(docs: Iterable[DocumentInput]) -> Mapping[str, str]:
    """Every name a case may cite a document by (its id, each locale's title, casefolded) →
    the document id that hits carry."""
    names: dict[str, str] = {}
    for doc in docs:
        names[doc.external_id.casefold()] = doc.external_id
        names[doc.title.strip().casefold()] = doc.external_id
    return names
