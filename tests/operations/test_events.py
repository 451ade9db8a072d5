"""Dead letters: a conversation whose processing keeps failing ends ``dead`` with its reason, is
listed by ``events list --failed`` and is answered once after ``events replay``."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from deskmate.core.stack import APP_ID
from deskmate.core.store.db import make_engine, make_session_factory, upgrade
from deskmate.core.store.events import finish_event, record_event

from .conftest import Commands, Deskmate, two_attempts_no_client_retries

EVENT_KEYS = {
    "id", "workspace", "status", "topic", "conversation", "attempts", "received_at", "reason",
    "earlier",
}  # fmt: skip


@pytest.fixture
def failing(make_deskmate: Callable[..., Deskmate]) -> Deskmate:
    running = make_deskmate(before_start=two_attempts_no_client_retries)
    running.faults(status=500, rate=1.0, paths=["*/reply"])
    return running


def events_json(running: Commands, *args: str) -> list[dict]:
    result = running.cli("events", "list", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_conversation_that_keeps_failing_is_dead_then_replayed_once(failing: Deskmate) -> None:
    conversation = failing.stack.start_conversation("How do I reset my password?")
    failing.settle()

    dead = events_json(failing, "--failed")
    assert [e["conversation"] for e in dead] == [conversation]
    assert dead[0]["status"] == "dead" and dead[0]["attempts"] == 2
    assert dead[0]["reason"].startswith("gave up after 2 attempts:")
    assert "500" in dead[0]["reason"]
    assert failing.stack.parts_by_ai(conversation) == []

    text = failing.cli("events", "list", "--failed").output
    assert f"conv {conversation}" in text and "dead" in text and "gave up" in text

    failing.clear_faults()
    replayed = failing.cli("events", "replay", str(dead[0]["id"]))
    assert replayed.exit_code == 0, replayed.output
    assert f"event {dead[0]['id']} queued again" in replayed.output
    assert "handles it now" in replayed.output, "the job is enqueued, not left to the sweeper"
    failing.settle()

    assert len(failing.stack.parts_by_ai(conversation)) == 1
    assert events_json(failing, "--failed") == []
    statuses = {e["id"]: e["status"] for e in events_json(failing)}
    assert statuses[dead[0]["id"]] == "done"


def test_a_done_event_is_replayed_only_when_forced_and_keeps_its_history(
    failing: Deskmate,
) -> None:
    conversation = failing.stack.start_conversation("How do I reset my password?")
    failing.settle()
    [dead] = events_json(failing, "--failed")
    failing.clear_faults()
    assert failing.cli("events", "replay", str(dead["id"])).exit_code == 0
    failing.settle()

    refused = failing.cli("events", "replay", str(dead["id"]))
    after_refusal = show_json(failing, dead["id"])
    forced = failing.cli("events", "replay", str(dead["id"]), "--force")
    failing.settle()
    shown = show_json(failing, dead["id"])
    listed = failing.cli("events", "list").output
    shown_text = failing.cli("events", "show", str(dead["id"])).output

    assert refused.exit_code == 1
    assert f"event {dead['id']} ended done; replaying it runs the conversation again" in (
        refused.output
    )
    assert "Nothing was changed. Pass --force" in refused.output
    assert (after_refusal["status"], after_refusal["attempts"]) == ("done", 1)
    assert [e["status"] for e in after_refusal["earlier"]] == ["dead"]
    assert forced.exit_code == 0, forced.output
    assert shown["status"] == "done"
    assert [(e["status"], e["attempts"]) for e in shown["earlier"]] == [("dead", 2), ("done", 1)]
    assert shown["earlier"][0]["reason"].startswith("gave up after 2 attempts:")
    assert "earlier: dead, tries 2, replayed" in listed
    assert "earlier: done, tries 1, replayed" in listed
    assert shown_text.splitlines()[1:5] == [
        "now: done, tries 1",
        f"why: {shown['reason']}",
        f"earlier: dead, tries 2, replayed {shown['earlier'][0]['replayed_at'][:19]}  "
        + " ".join(shown["earlier"][0]["reason"].split()),
        f"earlier: done, tries 1, replayed {shown['earlier'][1]['replayed_at'][:19]}  "
        + shown["earlier"][1]["reason"],
    ]
    assert len(failing.stack.parts_by_ai(conversation)) == 1, "the replay repeats no reply"


def show_json(running: Commands, event_id: int) -> dict:
    result = running.cli("events", "show", str(event_id), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_showing_a_missing_event_fails_clearly(offline: Commands) -> None:
    result = offline.cli("events", "show", "404")
    assert result.exit_code == 1
    assert "no event 404; see `deskmate events list`" in result.output


def test_events_list_json_gives_every_field_newest_first(offline: Commands) -> None:
    url = f"sqlite:///{offline.config.parent / 'instance' / 'deskmate.db'}"
    upgrade(url)
    engine = make_engine(url)
    with make_session_factory(engine).begin() as db:
        for n, status in enumerate(["done", "skipped", "done"]):
            event = record_event(
                db,
                workspace_id=APP_ID,
                notification_id=f"n{n}",
                topic="conversation.user.created",
                payload="{}",
                conversation_id=f"c{n}",
            )
            finish_event(db, event.id, status, f"reason {n}")
    engine.dispose()
    rows = events_json(offline)
    assert [(r["conversation"], r["status"], r["reason"]) for r in rows] == [
        ("c2", "done", "reason 2"),
        ("c1", "skipped", "reason 1"),
        ("c0", "done", "reason 0"),
    ]
    assert all(set(r) == EVENT_KEYS and r["workspace"] == APP_ID for r in rows)
    assert [
        r["conversation"] for r in events_json(offline, "--status", "done", "--limit", "1")
    ] == ["c2"]


def test_no_events_is_said_plainly(offline: Commands) -> None:
    result = offline.cli("events", "list", "--failed")
    assert result.exit_code == 0
    assert result.output.strip() == "no events"


@pytest.mark.parametrize("bad", ["987654", "0", "-3", "x", "9" * 40])
def test_replaying_a_missing_or_malformed_id_fails_clearly(offline: Commands, bad: str) -> None:
    result = offline.cli("events", "replay", bad)
    assert result.exit_code in (1, 2)
    assert "Error" in result.output and "Traceback" not in result.output
    assert events_json(offline) == []


def test_a_bad_status_filter_lists_the_choices(offline: Commands) -> None:
    result = offline.cli("events", "list", "--status", "exploded")
    assert result.exit_code == 2
    assert "dead" in result.output and "queued" in result.output
