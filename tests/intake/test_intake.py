"""POST /webhooks/intercom: every answer, what is stored, and what is counted."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from deskmate.core.app import create_app, state
from deskmate.core.config import Settings
from deskmate.core.intake import MAX_BODY_BYTES, intake_for, set_dispatcher
from deskmate.core.intercom.webhooks import LEGACY_REASON
from deskmate.core.store.db import upgrade
from deskmate.core.store.models import EventRecord
from deskmate.hookspecs import hookimpl
from deskmate.testing import TEST_APP_ID, make_host, webhook_headers

from .conftest import SECRET

WEBHOOK_SAMPLES = [
    ("conversation.operator.replied.messenger.2x-shape.json", "queued"),
    ("conversation.admin.open.assigned.messenger.2x-shape.json", "queued"),
    ("conversation.user.created.messenger.legacy-1x-shape.json", "unprocessable"),
    ("conversation.user.replied.messenger.legacy-1x-shape.json", "unprocessable"),
]


def test_head_answers_200_for_url_validation(intake: Any) -> None:
    response = intake.client.head("/webhooks/intercom")
    assert response.status_code == 200


def test_get_is_not_allowed(intake: Any) -> None:
    assert intake.client.get("/webhooks/intercom").status_code == 405


def test_ping_answers_200_and_stores_nothing(intake: Any) -> None:
    response = intake.post(intake.sample("ping.json"))
    assert response.status_code == 200
    assert intake.rows() == []
    assert (
        intake.counter("deskmate_webhooks_received_total", workspace=TEST_APP_ID, topic="ping") == 1
    )


def test_signed_notification_is_stored_queued_with_its_raw_body(intake: Any) -> None:
    body = intake.notification(id="notif_stored")
    response = intake.post(body)
    assert response.status_code == 200
    (row,) = intake.rows()
    assert row.workspace_id == TEST_APP_ID
    assert row.notification_id == "notif_stored"
    assert row.topic == "conversation.user.replied"
    assert row.conversation_id == "215472621202693"
    assert row.status == "queued"
    assert row.reason is None
    assert row.payload == body.decode()
    assert row.available_at >= row.received_at


def test_same_body_three_times_is_stored_once_and_counted_twice(intake: Any) -> None:
    body = intake.notification(id="notif_dup")
    statuses = [intake.post(body).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert len(intake.rows()) == 1
    assert intake.counter("deskmate_webhooks_duplicate_total", workspace=TEST_APP_ID) == 2


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Hub-Signature": ""},
        {"X-Hub-Signature": "sha1="},
        {"X-Hub-Signature": "sha1=" + "0" * 40},
        {"X-Hub-Signature": "sha256=" + "0" * 64},
        {"X-Hub-Signature": "sha1=é" + "0" * 39},
        {"X-Hub-Signature": "sha1=" + "a" * 10_000},
    ],
)
def test_missing_or_wrong_signature_is_401_and_stores_nothing(
    intake: Any, headers: dict[str, str]
) -> None:
    response = intake.post(intake.notification(), headers)
    assert response.status_code == 401
    assert "X-Hub-Signature" in response.get_data(as_text=True)
    assert intake.rows() == []
    assert (
        intake.counter(
            "deskmate_webhooks_rejected_total", workspace="unrouted", reason="bad_signature"
        )
        == 1
    )


def test_signature_over_other_bytes_is_401(intake: Any) -> None:
    body = intake.notification()
    assert intake.post(body + b" ", intake.sign(body)).status_code == 401
    assert intake.rows() == []


def test_another_workspaces_secret_cannot_post_for_this_workspace(intake: Any) -> None:
    body = intake.notification()
    assert intake.post(body, intake.sign(body, intake.other_secret)).status_code == 401
    assert intake.rows() == []


def test_each_workspace_is_stored_under_its_own_app_id(intake: Any) -> None:
    body = intake.notification(app_id=intake.other_app_id, id="notif_same")
    assert intake.post(body, intake.sign(body, intake.other_secret)).status_code == 200
    assert intake.post(intake.notification(id="notif_same")).status_code == 200
    assert sorted(r.workspace_id for r in intake.rows()) == [intake.other_app_id, TEST_APP_ID]


def test_unknown_app_id_is_200_ignored_and_counted(intake: Any) -> None:
    response = intake.post(intake.notification(app_id="not_configured"))
    assert response.status_code == 200
    assert intake.rows() == []
    assert (
        intake.counter(
            "deskmate_webhooks_ignored_total", workspace="unrouted", reason="unknown_workspace"
        )
        == 1
    )


def test_unsupported_topic_is_200_ignored_and_counted(intake: Any) -> None:
    response = intake.post(intake.notification(topic="contact.created"))
    assert response.status_code == 200
    assert intake.rows() == []
    assert (
        intake.counter(
            "deskmate_webhooks_ignored_total", workspace=TEST_APP_ID, reason="unsupported_topic"
        )
        == 1
    )


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        b"\xff\xfe\x00{",
        b"[]",
        b'{"topic": "conversation.user.replied"}',
        b"[" * 50_000 + b"]" * 50_000,
    ],
)
def test_signed_body_that_is_not_a_notification_is_400(intake: Any, body: bytes) -> None:
    response = intake.post(body)
    assert response.status_code == 400
    assert intake.rows() == []
    assert (
        intake.counter("deskmate_webhooks_rejected_total", workspace="unrouted", reason="not_json")
        == 1
    )


def test_body_over_1_mib_by_content_length_is_413(intake: Any) -> None:
    body = intake.notification(padding="x" * MAX_BODY_BYTES)
    response = intake.post(body)
    assert response.status_code == 413
    assert intake.rows() == []
    assert (
        intake.counter("deskmate_webhooks_rejected_total", workspace="unrouted", reason="too_large")
        == 1
    )


def test_body_of_exactly_1_mib_is_read(intake: Any) -> None:
    body = intake.notification(id="notif_big")
    body = body[:-1] + b" " * (MAX_BODY_BYTES - len(body)) + b"}"
    assert len(body) == MAX_BODY_BYTES
    assert intake.post(body).status_code == 200
    assert [r.notification_id for r in intake.rows()] == ["notif_big"]


def test_unexpected_shape_is_stored_unprocessable_with_the_reason(intake: Any) -> None:
    doc = json.loads(intake.notification(id="notif_odd"))
    doc["data"]["item"]["source"] = "a string"
    body = json.dumps(doc).encode()
    for _ in range(2):
        assert intake.post(body).status_code == 200
    (row,) = intake.rows()
    assert row.status == "unprocessable"
    assert row.notification_id == "notif_odd"
    assert "source" in row.reason
    assert intake.counter("deskmate_webhooks_unprocessable_total", workspace=TEST_APP_ID) == 1
    assert intake.counter("deskmate_webhooks_duplicate_total", workspace=TEST_APP_ID) == 1


def test_envelope_without_id_or_topic_is_stored_once_under_a_body_digest(intake: Any) -> None:
    body = json.dumps({"app_id": TEST_APP_ID, "data": {"item": {}}}).encode()
    for _ in range(3):
        assert intake.post(body).status_code == 200
    (row,) = intake.rows()
    assert row.status == "unprocessable"
    assert row.topic == "unknown"
    assert row.notification_id.startswith("sha256:")
    assert "topic" in row.reason


def test_oversized_fields_are_stored_unprocessable_not_truncated(intake: Any) -> None:
    body = intake.notification(id="n" * 1000, topic="t" * 1000)
    assert intake.post(body).status_code == 200
    (row,) = intake.rows()
    assert row.status == "unprocessable"
    assert row.topic == "unknown"
    assert len(row.notification_id) < 100


@pytest.mark.parametrize(("name", "status"), WEBHOOK_SAMPLES)
def test_real_sample_delivered_three_times_is_stored_once(
    intake: Any, name: str, status: str
) -> None:
    body = intake.sample(name)
    answers = [intake.post(body).status_code for _ in range(3)]
    assert answers == [200, 200, 200]
    (row,) = intake.rows()
    assert row.status == status
    assert row.payload == body.decode()
    if status == "unprocessable":
        assert row.reason == LEGACY_REASON


class RecordingDispatcher:
    """Remembers what the intake asked to run."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, datetime]]] = []

    def dispatch(self, workspace_id: str, conversations: Mapping[str, datetime]) -> None:
        self.calls.append((workspace_id, dict(conversations)))


