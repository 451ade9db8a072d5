"""``deskmate verify`` answers "why is the AI silent?": the last webhook per workspace and the
recent conversations the AI left alone, with the reason; and the email-reply warning."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from deskmate.core.config import ChannelSwitches, Settings
from deskmate.core.store.db import make_engine, make_session_factory, upgrade
from deskmate.core.store.events import finish_event, list_events, record_event
from deskmate.core.store.models import utcnow
from deskmate.core.store.sessions import get_or_open_session
from deskmate.core.verify import read_activity, render_text, verify_settings
from deskmate.testing import make_workspace

from .conftest import Deskmate

API = "https://intercom.test"
ME = {"type": "admin", "id": "999", "name": "AI", "app": {"id_code": "testapp", "region": "US"}}


# -- against a sandbox run ------------------------------------------------------------------------


def test_verify_shows_the_last_webhook_and_why_conversations_were_left_alone(
    deskmate: Deskmate,
) -> None:
    stack = deskmate.stack
    answered = stack.start_conversation("How do I reset my password?")
    outbound = stack.start_conversation("Our new plan is here!", delivered_as="automated")
    taken = stack.start_conversation("Hello, is anyone there?")
    deskmate.settle()
    stack.control(f"/conversations/{taken}/assign", admin_id=stack.human_admin_id)
    deskmate.settle()

    result = deskmate.cli("verify", "--json")
    assert result.exit_code == 0, result.output
    activity = json.loads(result.output)["workspaces"][0]["activity"]
    assert activity["error"] is None
    assert activity["last_webhook_at"] is not None
    left = {item["conversation"]: item for item in activity["left_alone"]}
    assert answered not in left
    assert left[outbound]["reason"] == "not customer-initiated (delivered_as=automated)"
    assert left[outbound]["status"] == "skipped" and left[outbound]["session"] is not None
    assert left[taken]["reason"] == "assigned to someone other than the AI admin"
    assert [i["conversation"] for i in activity["left_alone"]][:2] == [taken, outbound]

    text = deskmate.cli("verify").output
    assert "Last webhook: 20" in text and "s ago)" in text
    session = left[outbound]["session"]
    assert f"conversation {outbound}, session {session} (open): skipped, not customer" in text
    assert not [secret for secret in deskmate.env.values() if secret and secret in text]


def test_deskmates_own_handoff_webhooks_are_its_own_actions_and_hide_no_dead_event(
    deskmate: Deskmate,
) -> None:
    stack = deskmate.stack
    handed = stack.start_conversation("I want to speak to a human, this is a disgrace")
    deskmate.settle()
    stack.engine.max_attempts = 1
    deskmate.faults(status=400, rate=1.0, paths=["*/reply"])
    failed = stack.start_conversation("How do I reset my password?")
    deskmate.settle()
    deskmate.clear_faults()
    # the AI admin routes the failed conversation to a team, as a handoff after a dead event does
    stack.control(
        f"/conversations/{failed}/assign", team_id="2000001", by_admin_id=stack.ai_admin_id
    )
    deskmate.settle()

    with stack.engine.sessions() as db:
        came_back = [
            (e.conversation_id, e.topic, e.status, e.reason)
            for e in list_events(db, limit=100)
            if e.topic.startswith("conversation.admin.")
        ]
    assert {(c, topic) for c, topic, _, _ in came_back} >= {
        (handed, "conversation.admin.noted"),
        (handed, "conversation.admin.assigned"),
        (failed, "conversation.admin.assigned"),
    }
    assert all(
        status == "skipped" and reason.startswith("deskmate's own action")
        for _, _, status, reason in came_back
    ), came_back

    result = deskmate.cli("verify", "--json")
    left = json.loads(result.output)["workspaces"][0]["activity"]["left_alone"]
    assert [(i["conversation"], i["status"]) for i in left] == [(failed, "dead")]
    assert "assigned to someone other than the AI admin" not in deskmate.cli("verify").output


def test_a_reps_note_after_a_handoff_is_still_kept_as_rep_activity(deskmate: Deskmate) -> None:
    stack = deskmate.stack
    handed = stack.start_conversation("I want to speak to a human, this is a disgrace")
    deskmate.settle()
    stack.control(
        f"/conversations/{handed}/admin_reply",
        admin_id=stack.human_admin_id,
        body="Looking into it",
        message_type="note",
    )
    deskmate.settle()
    with stack.engine.sessions() as db:
        noted = [e for e in list_events(db, limit=100) if e.topic == "conversation.admin.noted"]
    reasons = sorted(e.reason for e in noted)
    assert reasons == [
        "deskmate's own action: its reply or note, kept in the history",
        "kept 1 rep message(s) as context; the AI does not answer them",
    ]


# -- against a store written by the repository functions ------------------------------------------


def settings_at(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(
        workspaces={"testapp": make_workspace(base_url=API)},
        instance_path=tmp_path / "instance",
        public_url="https://desk.example.com",
        **overrides,
    )


@pytest.fixture
def store(tmp_path: Path) -> Any:
    settings = settings_at(tmp_path)
    upgrade(settings.resolved_database_url())
    engine = make_engine(settings.resolved_database_url())
    yield settings, make_session_factory(engine)
    engine.dispose()


def add_event(
    db: Any, n: int, conversation: str | None, status: str, reason: str, **kw: Any
) -> None:
    event = record_event(
        db,
        workspace_id="testapp",
        notification_id=f"n{n}",
        topic=kw.get("topic", "conversation.user.created"),
        payload="{}",
        conversation_id=conversation,
        now=kw.get("now", utcnow()),
    )
    finish_event(db, event.id, status, reason)


def test_only_the_newest_trigger_of_each_conversation_counts(store: Any) -> None:
    settings, sessions = store
    with sessions.begin() as db:
        add_event(db, 1, "c1", "skipped", "autopilot off for messenger")
        add_event(db, 2, "c2", "skipped", "autopilot off for messenger")
        add_event(db, 3, "c2", "done", "answered with confidence 0.80")
        add_event(db, 4, "c3", "dead", "gave up after 5 attempts: ServerError")
        add_event(db, 5, "c3", "done", "kept 1 rep message(s)", topic="conversation.admin.replied")
        add_event(db, 6, None, "skipped", "article", topic="article.created")
        session = get_or_open_session(db, "testapp", "c1")
    activity = read_activity(settings)["testapp"]
    assert [i["conversation"] for i in activity.left_alone] == ["c3", "c1"]
    assert activity.left_alone[0]["status"] == "dead"
    assert activity.left_alone[1]["session"] == session.id
    assert activity.left_alone[0]["session"] is None


def test_at_most_ten_conversations_are_listed_newest_first(store: Any) -> None:
    settings, sessions = store
    with sessions.begin() as db:
        for n in range(25):
            add_event(db, n, f"c{n}", "skipped", "unassigned and process_unassigned is off")
    left = read_activity(settings)["testapp"].left_alone
    assert [i["conversation"] for i in left] == [f"c{n}" for n in range(24, 14, -1)]


def test_the_last_webhook_is_the_newest_stored_event(store: Any) -> None:
    settings, sessions = store
    earlier = utcnow() - timedelta(hours=3)
    with sessions.begin() as db:
        add_event(db, 1, "c1", "done", "answered", now=earlier)
    activity = read_activity(settings)["testapp"]
    assert activity.last_webhook_at == earlier
    text = render_text(verify_settings(settings, make_client=_refused, activity=read_activity))
    assert "Last webhook: " in text and "(3 h ago)" in text


def test_a_hostile_or_huge_reason_is_shown_on_one_short_line(store: Any) -> None:
    settings, sessions = store
    with sessions.begin() as db:
        add_event(db, 1, "c1", "dead", "line one\nline two " + "x" * 100_000)
    report = verify_settings(settings, make_client=_refused)
    line = next(li for li in render_text(report).splitlines() if "conversation c1" in li)
    assert len(line) < 300 and line.endswith("…") and "line one line two" in line
    assert len(report.workspaces[0].activity.left_alone[0]["reason"]) > 100_000


def test_no_database_yet_means_no_webhook_and_creates_nothing(tmp_path: Path) -> None:
    settings = settings_at(tmp_path)
    text = render_text(verify_settings(settings, make_client=_refused))
    assert "! Last webhook: never" in text
    assert "fix: check the webhook URL and topics" in text
    assert not (tmp_path / "instance").exists()


def test_an_unreadable_database_is_reported_and_left_as_it_was(tmp_path: Path) -> None:
    settings = settings_at(tmp_path)
    database = tmp_path / "instance" / "deskmate.db"
    database.parent.mkdir()
    database.write_bytes(b"this is not a database " * 100)
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    report = verify_settings(settings, make_client=_refused)
    activity = report.workspaces[0].activity
    assert activity is not None and activity.error
    assert "deskmate db upgrade" in activity.error
    assert "can't read the database" in render_text(report)
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before


def test_an_empty_schema_is_reported_not_raised(tmp_path: Path) -> None:
    settings = settings_at(tmp_path)
    make_engine(settings.resolved_database_url()).connect().close()
    activity = read_activity(settings)["testapp"]
    assert activity.error and "deskmate db upgrade" in activity.error


def _refused(workspace: Any) -> Any:
    raise ValueError("no Intercom in this test")


# -- the email-reply warning ---------------------------------------------------------------------


def mock_healthy(requests_mock: Any) -> None:
    requests_mock.get(f"{API}/me", json=ME)
    requests_mock.get(f"{API}/admins", json={"admins": [{"id": "999", "name": "AI"}]})
    requests_mock.get(f"{API}/conversations", json={"conversations": [], "pages": {}})


@pytest.mark.parametrize(
    ("section", "autopilot", "loaded", "warned"),
    [
        ({}, True, True, True),
        ({"email_reply_feature": False}, True, True, True),
        ({"email_reply_feature": True}, True, True, False),
        ({}, False, True, False),
        ({}, True, False, False),
    ],
)
def test_the_email_warning_needs_the_plugin_autopilot_and_no_email_reply_feature(
    requests_mock: Any, tmp_path: Path, section: dict, autopilot: bool, loaded: bool, warned: bool
) -> None:
    mock_healthy(requests_mock)
    workspace = make_workspace(
        base_url=API, channels={"email": ChannelSwitches(autopilot=autopilot)}
    )
    settings = Settings(
        workspaces={"testapp": workspace},
        instance_path=tmp_path,
        public_url="https://desk.example.com",
        plugins={"email": section},
    )
    report = verify_settings(settings, email_channel=loaded)
    names = {check.name for check in report.workspaces[0].checks}
    assert ("email_replies" in names) is warned
    assert report.ok


def test_the_email_warning_says_which_setting_records_the_feature(
    requests_mock: Any, tmp_path: Path
) -> None:
    mock_healthy(requests_mock)
    settings = settings_at(tmp_path)
    check = next(
        c
        for c in verify_settings(settings, email_channel=True).workspaces[0].checks
        if c.name == "email_replies"
    )
    assert "email_reply_feature = true" in check.fix
