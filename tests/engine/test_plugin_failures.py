"""A plugin that raises, in each kind of hook, never leaves a customer in silence: the run goes
through the real engine against the sandbox, and the customer gets one answer or one handoff."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import update

from deskmate.core import engine
from deskmate.core.brain import escalation
from deskmate.core.config import ChannelSwitches, HandoffPolicy, Routing
from deskmate.core.html import html_to_text
from deskmate.core.intercom.client import RetryPolicy
from deskmate.core.intercom.webhooks import CUSTOMER_TOPICS
from deskmate.core.sandbox.seed import load_workspace
from deskmate.core.stack import APP_ID, LocalStack
from deskmate.core.store.audit import audit_trail
from deskmate.core.store.events import list_events, replay_event
from deskmate.core.store.models import EventRecord, EventStatus, SessionState, utcnow
from deskmate.core.store.sessions import get_session
from deskmate.hookspecs import hookimpl

HUMAN_ADMIN = load_workspace().human_admin_id
QUESTION = "How do I reset my password?"


class Failing:
    """A third-party plugin whose implementations of the given hooks raise."""

    def __init__(self, *hooks: str) -> None:
        for hook in hooks:
            setattr(self, hook, hookimpl(_failing(hook)))


def _failing(hook: str) -> Callable[..., None]:
    def fail() -> None:
        raise RuntimeError(f"{hook} is broken")

    fail.__name__ = hook
    return fail


def settle(stack: LocalStack) -> None:
    assert stack.wait_settled(40), "deskmate did not settle in time"


def failures_counted(stack: LocalStack, hook: str) -> float:
    labels = {"plugin": "flaky", "hook": hook}
    found = stack.worker.metrics.registry.get_sample_value(
        "deskmate_plugin_hook_failures_total", labels
    )
    return found or 0.0


def audit_of(stack: LocalStack, conversation: str) -> list[tuple[str, dict[str, Any]]]:
    with stack.engine.sessions() as db:
        session = get_session(db, APP_ID, conversation)
        assert session is not None
        return [(a.kind, a.data) for a in audit_trail(db, session.id)]


def session_state(stack: LocalStack, conversation: str) -> str:
    with stack.engine.sessions() as db:
        session = get_session(db, APP_ID, conversation)
        assert session is not None
        return session.state


def event_statuses(stack: LocalStack) -> list[str]:
    with stack.engine.sessions() as db:
        return [e.status for e in list_events(db, limit=100)]


def tag_names(stack: LocalStack, conversation: str) -> list[str]:
    return [t["name"] for t in stack.conversation(conversation)["tags"]["tags"]]


def flaky_stack(make_stack: Callable[..., LocalStack], *hooks: str, **options: Any) -> LocalStack:
    stack = make_stack(
        extra_plugins=[("flaky", Failing(*hooks))],
        routing=Routing("admin", admin_id=HUMAN_ADMIN),
        **options,
    )
    stack.engine.max_attempts = 2
    return stack


@pytest.mark.parametrize(
    ("hook", "kind"),
    [
        ("inbound_message", "event"),
        ("escalation_reasons", "collector"),
        ("search_knowledge", "collector"),
        ("generate_reply", "decider"),
    ],
)
def test_a_failing_event_collector_or_decider_still_answers_once(
    make_stack: Callable[..., LocalStack], hook: str, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    stack = flaky_stack(make_stack, hook)
    before = failures_counted(stack, hook)

    with caplog.at_level(logging.ERROR, logger="deskmate.core.plugins"):
        conversation = stack.start_conversation(QUESTION)
        settle(stack)

    replies = stack.parts_by_ai(conversation)
    assert len(replies) == 1 and "Forgot password" in replies[0]["body"]
    assert stack.parts_by_ai(conversation, "note") == []
    assert failures_counted(stack, hook) - before == 1
    assert f"plugin 'flaky' failed in {hook}" in caplog.text
    failed = [data for kind, data in audit_of(stack, conversation) if kind == "plugin_failed"]
    assert failed == [
        {
            "plugin": "flaky",
            "hook": hook,
            "kind": failed[0]["kind"],
            "error": f"RuntimeError: {hook} is broken",
        }
    ]
    assert set(event_statuses(stack)) <= {EventStatus.DONE, EventStatus.SKIPPED}


def test_a_failing_action_is_retried_then_the_conversation_is_handed_to_the_team(
    make_stack: Callable[..., LocalStack], caplog: pytest.LogCaptureFixture
) -> None:
    stack = flaky_stack(make_stack, "post_reply")
    before = failures_counted(stack, "post_reply")

    with caplog.at_level(logging.ERROR, logger="deskmate.core.plugins"):
        conversation = stack.start_conversation(QUESTION)
        settle(stack)

    assert stack.parts_by_ai(conversation) == [], "the failing plugin took the reply"
    notes = stack.parts_by_ai(conversation, "note")
    assert len(notes) == 1
    note = html_to_text(notes[0]["body"])
    assert "gave up on this conversation after 2 attempts" in note
    assert "the plugin 'flaky' failed in its post_reply hook" in note
    assert "Traceback" not in note and "is broken" not in note
    assert "opencx_handed_off" in tag_names(stack, conversation)
    assert str(stack.conversation(conversation)["admin_assignee_id"]) == HUMAN_ADMIN
    assert session_state(stack, conversation) == SessionState.HANDED_OFF
    assert failures_counted(stack, "post_reply") - before == 2, "once per attempt"
    assert "plugin 'flaky' failed in post_reply (action hook)" in caplog.text
    kinds = [kind for kind, _ in audit_of(stack, conversation)]
    assert kinds.count("plugin_failed") == 2 and kinds.count("gave_up") == 1
    with stack.engine.sessions() as db:
        dead = list_events(db, status=EventStatus.DEAD, limit=10)
    assert len(dead) == 1
    assert "plugin 'flaky' failed in post_reply" in dead[0].reason
    assert dead[0].reason.endswith("handed the conversation to the team")


def faults(stack: LocalStack, **fault: object) -> None:
    response = requests.post(f"{stack.sandbox_url}/_sandbox/faults", json=fault, timeout=5)
    assert response.status_code == 201, response.text


def dead_events(stack: LocalStack) -> list[Any]:
    with stack.engine.sessions() as db:
        return list_events(db, status=EventStatus.DEAD, limit=10)


def test_a_builtin_bug_goes_through_retries_and_the_dead_letter_then_hands_over(
    make_stack: Callable[..., LocalStack], monkeypatch: pytest.MonkeyPatch
) -> None:
    def bug(*_: Any) -> None:
        raise ZeroDivisionError("a deskmate bug")

    monkeypatch.setattr(escalation, "reasons", bug)
    stack = flaky_stack(make_stack)

    conversation = stack.start_conversation(QUESTION)
    settle(stack)

    [dead] = dead_events(stack)
    assert dead.attempts == 2 and "ZeroDivisionError: a deskmate bug" in dead.reason
    assert stack.parts_by_ai(conversation) == []
    [note] = stack.parts_by_ai(conversation, "note")
    assert "an internal error (ZeroDivisionError)" in html_to_text(note["body"])
    assert "a deskmate bug" not in note["body"]
    assert "plugin_failed" not in [kind for kind, _ in audit_of(stack, conversation)]


def test_with_on_failure_off_a_dead_event_leaves_the_conversation_alone(
    make_stack: Callable[..., LocalStack],
) -> None:
    stack = flaky_stack(make_stack, "post_reply", handoff=HandoffPolicy(on_failure=False))

    conversation = stack.start_conversation(QUESTION)
    settle(stack)

    assert len(dead_events(stack)) == 1
    assert stack.parts_by_ai(conversation, "note") == []
    assert "opencx_handed_off" not in tag_names(stack, conversation)
    assert session_state(stack, conversation) == SessionState.OPEN


def test_a_handover_that_fails_too_is_recorded_once_and_never_retried(
    make_stack: Callable[..., LocalStack],
) -> None:
    stack = flaky_stack(make_stack, "post_reply", "post_note")

    conversation = stack.start_conversation(QUESTION)
    settle(stack)

    [dead] = dead_events(stack)
    assert dead.attempts == 2 and not dead.reason.endswith("handed the conversation to the team")
    assert stack.parts_by_ai(conversation, "comment") == []
    assert stack.parts_by_ai(conversation, "note") == []
    hooks = [
        data["hook"] for kind, data in audit_of(stack, conversation) if kind == "plugin_failed"
    ]
    assert hooks == ["post_reply", "post_reply", "post_note"]
    assert session_state(stack, conversation) == SessionState.OPEN


def test_a_failing_escalate_plugin_gives_way_to_deskmates_handoff_at_the_end(
    make_stack: Callable[..., LocalStack],
) -> None:
    stack = flaky_stack(make_stack, "escalate")

    conversation = stack.start_conversation("I want to talk to a human please")
    settle(stack)

    [dead] = dead_events(stack)
    assert "plugin 'flaky' failed in escalate" in dead.reason
    [note] = stack.parts_by_ai(conversation, "note")
    assert "the plugin 'flaky' failed in its escalate hook" in html_to_text(note["body"])
    assert "opencx_handed_off" in tag_names(stack, conversation)
    assert str(stack.conversation(conversation)["admin_assignee_id"]) == HUMAN_ADMIN


def test_a_replayed_handover_repeats_none_of_the_actions_it_already_took(
    make_stack: Callable[..., LocalStack],
) -> None:
    stack = flaky_stack(make_stack, "post_reply")
    client = stack.engine._client(stack.settings.workspaces[APP_ID])
    client.retry = RetryPolicy(max_retries=0, max_rate_limit_retries=0)
    faults(stack, status=500, rate=1.0, paths=["/tags", "*/tags"])

    conversation = stack.start_conversation(QUESTION)
    settle(stack)
    [dead] = dead_events(stack)
    assert len(stack.parts_by_ai(conversation, "note")) == 1, "the note went before the tag failed"
    assert session_state(stack, conversation) == SessionState.OPEN

    requests.delete(f"{stack.sandbox_url}/_sandbox/faults", timeout=5)
    with stack.engine.sessions.begin() as db:
        assert replay_event(db, dead.id) is not None
    stack.worker.queue.wake(APP_ID, [conversation])
    settle(stack)

    assert len(stack.parts_by_ai(conversation, "note")) == 1
    assert "opencx_handed_off" in tag_names(stack, conversation)
    assert session_state(stack, conversation) == SessionState.HANDED_OFF
    assert [e.reason.endswith("to the team") for e in dead_events(stack)] == [True]


def test_a_conversation_the_ai_only_assists_on_is_not_handed_over(
    make_stack: Callable[..., LocalStack], monkeypatch: pytest.MonkeyPatch
) -> None:
    def bug(*_: Any) -> str:
        raise ZeroDivisionError("a bug in the assist note")

    monkeypatch.setattr(engine, "_sources", bug)
    stack = flaky_stack(
        make_stack, channels={"messenger": ChannelSwitches(autopilot=True, assist=True)}
    )
    conversation = stack.start_conversation(QUESTION)
    settle(stack)
    stack.control(f"/conversations/{conversation}/assign", admin_id=stack.human_admin_id)
    settle(stack)

    stack.control(f"/conversations/{conversation}/reply", body="I forgot it, how do I reset it?")
    settle(stack)

    [dead] = dead_events(stack)
    assert "ZeroDivisionError" in dead.reason and not dead.reason.endswith("to the team")
    assert stack.parts_by_ai(conversation, "note") == []
    assert "opencx_handed_off" not in tag_names(stack, conversation)
    assert str(stack.conversation(conversation)["admin_assignee_id"]) == stack.human_admin_id


def test_an_event_whose_every_run_was_killed_goes_dead_and_hands_the_conversation_over(
    make_stack: Callable[..., LocalStack],
) -> None:
    stack = flaky_stack(make_stack)
    conversation = stack.start_conversation(QUESTION)
    settle(stack)
    [answer] = stack.parts_by_ai(conversation)
    with stack.engine.sessions.begin() as db:
        [event] = [e for e in list_events(db, limit=10) if e.topic in CUSTOMER_TOPICS]
        replay_event(db, event.id, force=True)
        db.execute(
            update(EventRecord)
            .where(EventRecord.id == event.id)
            .values(
                status=EventStatus.PROCESSING,
                attempts=stack.engine.max_attempts,
                lease_until=utcnow() - timedelta(seconds=1),
            )
        )

    stack.engine.run_conversation(APP_ID, conversation)

    [dead] = dead_events(stack)
    assert dead.attempts == stack.engine.max_attempts
    assert stack.parts_by_ai(conversation) == [answer]
    [note] = stack.parts_by_ai(conversation, "note")
    assert "every attempt stopped before it finished" in html_to_text(note["body"])
    assert "opencx_handed_off" in tag_names(stack, conversation)
    assert session_state(stack, conversation) == SessionState.HANDED_OFF
