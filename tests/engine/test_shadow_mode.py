"""Shadow mode end to end: sandbox webhooks → engine; the AI decides, nothing is sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from deskmate.core.config import ChannelSwitches
from deskmate.core.domain import ActionResult, Decision, Message, Route, Turn
from deskmate.core.stack import LocalStack
from deskmate.core.store.audit import audit_trail
from deskmate.core.store.models import SessionState
from deskmate.hookspecs import hookimpl

from .test_conversation_flow import session_of, settle, tag_names

READ_METHODS = {"GET"}


def writes(stack: LocalStack) -> list[str]:
    """Every REST call the sandbox received that was not a read."""
    found = requests.get(f"{stack.sandbox_url}/_sandbox/requests", timeout=10).json()["requests"]
    return [f"{c['method']} {c['path']}" for c in found if c["method"] not in READ_METHODS]


def audit_of(stack: LocalStack, conversation_id: str, kind: str) -> list[dict[str, Any]]:
    session_id = session_of(stack, conversation_id).id
    with stack.engine.sessions() as db:
        return [r.data for r in audit_trail(db, session_id, limit=1_000) if r.kind == kind]


@pytest.fixture
def shadow_stack(make_stack: Callable[..., LocalStack]) -> LocalStack:
    return make_stack(mode="shadow")


def test_shadow_records_the_answer_it_would_give_and_sends_nothing(
    shadow_stack: LocalStack,
) -> None:
    stack = shadow_stack
    conversation = stack.start_conversation("How do I reset my password?")
    settle(stack)
    assert stack.parts_by_ai(conversation) == [] and stack.parts_by_ai(conversation, "note") == []
    assert writes(stack) == []
    [shadow] = audit_of(stack, conversation, "shadow")
    assert shadow["would"] == "answer" and shadow["reasons"] == []
    assert "Forgot password" in shadow["reply"]
    assert [c["title"] for c in shadow["citations"]] == ["Reset your password"]
    assert [w["action"] for w in shadow["withheld"]] == ["reply"]
    record = session_of(stack, conversation)
    assert record.mode == "shadow" and record.ai_turns == 0 and record.state == SessionState.OPEN


def test_shadow_handoff_withholds_note_tag_assignment_and_attributes(
    shadow_stack: LocalStack,
) -> None:
    stack = shadow_stack
    conversation = stack.start_conversation("I want to talk to a human please")
    settle(stack)
    [shadow] = audit_of(stack, conversation, "shadow")
    assert shadow["would"] == "handoff"
    assert "human_requested" in [r["code"] for r in shadow["reasons"]]
    assert {w["action"] for w in shadow["withheld"]} == {"note", "tag", "assign", "attributes"}
    assert writes(stack) == [] and tag_names(stack, conversation) == []
    assert stack.conversation(conversation)["custom_attributes"] == {}
    assert session_of(stack, conversation).state == SessionState.OPEN


def test_what_the_rep_then_did_is_recorded_beside_the_shadow_decision(
    shadow_stack: LocalStack,
) -> None:
    stack = shadow_stack
    conversation = stack.start_conversation("How do I reset my password?")
    settle(stack)
    stack.control(
        f"/conversations/{conversation}/admin_reply",
        admin_id=stack.human_admin_id,
        body="Use the Forgot password link on the login page.",
    )
    settle(stack)
    stack.control(f"/conversations/{conversation}/close", admin_id=stack.human_admin_id)
    settle(stack)
    humans = audit_of(stack, conversation, "human")
    assert [h["did"] for h in humans] == ["replied", "closed"]
    assert {h["admin_id"] for h in humans} == {stack.human_admin_id}
    assert writes(stack) == []


def test_shadow_decides_on_conversations_a_human_owns(shadow_stack: LocalStack) -> None:
    stack = shadow_stack
    conversation = stack.start_conversation("hello")
    settle(stack)
    stack.control(f"/conversations/{conversation}/assign", admin_id=stack.human_admin_id)
    settle(stack)
    stack.control(f"/conversations/{conversation}/reply", body="How do I reset my password?")
    settle(stack)
    shadows = audit_of(stack, conversation, "shadow")
    assert shadows[-1]["would"] == "answer"
    assert [h["did"] for h in audit_of(stack, conversation, "human")] == ["assigned"]
    assert writes(stack) == []


def test_the_optional_shadow_note_is_the_only_write(make_stack: Callable[..., LocalStack]) -> None:
    stack = make_stack(mode="shadow", shadow_note=True)
    conversation = stack.start_conversation("How do I reset my password?")
    settle(stack)
    assert stack.parts_by_ai(conversation) == []
    [note] = stack.parts_by_ai(conversation, "note")
    assert "would have answered" in note["body"] and "Forgot password" in note["body"]
    assert writes(stack) == [f"POST /conversations/{conversation}/reply"]
    assert audit_of(stack, conversation, "human") == [], "our own note is not a teammate's act"


def test_a_channel_in_shadow_mode_leaves_the_workspace_live(
    make_stack: Callable[..., LocalStack],
) -> None:
    stack = make_stack(channels={"email": ChannelSwitches(mode="shadow")})
    email = stack.start_conversation("How do I reset my password?", channel="email")
    chat = stack.start_conversation("How do I reset my password?")
    settle(stack)
    assert stack.parts_by_ai(email) == [] and audit_of(stack, email, "shadow")
    assert len(stack.parts_by_ai(chat)) == 1 and audit_of(stack, chat, "shadow") == []


class Rogue:
    """A plugin that tries every way to reach the customer and the inbox."""

    def __init__(self) -> None:
        self.refused: list[str] = []

    @hookimpl
    def inbound_message(self, turn: Turn, message: Message) -> None:
        self._try(lambda: turn.intercom.reply(turn.conversation.id, "hi", admin_id="1"), "reply")
        self._try(lambda: turn.intercom.attach_tag(turn.conversation.id, "1", "1"), "tag")
        self._try(lambda: turn.intercom.close(turn.conversation.id, admin_id="1"), "close")
        self._try(lambda: turn.intercom._call("POST", "/tags"), "raw call")
        turn.actions.reply(turn, "<p>Sent by a plugin</p>", key="rogue")
        turn.actions.assign(turn, Route("admin", "1", None))

    @hookimpl(tryfirst=True)
    def post_reply(self, turn: Turn, body: str) -> ActionResult:
        turn.intercom.reply(turn.conversation.id, body, admin_id=turn.workspace.ai_admin_id)
        return ActionResult("reply", True, "posted by the rogue plugin")

    @hookimpl
    def escalation_reasons(self, turn: Turn) -> list[Any]:
        turn.tags.append("rogue")
        return []

    def _try(self, call: Callable[[], Any], name: str) -> None:
        try:
            call()
        except Exception as exc:
            self.refused.append(f"{name}: {type(exc).__name__}")


def test_no_plugin_can_write_to_intercom_in_shadow_mode(
    make_stack: Callable[..., LocalStack],
) -> None:
    rogue = Rogue()
    stack = make_stack(mode="shadow", extra_plugins=[("rogue", rogue)])
    conversation = stack.start_conversation("How do I reset my password?")
    settle(stack)
    assert writes(stack) == []
    assert stack.parts_by_ai(conversation) == [] and tag_names(stack, conversation) == []
    assert rogue.refused == [
        "reply: ShadowRefused",
        "tag: ShadowRefused",
        "close: ShadowRefused",
        "raw call: ShadowRefused",
    ]
    [shadow] = audit_of(stack, conversation, "shadow")
    assert {"action": "tag", "name": "rogue"} in shadow["withheld"]
    assert {w["action"] for w in shadow["withheld"]} == {"reply", "tag"}
    attempts = [(w["action"], w.get("body")) for w in audit_of(stack, conversation, "withheld")]
    assert ("reply", "<p>Sent by a plugin</p>") in attempts and ("assign", None) in attempts


class EagerChannel:
    """A channel decider that always wants to answer, shadow mode or not."""

    @hookimpl(tryfirst=True)
    def should_process(self, turn: Turn, channel: str, topic: str) -> Decision:
        return Decision("autopilot", "this plugin always answers")


def test_a_plugin_deciding_autopilot_in_shadow_mode_still_sends_nothing(
    make_stack: Callable[..., LocalStack],
) -> None:
    stack = make_stack(mode="shadow", extra_plugins=[("eager", EagerChannel())])
    conversation = stack.start_conversation("How do I reset my password?")
    settle(stack)
    assert writes(stack) == [] and stack.parts_by_ai(conversation) == []
    [decided] = audit_of(stack, conversation, "decided")
    assert decided["mode"] == "shadow" and "this plugin always answers" in decided["reason"]
    assert [s["would"] for s in audit_of(stack, conversation, "shadow")] == ["answer"]


class TrialChannel:
    """A decider that puts one customer segment in shadow mode on a live workspace."""

    @hookimpl(tryfirst=True)
    def should_process(self, turn: Turn, channel: str, topic: str) -> Decision | None:
        if "trial" in (turn.latest.text if turn.latest else ""):
            return Decision("shadow", "trial segment")
        return None


def test_a_plugin_may_put_a_conversation_of_a_live_workspace_in_shadow_mode(
    make_stack: Callable[..., LocalStack],
) -> None:
    stack = make_stack(extra_plugins=[("trial", TrialChannel())])
    trial = stack.start_conversation("I am on the trial plan. How do I reset my password?")
    settle(stack)
    assert writes(stack) == [] and stack.parts_by_ai(trial) == []
    assert len(audit_of(stack, trial, "shadow")) == 1
    assert audit_of(stack, trial, "decided")[0]["reason"] == "trial segment"
    stack.control(
        f"/conversations/{trial}/admin_reply", admin_id=stack.human_admin_id, body="Done."
    )
    settle(stack)
    assert [h["did"] for h in audit_of(stack, trial, "human")] == ["replied"]
    live = stack.start_conversation("How do I reset my password?")
    settle(stack)
    assert len(stack.parts_by_ai(live)) == 1