def test_new_events_are_dispatched_after_commit_and_duplicates_are_not(intake: Any) -> None:
    dispatcher = RecordingDispatcher()
    set_dispatcher(intake.app, dispatcher)
    body = intake.notification(id="notif_dispatch")
    for _ in range(3):
        intake.post(body)
    intake.post(intake.sample("conversation.user.created.messenger.legacy-1x-shape.json"))
    intake_for(intake.app).writer.stop()  # hands everything committed to the dispatcher
    assert [(ws, list(convs)) for ws, convs in dispatcher.calls] == [
        (TEST_APP_ID, ["215472621202693"])
    ]


def test_failing_dispatcher_does_not_fail_the_delivery(intake: Any) -> None:
    class Broken:
        def dispatch(self, workspace_id: str, conversations: Mapping[str, datetime]) -> None:
            raise ConnectionError("queue down")

    set_dispatcher(intake.app, Broken())
    assert intake.post(intake.notification(id="notif_a")).status_code == 200
    assert intake.post(intake.notification(id="notif_b")).status_code == 200
    assert [r.status for r in intake.rows()] == ["queued", "queued"]


def test_database_without_schema_answers_503_so_intercom_retries(intake: Any) -> None:
    with intake.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE webhook_events RENAME TO moved_away")
    response = intake.post(intake.notification())
    assert response.status_code == 503
    assert (
        intake.counter(
            "deskmate_webhooks_rejected_total", workspace=TEST_APP_ID, reason="unavailable"
        )
        == 1
    )


