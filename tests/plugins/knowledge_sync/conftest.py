"""A seeded sandbox Intercom, settings pointing at it, and a migrated store, per test."""

from __future__ import annotations

import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from deskmate.core.config import Settings
from deskmate.core.intercom.client import IntercomClient, RetryPolicy
from deskmate.core.intercom.ratelimit import RateLimiter, limiters
from deskmate.core.sandbox import SandboxServer, SeedOptions, create_sandbox_app
from deskmate.core.store.db import make_engine, make_session_factory, upgrade
from deskmate.core.store.models import KnowledgeDocument, KnowledgePassage
from deskmate.testing import SANDBOX_AI_ADMIN_ID, TEST_APP_ID, make_workspace

CLI_ENV = {"T_TOKEN": "test-token", "T_SECRET": "test-client-secret", "T_ADMIN": "admin-secret-1"}
"""The secrets a :meth:`Synced.config_file` refers to."""

FAST_RETRY = RetryPolicy(max_retries=6, backoff_base=0.01, backoff_cap=0.05)


class SimulatedClock:
    """A clock that moves only when something sleeps on it (thread-safe)."""

    def __init__(self, start: float) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += max(0.0, seconds)


@dataclass
class Synced:
    """A sandbox and a deskmate store to sync it into."""

    server: SandboxServer
    settings: Settings
    sessions: sessionmaker[Session]
    cli_env: dict[str, str] = field(default_factory=lambda: dict(CLI_ENV))

    @property
    def state(self) -> Any:
        return self.server.sandbox.state

    def control(self, method: str, path: str, **body: Any) -> requests.Response:
        url = f"{self.server.base_url}/_sandbox{path}"
        return requests.request(method, url, json=body or None, timeout=10)

    def fault(
        self, status: int | str, rate: float = 1.0, paths: tuple[str, ...] = (), latency_ms: int = 0
    ) -> None:
        rule = {"status": status, "rate": rate, "paths": list(paths), "latency_ms": latency_ms}
        answer = self.control("POST", "/faults", seed=1, **rule)
        assert answer.status_code == 201, answer.text

    def requests(self) -> list[dict[str, Any]]:
        return self.control("GET", "/requests").json()["requests"]

    def client(self) -> IntercomClient:
        """A client on a simulated clock: backoff and rate-limit waits take no real time."""
        clock = SimulatedClock(time.time())
        limiter = RateLimiter(100_000, clock=clock, sleep=clock.sleep)
        workspace = self.settings.workspaces[TEST_APP_ID]
        return IntercomClient(
            workspace, retry=FAST_RETRY, limiter=limiter, clock=clock, sleep=clock.sleep
        )

    def config_file(self, plugin: str = "") -> Path:
        """A ``deskmate.toml`` for this sandbox and store (secrets from :data:`CLI_ENV`)."""
        folder = self.settings.instance_path
        path = folder.parent / f"{folder.name}.toml"
        path.write_text(textwrap.dedent(f"""
            public_url = "https://deskmate.example.com/"
            admin_token = {{ env = "T_ADMIN" }}
            instance_path = "{folder}"

            [workspaces.{TEST_APP_ID}]
            access_token = {{ env = "T_TOKEN" }}
            client_secret = {{ env = "T_SECRET" }}
            ai_admin_id = "{SANDBOX_AI_ADMIN_ID}"
            base_url = "{self.server.base_url}"

            [plugins.knowledge_sync]
            conversation_days = 0
            {plugin}
        """))  # fmt: skip
        return path

    def with_options(self, **section: Any) -> Settings:
        plugins = {"knowledge_sync": {**self.settings.plugins.get("knowledge_sync", {}), **section}}
        self.settings = replace(self.settings, plugins=plugins)
        return self.settings

    def documents(self, source: str | None = None) -> dict[tuple[str, str, str], tuple]:
        """Every stored document with what a reader sees, and its passages."""
        doc, passage = KnowledgeDocument, KnowledgePassage
        with self.sessions() as db:
            stmt = select(doc).where(doc.workspace_id == TEST_APP_ID)
            if source:
                stmt = stmt.where(doc.source == source)
            found = {}
            for d in db.scalars(stmt):
                texts = db.scalars(
                    select(passage.text)
                    .where(passage.document_id == d.id)
                    .order_by(passage.position)
                ).all()
                key = (d.source, d.external_id, d.locale)
                found[key] = (d.title, d.url, d.visibility, d.body, tuple(texts))
            return found


@pytest.fixture
def synced(tmp_path: Path) -> Iterator[Callable[..., Synced]]:
    """``synced(articles=…, conversations=…, **plugin_options)`` starts a seeded sandbox."""
    servers: list[SandboxServer] = []

    def start(
        articles: int = 0,
        conversations: int = 0,
        help_center: bool = True,
        rate_limit: int = 100_000,
        folder: str = "instance",
        **options: Any,
    ) -> Synced:
        limiters.clear()
        workspace = make_workspace()
        seed = SeedOptions(help_center=help_center, articles=articles, conversations=conversations)
        app = create_sandbox_app(
            workspace.access_token.reveal(), workspace.client_secret.reveal(), TEST_APP_ID,
            rate_limit=rate_limit, seed=seed,
        )  # fmt: skip
        server = SandboxServer(app).__enter__()
        servers.append(server)
        workspace = make_workspace(
            base_url=server.base_url, ai_admin_id=SANDBOX_AI_ADMIN_ID, rate_limit=rate_limit
        )
        settings = Settings(
            workspaces={TEST_APP_ID: workspace},
            instance_path=tmp_path / folder,
            plugins={"knowledge_sync": {"conversation_days": 0, **options}},
        )
        engine = make_engine(settings.resolved_database_url())
        upgrade(engine)
        return Synced(server, settings, make_session_factory(engine))

    yield start
    for server in servers:
        server.close()
    limiters.clear()
