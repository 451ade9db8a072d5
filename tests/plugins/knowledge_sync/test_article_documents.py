"""One Help Center article → its documents: locales, visibility, passages, hostile fields."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from deskmate.plugins.knowledge_sync import scheduled_sync
from deskmate.plugins.knowledge_sync.articles import Unusable, article_documents
from deskmate.plugins.knowledge_sync.report import SyncReport
from deskmate.testing import TEST_APP_ID

BODY = "<h2>Reset</h2><p>Click Forgot password.</p><h2>Still stuck?</h2><p>Write to us.</p>"


def article(**fields: Any) -> dict[str, Any]:
    base = {"id": 42, "title": "Passwords", "body": BODY, "state": "published",
            "default_locale": "en", "updated_at": 1_700_000_000,
            "url": "https://help.example.com/en/articles/42"}  # fmt: skip
    return base | fields


def test_each_translation_is_a_document_with_its_own_state_and_url() -> None:
    translated = {
        "type": "article_translated_content",
        "de": {
            "title": "Passwörter",
            "body": "<p>Passwort vergessen wählen.</p>",
            "state": "draft",
            "url": "https://help.example.com/de/articles/42",
        },
    }
    docs = {d.locale: d for d in article_documents(article(translated_content=translated))}
    assert set(docs) == {"en", "de"}
    assert (docs["en"].visibility, docs["de"].visibility) == ("public", "internal")
    assert docs["de"].url.endswith("/de/articles/42") and docs["de"].title == "Passwörter"
    assert [p.heading for p in docs["en"].passages] == ["Reset", "Still stuck?"]
    assert article_documents(article(translated_content=translated), drafts=False)[0].locale == "en"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"body": 12}, "unreadable body"),
        ({"body": "<p>  </p><script>x()</script>"}, "no body"),
        ({"default_locale": "../../etc"}, "unreadable locale"),
        ({"body": "<p>" + "x" * 2_000_001 + "</p>"}, "body over 2 MB"),
    ],
)
def test_unusable_content_is_counted_with_its_reason(fields: dict[str, Any], reason: str) -> None:
    report = SyncReport()
    assert article_documents(article(**fields), skipped=report) == []
    assert report.skipped == {reason: 1}


def test_hostile_fields_are_made_harmless() -> None:
    hostile = article(
        title=["not", "text"],
        url="javascript:alert(1)",
        updated_at="soon",
        translated_content=["not", "a", "mapping"],
    )
    doc = article_documents(hostile)[0]
    assert doc.url is None and doc.updated_at is None and doc.title == "['not', 'text']"
    with pytest.raises(Unusable):
        article_documents(article(id=None))


def test_a_scheduled_run_logs_a_failure_instead_of_raising(synced, caplog) -> None:
    env = synced()
    env.fault(401)
    with caplog.at_level(logging.ERROR):
        assert scheduled_sync(env.settings, TEST_APP_ID, "articles") is None
    assert "access token was refused" in caplog.text and "test-token" not in caplog.text
