"""``deskmate replay``: conversations stored by a running deskmate (real sandbox webhooks, the
real engine) played again through a candidate config."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deskmate.core.brain import runtime as brain_runtime
from deskmate.core.brain.settings import BrainSettings
from deskmate.core.config import load
from deskmate.core.replay.saved import last_report
from deskmate.core.stack import APP_ID
from deskmate.core.store.audit import audit_trail
from deskmate.core.store.knowledge import (
    DocumentInput,
    PassageText,
    delete_documents,
    upsert_document,
)
from deskmate.core.store.models import SessionRecord

from .conftest import PASSWORD_ARTICLE, Commands, Deskmate, config_for

LOW, CANDIDATE = 0.05, 0.9
"""A threshold that lets every drafted answer through, and one between their confidences."""
QUESTIONS = (
    "How do I reset my password?",
    "password reset link expired, what now?",
    "I forgot my password, how can I get a new one?",
    "I want to talk to a human please",
)


def threshold(value: float) -> str:
    return f"[brain]\nconfidence_threshold = {value}\n"


@pytest.fixture(autouse=True)
def restore_brain_runtime() -> Iterator[None]:
    """Replay installs the candidate's brain in this process; later tests get theirs back."""
    previous = brain_runtime.current()
    yield
    brain_runtime.install(previous)


@pytest.fixture
def stored(make_deskmate: Any) -> Deskmate:
    """A deskmate that answered with a low confidence threshold, its conversations settled."""
    running: Deskmate = make_deskmate(brain=BrainSettings(confidence_threshold=LOW))
    for question in QUESTIONS:
        running.stack.start_conversation(question)
    running.settle()
    return running


def candidate(running: Deskmate, name: str, value: float, mode: str = "live") -> Commands:
    path = running.config.parent / name
    config, env = config_for(running.stack, path, threshold(value))
    workspace_keys = "process_unassigned = true\n"
    config.write_text(
        config.read_text().replace(workspace_keys, f'{workspace_keys}mode = "{mode}"\n', 1)
    )
    return Commands(config, env)


def confidences(running: Deskmate) -> dict[int, float | None]:
    """Each session's draft confidence as the engine recorded it (None: no draft)."""
    found = {}
    with running.stack.engine.sessions() as db:
        for record in db.query(SessionRecord):
            saw = [a.data for a in audit_trail(db, record.id) if a.kind == "saw"][-1]
            found[record.id] = saw["draft"]["confidence"] if saw["draft"] else None
    return found


