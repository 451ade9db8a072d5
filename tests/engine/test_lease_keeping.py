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
from deskmate.core.plugins import HookFailure, recording_hook_failures
from deskmate.core.stack import APP_ID, LocalStack
from deskmate.core.store.models import ActionRecord, ActionStatus
from deskmate.hookspecs import hookimpl
from deskmate.testing import make_host, make_turn

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


def test_a_run_making_progress_keeps_its_conversation_and_a_stuck_one_gives_it_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lease_keeper, "MAX_PERIODS", 2)

    with LeaseKeeper(lambda: True, period=0.6):
        for _ in range(6):  # writes for 1.8 s: past the two periods a stuck run is held
            time.sleep(0.3)
            check_lease()
        time.sleep(2.6)  # stuck: two periods without a write, then the last renewal runs out
        with pytest.raises(LeaseLost):
            check_lease()


def test_a_lost_lease_passes_through_a_plugins_isolation() -> None:
    class Observer:
        @hookimpl
        def inbound_message(self) -> None:
            raise LeaseLost("taken")

    host = make_host(("observer", Observer()))
    failures: list[HookFailure] = []

    with recording_hook_failures(failures.append), pytest.raises(LeaseLost):
        host.hook.inbound_message(turn=make_turn("hi"), message=None)
    assert failures == [], "not the plugin's failure: the run stops"
