"""The brain reads the conversation: acknowledgements get no answer, follow-ups keep context."""

from __future__ import annotations

import pytest

from deskmate.core.brain import runtime
from deskmate.core.brain.conversation import follow_up_context, is_acknowledgement
from deskmate.core.brain.hooks import generate_reply, search_knowledge
from deskmate.core.brain.preview import answer_preview
from deskmate.core.brain.search import KnowledgeIndex
from deskmate.core.brain.settings import BrainSettings
from deskmate.core.domain import Author, Message
from deskmate.testing import TEST_AI_ADMIN_ID, make_turn


def customer(part_id: str, text: str) -> Message:
    return Message(part_id, Author("user", "contact-1"), text)


def ai(part_id: str, text: str) -> Message:
    return Message(part_id, Author("admin", TEST_AI_ADMIN_ID), text)


@pytest.mark.parametrize(
    "text",
    [
        "Thanks! That worked.",
        "thanks, that worked",
        "ok perfect",
        "merci ça marche",
        "Merci beaucoup, c'est bon !",
        "danke hat geklappt",
        "Vielen Dank!",
        "gracias ya funciona",
        "Perfecto, muchas gracias 🙏",
        "obrigado, deu certo",
        "grazie mille, ha funzionato",
        "bedankt, het werkt",
        "ありがとうございました!",
        "great, got it 👍",
        "Thank you so much for your help, have a nice day",
        "👍",
        "🙏🏻 🙂",
        "perfetto, provo subito. grazie mille!",
    ],
)
def test_acknowledgements_and_closings_are_recognised(text: str) -> None:
    assert is_acknowledgement(text)


@pytest.mark.parametrize(
    "text",
    [
        "thanks, but how do I export my data?",
        "it still doesn't work",
        "no",
        "thanks for nothing",
        "ok but I want a human",
        "ça ne marche pas",
        "funktioniert nicht",
        "no funciona",
        "ok?",
        "",
        "😡",
    ],
)
def test_questions_complaints_and_refusals_are_not_acknowledgements(text: str) -> None:
    assert not is_acknowledgement(text)


def test_an_acknowledgement_after_an_answer_gets_no_new_answer(
    brain: runtime.BrainRuntime,
) -> None:
    question = customer("1", "How do I reset my password?")
    thanks = customer("3", "Thanks! That worked.")
    turn = make_turn(messages=[question, ai("2", "Open Settings."), thanks], latest=thanks)
    assert search_knowledge(query=thanks.text, language=None, turn=turn, limit=5) is None
    draft = generate_reply(turn=turn, hits=[])
    assert draft is not None and draft.silent and draft.citations == []


def test_a_configured_closing_line_is_the_reply_to_an_acknowledgement(kb: KnowledgeIndex) -> None:
    settings = BrainSettings(closing_reply="Glad it helped!")
    preview = answer_preview("merci ça marche", None, kb, settings)
    assert preview.draft is not None and preview.draft.text == "Glad it helped!"
    assert preview.reasons == [] and not preview.silent
    quiet = answer_preview("merci ça marche", None, kb, BrainSettings())
    assert quiet.silent and quiet.hits == []


@pytest.mark.parametrize(
    "text",
    [
        "thanks, found the email but the link expired",
        "thanks, found it. how do I change my plan",
        "obrigado, a senha ainda não funciona",
        "thanks for nothing, nothing worked",
    ],
)
def test_thanks_with_a_problem_or_a_new_question_is_not_a_closing(text: str) -> None:
    assert not is_acknowledgement(text)


def test_a_follow_up_is_searched_with_the_previous_question(
    brain: runtime.BrainRuntime,
) -> None:
    question = customer("1", "How do I get a refund?")
    follow_up = customer("3", "and how long does that take?")
    turn = make_turn(
        messages=[
            question,
            ai("2", "We refund any order within 30 days.\n\nSources: Refunds (https://x.io/r)"),
            follow_up,
        ],
        latest=follow_up,
    )
    assert follow_up_context(turn) == "How do I get a refund?\nWe refund any order within 30 days."
    hits = search_knowledge(query=follow_up.text, language=None, turn=turn, limit=5)
    assert hits and hits[0].doc_id == "refunds"
    draft = generate_reply(turn=turn, hits=hits)
    assert draft is not None and draft.citations[0].doc_id == "refunds"
    assert draft.confidence >= BrainSettings().confidence_threshold


def test_a_new_question_is_found_by_its_own_words_despite_the_context(
    brain: runtime.BrainRuntime,
) -> None:
    question = customer("1", "How do I get a refund?")
    other = customer("3", "How do I reset my password on the mobile app?")
    turn = make_turn(messages=[question, ai("2", "Within 30 days."), other], latest=other)
    assert follow_up_context(turn) == "How do I get a refund?\nWithin 30 days."
    hits = search_knowledge(query=other.text, language=None, turn=turn, limit=5)
    assert hits and hits[0].doc_id == "reset-password"


def test_a_new_topic_after_an_answer_does_not_get_the_old_answer_again(
    brain: runtime.BrainRuntime,
) -> None:
    question = customer("1", "How do I get a refund?")
    reply = ai("2", "We refund any order within 30 days.\n\nSources: Refunds (https://x.io/r)")
    other = customer("3", "ok thanks. do you have an api we could use?")
    turn = make_turn(messages=[question, reply, other], latest=other)
    assert search_knowledge(query=other.text, language=None, turn=turn, limit=5) is None


@pytest.mark.parametrize("text", ["no that's all, thanks a lot", "grazie mille, fatto"])
def test_closings_that_decline_more_help_or_say_done_are_acknowledgements(text: str) -> None:
    assert is_acknowledgement(text)


@pytest.mark.parametrize(
    "text",
    [
        "found it, thanks a ton",
        "figured it out, cheers! have a good weekend",
        "yay finally got it working",
        "genial, lo conseguí. buen fin de semana",
        "top merci, bonne fin de journée",
        "endlich, danke euch! schönen Abend",
        "consegui, muito obrigado. boa noite",
        "ottimo, grazie tante! buona serata",
        "eindelijk gelukt, fijn weekend",
    ],
)
def test_closing_wishes_and_found_it_are_acknowledgements_in_every_language(text: str) -> None:
    assert is_acknowledgement(text)


@pytest.mark.parametrize(
    "text",
    ["found it but where is the invoice", "hi", "finally, how do I export my data"],
)
def test_a_greeting_or_a_new_need_beside_closing_words_is_not_an_acknowledgement(
    text: str,
) -> None:
    assert not is_acknowledgement(text)
