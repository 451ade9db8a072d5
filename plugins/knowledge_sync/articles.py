"""Help Center articles → knowledge documents: one per article and locale.

Published articles are public knowledge; drafts are internal (assist drafts only, never shown to
customers). The listing carries every body, so a sync costs only the listing calls; unchanged
articles are recognised by their content hash and leave the store untouched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from deskmate.core.html import html_to_text
from deskmate.core.intercom.client import article_translations
from deskmate.core.intercom.parse import parse_timestamp
from deskmate.core.store.knowledge import (
    DocumentInput,
    PassageText,
    delete_documents,
    document_versions,
    upsert_document,
)

SOURCE = "article"
_HEADING = re.compile(r"<h([1-4])[^>]*>(.*?)</h\1>", re.IGNORECASE | re.DOTALL)
MAX_PASSAGE_CHARS = 1200


@dataclass
class SyncReport:
    """What one sync did, for the CLI summary and the sync state."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "skipped": dict(self.skipped),
        }


def split_passages(html: str) -> list[PassageText]:
    """Cut an article at its headings; long sections are cut again at paragraph breaks."""
    pieces: list[PassageText] = []
    heading: str | None = None
    position = 0
    for match in _HEADING.finditer(html):
        pieces.extend(_chunks(html[position : match.start()], heading))
        heading = html_to_text(match.group(2)) or None
        position = match.end()
    pieces.extend(_chunks(html[position:], heading))
    return pieces


def _chunks(html: str, heading: str | None) -> Iterator[PassageText]:
    text = html_to_text(html)
    chunk = ""
    for paragraph in (p.strip() for p in text.split("\n\n")):
        if not paragraph:
            continue
        if chunk and len(chunk) + len(paragraph) > MAX_PASSAGE_CHARS:
            yield PassageText(chunk, heading)
            chunk = ""
        chunk = f"{chunk}\n\n{paragraph}" if chunk else paragraph
    if chunk:
        yield PassageText(chunk, heading)


def article_documents(article: Mapping[str, Any]) -> list[DocumentInput]:
    """The article's documents: its default locale plus each translation with a body."""
    article_id = str(article.get("id") or "")
    updated = parse_timestamp(article.get("updated_at"), "updated_at")
    default_locale = str(article.get("default_locale") or "en")
    versions = {default_locale: dict(article), **article_translations(article)}
    documents = []
    for locale, content in versions.items():
        body = content.get("body") or ""
        state = content.get("state") or article.get("state")
        visibility = "public" if state == "published" else "internal"
        if not isinstance(body, str) or not html_to_text(body):
            continue
        documents.append(
            DocumentInput(
                source=SOURCE,
                external_id=article_id,
                title=str(content.get("title") or article.get("title") or "Untitled"),
                body=html_to_text(body),
                passages=split_passages(body) or [PassageText(html_to_text(body))],
                locale=locale,
                url=content.get("url") or article.get("url"),
                visibility=visibility,
                updated_at=updated,
            )
        )
    return documents


def sync_articles(
    articles: Iterable[Mapping[str, Any]], sessions: sessionmaker[Session], workspace_id: str
) -> SyncReport:
    """Store every listed article; remove stored ones the listing no longer has."""
    report = SyncReport()
    with sessions() as db:
        stored = document_versions(db, workspace_id, SOURCE)
    seen: set[tuple[str, str]] = set()
    for article in articles:
        documents = article_documents(article)
        if not documents:
            report.skip("no body")
        with sessions.begin() as db:
            for doc in documents:
                key = (doc.external_id, doc.locale)
                seen.add(key)
                changed = upsert_document(db, workspace_id, doc).changed
                if key not in stored:
                    report.added += 1
                elif changed:
                    report.updated += 1
                else:
                    report.unchanged += 1
    gone = [key for key in stored if key not in seen]
    with sessions.begin() as db:
        report.removed = delete_documents(db, workspace_id, SOURCE, gone)
    return report
