"""Help Center articles → knowledge documents: one per article and locale.

Published articles are public knowledge; drafts are internal (assist drafts only, never shown to
customers), or left out with ``drafts = false``. An article that is unpublished becomes a draft
and so leaves the public knowledge at once. The listing carries every body, so a sync costs only
the listing calls; unchanged articles are recognised by their content hash and leave the store
untouched. ``GET /articles`` lists the newest ``updated_at`` first, so an incremental run stops
at the first article older than its starting point.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from deskmate.core.html import html_to_text
from deskmate.core.intercom.client import article_translations, page_items
from deskmate.core.intercom.parse import ShapeError, parse_timestamp
from deskmate.core.passages import split_html
from deskmate.core.store.knowledge import MAX_PASSAGES, DocumentInput, PassageText
from deskmate.plugins.knowledge_sync.context import MAX_PAGES, SyncContext
from deskmate.plugins.knowledge_sync.report import SyncReport
from deskmate.plugins.knowledge_sync.writer import Batch, StoreWriter

__all__ = [
    "SOURCE",
    "ArticleApplier",
    "SyncReport",
    "article_documents",
    "sync_article_pages",
    "sync_articles",
]

SOURCE = "article"
PER_PAGE = 150
MAX_ARTICLE_HTML = 2_000_000
_LOCALE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,3}$")


class Unusable(ValueError):
    """An article (or one of its translations) that can't become a document; says why."""


def article_updated_at(article: Mapping[str, Any]) -> int | None:
    """The article's ``updated_at`` in unix seconds, ``None`` when missing or unreadable."""
    try:
        stamp = parse_timestamp(article.get("updated_at"), "updated_at")
    except ShapeError:
        return None
    return int(stamp.timestamp()) if stamp is not None else None


def article_documents(
    article: Mapping[str, Any], *, drafts: bool = True, skipped: SyncReport | None = None
) -> list[DocumentInput]:
    """The article's documents: its default locale plus each translation with a body.

    Drafts are internal, or left out when ``drafts`` is false. A translation that can't be used
    or a draft left out is counted in ``skipped`` with its reason, so every version of the article
    ends up added, updated, unchanged or skipped.
    """
    article_id = str(article.get("id") or "").strip()
    if not article_id or len(article_id) > 255:
        raise Unusable("no usable id")
    try:
        updated = parse_timestamp(article.get("updated_at"), "updated_at")
    except ShapeError:
        updated = None
    default_locale = str(article.get("default_locale") or "en")
    versions = {default_locale: dict(article), **article_translations(article)}
    documents = []
    for locale, content in versions.items():
        try:
            doc = _document(article, article_id, locale, content, updated)
        except Unusable as exc:
            if skipped is not None:
                skipped.skip(str(exc))
            continue
        if doc.visibility == "internal" and not drafts:
            if skipped is not None:
                skipped.skip("draft (drafts = false)")
            continue
        documents.append(doc)
    return documents


def _document(
    article: Mapping[str, Any],
    article_id: str,
    locale: str,
    content: Mapping[str, Any],
    updated: Any,
) -> DocumentInput:
    if not _LOCALE.match(locale) or len(locale) > 16:
        raise Unusable("unreadable locale")
    body = content.get("body") or ""
    if not isinstance(body, str):
        raise Unusable("unreadable body")
    if len(body) > MAX_ARTICLE_HTML:
        raise Unusable(f"body over {MAX_ARTICLE_HTML // 1_000_000} MB")
    text = html_to_text(body)
    if not text:
        raise Unusable("no body")
    state = content.get("state") or article.get("state")
    title = content.get("title") or article.get("title")
    url = content.get("url") or article.get("url")
    passages = (split_html(body) or [PassageText(text)])[:MAX_PASSAGES]
    return DocumentInput(
        source=SOURCE,
        external_id=article_id,
        title=str(title).strip()[:500] if title else "Untitled",
        body=text,
        passages=passages,
        locale=locale.replace("_", "-"),
        url=url if isinstance(url, str) and url.startswith(("https://", "http://")) else None,
        visibility="public" if state == "published" else "internal",
        updated_at=updated,
    )


