"""A run slower than its lease keeps its conversation, and a run that lost it writes nothing more:
two runs never act on one conversation at once, so a slow write is never made twice."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from deskmate.core import lease_keeper
from deskmate.core.lease_keeper import LeaseKeeper, LeaseLost, check_lease
from deskmate.core.stack import APP_ID, LocalStack
from deskmate.core.store.models import ActionRecord, ActionStatus

QUESTION = "How do I reset my password?"


def reply_in_flight(stack: LocalStack, timeout: float = 20.0) -> bool:
    """Wait until a run has begun the reply (its action recorded, Intercom not answered yet)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with stack.engine.sessions() as db:
            statuses = db.scalars(select(ActionRecord.status).where(ActionRecord.kind == "reply"))
            if ActionStatus.PENDING in list(statuses):
                return True
        time.sleep(0.05)
    return False


def test_a_run_slower_than_its_lease_keeps_the_conversation_and_replies_once(
    make_stack: Callable[..., LocalStack],
) -> None:
    stack = make_stack()
    stack.engine.lease = timedelta(seconds=1)
    slow = {"status": "timeout", "rate": 1.0, "latency_ms": 2500, "paths": ["*/reply"]}
    answer = requests.post(f"{stack.sandbox_url}/_sandbox/faults", json=slow, timeout=5)
    assert answer.status_code == 201, answer.text

    conversation = stack.start_conversation(QUESTION)
    assert reply_in_flight(stack), "no run began the reply"
    time.sleep(1.5)  # the lease the run took has run out by now, had nobody renewed it

    second_run = stack.engine.run_conversation(APP_ID, conversation)
    assert stack.wait_settled(40)

    replies = stack.parts_by_ai(conversation)
    assert len(replies) == 1 and "Forgot password" in replies[0]["body"]
    assert second_run == 0, "the second run found the conversation held and left it"


def test_outside_a_run_there_is_no_lease_to_check() -> None:
    check_lease()


def test_a_run_whose_lease_another_run_took_stops_before_its_next_write() -> None:
    renewed = threading.Event()

    def taken() -> bool:
        renewed.set()
        return False

    with LeaseKeeper(taken, period=0.3):
        assert renewed.wait(5)
        time.sleep(0.05)
        with pytest.raises(LeaseLost, match="another run holds this conversation"):
            check_lease()


def test_a_run_is_held_past_its_first_period_but_gives_its_conversation_up_in_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lease_keeper, "MAX_PERIODS", 2)
    renewals: list[float] = []

    with LeaseKeeper(lambda: renewals.append(time.monotonic()) is None, period=0.6):
        time.sleep(0.9)
        check_lease()
        time.sleep(1.3)
        with pytest.raises(LeaseLost):
            check_lease()

    assert 3 <= len(renewals) <= 6
