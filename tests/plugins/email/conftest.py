"""The real email conversation from Intercom's API description, and a reset of the plugin."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from deskmate.core.config import Settings
from deskmate.core.intercom.models import Conversation
from deskmate.core.intercom.parse import conversation_from_item
from deskmate.plugins import email

EMAIL_SAMPLE = (
    Path(__file__).resolve().parents[2]
    / "data"
    / "intercom"
    / "samples"
    / "conversation.email.rest-get-response.preview-spec-example.json"
)


@pytest.fixture
def email_conversation() -> Conversation:
    """Intercom's example email conversation, parsed as deskmate parses REST answers."""
    return conversation_from_item(json.loads(EMAIL_SAMPLE.read_text()))


@pytest.fixture
def email_settings(settings: Settings) -> Iterator[Callable[..., Settings]]:
    """Settings whose ``[plugins.email]`` section is ``options``, told to the plugin at startup;
    the plugin is back on its defaults after the test."""

    def build(**options: Any) -> Settings:
        configured = dataclasses.replace(settings, plugins={"email": options})
        email.startup(configured)
        return configured

    yield build
    email.startup(settings)
