"""Fixtures and builders for testing deskmate plugins; import them in your own conftest.py.

``pytest_plugins = ["deskmate.testing"]`` makes every fixture here available.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import pytest
from sqlalchemy.orm import Session, sessionmaker

from deskmate.core.brain import runtime as brain_runtime
from deskmate.core.brain.search import KnowledgeIndex, Passage
from deskmate.core.brain.settings import BrainSettings
from deskmate.core.config import (
    ConfigInvalid,
    Secret,
    Settings,
    WorkspaceSettings,
    check_plugin_sections,
    secret_sources,
)
from deskmate.core.domain import Author, Message, Turn
from deskmate.core.intercom.models import Conversation, Source
from deskmate.core.plugins import PluginHost, make_plugin_manager
from deskmate.core.sandbox import SandboxServer, create_sandbox_app
from deskmate.core.sandbox.seed import load_workspace
from deskmate.core.store.db import make_engine, make_session_factory, upgrade

TEST_APP_ID = "testapp"
TEST_AI_ADMIN_ID = "999"
SANDBOX_AI_ADMIN_ID = load_workspace().me_id  # "Deskmate AI", the token's owner in the sandbox


def make_workspace(**overrides: Any) -> WorkspaceSettings:
    """A workspace with placeholder secrets and the AI admin ``999``; override any field."""
    fields: dict[str, Any] = {
        "app_id": TEST_APP_ID,
        "access_token": Secret("env", "TEST_INTERCOM_TOKEN", "test-token"),
        "client_secret": Secret("env", "TEST_INTERCOM_CLIENT_SECRET", "test-client-secret"),
        "ai_admin_id": TEST_AI_ADMIN_ID,
    }
    return WorkspaceSettings(**(fields | overrides))


def make_conversation(
    body: str = "Hello, I need help",
    *,
    id: str = "1001",
    author: Author | None = None,
    delivered_as: str = "customer_initiated",
    source_type: str = "conversation",
    admin_assignee_id: str | None = TEST_AI_ADMIN_ID,
    **overrides: Any,
) -> Conversation:
    """A conversation opened by a customer (Messenger by default) and assigned to the AI admin."""
    source = Source(
        id=f"source-{id}",
        type=source_type,
        delivered_as=delivered_as,
        body=body,
        author=author or Author("user", "contact-1", "Ada", "ada@example.com"),
    )
    return Conversation(id=id, source=source, admin_assignee_id=admin_assignee_id, **overrides)


def webhook_headers(body: bytes, secret: str | None = None) -> dict[str, str]:
    """The headers Intercom sends with a webhook ``body``: ``X-Hub-Signature: sha1=…`` signed
    with ``secret`` (default: the client secret of ``make_workspace()``)."""
    key = secret if secret is not None else make_workspace().client_secret.reveal()
    digest = hmac.new(key.encode(), body, hashlib.sha1).hexdigest()
    return {"X-Hub-Signature": f"sha1={digest}", "Content-Type": "application/json"}


def make_message(text: str = "Hello, I need help", **overrides: Any) -> Message:
    """A customer message with plain text ``text``."""
    fields: dict[str, Any] = {"part_id": "part-1", "author": Author("user", "contact-1")}
    return Message(text=text, **(fields | overrides))


def make_turn(text: str = "Hello, I need help", **overrides: Any) -> Turn:
    """A turn on a fresh conversation whose latest customer message is ``text``."""
    message = make_message(text)
    fields: dict[str, Any] = {
        "workspace": make_workspace(),
        "conversation": make_conversation(text),
        "channel": "messenger",
        "mode": "autopilot",
        "messages": [message],
        "latest": message,
    }
    return Turn(**(fields | overrides))


def make_host(
    *plugins: object | tuple[str, object],
    sections: Mapping[str, Mapping[str, Any]] | None = None,
    strict: bool = True,
) -> PluginHost:
    """A plugin host with deskmate's defaults plus ``plugins`` and no installed plugin.

    Each plugin is a module or object (named after it) or a ``(name, plugin)`` pair. ``strict``
    makes a plugin that fails to load raise instead of being reported, which is what a test wants.
    """
    named = [p if isinstance(p, tuple) else (_name_of(p), p) for p in plugins]
    env = {"DESKMATE_STRICT_PLUGINS": "1"} if strict else {}
    return make_plugin_manager(sections, env=env, entry_points=(), extra_plugins=named)


def _name_of(plugin: object) -> str:
    if isinstance(plugin, ModuleType):
        return plugin.__name__
    return getattr(plugin, "__name__", type(plugin).__name__)


def plugin_config(
    plugin: object,
    section: Mapping[str, Any] | None = None,
    *,
    name: str = "plugin_under_test",
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Validate ``section`` as deskmate validates ``[plugins.<name>]`` for ``plugin``.

    Returns the section as ``settings.plugin_config(name)`` would hold it: defaults filled in,
    secret references resolved from ``env``. A disabled section gives ``{}``.
    :raises ConfigInvalid: with every problem, each naming its key path.
    """
    raw = {name: dict(section or {})}
    strict = {"DESKMATE_STRICT_PLUGINS": "1"}
    host = make_plugin_manager(raw, env=strict, entry_points=(), extra_plugins=[(name, plugin)])
    with secret_sources(env or {}, Path.cwd()):
        sections, errors = check_plugin_sections(raw, host)
    if errors:
        raise ConfigInvalid(errors)
    return sections.get(name, {})


