"""The audit trail keeps what was seen, decided and done, in order, without secrets."""

from __future__ import annotations

import pytest

from deskmate.core.store.audit import append_audit, audit_trail
from deskmate.core.store.events import record_event
from deskmate.core.store.sessions import get_or_open_session


def test_trail_lists_a_sessions_records_in_order(session):
    record = get_or_open_session(session, "app1", "c1")
    other = get_or_open_session(session, "app1", "c2")
    event = record_event(
        session, workspace_id="app1", notification_id="n1", topic="t", payload="{}"
    )
    append_audit(
        session,
        workspace_id="app1",
        kind="saw",
        data={"part": "p1"},
        session_id=record.id,
        event_id=event.id,
    )
    append_audit(
        session,
        workspace_id="app1",
        kind="decided",
        data={"mode": "autopilot"},
        session_id=record.id,
    )
    append_audit(session, workspace_id="app1", kind="saw", data={}, session_id=other.id)
    trail = audit_trail(session, record.id)
    assert [(r.kind, r.data, r.event_id) for r in trail] == [
        ("saw", {"part": "p1"}, event.id),
        ("decided", {"mode": "autopilot"}, None),
    ]


def test_secret_looking_fields_never_reach_the_trail(session):
    record = get_or_open_session(session, "app1", "c1")
    data = {"request": {"token": "abc", "nested": [{"password": "p"}]}, "reason": "ok"}
    append_audit(session, workspace_id="app1", kind="acted", data=data, session_id=record.id)
    session.expire_all()
    (stored,) = audit_trail(session, record.id)
    assert stored.data == {
        "request": {"token": "[redacted]", "nested": [{"password": "[redacted]"}]},
        "reason": "ok",
    }


def test_malformed_kind_is_refused(session):
    with pytest.raises(ValueError, match="kind is 33 characters long"):
        append_audit(session, workspace_id="app1", kind="k" * 33, data={})
