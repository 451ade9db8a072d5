"""Indexes built from the store's knowledge tables (a real SQLite file), kept in step."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from deskmate.core.brain.knowledge import StoreKnowledge
from deskmate.core.store.db import make_engine, upgrade
from deskmate.core.store.models import KnowledgeDocument, KnowledgePassage


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'deskmate.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def add_document(
    engine: Engine, external_id: str, title: str, texts: list[str], **fields: object
) -> int:
    with Session(engine) as session:
        doc = KnowledgeDocument(
            workspace_id=fields.pop("workspace_id", "app1"),
            source="article",
            external_id=external_id,
            title=title,
            content_hash=external_id,
            **fields,
        )
        session.add(doc)
        session.flush()
        for position, text in enumerate(texts):
            session.add(
                KnowledgePassage(
                    document_id=doc.id,
                    workspace_id=doc.workspace_id,
                    position=position,
                    heading=None,
                    text=text,
                )
            )
        session.commit()
        return doc.id


def test_the_index_holds_the_workspace_passages_with_their_documents(engine: Engine) -> None:
    add_document(
        engine,
        "42",
        "Reset your password",
        ["Click Reset password in Settings."],
        url="https://help.example.com/42",
        locale="en",
    )
    add_document(engine, "43", "Team notes", ["Refund limit is 50 EUR."], visibility="internal")
    add_document(engine, "99", "Other workspace", ["Password rules."], workspace_id="app2")
    knowledge = StoreKnowledge(engine, check_every=0)
    index = knowledge.index("app1")
    assert len(index) == 2
    hit = index.search("password")[0]
    assert (hit.doc_id, hit.title, hit.url, hit.locale) == (
        "42",
        "Reset your password",
        "https://help.example.com/42",
        "en",
    )
    assert index.search("refund") == []
    assert index.search("refund", visibility=("internal",))[0].doc_id == "43"
    assert len(knowledge.index("app2")) == 1
    assert len(knowledge.index("unknown")) == 0


def test_changes_in_the_store_reach_the_index(engine: Engine) -> None:
    doc_id = add_document(engine, "42", "Passwords", ["Click Reset password."])
    knowledge = StoreKnowledge(engine, check_every=0)
    index = knowledge.index("app1")
    add_document(engine, "44", "Shipping", ["Parcels arrive in 3 days."])
    assert knowledge.index("app1").search("parcels")[0].doc_id == "44"
    with Session(engine) as session:
        session.execute(delete(KnowledgePassage).where(KnowledgePassage.document_id == doc_id))
        session.execute(delete(KnowledgeDocument).where(KnowledgeDocument.id == doc_id))
        session.commit()
    assert knowledge.index("app1") is index
    assert index.search("password") == [] and len(index) == 1


def test_a_resynced_document_is_reloaded(engine: Engine) -> None:
    doc_id = add_document(engine, "42", "Passwords", ["Click Reset password."])
    knowledge = StoreKnowledge(engine, check_every=0)
    assert knowledge.index("app1").search("password")[0].title == "Passwords"
    with Session(engine) as session:
        session.execute(
            update(KnowledgeDocument).where(KnowledgeDocument.id == doc_id).values(title="Sign-in")
        )
        session.commit()
    assert knowledge.index("app1").search("password")[0].title == "Sign-in"


def test_the_store_is_checked_at_most_every_interval(engine: Engine) -> None:
    now = [0.0]
    knowledge = StoreKnowledge(engine, check_every=5.0, clock=lambda: now[0])
    assert len(knowledge.index("app1")) == 0
    add_document(engine, "42", "Passwords", ["Click Reset password."])
    now[0] = 4.0
    assert len(knowledge.index("app1")) == 0
    knowledge.invalidate("app1")
    assert len(knowledge.index("app1")) == 1
    add_document(engine, "43", "Refunds", ["Refunds take 5 days."])
    now[0] = 9.5
    assert len(knowledge.index("app1")) == 2


def test_warming_builds_indexes_in_the_background(engine: Engine) -> None:
    add_document(engine, "42", "Passwords", ["Click Reset password."])
    knowledge = StoreKnowledge(engine, check_every=60)
    knowledge.warm(["app1"]).join(timeout=10)
    with Session(engine) as session:
        session.execute(delete(KnowledgePassage))
        session.commit()
    assert len(knowledge.index("app1")) == 1


def test_warming_an_unmigrated_store_logs_and_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    knowledge = StoreKnowledge(make_engine(f"sqlite:///{tmp_path / 'empty.db'}"))
    knowledge.warm(["app1"]).join(timeout=10)
    assert "could not load knowledge for app1" in caplog.text


def test_a_document_of_unknown_visibility_is_kept_internal(engine: Engine) -> None:
    add_document(engine, "50", "Odd", ["Secret plans for launch."], visibility="staff-only")
    index = StoreKnowledge(engine, check_every=0).index("app1")
    assert index.search("secret plans") == []
    assert index.search("secret plans", visibility=("internal",))[0].doc_id == "50"
