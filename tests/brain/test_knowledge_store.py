"""Indexes built from the store's knowledge tables (a real SQLite file), kept in step."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from deskmate.core.brain.knowledge import StoreKnowledge, to_passage
from deskmate.core.store.db import make_engine, upgrade
from deskmate.core.store.knowledge import (
    DocumentInput,
    PassageRow,
    PassageText,
    delete_documents,
)
from deskmate.core.store.knowledge import upsert_document as store_document
from deskmate.core.store.models import KnowledgePassage


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'deskmate.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def put(
    engine: Engine, external_id: str, title: str, texts: list[str], workspace: str = "app1", **kw
) -> None:
    """Store a document the way a knowledge sync does."""
    doc = DocumentInput(
        source="article",
        external_id=external_id,
        title=title,
        body=" ".join(texts),
        passages=[PassageText(t) for t in texts],
        **kw,
    )
    with Session(engine) as session, session.begin():
        store_document(session, workspace, doc)


def drop(engine: Engine, external_id: str) -> None:
    with Session(engine) as session, session.begin():
        delete_documents(session, "app1", "article", [(external_id, "")])


def test_the_index_holds_the_workspace_passages_with_their_documents(engine: Engine) -> None:
    put(
        engine,
        "42",
        "Reset your password",
        ["Click Reset password in Settings."],
        url="https://help.example.com/42",
        locale="en",
    )
    put(engine, "43", "Team notes", ["Refund limit is 50 EUR."], visibility="internal")
    put(engine, "99", "Other workspace", ["Password rules."], workspace="app2")
    knowledge = StoreKnowledge(engine, check_every=0)
    index = knowledge.index("app1")
    assert len(index) == 2
    hit = index.search("password")[0]
    assert (hit.doc_id, hit.title, hit.url, hit.locale, hit.source) == (
        "42",
        "Reset your password",
        "https://help.example.com/42",
        "en",
        "article",
    )
    assert index.search("refund") == []
    assert index.search("refund", visibility=("internal",))[0].doc_id == "43"
    assert len(knowledge.index("app2")) == 1
    assert len(knowledge.index("unknown")) == 0


def test_added_changed_and_deleted_documents_reach_the_same_index(engine: Engine) -> None:
    put(engine, "42", "Passwords", ["Click Reset password."])
    knowledge = StoreKnowledge(engine, check_every=0)
    index = knowledge.index("app1")
    put(engine, "44", "Shipping", ["Parcels arrive in 3 days.", "Tracking comes by email."])
    assert knowledge.index("app1").search("parcels")[0].doc_id == "44"
    put(engine, "42", "Sign-in help", ["Choose Forgot password on the sign-in page."])
    assert knowledge.index("app1").search("password")[0].title == "Sign-in help"
    assert knowledge.index("app1").search("click") == []
    drop(engine, "44")
    assert knowledge.index("app1") is index
    assert index.search("parcels") == [] and len(index) == 1


def test_the_store_is_checked_at_most_every_interval(engine: Engine) -> None:
    now = [0.0]
    knowledge = StoreKnowledge(engine, check_every=5.0, clock=lambda: now[0])
    assert len(knowledge.index("app1")) == 0
    put(engine, "42", "Passwords", ["Click Reset password."])
    now[0] = 4.0
    assert len(knowledge.index("app1")) == 0
    knowledge.invalidate("app1")
    assert len(knowledge.index("app1")) == 1
    put(engine, "43", "Refunds", ["Refunds take 5 days."])
    now[0] = 9.5
    assert len(knowledge.index("app1")) == 2


def test_warming_builds_indexes_in_the_background(engine: Engine) -> None:
    put(engine, "42", "Passwords", ["Click Reset password."])
    knowledge = StoreKnowledge(engine, check_every=60)
    knowledge.warm(["app1"]).join(timeout=10)
    drop(engine, "42")
    assert len(knowledge.index("app1")) == 1  # built by the warm-up, not checked again yet
    assert knowledge.index("app1").corrections_ready  # and its typo-correction table with it


def test_warming_an_unmigrated_store_logs_and_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    knowledge = StoreKnowledge(make_engine(f"sqlite:///{tmp_path / 'empty.db'}"))
    knowledge.warm(["app1"]).join(timeout=10)
    assert "could not load knowledge for app1" in caplog.text


def test_a_passage_of_an_unknown_visibility_is_kept_internal() -> None:
    row = PassageRow(1, 1, "article", "50", "", "Odd", None, "staff-only", 0, "Plans", "Secret.")
    passage = to_passage(row)
    assert passage.visibility == "internal"
    assert passage.title == "Odd — Plans" and passage.locale is None


def test_reading_knowledge_does_not_wait_for_a_writer(engine: Engine) -> None:
    put(engine, "42", "Passwords", ["Click Reset password."])
    knowledge = StoreKnowledge(engine, check_every=0)
    with Session(engine) as writer, writer.begin():
        writer.execute(delete(KnowledgePassage).where(KnowledgePassage.id < 0))  # takes the lock
        start = time.monotonic()
        assert len(knowledge.index("app1")) == 1
        assert time.monotonic() - start < 2.0


def test_a_database_that_cannot_be_created_is_logged_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "a-file").write_text("x")
    url = f"sqlite:///{tmp_path / 'a-file' / 'deskmate.db'}"
    knowledge = StoreKnowledge(lambda: make_engine(url))
    knowledge.warm(["app1"]).join(timeout=10)
    assert "could not load knowledge for app1: DatabaseError" in caplog.text
