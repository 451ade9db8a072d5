"""Actions under idempotency keys: a retried job finds what already happened."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from deskmate.core.store.actions import (
    begin_action,
    complete_action,
    created_part_ids,
    get_action,
    retry_action,
)
from deskmate.core.store.models import ActionRecord, ActionStatus
from deskmate.core.store.sessions import get_or_open_session

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def session_id(session):
    return get_or_open_session(session, "app1", "c1").id


def begin(session, session_id, key="app1:c1:p7:reply", **kwargs):
    fields = {"kind": "reply", "request": {"body": "Hi!"}, "now": T0}
    return begin_action(
        session,
        session_id=session_id,
        workspace_id="app1",
        idempotency_key=key,
        **(fields | kwargs),
    )


def test_a_new_key_records_a_pending_action(session, session_id):
    record, new = begin(session, session_id)
    assert new
    assert (record.status, record.kind, record.request, record.created_at) == (
        ActionStatus.PENDING,
        "reply",
        {"body": "Hi!"},
        T0,
    )


def test_a_done_action_is_returned_unchanged_when_the_job_runs_again(session, session_id):
    record, _ = begin(session, session_id)
    complete_action(session, record, ActionStatus.DONE, response={"id": "part-9"}, now=T0)
    again, new = begin(session, session_id, request={"body": "different"})
    assert not new
    assert again.id == record.id
    assert (again.status, again.response, again.request) == (
        ActionStatus.DONE,
        {"id": "part-9"},
        {"body": "Hi!"},
    )
    assert session.scalar(select(func.count()).select_from(ActionRecord)) == 1


def test_an_ambiguous_failure_is_kept_as_unknown_for_the_engine_to_check(session, session_id):
    record, _ = begin(session, session_id)
    complete_action(session, record, ActionStatus.UNKNOWN, error="timed out after 10 s")
    found = get_action(session, "app1:c1:p7:reply")
    assert (found.status, found.error) == (ActionStatus.UNKNOWN, "timed out after 10 s")


def test_a_failed_action_can_be_retried_under_the_same_key(session, session_id):
    record, _ = begin(session, session_id)
    complete_action(session, record, ActionStatus.FAILED, error="422 from Intercom")
    again, new = begin(session, session_id)
    assert not new and again.status == ActionStatus.FAILED
    retry_action(session, again)
    assert (again.status, again.error, again.completed_at) == (ActionStatus.PENDING, None, None)


def test_secrets_in_requests_and_responses_are_redacted(session, session_id):
    request = {"body": "Hi", "headers": {"Authorization": "Bearer tok-123"}, "access_token": "t"}
    record, _ = begin(session, session_id, request=request)
    complete_action(session, record, ActionStatus.DONE, response={"client_secret": "s", "ok": 1})
    session.expire_all()
    stored = get_action(session, "app1:c1:p7:reply")
    assert stored.request == {
        "body": "Hi",
        "headers": {"Authorization": "[redacted]"},
        "access_token": "[redacted]",
    }
    assert stored.response == {"client_secret": "[redacted]", "ok": 1}
    assert request["access_token"] == "t"


def test_completing_with_a_status_that_is_not_settled_is_refused(session, session_id):
    record, _ = begin(session, session_id)
    with pytest.raises(ValueError, match="not a settled status"):
        complete_action(session, record, ActionStatus.PENDING)


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"key": ""}, "idempotency_key must be a non-empty string"),
        ({"key": "k" * 256}, "idempotency_key is 256 characters long"),
        ({"kind": ""}, "kind must be a non-empty string"),
    ],
)
def test_malformed_action_is_refused_and_nothing_is_recorded(session, session_id, kwargs, text):
    with pytest.raises(ValueError, match=text):
        begin(session, session_id, **kwargs)
    assert session.scalar(select(func.count()).select_from(ActionRecord)) == 0


def test_created_part_ids_are_those_done_actions_recorded_for_the_session(session, session_id):
    for n, (status, response) in enumerate(
        [
            (ActionStatus.DONE, {"part_id": "301"}),
            (ActionStatus.DONE, {"found": "on re-read", "part_id": 302}),
            (ActionStatus.DONE, {"name": "vip"}),
            (ActionStatus.UNKNOWN, None),
            (ActionStatus.FAILED, {"part_id": "303"}),
        ]
    ):
        record, _ = begin(session, session_id, key=f"app1:c1:p7:{n}")
        complete_action(session, record, status, response=response)
    other = get_or_open_session(session, "app1", "c2").id
    record, _ = begin(session, other, key="app1:c2:p1:reply")
    complete_action(session, record, ActionStatus.DONE, response={"part_id": "401"})

    assert created_part_ids(session, session_id) == {"301", "302"}
