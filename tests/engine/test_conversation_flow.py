"""The conversation flow end to end: sandbox webhooks → intake → worker → engine → Intercom."""

from __future__ import annotations

from collections.abc import Callable

from deskmate.core.domain import Message, Turn
from deskmate.core.stack import APP_ID, LocalStack
from deskmate.core.store.models import SessionRecord, SessionState
from deskmate.core.store.sessions import get_session, history
from deskmate.hookspecs import hookimpl


def session_of(stack: LocalStack, conversation_id: str) -> SessionRecord:
    with stack.engine.sessions() as db:
        record = get_session(db, APP_ID, conversation_id)
        assert record is not None
        db.expunge(record)
        return record


def history_of(stack: LocalStack, conversation_id: str) -> list[Message]:
    with stack.engine.sessions() as db:
        return history(db, get_session(db, APP_ID, conversation_id))


def settle(stack: LocalStack) -> None:
    assert stack.wait_settled(), "deskmate did not settle in time"


def tag_names(stack: LocalStack, conversation_id: str) -> list[str]:
    return [t["name"] for t in stack.conversation(conversation_id)["tags"]["tags"]]


def test_an_answerable_question_gets_one_reply_with_its_source(stack: LocalStack) -> None:
    conversation = stack.start_conversation("I was charged twice, how do I get a refund?")
    settle(stack)
    replies = stack.parts_by_ai(conversation)
    assert len(replies) == 1
    assert "refund" in replies[0]["body"].lower()
    assert "help.example.com/refunds" in replies[0]["body"]
    assert session_of(stack, conversation).state == SessionState.OPEN


def test_asking_for_a_human_hands_off_with_note_tag_and_attributes(stack: LocalStack) -> None:
    conversation = stack.start_conversation("I want to talk to a human please")
    settle(stack)
    assert stack.parts_by_ai(conversation) == []
    notes = stack.parts_by_ai(conversation, "note")
    assert len(notes) == 1 and "Summary" in notes[0]["body"]
    assert "opencx_handed_off" in tag_names(stack, conversation)
    attributes = stack.conversation(conversation)["custom_attributes"]
    assert "human_requested" in attributes["deskmate_handoff_reason"].split(", ")
    assert attributes["deskmate_language"] == "en"
    assert session_of(stack, conversation).state == SessionState.HANDED_OFF

    stack.control(f"/conversations/{conversation}/reply", body="How do I reset my password?")
    settle(stack)
    assert stack.parts_by_ai(conversation) == [], "the AI stays quiet after a handoff"


def test_webhooks_delivered_three_times_post_one_reply(
    make_stack: Callable[..., LocalStack],
) -> None:
    stack = make_stack(duplicate_webhooks=3)
    conversation = stack.start_conversation("How do I reset my password?")
    settle(stack)
    assert len(stack.parts_by_ai(conversation)) == 1


def test_a_rep_reply_is_kept_as_context_and_never_answered(stack: LocalStack) -> None:
    conversation = stack.start_conversation("How do I reset my password?")
    settle(stack)
    stack.control(
        f"/conversations/{conversation}/admin_reply",
        admin_id=stack.human_admin_id,
        body="Let me know if the link arrived.",
    )
    settle(stack)
    assert len(stack.parts_by_ai(conversation)) == 1
    assert "Let me know if the link arrived." in [m.text for m in history_of(stack, conversation)]


def test_closing_a_conversation_the_ai_owned_resolves_its_session(stack: LocalStack) -> None:
    conversation = stack.start_conversation("How do I reset my password?")
    settle(stack)
    stack.control(f"/conversations/{conversation}/close")
    settle(stack)
    record = session_of(stack, conversation)
    assert record.state == SessionState.RESOLVED
    assert record.summary and "password" in record.summary.lower()


def test_assist_drafts_a_note_on_a_conversation_a_human_owns(assist_stack: LocalStack) -> None:
    stack = assist_stack
    conversation = stack.start_conversation("hello")
    settle(stack)
    stack.control(f"/conversations/{conversation}/assign", admin_id=stack.human_admin_id)
    settle(stack)
    stack.control(f"/conversations/{conversation}/reply", body="How do I reset my password?")
    settle(stack)
    notes = stack.parts_by_ai(conversation, "note")
    assert any("Suggested reply" in n["body"] for n in notes)
    assert "opencx_ai_assisted" in tag_names(stack, conversation)


class VipTagger:
    """A plugin that marks conversations of contacts on the enterprise plan."""

    @hookimpl
    def enrich_context(self, turn: Turn) -> dict[str, str]:
        turn.tags.append("vip")
        return {"plan": "enterprise"}


def test_session_tags_from_plugins_are_attached_once(
    make_stack: Callable[..., LocalStack],
) -> None:
    stack = make_stack(extra_plugins=[("vip", VipTagger())])
    conversation = stack.start_conversation("How do I reset my password?")
    settle(stack)
    stack.control(f"/conversations/{conversation}/reply", body="How do I reset my password again?")
    settle(stack)
    assert tag_names(stack, conversation).count("vip") == 1
    assert session_of(stack, conversation).tags == ["vip"]


def test_thanks_after_an_answer_gets_no_new_answer_and_no_handoff(stack: LocalStack) -> None:
    conversation = stack.start_conversation("How do I reset my password?")
    settle(stack)
    stack.control(f"/conversations/{conversation}/reply", body="Thanks! That worked.")
    settle(stack)
    assert len(stack.parts_by_ai(conversation)) == 1
    assert stack.parts_by_ai(conversation, "note") == []
    assert session_of(stack, conversation).state == SessionState.OPEN


def test_the_same_question_asked_again_is_handed_off_on_its_second_ask(stack: LocalStack) -> None:
    conversation = stack.start_conversation("How do I reset my password?")
    settle(stack)
    stack.control(
        f"/conversations/{conversation}/reply", body="How can I reset the password on my account?"
    )
    settle(stack)
    assert len(stack.parts_by_ai(conversation)) == 1
    record = session_of(stack, conversation)
    assert record.state == SessionState.HANDED_OFF
    attributes = stack.conversation(conversation)["custom_attributes"]
    assert "loop" in attributes["deskmate_handoff_reason"].split(", ")
