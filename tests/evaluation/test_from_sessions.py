"""``deskmate eval --from-sessions``: stored sessions become draft cases, personal data redacted."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from deskmate.core.cli import cli
from deskmate.core.domain import Author, Message
from deskmate.core.evaluation.cases import load_cases
from deskmate.core.store.audit import append_audit
from deskmate.core.store.db import make_engine, make_session_factory, upgrade
from deskmate.core.store.knowledge import DocumentInput, PassageText, upsert_document
from deskmate.core.store.models import SessionState
from deskmate.core.store.sessions import add_message, get_or_open_session

ENV = {"T_TOKEN": "test-token", "T_SECRET": "test-client-secret"}
AI = "42"
CUSTOMER = Author("user", "contact-7")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "deskmate.toml"
    path.write_text(textwrap.dedent(f"""
        instance_path = "{tmp_path / 'instance'}"
        database_url = "sqlite:///{tmp_path / 'deskmate.db'}"

        [workspaces.abc]
        access_token = {{ env = "T_TOKEN" }}
        client_secret = {{ env = "T_SECRET" }}
        ai_admin_id = "{AI}"
    """))  # fmt: skip
    database = make_engine(f"sqlite:///{tmp_path / 'deskmate.db'}")
    upgrade(database)
    sessions = make_session_factory(database)
    with sessions.begin() as db:
        returns = "Send the parcel back within 30 days of delivery for a full refund."
        upsert_document(
            db,
            "abc",
            DocumentInput("file", "returns", "Returns", returns, [PassageText(returns)]),
        )
        answered = get_or_open_session(
            db, "abc", "c1", now=datetime(2026, 3, 2, tzinfo=UTC), channel="messenger"
        )
        answered.language = "en"
        said = [
            (CUSTOMER, "hi I'm Maria Lopez, maria.lopez@example.com, call +44 20 7946 0958"),
            (CUSTOMER, "how do i send my parcel back for a refund? card 4111 1111 1111 1111"),
            (Author("admin", AI), "Send the parcel back within 30 days of delivery."),
        ]
        for number, (author, text) in enumerate(said):
            add_message(db, answered, Message(f"p{number}", author, text))
        append_audit(
            db,
            workspace_id="abc",
            session_id=answered.id,
            kind="saw",
            data={
                "enrichment": {"name": "Maria Lopez"},
                "hits": [{"title": "Returns", "score": 3.2}],
                "reasons": [],
            },
        )
        handed = get_or_open_session(
            db, "abc", "c2", now=datetime(2026, 3, 5, tzinfo=UTC), channel="messenger"
        )
        handed.state = SessionState.HANDED_OFF
        add_message(db, handed, Message("q1", CUSTOMER, "i want a person, now"))
        add_message(db, handed, Message("q2", Author("admin", "7"), "Hi, Sam here."))
        append_audit(
            db,
            workspace_id="abc",
            session_id=handed.id,
            kind="saw",
            data={"reasons": [{"code": "human_requested", "detail": "asked"}]},
        )
        old = get_or_open_session(db, "abc", "c0", now=datetime(2025, 1, 1, tzinfo=UTC))
        add_message(db, old, Message("r1", CUSTOMER, "an old question"))
    return path


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), "eval", *args], env=ENV)


def test_sessions_become_redacted_draft_cases(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "drafts.yaml"

    result = run(config, "--from-sessions", "--since", "2026-03-01", "--out", str(out))

    assert result.exit_code == 0, result.output
    assert "exported 2 session(s)" in result.stderr
    text = out.read_text()
    for personal in ("Maria", "Lopez", "maria.lopez@example.com", "7946", "4111"):
        assert personal not in text
    assert "[email]" in text and "[phone]" in text and "[card]" in text and "[name]" in text
    cases = yaml.safe_load(text)["cases"]
    assert [c["expect"] for c in cases] == [
        {"answer": "Returns"},
        {"handoff": ["human_requested"]},
    ]
    assert cases[0]["turns"][-1] == {
        "customer": "how do i send my parcel back for a refund? card [card]"
    }
    assert cases[1]["turns"] == [{"customer": "i want a person, now"}]
    assert "rep: Hi, Sam here." in cases[1]["note"]


def test_the_drafts_run_as_cases_against_the_workspaces_knowledge(
    config: Path, tmp_path: Path
) -> None:
    out = tmp_path / "drafts.yaml"
    assert run(config, "--from-sessions", "--out", str(out)).exit_code == 0
    assert len(load_cases([out]).cases) == 3

    result = run(config, str(out), "--fail-under", "correct_citation_rate=1")

    assert result.exit_code == 0, result.output
    assert "from-sessions" in result.output


def test_from_sessions_takes_no_case_file(config: Path, tmp_path: Path) -> None:
    result = run(config, "--from-sessions", str(tmp_path / "x.yaml"))
    assert result.exit_code == 2
    assert "give no case file" in result.output
