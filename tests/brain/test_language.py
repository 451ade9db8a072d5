"""Language detection: py3langid when confident, then the conversation, browser and default."""

from __future__ import annotations

import pytest

from deskmate.core.brain.language import detect, language_code
from deskmate.core.brain.settings import BrainSettings
from deskmate.core.domain import LanguageGuess
from deskmate.testing import make_turn

SETTINGS = BrainSettings()


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("en", "How do I reset my password on the mobile app?"),
        ("en", "My order arrived damaged and I would like a replacement."),
        ("es", "¿Cómo puedo cambiar la dirección de envío de mi pedido?"),
        ("es", "No puedo iniciar sesión en mi cuenta desde ayer."),
        ("fr", "Je n'arrive pas à me connecter à mon compte depuis hier."),
        ("fr", "Pouvez-vous m'envoyer la facture de ma dernière commande ?"),
        ("de", "Ich kann mich seit gestern nicht mehr in mein Konto einloggen."),
        ("de", "Wann wird meine Bestellung geliefert?"),
        ("pt", "Não consigo acessar minha conta desde ontem."),
        ("pt", "Quando vou receber o reembolso do meu pedido?"),
        ("it", "Non riesco ad accedere al mio account da ieri."),
        ("it", "Quando arriverà il mio ordine?"),
        ("nl", "Ik kan sinds gisteren niet meer inloggen op mijn account."),
        ("nl", "Wanneer wordt mijn bestelling geleverd?"),
        ("ja", "昨日からアカウントにログインできません。"),
        ("ja", "注文した商品がまだ届いていません。"),
    ],
)
def test_sentences_are_detected_from_their_text(code: str, text: str) -> None:
    guess = detect(text, None, SETTINGS)
    assert (guess.code, guess.source) == (code, "text")
    assert guess.confidence >= 0.5


@pytest.mark.parametrize("text", ["hi", "ok", "", "😀👍", "12345"])
def test_texts_without_cues_fall_back_to_the_default(text: str) -> None:
    assert detect(text, None, SETTINGS) == LanguageGuess("en", 0.0, "default")


def test_short_text_falls_back_to_the_browser_language() -> None:
    turn = make_turn("ok", enrichment={"browser_language": "pt-BR"})
    assert detect("ok", turn, SETTINGS) == LanguageGuess("pt", 0.0, "browser")


def test_a_malformed_browser_language_is_ignored() -> None:
    turn = make_turn("ok", enrichment={"browser_language": "<script>"})
    assert detect("ok", turn, SETTINGS).source == "default"


def test_the_default_language_is_configurable() -> None:
    assert detect("ok", None, BrainSettings(default_language="de")).code == "de"


def test_a_confident_conversation_language_is_kept() -> None:
    turn = make_turn("Thanks, and how do I change my email?", language=LanguageGuess("fr", 0.93))
    guess = detect("Thanks, and how do I change my email?", turn, SETTINGS)
    assert (guess.code, guess.source) == ("fr", "conversation")


def test_an_unconfident_conversation_language_is_detected_again() -> None:
    turn = make_turn("x", language=LanguageGuess("en", 0.0, "default"))
    assert detect("Wann wird meine Bestellung geliefert?", turn, SETTINGS).code == "de"


def test_detection_can_be_limited_to_the_languages_served() -> None:
    guess = detect(
        "Wanneer wordt mijn bestelling geleverd?", None, BrainSettings(languages=("de", "en"))
    )
    assert guess.code in {"de", "en"}


@pytest.mark.parametrize(
    ("value", "code"), [("pt-BR", "pt"), ("en_US", "en"), ("FR", "fr"), ("", None), (42, None)]
)
def test_language_codes_are_read_from_tags(value: object, code: str | None) -> None:
    assert language_code(value) == code


@pytest.mark.parametrize(
    "text", ["<script>alert(1)</script>", "x" * 1_000_000, "\x00\ud800", "Hello " * 100_000]
)
def test_hostile_texts_get_a_guess_without_error(text: str) -> None:
    guess = detect(text, None, SETTINGS)
    assert isinstance(guess.code, str) and 0.0 <= guess.confidence <= 1.0


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("¿Cómo cambio mi contraseña?", "es"),
        ("can i get my money back", "en"),
        ("danke", "de"),
        ("merci beaucoup", "fr"),
        ("olvidé mi contraseña", "es"),
        ("obrigado, deu certo", "pt"),
        ("パスワード", "ja"),
        ("Пароль", "ru"),
    ],
)
def test_short_questions_use_script_accents_and_function_words(text: str, code: str) -> None:
    assert detect(text, None, SETTINGS).code == code


def test_cues_only_choose_among_the_served_languages() -> None:
    settings = BrainSettings(languages=("en", "de"))
    assert detect("¿Cómo cambio mi contraseña?", None, settings).code != "es"
