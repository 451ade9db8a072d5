"""Dead letters: a conversation whose processing keeps failing ends ``dead`` with its reason, is
listed by ``events list --failed`` and is answered once after ``events replay``."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from deskmate.core.intercom.client import RetryPolicy
from deskmate.core.stack import APP_ID, LocalStack

from .conftest import Commands, Deskmate

EVENT_KEYS = {
    "id", "workspace", "status", "topic", "conversation", "attempts", "received_at", "reason",
}  # fmt: skip


def two_attempts_no_client_retries(stack: LocalStack) -> None:
    """As ``[jobs] max_attempts = 2``, with a client that fails at once instead of backing off."""
    stack.engine.max_attempts = 2
    stack.engine._client(stack.settings.workspaces[APP_ID]).retry = RetryPolicy(
        max_retries=0, max_rate_limit_retries=0
    )


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


def test_events_list_json_gives_every_field_newest_first(deskmate: Deskmate) -> None:
    deskmate.stack.start_conversation("How do I reset my password?")
    deskmate.stack.start_conversation("Hello there")
    deskmate.settle()
    rows = events_json(deskmate)
    assert len(rows) >= 2
    assert all(set(r) == EVENT_KEYS for r in rows)
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)
    assert {r["workspace"] for r in rows} == {APP_ID}
    assert events_json(deskmate, "--status", "done", "--limit", "1")[0]["status"] == "done"


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