def replay_json(commands: Commands, *args: str) -> dict[str, Any]:
    result = commands.cli("replay", "--since", "2020-01-01", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_raising_the_threshold_reports_exactly_the_answers_that_flip(stored: Deskmate) -> None:
    drafted = confidences(stored)
    flipping = {sid for sid, c in drafted.items() if c is not None and LOW <= c < CANDIDATE}
    staying = {sid for sid, c in drafted.items() if c is not None and c >= CANDIDATE}
    assert flipping and staying, f"the questions no longer span the threshold: {drafted}"

    report = replay_json(candidate(stored, "candidate.toml", CANDIDATE))

    assert report["conversations"] == len(QUESTIONS)
    assert report["counts"] == {
        "answer_to_handoff": len(flipping),
        "handoff_to_answer": 0,
        "changed_citations": 0,
        "changed_reasons": 0,
        "no_decision": 0,
        "failed": 0,
    }
    assert report["unchanged"] == len(QUESTIONS) - len(flipping)
    assert {row["session_id"] for row in report["changed"]} == flipping
    for row in report["changed"]:
        assert row["then"] == {"action": "answer", "reasons": [], "citations": ["password"]}
        assert row["now"]["action"] == "handoff" and "low_confidence" in row["now"]["reasons"]
    assert len(report["examples"]["answer_to_handoff"]) == min(3, len(flipping))


def test_lowering_it_back_flips_the_other_way_and_the_same_config_changes_nothing(
    make_deskmate: Any,
) -> None:
    running: Deskmate = make_deskmate(brain=BrainSettings(confidence_threshold=CANDIDATE))
    for question in QUESTIONS:
        running.stack.start_conversation(question)
    running.settle()
    drafted = confidences(running)
    low = {sid for sid, c in drafted.items() if c is not None and LOW <= c < CANDIDATE}
    assert low, f"no question was handed off for low confidence: {drafted}"

    same = replay_json(candidate(running, "same.toml", CANDIDATE))
    assert same["changed"] == [] and same["unchanged"] == len(QUESTIONS)

    lowered = replay_json(candidate(running, "lower.toml", LOW))
    assert lowered["counts"]["handoff_to_answer"] == len(low)
    assert {row["session_id"] for row in lowered["changed"]} == low
    for row in lowered["changed"]:
        assert row["then"]["reasons"] == ["low_confidence"]
        assert row["now"] == {
            "action": "answer",
            "reasons": [],
            "citations": ["password"],
            "detail": row["now"]["detail"],
        }


def test_rewritten_knowledge_shows_as_changed_citations(stored: Deskmate) -> None:
    drafted = confidences(stored)
    answered = {sid for sid, c in drafted.items() if c is not None}
    moved = DocumentInput(
        source="article",
        external_id="password-2027",
        title="Reset your password",
        body=PASSWORD_ARTICLE,
        passages=[PassageText(PASSWORD_ARTICLE, "Reset your password")],
        locale="en",
        url="https://help.example.com/password-2027",
    )
    with stored.stack.engine.sessions.begin() as db:
        delete_documents(db, APP_ID, "article", [("password", "en")])
        upsert_document(db, APP_ID, moved)

    report = replay_json(candidate(stored, "same.toml", LOW))

    assert report["counts"]["changed_citations"] == len(answered)
    assert {row["session_id"] for row in report["changed"]} == answered
    for row in report["changed"]:
        assert (row["then"]["citations"], row["now"]["citations"]) == (
            ["password"],
            ["password-2027"],
        )


def test_the_last_report_is_saved_and_the_text_report_lists_examples(stored: Deskmate) -> None:
    commands = candidate(stored, "candidate.toml", CANDIDATE)
    result = commands.cli("replay", "--since", "2020-01-01", "--limit", "2")
    assert result.exit_code == 0, result.output
    assert "replayed 2 conversation(s) of workspace demo since 2020-01-01" in result.stdout
    settings, _ = load(commands.config, env=commands.env)
    saved = last_report(settings)
    assert saved is not None and saved["conversations"] == 2
    assert saved["config"] == str(commands.config)
    assert Path(settings.instance_path / "last-replay.json").exists()


def test_replay_errors_are_clear_and_change_nothing(stored: Deskmate, tmp_path: Path) -> None:
    commands = candidate(stored, "candidate.toml", CANDIDATE)
    none = commands.cli("replay", "--since", "2999-01-01")
    assert none.exit_code == 1
    assert "no conversation of workspace demo since 2999-01-01" in none.output
    bad_date = commands.cli("replay", "--since", "01/02/2026")
    assert bad_date.exit_code == 2 and "--since" in bad_date.output
    no_since = commands.cli("replay")
    assert no_since.exit_code == 2 and "--since" in no_since.output
    unknown = commands.cli("replay", "--since", "2020-01-01", "--workspace", "nope")
    assert unknown.exit_code == 2 and "no workspace 'nope'" in unknown.output
    missing = Commands(tmp_path / "missing.toml", commands.env).cli(
        "replay", "--since", "2020-01-01"
    )
    assert missing.exit_code == 2 and "config file not found" in missing.output
    assert last_report(load(commands.config, env=commands.env)[0]) is None


def test_a_workspace_in_shadow_mode_replays_as_it_would_answer_live(
    make_deskmate: Any,
) -> None:
    running: Deskmate = make_deskmate(
        mode="shadow", brain=BrainSettings(confidence_threshold=CANDIDATE)
    )
    for question in QUESTIONS:
        running.stack.start_conversation(question)
    running.settle()
    report = replay_json(candidate(running, "shadow.toml", CANDIDATE, mode="shadow"))
    assert report["conversations"] == len(QUESTIONS)
    assert report["unchanged"] == len(QUESTIONS) and report["changed"] == []
