"""What the AI did with each conversation: one log line and the outcome metrics, end to end."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from deskmate.core.app import create_app
from deskmate.core.domain import Draft, Turn
from deskmate.core.stack import APP_ID, LocalStack
from deskmate.core.store.knowledge import record_sync_run
from deskmate.core.store.models import AuditRecord, utcnow
from deskmate.hookspecs import hookimpl

from .test_conversation_flow import settle


def sample(stack: LocalStack, name: str, **labels: str) -> float:
    value = stack.worker.metrics.registry.get_sample_value(name, {"workspace": APP_ID, **labels})
    return value or 0.0


def outcomes(caplog: pytest.LogCaptureFixture, conversation: str) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "deskmate.core.outcomes" and r.conversation == conversation
    ]


def test_an_answer_and_its_close_are_logged_and_counted(
    stack: LocalStack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="deskmate")
    labels = {"channel": "messenger", "outcome": "answered", "reason": ""}
    answered = sample(stack, "deskmate_conversation_outcomes_total", **labels)
    first = sample(stack, "deskmate_time_to_first_answer_seconds_count", channel="messenger")
    by_ai = sample(stack, "deskmate_conversations_closed_total", resolved_by="ai")

    conversation = stack.start_conversation("How do I reset my password?")
    settle(stack)
    stack.control(f"/conversations/{conversation}/close")
    settle(stack)

    decided, closed = outcomes(caplog, conversation)
    assert (decided.outcome, decided.levelno, decided.channel) == (
        "answered",
        logging.INFO,
        "messenger",
    )
    assert decided.brain == "deskmate.core.brain.hooks"
    assert decided.first_answer_seconds >= 0
    assert "password" not in decided.getMessage().lower(), "no message body at INFO"
    assert (closed.outcome, closed.resolved_by) == ("closed", "ai")
    assert sample(stack, "deskmate_conversation_outcomes_total", **labels) == answered + 1
    assert (
        sample(stack, "deskmate_time_to_first_answer_seconds_count", channel="messenger")
        == first + 1
    )
    assert sample(stack, "deskmate_conversations_closed_total", resolved_by="ai") == by_ai + 1
    assert (
        sample(
            stack,
            "deskmate_decisions_by_brain_total",
            brain="deskmate.core.brain.hooks",
            outcome="answered",
        )
        >= 1
    )
    writes = [r for r in caplog.records if r.name == "deskmate.core.effects"]
    assert any(r.action == "reply" and r.action_status == "done" for r in writes)


def test_a_handoff_counts_each_reason_and_a_later_close_is_a_human_resolution(
    stack: LocalStack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="deskmate")
    asked = sample(stack, "deskmate_handoff_reasons_total", reason="human_requested")
    by_human = sample(stack, "deskmate_conversations_closed_total", resolved_by="human")

    conversation = stack.start_conversation("I want to talk to a human please")
    settle(stack)
    stack.control(f"/conversations/{conversation}/close")
    settle(stack)

    decided, closed = outcomes(caplog, conversation)
    assert decided.outcome == "handed_off"
    assert "human_requested" in decided.reasons
    assert "human_requested" in decided.getMessage()
    assert closed.resolved_by == "human"
    assert sample(stack, "deskmate_handoff_reasons_total", reason="human_requested") == asked + 1
    handed = sample(
        stack,
        "deskmate_conversation_outcomes_total",
        channel="messenger",
        outcome="handed_off",
        reason=decided.reasons[0],
    )
    assert handed >= 1
    assert sample(stack, "deskmate_conversations_closed_total", resolved_by="human") == by_human + 1


def test_a_skip_is_counted_by_its_reason_code(
    make_stack: Callable[..., LocalStack], caplog: pytest.LogCaptureFixture
) -> None:
    stack = make_stack(process_unassigned=False)
    caplog.set_level(logging.INFO, logger="deskmate")
    labels = {"channel": "messenger", "outcome": "skipped", "reason": "unassigned"}
    before = sample(stack, "deskmate_conversation_outcomes_total", **labels)

    conversation = stack.start_conversation("How do I reset my password?")
    settle(stack)

    (decided,) = outcomes(caplog, conversation)
    assert (decided.outcome, decided.reasons) == ("skipped", ["unassigned"])
    assert "process_unassigned is off" in decided.getMessage()
    assert sample(stack, "deskmate_conversation_outcomes_total", **labels) == before + 1


class SmallTalkBrain:
    """A brain plugin that answers greetings itself and leaves the rest to the default brain."""

    @hookimpl
    def generate_reply(self, turn: Turn, hits: list) -> Draft | None:
        if turn.latest and "hello" in turn.latest.text.lower():
            return Draft("Hello! How can I help?", 0.99)
        return None


def test_decisions_are_counted_by_the_plugin_whose_draft_was_used(
    make_stack: Callable[..., LocalStack], caplog: pytest.LogCaptureFixture
) -> None:
    stack = make_stack(extra_plugins=[("smalltalk", SmallTalkBrain())])
    caplog.set_level(logging.INFO, logger="deskmate")

    greeting = stack.start_conversation("hello there")
    question = stack.start_conversation("How do I reset my password?")
    settle(stack)

    assert [r.brain for r in outcomes(caplog, greeting)] == ["smalltalk"]
    assert [r.brain for r in outcomes(caplog, question)] == ["deskmate.core.brain.hooks"]
    (session,) = {r.session for r in outcomes(caplog, greeting)}
    with stack.engine.sessions() as db:
        saw = db.scalars(
            select(AuditRecord.data).where(
                AuditRecord.session_id == session, AuditRecord.kind == "saw"
            )
        ).one()
    assert saw["brain"] == "smalltalk"
    assert sample(stack, "deskmate_decisions_by_brain_total", brain="smalltalk", outcome="answered")


def test_knowledge_freshness_is_read_from_the_store_at_scrape_time(stack: LocalStack) -> None:
    with stack.engine.sessions.begin() as db:
        two_hours_ago = utcnow() - timedelta(hours=2)
        record_sync_run(
            db, APP_ID, "articles", cursor=None, succeeded=True, stats={}, now=two_hours_ago
        )
    app = create_app(stack.settings, stack.host, testing=True)

    text = app.test_client().get("/metrics").get_data(as_text=True)

    line = next(
        row
        for row in text.splitlines()
        if row.startswith("deskmate_knowledge_sync_age_seconds{")
        and f'workspace="{APP_ID}"' in row
        and 'source="articles"' in row
    )
    age = float(line.rsplit(" ", 1)[1])
    assert 7200 <= age < 7200 + 600
    assert "deskmate_knowledge_last_sync_timestamp{" in text


def test_an_assist_note_is_counted_as_assisted(
    assist_stack: LocalStack, caplog: pytest.LogCaptureFixture
) -> None:
    stack = assist_stack
    caplog.set_level(logging.INFO, logger="deskmate")
    labels = {"channel": "messenger", "outcome": "assisted", "reason": ""}
    before = sample(stack, "deskmate_conversation_outcomes_total", **labels)
    conversation = stack.start_conversation("hello")
    settle(stack)
    stack.control(f"/conversations/{conversation}/assign", admin_id=stack.human_admin_id)
    settle(stack)

    stack.control(f"/conversations/{conversation}/reply", body="How do I reset my password?")
    settle(stack)

    assert outcomes(caplog, conversation)[-1].outcome == "assisted"
    assert sample(stack, "deskmate_conversation_outcomes_total", **labels) == before + 1
