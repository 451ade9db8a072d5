"""Reply drafting: the answering sentences, their sources, the language, and coverage confidence."""

from __future__ import annotations

import pytest

from deskmate.core.brain.compose import MAX_REPLY_CHARS, calibrated, compose, margin
from deskmate.core.brain.query import ASIDE_WEIGHT, Concept, Query, build_query
from deskmate.core.brain.search import KnowledgeIndex
from deskmate.core.brain.settings import BrainSettings
from deskmate.core.domain import Hit

THRESHOLD = BrainSettings().confidence_threshold


def draft_for(kb: KnowledgeIndex, question: str, language: str | None = "en"):
    return compose(question, kb.search(question), language, weight=kb.idf)


def test_the_reply_quotes_the_sentence_that_answers_and_cites_its_source(
    kb: KnowledgeIndex,
) -> None:
    draft = draft_for(kb, "How do I reset my password?")
    assert draft is not None
    assert "Click Reset password" in draft.text
    assert "Refund" not in draft.text
    assert [h.doc_id for h in draft.citations] == ["reset-password"]
    assert draft.citations[0].url == "https://help.example.com/reset-password"
    assert draft.language == "en"


@pytest.mark.parametrize(
    "question",
    [
        "How do I reset my password?",
        "My password reset link expired",
        "Can I get a refund for a gift card?",
        "How long does shipping take?",
        "Do you ship express?",
        "comment réinitialiser mon mot de passe ?",
        "パスワードを忘れました",
        "发票在哪里下载？",  # noqa: RUF001
    ],
)
def test_questions_the_knowledge_answers_reach_the_threshold(
    kb: KnowledgeIndex, question: str
) -> None:
    draft = draft_for(kb, question, None)
    assert draft is not None and draft.confidence >= THRESHOLD


@pytest.mark.parametrize(
    "question",
    [
        "How do I connect Salesforce to my shipping account?",
        "Is there a password manager integration with okta and lastpass?",
    ],
)
def test_questions_it_only_touches_stay_below_the_threshold(
    kb: KnowledgeIndex, question: str
) -> None:
    draft = draft_for(kb, question)
    assert draft is None or draft.confidence < THRESHOLD


def test_coverage_weighs_rare_terms_more_than_common_ones() -> None:
    question = Query((Concept("common"), Concept("rare")))
    weights = {"common": 0.5, "rare": 3.0}.__getitem__
    assert question.coverage(frozenset({"rare"}), weights) == pytest.approx(3 / 3.5)
    assert question.coverage(frozenset({"common"}), weights) == pytest.approx(0.5 / 3.5)
    assert Query(()).coverage(frozenset({"x"}), weights) == 0.0


def test_a_synonym_or_correction_covers_its_concept() -> None:
    question = Query((Concept("money", frozenset({"refund"})), Concept("back")))
    assert question.coverage(frozenset({"refund", "back"}), lambda _: 1.0) == 1.0


def test_confidence_takes_the_translation_that_covers_the_question_best() -> None:
    question = Query((Concept("refund"), Concept("plan")))
    spanish = Hit(
        "refunds", "Política de reembolso", "Pide tu refund en 30 días.", 2.0, locale="es"
    )
    english = Hit(
        "refunds", "Refund policy", "A refund for annual plan is pro rata.", 1.5, locale="en"
    )
    other = Hit("shipping", "Shipping", "Orders ship in 2 days.", 0.1, locale="en")
    draft = compose(question, [spanish, english, other], "pt")
    assert draft is not None and draft.citations[0].locale == "es"  # quoted: the best passage
    assert draft.confidence == pytest.approx(calibrated(1.0, margin([spanish, english, other])))
    alone = compose(question, [spanish, other], "pt")
    assert alone is not None and alone.confidence < draft.confidence


def test_passages_in_the_conversation_language_are_preferred(kb: KnowledgeIndex) -> None:
    hits = kb.search("password reinitialiser mot de passe reset")
    assert compose("reset password", hits, "fr").language == "fr"
    assert compose("reset password", hits, "en").language == "en"


def test_japanese_sentences_are_joined_without_spaces() -> None:
    hit = Hit("d", "パスワード", "パスワードを変更します。設定を開きます。", 1.0, locale="ja")
    draft = compose("パスワードの設定", [hit], "ja")
    assert draft is not None and " " not in draft.text


def test_no_hits_or_no_content_words_give_no_draft(kb: KnowledgeIndex) -> None:
    assert compose("How do I reset my password?", [], "en") is None
    assert compose("how do I do it?", kb.search("password"), "en") is None
    assert compose("password", [Hit("d", "t", "   ", 1.0)], "en") is None


