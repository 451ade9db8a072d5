"""An email's salutation and sign-off are cut off before its question is searched."""

from __future__ import annotations

import time

import pytest

from deskmate.core.brain.courtesy import without_courtesy
from deskmate.core.brain.search import KnowledgeIndex, Passage
from deskmate.core.brain.text import asks


@pytest.mark.parametrize(
    ("email", "message"),
    [
        (
            "Dear Sir or Madam, my grandson set up my account. Kind regards, Margaret Ellis",
            "my grandson set up my account.",
        ),
        (
            "Sehr geehrte Damen und Herren, ich komme nicht rein. Mit freundlichen Grüßen, Helga",
            "ich komme nicht rein.",
        ),
        (
            "Madame, Monsieur, j'ai souscrit hier. Je vous prie d'agréer, Madame, Monsieur, mes "
            "salutations distinguées. Jean-Pierre Martin",
            "j'ai souscrit hier.",
        ),
        (
            "Exmos. Senhores, não consigo aceder. Com os melhores cumprimentos, Manuel Sousa",
            "não consigo aceder.",
        ),
        (
            "Geachte heer/mevrouw, waar is mijn pakket? Met vriendelijke groet, Wim",
            "waar is mijn pakket?",
        ),
        ("Hello,\n\nHow can I get in?\n\nThanks,\nMark", "How can I get in?"),
        (
            "Buongiorno, vorrei un rimborso. Vi ringrazio anticipatamente. Giuseppe",
            "vorrei un rimborso.",
        ),
    ],
)
def test_salutation_sign_off_and_signature_are_cut_off(email: str, message: str) -> None:
    assert without_courtesy(email).strip() == message


def test_a_thanks_followed_by_more_of_the_message_is_kept() -> None:
    assert without_courtesy("thanks, how long does it take?") == "thanks, how long does it take?"
    message = "I tried the link. thanks but it still doesn't work"
    assert without_courtesy(message) == message


def test_a_message_of_courtesy_only_is_left_as_it_is() -> None:
    assert without_courtesy("Thanks!") == "Thanks!"
    assert without_courtesy("Kind regards") == "Kind regards"


@pytest.mark.parametrize(
    "sentence",
    [
        "I would be most grateful if you could tell me how I might get back in.",
        "Ich wäre Ihnen sehr verbunden, wenn Sie mir mitteilen könnten, wie ich reinkomme.",
        "Les agradecería que me indicaran cómo debo proceder.",
        "Graag verneem ik of ik het bedrag terug kan krijgen.",
    ],
)
def test_a_polite_request_in_an_email_asks(sentence: str) -> None:
    assert asks(sentence)


def test_a_signature_is_not_part_of_the_question() -> None:
    index = KnowledgeIndex([Passage("pw", "pw", "Reset your password", "Choose Forgot password.")])
    query = index.query("Dear support, I forgot my password. Yours sincerely, Eustace Quimby")
    terms = {c.term for c in query.concepts}
    assert "forgot password" in terms and not terms & {"eustac", "quimbi", "sincer", "dear"}


@pytest.mark.parametrize("text", ["\n" * 50_000, " \n" * 25_000, "regards\n" * 6_000])
def test_a_huge_hostile_message_is_read_at_once(text: str) -> None:
    started = time.perf_counter()
    without_courtesy(text)
    assert time.perf_counter() - started < 1.0  # a search over all of it took minutes
