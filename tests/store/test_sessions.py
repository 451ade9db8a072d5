"""Sessions opened once per conversation, and messages kept once per part."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from deskmate.core.domain import Attachment, Author, Message
from deskmate.core.store.models import MessageRecord, SessionState
from deskmate.core.store.sessions import add_message, get_or_open_session, get_session, history

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def message(part_id: object, text: str = "hello", **kwargs: object) -> Message:
    fields: dict[str, object] = {
        "part_id": part_id,
        "author": Author("user", "contact-1"),
        "text": text,
        "created_at": T0,
    }
    return Message(**(fields | kwargs))


def test_first_sight_opens_a_session_and_later_calls_return_it(session):
    opened = get_or_open_session(
        session, "app1", "c1", channel="messenger", contact_id="u1", now=T0
    )
    again = get_or_open_session(session, "app1", "c1", channel="email", contact_id="u2")
    assert again.id == opened.id
    assert (again.state, again.channel, again.contact_id, again.ai_turns, again.tags) == (
        SessionState.OPEN,
        "messenger",
        "u1",
        0,
        [],
    )
    assert again.created_at == T0
    assert get_session(session, "app1", "c1").id == opened.id


def test_sessions_are_scoped_to_their_workspace(session):
    a = get_or_open_session(session, "app1", "c1")
    b = get_or_open_session(session, "app2", "c1")
    assert a.id != b.id
    assert get_session(session, "app3", "c1") is None


def test_session_changes_persist_with_aware_timestamps(factory):
    with factory.begin() as session:
        record = get_or_open_session(session, "app1", "c1")
        record.state = SessionState.HANDED_OFF
        record.handed_off_at = T0
        record.tags = ["billing", "vip"]
    with factory() as session:
        stored = get_session(session, "app1", "c1")
        assert (stored.state, stored.handed_off_at, stored.tags) == (
            SessionState.HANDED_OFF,
            T0,
            ["billing", "vip"],
        )
        assert stored.updated_at.tzinfo is UTC


def test_naive_datetimes_are_refused(session):
    record = get_or_open_session(session, "app1", "c1")
    record.resolved_at = datetime(2026, 1, 1, 12, 0)
    with pytest.raises(Exception, match="naive datetime"):
        session.flush()


def test_a_part_is_kept_once(session):
    record = get_or_open_session(session, "app1", "c1")
    assert add_message(session, record, message("p1"))
    assert not add_message(session, record, message("p1", text="edited later"))
    assert [m.text for m in history(session, record)] == ["hello"]


def test_history_round_trips_messages_oldest_first(session):
    record = get_or_open_session(session, "app1", "c1")
    attachment = Attachment(url="https://example.com/a.png", name="a.png", size=10)
    later = message("p2", "second", created_at=T0 + timedelta(minutes=1))
    first = message(
        "p1", "first", html="<p>first</p>", subject="Hi", attachments=[attachment], kind="comment"
    )
    admin = message(
        "p3", "note", author=Author("admin", "42"), kind="note", created_at=T0 + timedelta(2)
    )
    for m in (later, first, admin):
        add_message(session, record, m)
    kept = history(session, record)
    assert kept == [first, later, admin]
    assert [m.part_id for m in history(session, record, limit=2)] == ["p2", "p3"]


def test_hostile_text_is_kept_verbatim_except_nul(session):
    record = get_or_open_session(session, "app1", "c1")
    hostile = "<script>alert(1)</script>'; DROP TABLE messages; --\u202e🎉"
    add_message(session, record, message("p1", hostile + "\x00", html=hostile))
    (kept,) = history(session, record)
    assert (kept.text, kept.html) == (hostile, hostile)


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"part_id": ""}, "part_id must be a non-empty string"),
        ({"part_id": "p" * 65}, "part_id is 65 characters long"),
        ({"author": Author("")}, "author.type must be a non-empty string"),
        ({"author": Author("user", "x" * 65)}, "author.id is 65 characters long"),
    ],
)
def test_malformed_message_is_refused_and_nothing_is_kept(session, kwargs, text):
    record = get_or_open_session(session, "app1", "c1")
    with pytest.raises(ValueError, match=text):
        add_message(session, record, message(**({"part_id": "p1"} | kwargs)))
    assert session.scalar(select(func.count()).select_from(MessageRecord)) == 0


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (("", "c1"), "workspace_id must be a non-empty string"),
        (("app1", None), "conversation_id must be a non-empty string"),
        (("app1", "c" * 65), "conversation_id is 65 characters long"),
    ],
)
def test_malformed_session_key_is_refused(session, args, text):
    with pytest.raises(ValueError, match=text):
        get_or_open_session(session, *args)
