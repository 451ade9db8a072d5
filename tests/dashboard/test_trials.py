"""The trials page: shadow decisions beside what the team did, and the last replay report."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from deskmate.core.app import create_app
from deskmate.core.store import db
from deskmate.core.store.audit import append_audit
from deskmate.core.store.models import SessionRecord
from tests.dashboard.conftest import APP, dashboard_settings, log_in
from tests.dashboard.test_pages import get


def _shadow(store_url: str) -> int:
    at = datetime.now(UTC) - timedelta(hours=1)
    with db.make_session_factory(db.make_engine(store_url)).begin() as s:
        record = SessionRecord(
            workspace_id=APP, conversation_id="c-shadow", mode="shadow", created_at=at, tags=[]
        )
        s.add(record)
        s.flush()
        append_audit(
            s,
            workspace_id=APP,
            kind="shadow",
            data={
                "would": "answer",
                "part": "p1",
                "reasons": [],
                "citations": [{"title": "Refunds"}],
            },
            session_id=record.id,
            now=at,
        )
        append_audit(
            s, workspace_id=APP, kind="human", data={"did": "replied"}, session_id=record.id, now=at
        )
        return record.id


def test_shadow_decisions_show_beside_what_the_team_did(store_url, seeded, tmp_path: Path) -> None:
    session_id = _shadow(store_url)
    client = create_app(dashboard_settings(store_url, tmp_path), testing=True).test_client()
    log_in(client)
    page = get(client, "/trials")
    assert "1 decision(s) the AI took in shadow mode" in page.text
    assert "answer 1 0 0 0" in page.text
    assert f"/sessions/{session_id}" in page.hrefs
    assert "citing Refunds" in page.text
    assert "No replay of this workspace yet" in page.text


def test_the_last_replay_report_is_shown(store_url, seeded, tmp_path: Path) -> None:
    settings = dashboard_settings(store_url, tmp_path)
    flipped = {
        "session_id": seeded.ids["c-gap1"],
        "conversation_id": "c-gap1",
        "question": "CSV?",
        "then": {"action": "handoff", "reasons": ["no_knowledge"]},
        "now": {"action": "answer", "reasons": []},
    }
    report = {
        "workspace": APP,
        "since": "2026-11-01",
        "config": "candidate.toml",
        "generated_at": "2026-12-04T18:00:00+00:00",
        "conversations": 5,
        "unchanged": 3,
        "counts": {"answer_to_handoff": 1, "handoff_to_answer": 1, "changed_citations": 0,
                   "changed_reasons": 0, "no_decision": 0, "failed": 0},
        "examples": {"answer_to_handoff": [], "changed_citations": [], "changed_reasons": [],
                     "no_decision": [], "failed": [],
                     "handoff_to_answer": [flipped]},
        "changed": [],
    }  # fmt: skip
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    (settings.instance_path / "last-replay.json").write_text(json.dumps(report))
    client = create_app(settings, testing=True).test_client()
    log_in(client)
    page = get(client, "/trials")
    assert "Replayed 5 conversation(s) since 2026-11-01 with candidate.toml" in page.text
    assert "handed off then, would answer now 1" in page.text
    assert f"/sessions/{seeded.ids['c-gap1']}" in page.hrefs
    assert "then handoff (no_knowledge); now answer" in page.text
