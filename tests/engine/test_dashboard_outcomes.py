"""The engine keeps on each session what the dashboard counts: the handoff reason, the time to
the first answer and the documents its answers cited."""

from __future__ import annotations

from sqlalchemy import select

from deskmate.core.stack import LocalStack
from deskmate.core.store.models import SessionCitation
from tests.engine.test_conversation_flow import session_of, settle


def test_sessions_keep_handoff_reason_first_answer_time_and_citations(stack: LocalStack) -> None:
    answered = stack.start_conversation("I was charged twice, how do I get a refund?")
    handed = stack.start_conversation("I want to talk to a human please")
    settle(stack)

    answer = session_of(stack, answered)
    assert answer.handoff_reason is None
    assert answer.first_answer_seconds is not None and 0 <= answer.first_answer_seconds < 60
    with stack.engine.sessions() as db:
        cited = db.scalars(
            select(SessionCitation).where(SessionCitation.session_id == answer.id)
        ).all()
    assert [(c.document, c.url) for c in cited][:1] == [
        (cited[0].document, "https://help.example.com/refunds")
    ]
    assert cited[0].title == "Refunds and double charges"

    handoff = session_of(stack, handed)
    assert handoff.handoff_reason == "human_requested"
    assert handoff.first_answer_seconds is None
