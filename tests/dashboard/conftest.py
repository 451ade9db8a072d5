"""A store on a real SQLite file with a known week of conversations, and a dashboard app on it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from deskmate.core.app import create_app
from deskmate.core.config import Secret, Settings, WorkspaceSettings
from deskmate.core.store import db
from deskmate.core.store.audit import append_audit
from deskmate.core.store.models import (
    EventRecord,
    MessageRecord,
    SessionCitation,
    SessionRecord,
    SyncState,
)

APP = "ws1"
TOKEN = "dashboard-admin-token-0123456789"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Seeded:
    """The conversations the store holds, by name: their session ids."""

    ids: dict[str, int]
    dead_event: int


def _session(db_: Any, name: str, at: datetime, **values: Any) -> SessionRecord:
    record = SessionRecord(
        workspace_id=APP,
        conversation_id=name,
        created_at=at,
        updated_at=at,
        tags=[],
        **({"ai_turns": 0, "channel": "messenger", "language": "en"} | values),
    )
    db_.add(record)
    db_.flush()
    return record


def _asked(db_: Any, record: SessionRecord, text: str, at: datetime) -> None:
    db_.add(
        MessageRecord(
            session_id=record.id,
            workspace_id=APP,
            conversation_id=record.conversation_id,
            part_id=f"p-{record.id}",
            author_type="user",
            text=text,
            created_at=at,
        )
    )
    append_audit(
        db_, workspace_id=APP, kind="saw", data={"message": text}, session_id=record.id, now=at
    )


def _cite(db_: Any, record: SessionRecord, document: str, at: datetime) -> None:
    db_.add(
        SessionCitation(
            session_id=record.id,
            workspace_id=APP,
            document=document,
            title=document.title(),
            url=f"https://help.example.com/{document}",
            created_at=at,
        )
    )


def seed(url: str, now: datetime) -> Seeded:
    """Eight conversations of the last day, one three weeks old, events, a sync, a failure."""
    at = now - timedelta(hours=3)
    ids: dict[str, int] = {}
    with db.make_session_factory(db.make_engine(url)).begin() as s:
        handed = {"state": "handed_off", "handed_off_at": at, "mode": "autopilot"}
        rows = {
            "c-resolved": {"state": "resolved", "ai_turns": 1, "mode": "autopilot",
                           "first_answer_seconds": 30.0, "summary": "refund for a double charge",
                           "contact_id": "contact-7"},
            "c-answered": {"ai_turns": 2, "mode": "autopilot", "language": "fr",
                           "first_answer_seconds": 90.0},
            "c-gap1": handed | {"handoff_reason": "no_knowledge", "channel": "email"},
            "c-gap2": handed | {"handoff_reason": "no_knowledge"},
            "c-gap3": handed | {"handoff_reason": "low_confidence"},
            "c-human": handed | {"handoff_reason": "human_requested", "summary": "wants a person"},
            "c-left": {},
            "c-assist": {"mode": "assist"},
        }  # fmt: skip
        for name, values in rows.items():
            ids[name] = _session(s, name, at, **values).id
        old = _session(s, "c-old", now - timedelta(days=20), ai_turns=1, mode="autopilot")
        ids["c-old"] = old.id
        questions = {
            "c-gap1": "How do I export my invoices to CSV?",
            "c-gap2": "How can I export invoices as CSV?",
            "c-gap3": "Do you support SSO with Okta?",
            "c-resolved": "I was charged twice, how do I get a refund?",
        }
        for name, text in questions.items():
            _asked(s, s.get(SessionRecord, ids[name]), text, at)
        for name in ("c-resolved", "c-answered"):
            _cite(s, s.get(SessionRecord, ids[name]), "refunds", at)
        outcomes = [
            ("dead", 5, "HTTP 500 from Intercom"),
            ("done", 1, "answered"),
            ("queued", 0, None),
        ]
        events = [
            EventRecord(
                workspace_id=APP,
                notification_id=f"n{i}",
                topic="conversation.user.replied",
                conversation_id="c-human",
                payload="{}",
                status=status,
                attempts=tries,
                reason=reason,
                received_at=at,
                available_at=at,
            )
            for i, (status, tries, reason) in enumerate(outcomes)
        ]
        s.add_all(events)
        s.add(SyncState(workspace_id=APP, source="articles", last_run_at=at, last_success_at=at))
        append_audit(
            s,
            workspace_id=APP,
            kind="plugin_failed",
            data={"plugin": "crm", "hook": "enrich_context", "kind": "context", "error": "boom"},
            session_id=ids["c-human"],
            now=at,
        )
        s.flush()
        dead = events[0].id
    return Seeded(ids, dead)


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'deskmate.db'}"
    db.upgrade(url)
    return url


@pytest.fixture
def seeded(store_url: str) -> Seeded:
    return seed(store_url, datetime.now(UTC))


def dashboard_settings(url: str, tmp_path: Path, *, token: str | None = TOKEN) -> Settings:
    workspace = WorkspaceSettings(
        app_id=APP,
        access_token=Secret("env", "X", "intercom-token-secret"),
        client_secret=Secret("env", "Y", "client-secret-value"),
        ai_admin_id="42",
        region="eu",
        name="Acme",
        timezone="Europe/Paris",
    )
    return Settings(
        workspaces={APP: workspace},
        database_url=url,
        instance_path=tmp_path / "instance",
        admin_token=Secret("env", "DESKMATE_ADMIN_TOKEN", token) if token else None,
    )


@pytest.fixture
def app(store_url: str, seeded: Seeded, tmp_path: Path) -> Flask:
    return create_app(dashboard_settings(store_url, tmp_path), testing=True)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has a form with a CSRF token"
    return found[1]


def log_in(client: FlaskClient, token: str = TOKEN) -> Any:
    form = client.get("/login").get_data(as_text=True)
    return client.post("/login", data={"token": token, "csrf_token": csrf_of(form), "next": "/"})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert log_in(client).status_code == 302
    return client
