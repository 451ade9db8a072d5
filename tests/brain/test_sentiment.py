"""Sentiment: frustration cues in eight languages, VADER in English, unknown otherwise."""

from __future__ import annotations

import pytest

from deskmate.core.brain.sentiment import analyze, frustration_cues


@pytest.mark.parametrize(
    ("language", "text", "cue"),
    [
        ("en", "This is the third time I am asking for a refund.", "repeat_contact"),
        ("en", "Why is this still not fixed? I reported it a month ago.", "still_not"),
        ("en", "I have emailed you three times and nobody answers.", "nobody_answers"),
        ("en", "This is ridiculous, worst service ever", "strong_words"),
        ("en", "WHY IS THE APP BROKEN AGAIN", "shouting"),
        ("en", "Where is my order!!!", "exclamations"),
        ("es", "Es la tercera vez que escribo y nadie responde", "repeat_contact"),
        ("es", "Todavía no funciona y ya es la segunda semana", "still_not"),
        ("fr", "Toujours pas de réponse, c'est inadmissible", "still_not"),
        ("fr", "Personne ne répond à mes messages", "nobody_answers"),
        ("de", "Das ist schon wieder kaputt", "repeat_contact"),
        ("de", "Es funktioniert immer noch nicht", "still_not"),
        ("pt", "Já perguntei isso e ainda não resolveram", "repeat_contact"),
        ("pt", "Ninguém responde, que vergonha", "nobody_answers"),
        ("it", "Nessuno risponde da una settimana", "nobody_answers"),
        ("it", "È la terza volta che scrivo", "repeat_contact"),
        ("nl", "Het werkt nog steeds niet", "still_not"),
        ("nl", "Dit is belachelijk", "strong_words"),
        ("ja", "何度も問い合わせています", "repeat_contact"),
        ("ja", "まだ解決していません。最悪です", "still_not"),
        ("en", "i'm losing my patience with these canned answers", "patience_gone"),
        ("es", "esto es una tomadura de pelo, ya me cansé", "patience_gone"),
        ("fr", "encore un copier-coller, je perds patience", "patience_gone"),
        ("de", "schon wieder eine Standardantwort, mir reicht's", "patience_gone"),
        ("pt", "cansei dessa palhaçada", "patience_gone"),
        ("it", "sto perdendo la pazienza con questi copia incolla", "patience_gone"),
        ("nl", "weer een standaard antwoord, mijn geduld is op", "patience_gone"),
        ("en", "thinking about moving to one of your competitors", "threat_to_leave"),
        ("de", "dann gehe ich eben zur Konkurrenz", "threat_to_leave"),
        ("fr", "toujours rien après 3 mails", "repeat_contact"),
        ("it", "dopo tre messaggi nessuna notizia", "nobody_answers"),
        ("en", "no answer for a week 😡", "strong_words"),
    ],
)
def test_frustration_cues_make_the_message_negative(language: str, text: str, cue: str) -> None:
    sentiment = analyze(text, language)
    assert sentiment.label == "negative"
    assert cue in sentiment.cues
    assert sentiment.score < 0


@pytest.mark.parametrize(
    "text",
    [
        "How do I cancel my order?",
        "Can you help me reset my password please?",
        "Your delivery driver left the package at the wrong address.",
    ],
)
def test_plain_english_requests_are_neutral(text: str) -> None:
    assert analyze(text, "en").label == "neutral"


@pytest.mark.parametrize("text", ["Thanks, that solved it!", "Great, this is perfect, I love it."])
def test_happy_english_messages_are_positive(text: str) -> None:
    assert analyze(text, "en").label == "positive"


def test_explicit_english_anger_without_a_listed_cue_is_negative_by_vader() -> None:
    sentiment = analyze("I hate this app, it is a horrible disappointing mess.", "en")
    assert sentiment.label == "negative"


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("es", "¿Cómo cambio la dirección de envío?"),
        ("de", "Die App stürzt beim Start ab."),
        ("nl", "Hoe kan ik mijn wachtwoord wijzigen?"),
        ("ja", "請求書はどこで見られますか"),
    ],
)
def test_other_languages_without_cues_are_unknown(language: str, text: str) -> None:
    assert analyze(text, language).label == "unknown"


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("fr", "Merci, cela a réglé mon problème"),
        ("de", "Danke, gelöst!"),
        ("ja", "ありがとうございます"),
    ],
)
def test_thanks_in_other_languages_is_positive(language: str, text: str) -> None:
    assert analyze(text, language).label == "positive"


@pytest.mark.parametrize("text", ["", "   ", "😀😀😀", "ok"])
def test_empty_emoji_and_tiny_texts_without_a_language_are_unknown(text: str) -> None:
    assert analyze(text, None).label == "unknown"


def test_huge_and_html_text_is_rated_without_error() -> None:
    assert analyze("<script>alert('x')</script> " * 50_000, "en").label in {"neutral", "unknown"}
    assert analyze("!" * 1_000_000, None).cues == ("exclamations",)


def test_calm_mixed_case_is_not_shouting() -> None:
    assert "shouting" not in frustration_cues("I use the API and the SDK with OAuth on iOS.")


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("i did that. four times. the link never comes", "repeat_contact"),
        ("ça fait trois fois que je pose la même question", "repeat_contact"),
        ("ich warte seit drei wochen auf mein paket und keiner meldet sich", "nobody_answers"),
    ],
)
def test_repeats_and_silence_without_the_usual_keywords_are_frustration(
    text: str, cue: str
) -> None:
    assert cue in analyze(text, None).cues


def test_a_count_alone_is_not_frustration() -> None:
    assert analyze("I was charged three times for one order", "en").cues == ()


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("it's my 4th message about this", "repeat_contact"),
        ("still waiting for two weeks now", "nobody_answers"),
        ("nobody told me anything since monday", "nobody_answers"),
        ("llevo tres semanas esperando el paquete", "nobody_answers"),
        ("j'attends depuis dix jours", "nobody_answers"),
        ("ich warte schon seit zehn tagen", "nobody_answers"),
        ("estou esperando ha duas semanas", "nobody_answers"),
        ("aspetto da tre settimane", "nobody_answers"),
        ("ik wacht al twee weken", "nobody_answers"),
    ],
)
def test_long_waits_and_counted_messages_are_frustration_in_every_language(
    text: str, cue: str
) -> None:
    assert cue in analyze(text, None).cues


@pytest.mark.parametrize(
    "text", ["the second email in the list is wrong", "will i be waiting 3 days for delivery"]
)
def test_an_ordinal_or_a_wait_that_is_not_a_complaint_is_not_frustration(text: str) -> None:
    assert analyze(text, "en").cues == ()


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("Hi,\n\ndid the reset 3 times now.\nnothing in spam either.", "tried_everything"),
        ("mi state prendendo in giro?", "patience_gone"),
        ("so what now. ive been telling her its on the way", "patience_gone"),
        ("honestly i give up.", "patience_gone"),
        ("the reset link says expired every single time", "displeasure"),
        ("ich bin echt enttäuscht", "displeasure"),
    ],
)
def test_a_spent_remedy_mockery_giving_up_and_annoyance_are_cues(text: str, cue: str) -> None:
    assert cue in frustration_cues(text)


@pytest.mark.parametrize(
    "text",
    [
        "How do I give up my seat on the team plan?",
        "I'm done with this step, what's next?",
        "en wat nu met mijn factuur van vorige maand?",
        "Do I have to enter the code every single time I log in?",
    ],
)
def test_the_same_words_in_a_calm_question_are_no_cue(text: str) -> None:
    assert frustration_cues(text) == ()
