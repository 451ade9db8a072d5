"""The outbox: recording deliveries once, claiming due events in order, settling and replaying."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from deskmate.core.store import events
from deskmate.core.store.models import EventRecord, EventStatus

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def record(session: Session, notification_id: object, **kwargs: object) -> events.Recorded:
    fields: dict[str, object] = {
        "workspace_id": "app1",
        "notification_id": notification_id,
        "topic": "conversation.user.replied",
        "payload": f'{{"id": "{notification_id}"}}',
        "conversation_id": "c1",
        "now": T0,
    }
    return events.record_event(session, **(fields | kwargs))


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(EventRecord)) or 0


def test_second_delivery_of_a_notification_is_stored_once_and_reported_not_new(session):
    first = record(session, "n1")
    second = record(session, "n1", payload='{"changed": true}')
    assert first.new and not second.new
    assert first.id == second.id
    assert count(session) == 1
    assert session.get(EventRecord, first.id).payload == '{"id": "n1"}'


def test_same_notification_id_in_two_workspaces_is_two_events(session):
    assert record(session, "n1").new
    assert record(session, "n1", workspace_id="app2").new
    assert count(session) == 2


def test_event_becomes_due_after_the_channel_delay(session):
    record(session, "n1", delay=timedelta(seconds=30))
    early = events.claim_events(session, "app1", "c1", lease=LEASE, now=T0 + timedelta(seconds=29))
    assert early == []
    due = events.claim_events(session, "app1", "c1", lease=LEASE, now=T0 + timedelta(seconds=30))
    assert [e.notification_id for e in due] == ["n1"]


def test_claim_takes_the_conversations_events_in_order_and_marks_them(session):
    for n in ("n1", "n2", "n3"):
        record(session, n)
    record(session, "other", conversation_id="c2")
    claimed = events.claim_events(session, "app1", "c1", lease=LEASE, now=T0)
    assert [e.notification_id for e in claimed] == ["n1", "n2", "n3"]
    assert {(e.status, e.attempts, e.lease_until) for e in claimed} == {
        (EventStatus.PROCESSING, 1, T0 + LEASE)
    }


def test_claimed_events_are_not_claimed_again_until_their_lease_expires(session):
    record(session, "n1")
    events.claim_events(session, "app1", "c1", lease=LEASE, now=T0)
    assert events.claim_events(session, "app1", "c1", lease=LEASE, now=T0 + LEASE / 2) == []
    again = events.claim_events(session, "app1", "c1", lease=LEASE, now=T0 + LEASE)
    assert [(e.notification_id, e.attempts) for e in again] == [("n1", 2)]


def test_claim_respects_the_limit_oldest_first(session):
    for n in ("n1", "n2", "n3"):
        record(session, n)
    claimed = events.claim_events(session, "app1", "c1", lease=LEASE, limit=2, now=T0)
    assert [e.notification_id for e in claimed] == ["n1", "n2"]


def test_event_without_conversation_is_claimed_by_its_id(session):
    rec = record(session, "n1", conversation_id=None, topic="contact.created")
    record(session, "n2", conversation_id=None, topic="contact.created")
    claimed = events.claim_events(session, "app1", None, event_id=rec.id, lease=LEASE, now=T0)
    assert [e.id for e in claimed] == [rec.id]


def test_claim_needs_a_conversation_or_an_event_id(session):
    record(session, "n1", conversation_id=None)
    with pytest.raises(ValueError, match="claim by conversation_id, or by event_id"):
        events.claim_events(session, "app1", None, lease=LEASE, now=T0)


def test_finished_event_is_not_claimed_again(session):
    rec = record(session, "n1")
    events.claim_events(session, "app1", "c1", lease=LEASE, now=T0)
    events.finish_event(session, rec.id, EventStatus.DONE, now=T0 + timedelta(seconds=1))
    event = session.get(EventRecord, rec.id)
    assert (event.status, event.lease_until, event.processed_at) == (
        EventStatus.DONE,
        None,
        T0 + timedelta(seconds=1),
    )
    assert events.claim_events(session, "app1", "c1", lease=LEASE, now=T0 + LEASE * 2) == []


def test_retryable_failure_comes_back_at_the_given_time(session):
    rec = record(session, "n1")
    events.claim_events(session, "app1", "c1", lease=LEASE, now=T0)
    events.retry_event(session, rec.id, "Intercom answered 503", at=T0 + timedelta(minutes=1))
    event = session.get(EventRecord, rec.id)
    assert (event.status, event.reason) == (EventStatus.FAILED, "Intercom answered 503")
    assert (
        events.claim_events(session, "app1", "c1", lease=LEASE, now=T0 + timedelta(seconds=59))
        == []
    )
    again = events.claim_events(session, "app1", "c1", lease=LEASE, now=T0 + timedelta(minutes=1))
    assert [e.attempts for e in again] == [2]


def test_a_run_settles_its_claim_but_not_one_another_run_took_over(session):
    rec = record(session, "n1")
    claims = [
        [e.attempts for e in events.claim_events(session, "app1", "c1", lease=LEASE, now=now)]
        for now in (T0, T0 + LEASE)  # the first run's lease ran out: a second run claims it
    ]
    assert claims == [[1], [2]]

    later = T0 + LEASE + timedelta(seconds=1)
    assert not events.finish_event(session, rec.id, EventStatus.DONE, "late", attempt=1, now=later)
    assert not events.retry_event(session, rec.id, "late", at=later, attempt=1)
    event = session.get(EventRecord, rec.id)
    assert (event.status, event.reason) == (EventStatus.PROCESSING, None), "the second run's"

    assert events.finish_event(session, rec.id, EventStatus.DONE, "answered", attempt=2)
    assert not events.finish_event(session, rec.id, EventStatus.DEAD, "again", attempt=2)
    assert session.get(EventRecord, rec.id).reason == "answered"


def test_finish_refuses_a_status_that_is_not_final(session):
    rec = record(session, "n1")
    with pytest.raises(ValueError, match="not a final status"):
        events.finish_event(session, rec.id, EventStatus.PROCESSING)
    assert session.get(EventRecord, rec.id).status == EventStatus.QUEUED


def test_settling_an_unknown_event_raises(session):
    with pytest.raises(LookupError, match="no stored event with id 404"):
        events.finish_event(session, 404, EventStatus.DONE)


def test_unprocessable_delivery_is_stored_settled_with_its_reason(session):
    rec = record(session, "n1", status=EventStatus.UNPROCESSABLE, reason="data.item missing")
    event = session.get(EventRecord, rec.id)
    assert (event.status, event.reason, event.processed_at) == (
        EventStatus.UNPROCESSABLE,
        "data.item missing",
        T0,
    )
    assert events.claim_events(session, "app1", "c1", lease=LEASE, now=T0 + LEASE) == []


def test_due_conversations_lists_each_conversation_with_waiting_or_abandoned_events_once(session):
    for n in range(3):
        record(session, f"article{n}", conversation_id=None, topic="article.updated")
    record(session, "waiting", conversation_id="c1")
    record(session, "waiting too", conversation_id="c1")
    record(session, "abandoned", conversation_id="c2")
    record(session, "later", conversation_id="c3", delay=timedelta(hours=1))
    record(session, "elsewhere", workspace_id="app2", conversation_id="c1")
    events.claim_events(session, "app1", "c2", lease=LEASE, now=T0)
    due = events.due_conversations(session, now=T0 + LEASE)
    assert due == [("app1", "c1"), ("app1", "c2"), ("app2", "c1")]


def test_dead_event_is_listed_and_replayed_from_scratch(session):
    rec = record(session, "n1")
    record(session, "n2")
    events.claim_events(session, "app1", "c1", lease=LEASE, now=T0)
    events.finish_event(session, rec.id, EventStatus.DEAD, "gave up after 8 attempts")
    dead = events.list_events(session, workspace_id="app1", status=EventStatus.DEAD)
    assert [e.id for e in dead] == [rec.id]
    replayed = events.replay_event(session, rec.id, now=T0 + timedelta(hours=1))
    assert replayed is not None
    assert (replayed.status, replayed.attempts, replayed.reason) == (EventStatus.QUEUED, 0, None)
    claimed = events.claim_events(session, "app1", "c1", lease=LEASE, now=T0 + timedelta(hours=1))
    assert rec.id in [e.id for e in claimed]


def test_replay_leaves_an_event_a_live_run_holds(session):
    rec = record(session, "n1")
    events.claim_events(session, "app1", "c1", lease=LEASE, now=T0)
    assert events.replay_event(session, rec.id, now=T0 + timedelta(seconds=1)) is None
    assert events.replay_event(session, 404) is None
    assert session.get(EventRecord, rec.id).status == EventStatus.PROCESSING


def test_list_events_pages_newest_first(session):
    ids = [record(session, f"n{i}").id for i in range(5)]
    page1 = events.list_events(session, limit=2)
    page2 = events.list_events(session, limit=2, before_id=page1[-1].id)
    assert [e.id for e in page1 + page2] == ids[::-1][:4]
    assert events.list_events(session, conversation_id="nope") == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("workspace_id", "", "workspace_id must be a non-empty string"),
        ("notification_id", "x" * 256, "notification_id is 256 characters long"),
        ("notification_id", None, "notification_id must be a non-empty string"),
        ("topic", "   ", "topic must be a non-empty string"),
        ("conversation_id", "c" * 65, "conversation_id is 65 characters long"),
        ("status", EventStatus.DONE, "a new event can't start as 'done'"),
    ],
)
def test_malformed_event_is_refused_and_nothing_is_stored(session, field, value, message):
    fields = {"notification_id": "n1", field: value}
    with pytest.raises(ValueError, match=message):
        record(session, **fields)
    assert count(session) == 0


def test_hostile_and_large_payloads_are_stored_verbatim(session):
    hostile = "'); DROP TABLE webhook_events; -- \\u0000 \ud7ff é 🎉 \u202e"
    large = "x" * 1_000_000
    a = record(session, "n1'; --", payload=hostile)
    b = record(session, "n2", payload=large)
    assert session.get(EventRecord, a.id).payload == hostile
    assert session.get(EventRecord, b.id).payload == large
    assert session.get(EventRecord, a.id).notification_id == "n1'; --"


def test_payload_with_nul_characters_is_refused(session):
    with pytest.raises(ValueError, match="NUL characters"):
        record(session, "n1", payload='{"a": "\x00"}')
    assert count(session) == 0


@pytest.mark.parametrize("settled", [EventStatus.DONE, EventStatus.SKIPPED])
def test_replay_refuses_an_event_that_ended_done_or_skipped_and_changes_nothing(session, settled):
    rec = record(session, "n1")
    events.claim_events(session, "app1", "c1", lease=LEASE, now=T0)
    events.finish_event(session, rec.id, settled, "answered", now=T0 + timedelta(seconds=3))
    before = _state(session.get(EventRecord, rec.id))

    with pytest.raises(events.ReplayRefused, match=f"event {rec.id} ended {settled}"):
        events.replay_event(session, rec.id, now=T0 + timedelta(hours=1))

    session.expire_all()
    assert _state(session.get(EventRecord, rec.id)) == before
    assert events.event_outcomes(session, [rec.id]) == {rec.id: []}


def test_a_forced_replay_keeps_each_earlier_outcome_in_the_events_history(session):
    rec = record(session, "n1")
    events.claim_events(session, "app1", "c1", lease=LEASE, now=T0)
    events.finish_event(session, rec.id, EventStatus.DEAD, "gave up after 1 attempt", now=T0)
    events.replay_event(session, rec.id, now=T0 + timedelta(hours=1))
    events.claim_events(session, "app1", "c1", lease=LEASE, now=T0 + timedelta(hours=1))
    events.finish_event(session, rec.id, EventStatus.DONE, None, now=T0 + timedelta(hours=1))

    replayed = events.replay_event(session, rec.id, force=True, now=T0 + timedelta(hours=2))

    assert replayed is not None and replayed.status == EventStatus.QUEUED
    history = events.event_outcomes(session, [rec.id])[rec.id]
    assert [(o.status, o.reason, o.attempts) for o in history] == [
        (EventStatus.DEAD, "gave up after 1 attempt", 1),
        (EventStatus.DONE, None, 1),
    ]
    assert [o.processed_at for o in history] == [T0, T0 + timedelta(hours=1)]
    assert [o.replayed_at for o in history] == [T0 + timedelta(hours=1), T0 + timedelta(hours=2)]


def test_replaying_an_event_never_run_keeps_no_outcome(session):
    rec = record(session, "n1")

    events.replay_event(session, rec.id, now=T0 + timedelta(minutes=1))

    assert events.event_outcomes(session, [rec.id, 404]) == {rec.id: [], 404: []}


def _state(event: EventRecord) -> tuple[object, ...]:
    return (event.status, event.reason, event.attempts, event.processed_at, event.available_at)


def test_a_reason_quoting_a_lone_surrogate_or_nul_is_stored_escaped(session):
    rec = record(session, "n1")
    events.claim_events(session, "app1", "c1", lease=LEASE, now=T0)
    events.finish_event(session, rec.id, EventStatus.SKIPPED, "delivered_as=x\udfff\x00")
    session.expire_all()
    assert session.get(EventRecord, rec.id).reason == "delivered_as=x\\udfff"


def test_bury_exhausted_settles_only_the_events_tried_max_attempts_times(session):
    tried = record(session, "tried")
    for attempt in range(3):
        events.claim_events(session, "app1", "c1", lease=LEASE, now=T0 + attempt * LEASE)
    fresh = record(session, "fresh", now=T0 + 3 * LEASE)
    buried = events.bury_exhausted(session, "app1", "c1", max_attempts=3, now=T0 + 3 * LEASE)
    assert [e.id for e in buried] == [tried.id]
    assert (buried[0].status, buried[0].attempts) == (EventStatus.DEAD, 3)
    claimed = events.claim_events(session, "app1", "c1", lease=LEASE, now=T0 + 3 * LEASE)
    assert [e.id for e in claimed] == [fresh.id]
