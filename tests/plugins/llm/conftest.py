"""A sandbox (fake Intercom plus its model at ``/v1``) on loopback and turns that reach it.

Every test goes through the real ``openai`` SDK over HTTP; the sandbox's control API scripts the
model's next answers and faults and lists the request bodies it received.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from sqlalchemy.orm import Session, sessionmaker

from deskmate.core.config import Secret, Settings
from deskmate.core.domain import Author, Hit, LanguageGuess, Message, Turn
from deskmate.core.effects import Effects
from deskmate.core.metrics import Metrics
from deskmate.core.sandbox import SandboxServer
from deskmate.core.store.audit import audit_trail
from deskmate.core.store.sessions import get_or_open_session
from deskmate.plugins import llm
from deskmate.plugins.llm.brain import Caller
from deskmate.plugins.llm.client import ModelClient
from deskmate.plugins.llm.options import LlmOptions, options_for
from deskmate.testing import TEST_APP_ID, make_conversation, make_workspace

MODEL_KEY = "sk-test-model-key-0123456789"

PASSWORD = Hit(
    "article-1",
    "How do I reset my password?",
    "Open the sign-in page and choose Forgot password. We email you a reset link that works "
    "for 30 minutes.",
    3.0,
    url="https://help.example.com/en/articles/1-reset",
    locale="en",
)
SHIPPING = Hit(
    "article-4",
    "Shipping times",
    "Orders ship within 2 business days. Delivery takes 3 to 5 days in Europe.",
    1.0,
    url="https://help.example.com/en/articles/4-shipping",
    locale="en",
)


@dataclass
class Model:
    """The sandbox model: script it, read what it received."""

    base_url: str
    metrics: Metrics = field(default_factory=Metrics)

    def script(self, *steps: dict[str, Any]) -> None:
        answer = requests.post(
            f"{self.base_url}/_sandbox/model/script", json={"steps": list(steps)}, timeout=5
        )
        assert answer.status_code == 200, answer.text

    def settings(self, **values: Any) -> None:
        answer = requests.post(f"{self.base_url}/_sandbox/model/settings", json=values, timeout=5)
        assert answer.status_code == 200, answer.text

    def bodies(self, path: str = "/v1/chat/completions") -> list[str]:
        got = requests.get(f"{self.base_url}/_sandbox/model/requests", timeout=5).json()
        return [r["body"] for r in got["requests"] if r["path"] == path]

    def prompts(self) -> list[str]:
        """The user message of every chat request received."""
        return [json.loads(b)["messages"][-1]["content"] for b in self.bodies()]

    def section(self, **overrides: Any) -> dict[str, Any]:
        return {
            "base_url": f"{self.base_url}/v1",
            "model": "sandbox-model",
            "api_key": Secret("env", "LLM_API_KEY", MODEL_KEY),
            "max_retry_wait": 0.2,
            "timeout": 5.0,
        } | overrides

    def options(self, **overrides: Any) -> LlmOptions:
        return options_for(self.section(**overrides))

    def caller(self, sleeps: list[float] | None = None, **overrides: Any) -> Caller:
        options = self.options(**overrides)
        sleep = sleeps.append if sleeps is not None else (lambda _s: None)
        return Caller(options, ModelClient(options), self.metrics, sleep=sleep)


@pytest.fixture(autouse=True)
def fresh_plugin() -> Iterator[None]:
    """No settings, client, cached turn or open circuit crosses from one test to another."""
    llm.reset()
    yield
    llm.reset()


@pytest.fixture
def model(intercom_sandbox: SandboxServer) -> Iterator[Model]:
    yield Model(intercom_sandbox.base_url)


@pytest.fixture
def make_llm_turn(
    store_sessions: sessionmaker[Session], settings: Settings, model: Model
) -> Callable[..., Turn]:
    """``make_llm_turn(text, section=..., history=[...])``: a stored session's turn whose settings
    point the llm plugin at the sandbox model."""
    counter = iter(range(1, 10_000))

    def make(
        text: str = "How do I reset my password?",
        *,
        language: str | None = "en",
        history: list[Message] | None = None,
        channel: str = "messenger",
        conversation_id: str | None = None,
        **section: Any,
    ) -> Turn:
        number = next(counter)
        conversation_id = conversation_id or f"c{number}"
        with store_sessions.begin() as db:
            record = get_or_open_session(db, TEST_APP_ID, conversation_id, channel=channel)
            session_id = record.id
        latest = Message(f"part-{number}", Author("user", "contact-1", "Ada"), text)
        plugins = {"llm": model.section(**section)}
        turn = Turn(
            workspace=make_workspace(),
            conversation=make_conversation(text, id=conversation_id),
            session_id=session_id,
            channel=channel,
            mode="autopilot",
            messages=[*(history or []), latest],
            latest=latest,
            language=LanguageGuess(language, 0.99) if language else None,
            settings=Settings(
                workspaces=settings.workspaces,
                instance_path=settings.instance_path,
                plugins=plugins,
            ),
        )
        turn.actions = Effects(
            None,
            store_sessions,
            session_id=session_id,
            workspace_id=TEST_APP_ID,
            key_prefix=f"{TEST_APP_ID}:{conversation_id}",
        )
        return turn

    return make


def model_audit(sessions: sessionmaker[Session], turn: Turn) -> list[dict[str, Any]]:
    """The ``model`` records of the turn's session audit, oldest first."""
    with sessions() as db:
        return [r.data for r in audit_trail(db, turn.session_id) if r.kind == "model"]
