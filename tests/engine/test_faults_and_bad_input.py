"""Intercom failing, slow or odd, and customers writing odd things: nothing lost, nothing twice."""

from __future__ import annotations

import time
from collections.abc import Callable
from html.parser import HTMLParser

import requests

from deskmate.core.config import Routing
from deskmate.core.sandbox import sign
from deskmate.core.stack import APP_ID, LocalStack
from deskmate.core.store.events import list_events
from deskmate.core.store.models import EventStatus, SessionState
from deskmate.core.store.sessions import get_session, history


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)


def markup_of(html: str) -> tuple[set[str], set[str]]:
    """The element names and attribute names really present in ``html``."""
    parser = _Markup()
    parser.feed(html)
    return parser.tags, parser.attributes


def settle(stack: LocalStack, timeout: float = 40.0) -> None:
    assert stack.wait_settled(timeout), "deskmate did not settle in time"


def faults(stack: LocalStack, **fault: object) -> None:
    response = requests.post(f"{stack.sandbox_url}/_sandbox/faults", json=fault, timeout=5)
    assert response.status_code == 201, response.text


def clear_faults(stack: LocalStack) -> None:
    requests.delete(f"{stack.sandbox_url}/_sandbox/faults", timeout=5)


def event_statuses(stack: LocalStack) -> set[str]:
    with stack.engine.sessions() as db:
        return {e.status for e in list_events(db, limit=1000)}


def test_server_errors_are_retried_and_the_reply_is_posted_once(stack: LocalStack) -> None:
    faults(stack, status=503, rate=0.5, paths=["*/reply"], seed=7)
    conversation = stack.start_conversation("How do I reset my password?")
    settle(stack)
    clear_faults(stack)
    assert len(stack.parts_by_ai(conversation)) == 1
    assert event_statuses(stack) <= set(EventStatus.FINAL)


def test_a_reply_that_times_out_after_taking_effect_is_not_posted_again(
    make_stack: Callable[..., LocalStack],
) -> None:
    stack = make_stack()
    client = stack.engine._client(stack.settings.workspaces[APP_ID])
    client.timeout = (2.0, 0.5)
    faults(stack, status="timeout", rate=1.0, latency_ms=1200, paths=["*/reply"])
    conversation = stack.start_conversation("How do I reset my password?")
    settle(stack)
    clear_faults(stack)
    assert len(stack.parts_by_ai(conversation)) == 1


def test_a_handoff_whose_assignment_landed_but_answered_an_error_is_finished(
    make_stack: Callable[..., LocalStack],
) -> None:
    stack = make_stack(routing=Routing(mode="team", team_id="2000001"))
    faults(stack, status=502, rate=1.0, effect_first=True, paths=["*/parts"])
    conversation = stack.start_conversation("I want to talk to a human please")

    def assignment_failed() -> bool:
        calls = stack.sandbox_server.sandbox.requests.entries()
        return any(c["status"] == 502 for c in calls)

    deadline = time.monotonic() + 30
    while not assignment_failed() and time.monotonic() < deadline:
        time.sleep(0.05)
    clear_faults(stack)
    settle(stack)

    # The retry sees the team owning the conversation (its own assignment) yet finishes the
    # handoff it began: the attributes are written and the session is handed off.
    attributes = stack.conversation(conversation)["custom_attributes"]
    assert attributes["deskmate_handoff_reason"].startswith("human_requested")
    with stack.engine.sessions() as db:
        session = get_session(db, APP_ID, conversation)
    assert session.state == SessionState.HANDED_OFF
    assert len(stack.parts_by_ai(conversation, "note")) == 1
    assert event_statuses(stack) <= {EventStatus.DONE, EventStatus.SKIPPED}


def test_a_handoff_note_that_times_out_after_taking_effect_is_not_posted_again(
    make_stack: Callable[..., LocalStack],
) -> None:
    stack = make_stack()
    client = stack.engine._client(stack.settings.workspaces[APP_ID])
    client.timeout = (2.0, 0.5)
    faults(stack, status="timeout", rate=1.0, latency_ms=1200, paths=["*/reply"])
    conversation = stack.start_conversation("I want to speak to a human, this is a disgrace")
    settle(stack, timeout=90)
    clear_faults(stack)
    notes = stack.parts_by_ai(conversation, "note")
    assert len(notes) == 1 and "<li>" in notes[0]["body"], "one note, with its list of reasons"


