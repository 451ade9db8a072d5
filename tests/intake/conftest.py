"""An app with the webhook intake on a real, migrated SQLite file, and helpers to sign and read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flask
import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select

from deskmate.core.app import create_app, state
from deskmate.core.config import Secret, Settings
from deskmate.core.metrics import Metrics, metrics_for
from deskmate.core.store.db import upgrade
from deskmate.core.store.models import EventRecord
from deskmate.testing import TEST_APP_ID, make_workspace, webhook_headers

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "intercom" / "samples"
SECRET = "test-client-secret"
OTHER_APP_ID = "otherapp"
OTHER_SECRET = "other-client-secret"


def sample_body(name: str, app_id: str = TEST_APP_ID) -> bytes:
    """A real sample payload, re-addressed to ``app_id`` (the bytes are otherwise Intercom's)."""
    raw = (SAMPLES / name).read_bytes()
    original = json.loads(raw)["app_id"]
    return raw.replace(f'"{original}"'.encode(), f'"{app_id}"'.encode(), 1)


def notification(**overrides: Any) -> bytes:
    """A compact 2.x ``conversation.user.replied`` notification for the test workspace."""
    doc = json.loads(sample_body("conversation.operator.replied.messenger.2x-shape.json"))
    doc["topic"] = "conversation.user.replied"
    doc.update(overrides)
    return json.dumps(doc).encode()


@dataclass
class Intake:
    """The app under test with what the tests read back."""

    app: flask.Flask
    client: FlaskClient
    engine: Engine

    secret = SECRET
    other_app_id = OTHER_APP_ID
    other_secret = OTHER_SECRET
    sample = staticmethod(sample_body)
    notification = staticmethod(notification)

    @staticmethod
    def sign(body: bytes, secret: str = SECRET) -> dict[str, str]:
        return webhook_headers(body, secret)

    @property
    def metrics(self) -> Metrics:
        return metrics_for(self.app)

    def post(self, body: bytes, headers: dict[str, str] | None = None) -> Any:
        headers = self.sign(body) if headers is None else headers
        return self.client.post("/webhooks/intercom", data=body, headers=headers)

    def rows(self) -> list[EventRecord]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(EventRecord.__table__).order_by(EventRecord.id)))

    def counter(self, name: str, **labels: str) -> float:
        value = self.metrics.registry.get_sample_value(name, labels)
        return value or 0.0


@pytest.fixture
def intake_settings(settings: Settings) -> Settings:
    """The test workspace plus a second one signed with another secret."""
    other = make_workspace(
        app_id=OTHER_APP_ID, client_secret=Secret("env", "OTHER_SECRET", OTHER_SECRET)
    )
    return Settings(
        workspaces={**settings.workspaces, OTHER_APP_ID: other},
        instance_path=settings.instance_path,
    )


@pytest.fixture
def intake(intake_settings: Settings) -> Iterator[Intake]:
    """A testing app whose database file is migrated; its outbox writer is stopped afterwards."""
    upgrade(intake_settings.resolved_database_url())
    app = create_app(intake_settings, testing=True)
    engine = state(app).engine
    assert engine is not None
    yield Intake(app, app.test_client(), engine)
    writer = app.extensions["deskmate_intake"].writer
    if writer is not None:
        writer.stop()
    engine.dispose()
