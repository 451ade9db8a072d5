"""A whole deskmate against the sandbox on loopback, with a small help center in the store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from deskmate.core.config import ChannelSwitches
from deskmate.core.stack import APP_ID, LocalStack, StackOptions
from deskmate.core.store.knowledge import DocumentInput, PassageText, upsert_document

ARTICLES = [
    (
        "refunds",
        "Refunds and double charges",
        "If you were charged twice, the duplicate charge is refunded automatically within "
        "5 business days. You can also request a refund from Billing > Invoices.",
    ),
    (
        "password",
        "Reset your password",
        "To reset your password, open the login page and click Forgot password. We email "
        "you a reset link that is valid for 24 hours.",
    ),
]


def seed_knowledge(stack: LocalStack) -> None:
    with stack.engine.sessions.begin() as db:
        for external_id, title, body in ARTICLES:
            doc = DocumentInput(
                source="article",
                external_id=external_id,
                title=title,
                body=body,
                passages=[PassageText(body, title)],
                locale="en",
                url=f"https://help.example.com/{external_id}",
            )
            upsert_document(db, APP_ID, doc)


@pytest.fixture
def make_stack(tmp_path: Path) -> Iterator[Callable[..., LocalStack]]:
    """Start a stack with the given options; stopped after the test."""
    stacks: list[LocalStack] = []

    def make(**options: Any) -> LocalStack:
        options.setdefault(
            "plugins", {"messenger": {"initial_delay": 0}, "email": {"initial_delay": 0}}
        )
        stack = LocalStack(tmp_path / f"stack{len(stacks)}", StackOptions(**options))
        stacks.append(stack)
        seed_knowledge(stack)
        stack.__enter__()
        return stack

    yield make
    for stack in stacks:
        stack.close()


@pytest.fixture
def stack(make_stack: Callable[..., LocalStack]) -> LocalStack:
    return make_stack()


@pytest.fixture
def assist_stack(make_stack: Callable[..., LocalStack]) -> LocalStack:
    return make_stack(channels={"messenger": ChannelSwitches(autopilot=True, assist=True)})
