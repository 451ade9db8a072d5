"""answer_preview: the whole default decision for one question, as ``deskmate ask`` shows it."""

from __future__ import annotations

import json

from deskmate.core.brain.preview import answer_preview
from deskmate.core.brain.search import KnowledgeIndex
from deskmate.core.brain.settings import BrainSettings
from deskmate.core.config import Settings


def test_a_covered_question_gets_a_cited_draft_and_no_reason(kb: KnowledgeIndex) -> None:
    preview = answer_preview("How do I reset my password?", None, kb, BrainSettings())
    assert preview.language.code == "en"
    assert preview.hits[0].doc_id == "reset-password"
    assert preview.draft is not None and preview.draft.citations
    assert not preview.escalates


def test_the_language_hint_skips_detection(kb: KnowledgeIndex) -> None:
    preview = answer_preview("reset password mot de passe", "fr", kb, BrainSettings())
    assert (preview.language.code, preview.language.source) == ("fr", "given")
    assert preview.draft is not None and preview.draft.language == "fr"


def test_an_invalid_language_hint_is_ignored(kb: KnowledgeIndex) -> None:
    preview = answer_preview("Wann wird meine Bestellung geliefert?", "<b>", kb, BrainSettings())
    assert preview.language.code == "de"


def test_an_unanswerable_question_records_why(kb: KnowledgeIndex) -> None:
    preview = answer_preview("Can I talk to a person about bitcoin?", None, kb, BrainSettings())
    assert [r.code for r in preview.reasons] == ["human_requested", "no_knowledge"]
    assert preview.escalates


def test_internal_passages_only_when_asked(kb: KnowledgeIndex) -> None:
    question = "refund approval limit for agents"
    public = answer_preview(question, "en", kb, BrainSettings())
    internal = answer_preview(question, "en", kb, BrainSettings(), include_internal=True)
    assert all(h.visibility == "public" for h in public.hits)
    assert internal.hits[0].visibility == "internal"


def test_the_whole_configuration_and_no_index_are_accepted() -> None:
    preview = answer_preview("How do I reset my password?", None, None, Settings())
    assert preview.hits == [] and preview.draft is None
    assert [r.code for r in preview.reasons] == ["no_knowledge"]


def test_the_preview_serialises_to_json(kb: KnowledgeIndex) -> None:
    data = json.loads(json.dumps(answer_preview("refund", None, kb).as_dict()))
    assert data["question"] == "refund" and "escalates" in data and data["hits"]
