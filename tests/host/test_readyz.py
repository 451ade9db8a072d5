"""``/readyz``: ready only when the database and the job queue both answer; else 503 and why."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from deskmate.core.app import create_app
from deskmate.core.config import Settings
from deskmate.core.local_servers import free_port
from deskmate.core.store import db
from deskmate.testing import make_host


def test_ready_when_the_database_is_migrated_and_the_sqlite_queue_answers(
    settings: Settings,
) -> None:
    db.upgrade(settings.resolved_database_url())

    response = create_app(settings, make_host()).test_client().get("/readyz")

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ready"
    assert body["database"]["ok"] and body["database"]["at_head"]
    assert body["queue"] == {"ok": True, "backend": "sqlite", "pending": 0}
    assert "reason" not in body


def test_not_ready_before_the_migrations_with_the_reason(settings: Settings) -> None:
    response = create_app(settings, make_host()).test_client().get("/readyz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not ready"
    assert body["reason"].startswith("database: ")
    assert "deskmate db upgrade" in body["reason"]


def test_not_ready_when_the_sqlite_queue_cannot_be_opened(
    settings: Settings, tmp_path: Path
) -> None:
    db.upgrade(settings.resolved_database_url())
    app = create_app(settings, make_host())
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    app.extensions["deskmate"].settings = dataclasses.replace(settings, instance_path=blocker)

    response = app.test_client().get("/readyz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["queue"]["ok"] is False
    assert body["reason"].startswith("queue: ")
    assert body["database"]["ok"] is True


def test_not_ready_when_redis_is_down_without_its_password(settings: Settings) -> None:
    db.upgrade(settings.resolved_database_url())
    url = f"redis://:hunter2-redis@127.0.0.1:{free_port()}/0"
    settings = dataclasses.replace(settings, jobs_backend="redis", redis_url=url)

    response = create_app(settings, make_host()).test_client().get("/readyz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["queue"]["backend"] == "redis" and body["queue"]["ok"] is False
    assert "queue: " in body["reason"]
    assert "hunter2-redis" not in response.get_data(as_text=True)


def test_ready_with_a_live_redis_queue(settings: Settings, redis_url: str) -> None:
    db.upgrade(settings.resolved_database_url())
    settings = dataclasses.replace(settings, jobs_backend="redis", redis_url=redis_url)

    response = create_app(settings, make_host()).test_client().get("/readyz")

    assert response.status_code == 200
    assert response.get_json()["queue"] == {"ok": True, "backend": "redis", "pending": 0}