def test_concurrent_deliveries_with_duplicates_are_stored_exactly_once(intake: Any) -> None:
    bodies = [intake.notification(id=f"notif_c{i}") for i in range(40)]
    statuses: list[int] = []

    def deliver(chunk: list[bytes]) -> None:
        client = intake.app.test_client()
        for body in chunk:
            statuses.append(
                client.post("/webhooks/intercom", data=body, headers=intake.sign(body)).status_code
            )

    threads = [threading.Thread(target=deliver, args=(bodies,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 120
    assert sorted(r.notification_id for r in intake.rows()) == sorted(
        f"notif_c{i}" for i in range(40)
    )
    assert intake.counter("deskmate_webhooks_duplicate_total", workspace=TEST_APP_ID) == 80


def test_secret_and_signature_never_reach_logs_or_answers(
    intake: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    good = intake.notification(id="notif_log")
    bad_shape = intake.notification(id="notif_log2", delivery_attempts="x")
    answers = [
        intake.post(good),
        intake.post(good, {"X-Hub-Signature": "sha1=" + "f" * 40}),
        intake.post(bad_shape),
        intake.post(b"nope"),
    ]
    signature = intake.sign(good)["X-Hub-Signature"][5:]
    seen = caplog.text + "".join(a.get_data(as_text=True) for a in answers)
    seen += repr(intake_for(intake.app).keys)
    assert intake.secret not in seen
    assert signature not in seen


def _article(notification_id: str) -> bytes:
    item = {"type": "article", "id": "42"}
    doc = {"app_id": TEST_APP_ID, "id": notification_id, "topic": "article.updated"}
    doc["data"] = {"item": item}
    return json.dumps(doc).encode()


def test_article_topics_are_stored_as_work_when_the_knowledge_sync_applies_them(
    intake: Any,
) -> None:
    assert intake.post(_article("notif_article")).status_code == 200
    (row,) = intake.rows()
    assert (row.status, row.conversation_id) == ("queued", None)


def _stored_article(settings: Settings, host: Any = None) -> tuple[str, str | None]:
    """Deliver an article notification to an app of ``settings``; the row's status and reason."""
    upgrade(settings.resolved_database_url())
    app = create_app(settings, host, testing=True)
    try:
        body = _article("notif_article")
        client = app.test_client()
        response = client.post(
            "/webhooks/intercom", data=body, headers=webhook_headers(body, SECRET)
        )
        assert response.status_code == 200
        with state(app).engine.connect() as conn:
            (row,) = conn.execute(select(EventRecord.status, EventRecord.reason)).all()
    finally:
        intake_for(app).writer.stop()
        state(app).engine.dispose()
    return tuple(row)


def test_article_topics_no_enabled_plugin_applies_are_stored_settled_with_the_reason(
    intake_settings: Settings,
) -> None:
    settings = replace(intake_settings, plugins={"knowledge_sync": {"enabled": False}})
    assert _stored_article(settings) == ("skipped", "no enabled plugin handles article.updated")


class ArticleMirror:
    """A plugin that applies article notifications itself."""

    @hookimpl
    def webhook_topics(self) -> list[str]:
        return ["article.updated"]


def test_a_plugin_naming_a_topic_in_webhook_topics_gets_its_events_stored_as_work(
    intake_settings: Settings,
) -> None:
    assert _stored_article(intake_settings, make_host(ArticleMirror())) == ("queued", None)