@pytest.fixture
def plugin_host() -> Callable[..., PluginHost]:
    """A factory: ``plugin_host(my_plugin)`` builds a host with the defaults and your plugins."""
    return make_host


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with one test workspace and an instance folder (and SQLite file) in ``tmp_path``."""
    return Settings(workspaces={TEST_APP_ID: make_workspace()}, instance_path=tmp_path / "instance")


@pytest.fixture
def intercom_sandbox() -> Iterator[SandboxServer]:
    """A fake Intercom on loopback for the test workspace (the token and client secret of
    ``make_workspace()``, app id ``testapp``; failed webhooks retried after 0.05 s).

    Point a workspace at it with ``make_workspace(base_url=intercom_sandbox.base_url,
    ai_admin_id=SANDBOX_AI_ADMIN_ID)`` and drive it through ``/_sandbox`` (docs/sandbox.md).
    """
    workspace = make_workspace()
    token, secret = workspace.access_token.reveal(), workspace.client_secret.reveal()
    app = create_sandbox_app(token, secret, TEST_APP_ID, webhook_retry_delay=0.05)
    with SandboxServer(app) as server:
        yield server


@pytest.fixture
def store_sessions(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """Sessions on a migrated SQLite database in ``settings``' instance folder.

    Use them with the repository modules of ``deskmate.core.store``:
    ``with store_sessions.begin() as session: get_or_open_session(session, ...)``.
    """
    engine = make_engine(settings.resolved_database_url())
    upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def brain_knowledge() -> Iterator[Callable[..., KnowledgeIndex]]:
    """A factory: ``brain_knowledge([Passage(...), ...])`` makes deskmate's default brain answer
    from those passages for the test workspace (``brain=BrainSettings(...)`` sets its options).
    The brain's previous state comes back after the test.
    """
    previous = brain_runtime.current()

    def use(passages: Iterable[Passage], brain: BrainSettings | None = None) -> KnowledgeIndex:
        index = KnowledgeIndex(passages)
        brain_runtime.install(
            brain_runtime.BrainRuntime(brain or BrainSettings(), indexes={TEST_APP_ID: index})
        )
        return index

    yield use
    brain_runtime.install(previous)


class FakeTime:
    """A clock that only moves when something sleeps; records every sleep.

    Pass ``clock=fake_time.clock, sleep=fake_time.sleep`` to an ``IntercomClient`` or a
    ``RateLimiter`` and retries, backoffs and rate-limit waits take no real time.
    """

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    """A fresh :class:`FakeTime`."""
    return FakeTime()


def server_unavailable(server: str, switch: str, reason: str) -> NoReturn:
    """Skip a test that needs a real ``server`` that isn't there, saying why and how to run it;
    fail it instead when the environment variable ``switch`` is ``require`` (as CI sets it)."""
    if os.environ.get(switch) == "require":
        pytest.fail(f"{server} is required ({switch}=require) but {reason}")
    pytest.skip(f"{server} tests skipped: {reason}; set {switch}=require to make this a failure")
