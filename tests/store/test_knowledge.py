"""Knowledge documents: upserts that re-index only on change, passage streaming, sync state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from deskmate.core.store.knowledge import (
    MAX_BODY_CHARS,
    MAX_PASSAGES,
    DocumentInput,
    PassageText,
    delete_documents,
    document_versions,
    get_sync_state,
    iter_passages,
    record_sync_run,
    upsert_document,
)
from deskmate.core.store.models import KnowledgeDocument, KnowledgePassage

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def article(external_id: str = "a1", *texts: str, **kwargs: object) -> DocumentInput:
    passages = [PassageText(t, heading="Refunds") for t in (texts or ("Refunds take 5 days.",))]
    fields: dict[str, object] = {
        "source": "article",
        "external_id": external_id,
        "title": "Refund policy",
        "body": " ".join(p.text for p in passages),
        "passages": passages,
        "locale": "en",
        "url": f"https://help.example.com/{external_id}",
        "updated_at": T0,
    }
    return DocumentInput(**(fields | kwargs))


def passage_ids(session) -> list[int]:
    return list(session.scalars(select(KnowledgePassage.id).order_by(KnowledgePassage.id)))


def test_new_document_is_stored_with_its_passages_in_order(session):
    result = upsert_document(session, "app1", article("a1", "one", "two", "three"))
    assert result.changed
    rows = list(iter_passages(session, "app1"))
    assert [(r.position, r.text, r.heading) for r in rows] == [
        (0, "one", "Refunds"),
        (1, "two", "Refunds"),
        (2, "three", "Refunds"),
    ]
    assert {(r.document_id, r.external_id, r.title, r.locale, r.visibility) for r in rows} == {
        (result.id, "a1", "Refund policy", "en", "public")
    }


def test_unchanged_content_keeps_the_passages_and_reports_no_change(session):
    first = upsert_document(session, "app1", article("a1", "one", "two"))
    before = passage_ids(session)
    again = upsert_document(
        session, "app1", article("a1", "one", "two", updated_at=T0 + timedelta(1))
    )
    assert (again.id, again.changed) == (first.id, False)
    assert passage_ids(session) == before
    assert document_versions(session, "app1", "article")[("a1", "en")].updated_at == T0 + timedelta(
        1
    )


def test_changed_content_replaces_the_passages(session):
    first = upsert_document(session, "app1", article("a1", "one", "two"))
    changed = upsert_document(session, "app1", article("a1", "uno"))
    assert (changed.id, changed.changed) == (first.id, True)
    assert [r.text for r in iter_passages(session, "app1")] == ["uno"]
    assert session.get(KnowledgeDocument, first.id).body == "uno"


def test_locales_and_workspaces_are_separate_documents(session):
    en = upsert_document(session, "app1", article("a1"))
    fr = upsert_document(session, "app1", article("a1", "Remboursement en 5 jours.", locale="fr"))
    other = upsert_document(session, "app2", article("a1"))
    assert len({en.id, fr.id, other.id}) == 3
    assert set(document_versions(session, "app1", "article")) == {("a1", "en"), ("a1", "fr")}
    assert [r.text for r in iter_passages(session, "app2")] == ["Refunds take 5 days."]


def test_internal_documents_can_be_left_out_of_a_public_index(session):
    upsert_document(session, "app1", article("a1", "public text"))
    upsert_document(session, "app1", article("a2", "internal text", visibility="internal"))
    public = [r.text for r in iter_passages(session, "app1", visibility="public")]
    assert public == ["public text"]
    assert len(list(iter_passages(session, "app1", batch_size=1))) == 2


def test_deleting_documents_removes_their_passages(session):
    upsert_document(session, "app1", article("a1", "one", "two"))
    upsert_document(session, "app1", article("a2", "kept"))
    assert delete_documents(session, "app1", "article", [("a1", "en"), ("missing", "en")]) == 1
    assert delete_documents(session, "app1", "article", []) == 0
    assert [r.text for r in iter_passages(session, "app1")] == ["kept"]
    assert session.scalar(select(func.count()).select_from(KnowledgePassage)) == 1


def test_hostile_text_is_stored_verbatim_except_nul(session):
    hostile = "<img src=x onerror=alert(1)> '; DELETE FROM knowledge_passages; --"
    upsert_document(session, "app1", article("a1", hostile + "\x00", title="\x00" + hostile))
    (row,) = iter_passages(session, "app1")
    assert (row.text, row.title) == (hostile, hostile)


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"source": "wiki"}, "source must be one of"),
        ({"visibility": "secret"}, "visibility must be one of"),
        ({"external_id": " "}, "external_id must be a non-empty string"),
        ({"locale": "x" * 17}, "locale must be a string of at most 16"),
        ({"body": "x" * (MAX_BODY_CHARS + 1)}, "document body is"),
        ({"passages": [PassageText("p")] * (MAX_PASSAGES + 1)}, "passages; limit"),
    ],
)
def test_malformed_or_oversized_document_is_refused_and_nothing_changes(session, kwargs, text):
    upsert_document(session, "app1", article("a1", "original"))
    with pytest.raises(ValueError, match=text):
        upsert_document(session, "app1", article(**({"external_id": "a1"} | kwargs)))
    assert [r.text for r in iter_passages(session, "app1")] == ["original"]
    assert session.scalar(select(func.count()).select_from(KnowledgeDocument)) == 1


def test_sync_state_remembers_cursor_and_last_success(session):
    assert get_sync_state(session, "app1", "article") is None
    record_sync_run(
        session, "app1", "article", cursor="page-2", succeeded=True, stats={"n": 3}, now=T0
    )
    later = T0 + timedelta(hours=1)
    record_sync_run(
        session, "app1", "article", cursor="page-3", succeeded=False, stats={"n": 0}, now=later
    )
    state = get_sync_state(session, "app1", "article")
    assert (state.cursor, state.last_run_at, state.last_success_at, state.stats) == (
        "page-3",
        later,
        T0,
        {"n": 0},
    )
    assert get_sync_state(session, "app1", "conversation") is None