class ArticleApplier:
    """Stores articles one at a time, dropping the locales an article no longer has."""

    def __init__(self, writer: StoreWriter, report: SyncReport, *, drafts: bool) -> None:
        self.report = report
        self.drafts = drafts
        self._locales: dict[str, set[str]] = {}
        for external_id, locale in writer.versions(SOURCE):
            self._locales.setdefault(external_id, set()).add(locale)

    def apply(self, batch: Batch, article: Mapping[str, Any]) -> list[str]:
        """Store ``article``; returns the keys (``id\\tlocale``) it now has in the store."""
        try:
            documents = article_documents(article, drafts=self.drafts, skipped=self.report)
        except Unusable as exc:
            self.report.skip(str(exc))
            return []
        article_id = documents[0].external_id if documents else str(article.get("id"))
        for doc in documents:
            self.report.count(batch.upsert(doc))
        kept = {doc.locale for doc in documents}
        self.remove(batch, article_id, keep=kept)
        self._locales[article_id] = kept
        return [f"{article_id}\t{locale}" for locale in sorted(kept)]

    def remove(self, batch: Batch, article_id: str, keep: Iterable[str] = ()) -> int:
        """Drop the article's stored locales except ``keep``; returns how many went."""
        wanted = set(keep)
        stored = self._locales.get(article_id, set())
        stale = [(article_id, locale) for locale in stored if locale not in wanted]
        removed = batch.delete(SOURCE, stale)
        self.report.removed += removed
        self._locales[article_id] = wanted & stored
        return removed


def sync_article_pages(ctx: SyncContext) -> None:
    """List ``GET /articles`` page by page from the run's position, storing each page with its
    checkpoint; an incremental run stops at the first article older than its start."""
    run = ctx.run
    applier = ArticleApplier(ctx.writer, ctx.report, drafts=ctx.options.drafts)
    while run.page <= MAX_PAGES:
        data = ctx.client.list_articles_page(run.page, per_page=PER_PAGE)
        items = page_items(data, "data", "GET /articles")
        total = data.get("total_count")
        if isinstance(total, int) and not isinstance(total, bool) and total >= 0:
            ctx.report.total = total
        older = False
        with ctx.writer.batch() as batch:
            for article in items:
                updated = article_updated_at(article)
                if _older(run.since, updated) and not run.full:
                    older = True
                    break
                run.saw(updated)
                run.seen.extend(applier.apply(batch, article))
                ctx.advance()
            run.page += 1
            ctx.save(batch)
        if older or not items or run.page > _total_pages(data):
            return


def _older(since: int | None, updated: int | None) -> bool:
    return since is not None and updated is not None and updated < since


def _total_pages(data: Mapping[str, Any]) -> int:
    pages = data.get("pages")
    total = pages.get("total_pages") if isinstance(pages, Mapping) else None
    return total if isinstance(total, int) and not isinstance(total, bool) else MAX_PAGES


def sync_articles(
    articles: Iterable[Mapping[str, Any]], sessions: sessionmaker[Session], workspace_id: str
) -> SyncReport:
    """Store every listed article; remove stored ones the listing no longer has.

    The whole listing in one go, without checkpoints (tests, imports); scheduled and command-line
    syncs go through :func:`deskmate.plugins.knowledge_sync.runner.run_sync`.
    """
    report = SyncReport(source=SOURCE)
    writer = StoreWriter(sessions, workspace_id)
    applier = ArticleApplier(writer, report, drafts=True)
    seen: set[tuple[str, str]] = set()
    for article in articles:
        with writer.batch() as batch:
            for key in applier.apply(batch, article):
                external_id, locale = key.split("\t")
                seen.add((external_id, locale))
    gone = [key for key in writer.versions(SOURCE) if key not in seen]
    with writer.batch() as batch:
        report.removed += batch.delete(SOURCE, gone)
    return report
