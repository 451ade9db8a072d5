"""Article notifications between syncs: stored by the intake, applied one article at a time."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select

from deskmate.core.app import create_app
from deskmate.core.sandbox.shapes import article as article_json
from deskmate.core.store.models import EventRecord
from deskmate.plugins.knowledge_sync import drain_article_events, handle_article_event
from deskmate.plugins.knowledge_sync.events import UnusableEvent
from deskmate.plugins.knowledge_sync.runner import run_sync
from deskmate.testing import TEST_APP_ID, webhook_headers


@pytest.fixture
def env(synced: Callable[..., Any]) -> Iterator[Any]:
    """A synced Help Center and a deskmate host receiving webhooks for the same store."""
    env = synced(articles=3)
    run_sync(env.settings, TEST_APP_ID, "articles", sessions=env.sessions)
    env.app = create_app(env.settings, testing=True)
    yield env
    env.app.extensions["deskmate_intake"].writer.stop()


def deliver(env: Any, topic: str, item: dict[str, Any], number: int = 1) -> int:
    doc = {"type": "notification_event", "app_id": TEST_APP_ID, "id": f"notif_{topic}_{number}",
           "topic": topic, "data": {"type": "notification_event_data", "item": item},
           "created_at": 1_700_000_000}  # fmt: skip
    body = json.dumps(doc).encode()
    return (
        env.app.test_client()
        .post("/webhooks/intercom", data=body, headers=webhook_headers(body, "test-client-secret"))
        .status_code
    )


def events(env: Any) -> list[tuple[str, str | None, str]]:
    with env.sessions() as db:
        rows = db.scalars(select(EventRecord).order_by(EventRecord.id))
        return [(e.topic, e.conversation_id, e.status) for e in rows]


def first_article(env: Any) -> Any:
    return next(iter(env.state.articles.values()))


def test_article_topics_are_stored_without_a_conversation(env: Any) -> None:
    assert deliver(env, "article.deleted", {"type": "article", "id": first_article(env).id}) == 200
    assert events(env) == [("article.deleted", None, "queued")]


def test_the_drain_job_applies_deletes_and_publications(env: Any) -> None:
    gone = first_article(env)
    with env.state.lock:
        fresh = env.state.add_article("Gift cards", "<p>Gift cards never expire.</p>",
                                      "published", "en", {})  # fmt: skip
    deliver(env, "article.deleted", {"type": "article", "id": gone.id})
    deliver(env, "article.published", article_json(fresh, TEST_APP_ID))
    assert drain_article_events(env.settings) == 2
    keys = {key[1] for key in env.documents("article")}
    assert gone.id not in keys and fresh.id in keys
    assert [status for *_, status in events(env)] == ["done", "done"]


def test_a_notification_without_a_body_is_completed_from_the_api(env: Any) -> None:
    target = first_article(env)
    with env.state.lock:
        target.state = "draft"
    deliver(env, "article.unpublished", {"type": "article", "id": target.id})
    drain_article_events(env.settings)
    kept = {v[2] for k, v in env.documents("article").items() if k[1] == target.id}
    assert kept == {"internal"}


def test_an_unusable_notification_is_unprocessable_and_changes_nothing(env: Any) -> None:
    before = env.documents()
    deliver(env, "article.updated", {"type": "article", "title": "no id"})
    drain_article_events(env.settings)
    assert env.documents() == before
    assert events(env)[0][2] == "unprocessable"
    with pytest.raises(UnusableEvent):
        handle_article_event(env.settings, TEST_APP_ID, "conversation.user.created", {"id": "1"})