def test_a_long_passage_gives_a_bounded_reply() -> None:
    hit = Hit("d", "Password", "Password help. " + "Password words here " * 2000, 1.0)
    draft = compose("password", [hit], "en")
    assert draft is not None and len(draft.text) <= MAX_REPLY_CHARS + 1


def test_hostile_questions_do_not_break_drafting(kb: KnowledgeIndex) -> None:
    for question in ["<script>alert(1)</script> password", "😀 password 😀", "password " * 100_000]:
        draft = compose(question, kb.search(question), "en", weight=kb.idf)
        assert draft is not None and "<script>" not in draft.text


def test_a_short_passage_is_quoted_whole(kb: KnowledgeIndex) -> None:
    draft = draft_for(kb, "How do I reset my password?")
    assert draft is not None
    assert draft.text.startswith("Open Settings and choose Security.")
    assert draft.text.endswith("The link expires after 30 minutes.")


def test_a_long_passage_gives_its_most_relevant_sentences_in_reading_order() -> None:
    passage = (
        "Welcome to the billing guide. Invoices are issued monthly. "
        "To add a VAT number, open Billing details. Our office is in Lisbon. "
        "The VAT number appears on every later invoice. Contact us any time."
    )
    weights = {"vat": 3.0, "number": 1.0, "invoic": 0.5}
    draft = compose(
        "Where do I add my VAT number?",
        [Hit("billing", "Billing guide", passage, 2.0)],
        "en",
        max_sentences=2,
        weight=lambda t: weights.get(t, 1.0),
    )
    assert draft is not None
    assert draft.text == (
        "To add a VAT number, open Billing details. The VAT number appears on every later invoice."
    )


def test_a_clear_retrieval_margin_lifts_a_partial_match_and_a_close_race_does_not() -> None:
    refund = Hit("refunds", "Refund policy", "Refunds take 5 to 10 days.", score=8.0)
    shipping = Hit("shipping", "Shipping", "Orders ship in 2 days.", score=1.0)
    tied = Hit("shipping", "Shipping", "Orders ship in 2 days.", score=8.0)
    question = "refund for my zebra lamp"
    alone = compose(question, [refund, shipping], "en")
    race = compose(question, [refund, tied], "en")
    assert alone is not None and race is not None
    assert margin([refund, shipping]) == pytest.approx(7 / 8)
    assert margin([refund, tied]) == 0.0
    assert race.confidence == pytest.approx(1 / 3, abs=0.01)  # coverage alone: refund of 3
    assert alone.confidence == pytest.approx(calibrated(1 / 3, 7 / 8), abs=0.01)
    assert alone.confidence >= 0.45 > race.confidence


def test_calibration_keeps_full_and_empty_coverage_where_they_are() -> None:
    assert calibrated(1.0, 0.0) == calibrated(1.0, 1.0) == 1.0
    assert calibrated(0.0, 1.0) == 0.0
    assert calibrated(0.5, 0.0) == 0.5 < calibrated(0.5, 0.5) < calibrated(0.5, 1.0)


def test_greetings_and_a_signature_around_the_question_do_not_sink_confidence(
    kb: KnowledgeIndex,
) -> None:
    email = (
        "Hi team,\n\nI hope you are all well and had a nice weekend. Quick one: how long does"
        " express shipping take?\n\nBest regards,\nJane Miller\nHead of Operations, Acme GmbH"
    )
    draft = compose(kb.query(email), kb.search(email), "en", weight=kb.idf)
    assert draft is not None and draft.citations[0].doc_id == "shipping"
    assert draft.confidence >= THRESHOLD


def test_words_outside_the_asking_sentence_weigh_less_in_confidence() -> None:
    query = build_query("Hello from Acme. How do I rename my workspace?")
    weights = {c.term: c.weight for c in query.concepts}
    assert weights["renam"] == weights["workspac"] == 1.0
    assert weights["acm"] == ASIDE_WEIGHT
    assert {c.weight for c in build_query("How do I rename my workspace?").concepts} == {1.0}


def test_a_quoted_question_comes_with_the_sentence_that_answers_it() -> None:
    passage = (
        "Open the sign-in page. Choose Forgot password. We send you a reset link. "
        "No email? Check your spam folder, then ask us to resend it."
    )
    hit = Hit("pw", "Reset your password", passage, score=5.0)
    draft = compose("the email", [hit], "en", max_sentences=1)
    assert draft is not None
    assert draft.text == "No email? Check your spam folder, then ask us to resend it."