def test_a_handoff_assignment_that_times_out_after_taking_effect_is_not_made_again(
    make_stack: Callable[..., LocalStack],
) -> None:
    stack = make_stack()
    client = stack.engine._client(stack.settings.workspaces[APP_ID])
    client.timeout = (2.0, 0.5)
    faults(stack, status="timeout", rate=1.0, latency_ms=1200, paths=["*/parts"])
    conversation = stack.start_conversation("I want to speak to a human, this is a disgrace")
    settle(stack, timeout=90)
    clear_faults(stack)
    assert len(stack.parts_by_ai(conversation, "assignment")) == 1
    assert len(stack.parts_by_ai(conversation, "note")) == 1
    assert event_statuses(stack) <= set(EventStatus.FINAL)


def test_rate_limited_calls_wait_and_succeed(stack: LocalStack) -> None:
    faults(stack, status=429, rate=0.3, paths=["*/reply"], seed=3)
    conversation = stack.start_conversation("How do I reset my password?")
    settle(stack, timeout=90)
    clear_faults(stack)
    assert len(stack.parts_by_ai(conversation)) == 1


def test_an_unknown_contact_does_not_stop_the_answer(stack: LocalStack) -> None:
    faults(stack, status=404, rate=1.0, paths=["/contacts/*"])
    conversation = stack.start_conversation("How do I reset my password?")
    settle(stack)
    clear_faults(stack)
    assert len(stack.parts_by_ai(conversation)) == 1


def test_script_in_a_message_is_never_echoed_into_a_note(stack: LocalStack) -> None:
    conversation = stack.start_conversation(
        '<script>alert(1)</script><img src=x onerror="alert(2)"> I want to speak to a human'
    )
    settle(stack)
    notes = stack.parts_by_ai(conversation, "note")
    assert len(notes) == 1
    tags, attributes = markup_of(notes[0]["body"])
    assert "script" not in tags and "img" not in tags
    assert not [a for a in attributes if a.startswith("on")]
    assert "&lt;script&gt;" in notes[0]["body"], "the customer's words are shown, escaped"


def test_a_very_long_message_is_answered_or_handed_off_once(stack: LocalStack) -> None:
    body = "How do I reset my password? " + "Please help me with this. " * 1500
    conversation = stack.start_conversation(body)
    settle(stack)
    outcomes = len(stack.parts_by_ai(conversation)) + len(stack.parts_by_ai(conversation, "note"))
    assert outcomes == 1


def test_the_same_part_under_two_topics_is_answered_once(stack: LocalStack) -> None:
    conversation = stack.start_conversation("hello")
    settle(stack)
    stack.control(f"/conversations/{conversation}/reply", body="How do I reset my password?")
    settle(stack)
    before = len(stack.parts_by_ai(conversation))
    with stack.engine.sessions() as db:
        replied = next(e for e in list_events(db) if e.topic == "conversation.user.replied")
        payload = replied.payload
    resent = payload.replace(replied.notification_id, replied.notification_id + "-again").replace(
        '"conversation.user.replied"', '"conversation.admin.replied"', 1
    )
    assert resent != payload
    secret = stack.settings.workspaces[APP_ID].client_secret.reveal().encode()
    for body in (payload.replace(replied.notification_id, "other-id"), resent):
        raw = body.encode()
        response = requests.post(
            stack.url + "/webhooks/intercom",
            data=raw,
            headers={"X-Hub-Signature": sign(secret, raw), "Content-Type": "application/json"},
            timeout=5,
        )
        assert response.status_code == 200
    settle(stack)
    assert len(stack.parts_by_ai(conversation)) == before


def test_a_message_with_no_text_is_kept_and_not_answered(stack: LocalStack) -> None:
    conversation = stack.start_conversation(" \n ")
    settle(stack)
    assert stack.parts_by_ai(conversation) == []
    with stack.engine.sessions() as db:
        record = get_session(db, APP_ID, conversation)
        assert record is None or history(db, record) == []
