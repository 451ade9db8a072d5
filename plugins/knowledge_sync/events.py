"""Article webhooks between syncs: the intake stores them without a conversation; this applies them.

``article.created``, ``article.published`` and ``article.updated`` store the article as it is now
(published: public; a draft: internal); ``article.unpublished`` makes it a draft, so it leaves the
public knowledge; ``article.deleted`` removes every locale of it. A notification that carries no
body is completed with ``GET /articles/{id}``. A job applies the stored events every minute; a
failing one is retried a few times and then left ``dead`` for an operator to see.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from deskmate.core.config import Settings
from deskmate.core.intercom.client import IntercomClient
from deskmate.core.intercom.errors import IntercomError, NotFound
from deskmate.core.intercom.webhooks import ARTICLE_TOPICS
from deskmate.core.store.db import make_engine, make_session_factory
from deskmate.core.store.events import claim_events, finish_event, retry_event
from deskmate.core.store.models import EventRecord, EventStatus, utcnow
from deskmate.plugins.knowledge_sync.articles import SOURCE, ArticleApplier
from deskmate.plugins.knowledge_sync.options import sync_options
from deskmate.plugins.knowledge_sync.report import SyncReport
from deskmate.plugins.knowledge_sync.runner import sync_limiter
from deskmate.plugins.knowledge_sync.writer import StoreWriter

log = logging.getLogger(__name__)

EVENT_LEASE = timedelta(minutes=5)
RETRY_AFTER = timedelta(minutes=1)
MAX_ATTEMPTS = 5


class UnusableEvent(ValueError):
    """An article notification without what deskmate needs (an article id)."""


def handle_article_event(
    settings: Settings,
    workspace_id: str,
    topic: str,
    item: Mapping[str, Any],
    *,
    client: IntercomClient | None = None,
    sessions: sessionmaker[Session] | None = None,
) -> SyncReport:
    """Apply one article notification to the workspace's knowledge; returns what changed."""
    if topic not in ARTICLE_TOPICS:
        raise UnusableEvent(f"{topic!r} is not an article topic")
    article_id = item.get("id") if isinstance(item, Mapping) else None
    if isinstance(article_id, bool) or not isinstance(article_id, str | int) or not article_id:
        raise UnusableEvent("the notification names no article id")
    article_id = str(article_id)
    if sessions is None:
        engine = make_engine(settings.resolved_database_url())
        try:
            return handle_article_event(
                settings, workspace_id, topic, item, client=client,
                sessions=make_session_factory(engine),
            )  # fmt: skip
        finally:
            engine.dispose()
    report = SyncReport(source=SOURCE)
    writer = StoreWriter(sessions, workspace_id)
    applier = ArticleApplier(writer, report, drafts=sync_options(settings).drafts)
    article = None
    if topic != "article.deleted":
        article = _complete(settings, workspace_id, item, client)
    with writer.batch() as batch:
        if article is None:
            applier.remove(batch, article_id)
        else:
            applier.apply(batch, article)
    return report


def _complete(
    settings: Settings,
    workspace_id: str,
    item: Mapping[str, Any],
    client: IntercomClient | None,
) -> Mapping[str, Any] | None:
    """The article with its body: the notification's own, else fetched (``None``: it is gone)."""
    if isinstance(item.get("body"), str) and item.get("state"):
        return item
    workspace = settings.workspaces[workspace_id]
    share = sync_options(settings).rate_limit_share
    own = client is None
    client = client or IntercomClient(workspace, limiter=sync_limiter(workspace, share))
    try:
        return client.get_article(str(item["id"]))
    except NotFound:
        return None
    finally:
        if own:
            client.close_session()


def drain_article_events(settings: Settings) -> int:
    """Apply every due article notification of every workspace; returns how many were settled."""
    engine = make_engine(settings.resolved_database_url())
    sessions = make_session_factory(engine)
    settled = 0
    try:
        for workspace_id in settings.workspaces:
            for event_id in _due(sessions, workspace_id):
                settled += _process(settings, sessions, workspace_id, event_id)
    finally:
        engine.dispose()
    return settled


def _due(sessions: sessionmaker[Session], workspace_id: str) -> list[int]:
    with sessions() as db:
        return list(
            db.scalars(
                select(EventRecord.id).where(
                    EventRecord.workspace_id == workspace_id,
                    EventRecord.conversation_id.is_(None),
                    EventRecord.topic.in_(ARTICLE_TOPICS),
                    EventRecord.status.in_(EventStatus.PENDING),
                )
            )
        )


def _process(
    settings: Settings, sessions: sessionmaker[Session], workspace_id: str, event_id: int
) -> int:
    """Claim one event, apply it and settle it; 0 when another worker has it or it is not due."""
    with sessions.begin() as db:
        claimed = claim_events(db, workspace_id, None, lease=EVENT_LEASE, event_id=event_id)
        if not claimed:
            return 0
        topic, payload, attempts = claimed[0].topic, claimed[0].payload, claimed[0].attempts
    status, reason = EventStatus.DONE, None
    try:
        item = json.loads(payload)["data"]["item"]
        report = handle_article_event(settings, workspace_id, topic, item, sessions=sessions)
        log.info("%s for %s: %s", topic, workspace_id, report.summary())
    except (UnusableEvent, ValueError, KeyError, TypeError) as exc:
        status, reason = EventStatus.UNPROCESSABLE, f"article event: {exc}"[:300]
    except IntercomError as exc:
        if attempts < MAX_ATTEMPTS:
            with sessions.begin() as db:
                retry_event(db, event_id, str(exc)[:300], at=utcnow() + RETRY_AFTER)
            return 0
        status, reason = EventStatus.DEAD, str(exc)[:300]
    with sessions.begin() as db:
        finish_event(db, event_id, status, reason)
    return 1
