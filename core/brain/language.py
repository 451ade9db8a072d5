"""Language of a customer's message: script and word cues for short texts, py3langid, fallbacks.

Order (DESIGN.md "Language and sentiment"): a conversation that already has a confident language
keeps it; otherwise py3langid's guess when its probability reaches the threshold (0.5, which
sends most one- or two-word messages on), unless the message is short (at most
:data:`SHORT_WORDS` words) and its script, accents or function words point to another language;
otherwise those cues; otherwise the contact's browser language; otherwise the configured default.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

from deskmate.core.brain.settings import BrainSettings
from deskmate.core.brain.text import MAX_TEXT_CHARS
from deskmate.core.domain import LanguageGuess, Turn

_CODE = re.compile(r"^([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*$")
SHORT_WORDS = 6
"""Up to this many words, the cues decide before py3langid (which is unsure on so little text)."""
CUE_CONFIDENCE = 0.6
"""The confidence a cue-based guess reports: trusted for this message, not kept for the next."""
_SCRIPTS = (
    ("ja", re.compile(r"[\u3040-\u30ff]")),
    ("ko", re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")),
    ("zh", re.compile(r"[\u4e00-\u9fff]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("el", re.compile(r"[\u0370-\u03ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
)
_LETTERS = {"es": "ñ¿¡", "fr": "çœèùâêîôûëï", "de": "ßäöü", "pt": "ãõç", "it": "ìò"}
_WORDS = {
    "en": "the my how do does i is to can what where why it you your not and please thanks get"
    " back money have has with when did don't can't won't i'm order account password",
    "es": "el la los las de mi mis como cómo que qué por para con hola gracias puedo quiero donde"
    " dónde cuándo cuando está tengo es una del al y no mí pedido contraseña cambio cambiar",
    "fr": "je mon ma mes le la les de des est comment pourquoi où merci bonjour pas ne avec pour"
    " une vous il c'est j'ai ai suis peux quand commande mot passe",
    "de": "ich mein meine wie wo warum nicht ist das der die und mit kann bitte danke hallo ein"
    " eine habe mich mir wann passwort bestellung",
    "pt": "como de meu minha não nao é obrigado obrigada olá você voce para com um uma posso quero"
    " onde senha pedido está",
    "it": "come mio mia il non è grazie ciao per con un una posso voglio dove perché della che"
    " ordine",
    "nl": "hoe mijn ik niet het een wat waar kan dank bedankt wachtwoord de van is bestelling",
}
_CUE_WORDS = {code: frozenset(words.split()) for code, words in _WORDS.items()}
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_BROWSER_KEYS = ("browser_language", "language_override", "locale")
_lock = threading.Lock()


@lru_cache(maxsize=4)
def _identifier(languages: tuple[str, ...]) -> LanguageIdentifier:
    """One identifier per language subset (construction takes about 0.4 s; done once)."""
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    if languages:
        identifier.set_languages(list(languages))
    return identifier


def warm(languages: tuple[str, ...] = ()) -> threading.Thread:
    """Load the language model in the background, so the first customer never waits for it."""
    thread = threading.Thread(
        target=_identifier, args=(tuple(languages),), name="deskmate-language", daemon=True
    )
    thread.start()
    return thread


def language_code(value: object) -> str | None:
    """ISO 639-1 code of a tag such as ``pt-BR`` or ``en_US``; ``None`` when it is not one."""
    if not isinstance(value, str):
        return None
    match = _CODE.match(value.strip())
    return match.group(1).lower() if match else None


def classify(text: str, languages: tuple[str, ...] = ()) -> tuple[str, float]:
    """py3langid's best language for ``text`` and its normalised probability."""
    sample = text[:MAX_TEXT_CHARS].strip()
    if not sample:
        return "und", 0.0
    with _lock:
        code, probability = _identifier(languages).classify(sample)
    return str(code), float(probability)


def cue_language(text: str, languages: tuple[str, ...] = ()) -> str | None:
    """The language ``text``'s script, accented letters and function words point to, if one.

    A non-Latin script decides alone; otherwise each function word scores a point for every
    language it belongs to and each distinctive letter two, and a language must lead outright.
    """
    sample = text[:MAX_TEXT_CHARS].casefold()
    allowed = set(languages)
    for code, script in _SCRIPTS:
        if script.search(sample) and (not allowed or code in allowed):
            return code
    scores = dict.fromkeys(_CUE_WORDS, 0)
    for word in _WORD.findall(sample):
        for code, words in _CUE_WORDS.items():
            scores[code] += word in words
    for code, letters in _LETTERS.items():
        scores[code] += 2 * sum(sample.count(letter) for letter in letters)
    ranked = sorted(
        ((score, code) for code, score in scores.items() if not allowed or code in allowed),
        reverse=True,
    )
    if not ranked or ranked[0][0] == 0 or (len(ranked) > 1 and ranked[0][0] == ranked[1][0]):
        return None
    return ranked[0][1]


def _browser_language(turn: Turn | None) -> str | None:
    if turn is None:
        return None
    for key in _BROWSER_KEYS:
        code = language_code(turn.enrichment.get(key))
        if code:
            return code
    return None


def detect(text: str, turn: Turn | None, settings: BrainSettings) -> LanguageGuess:
    """The language to answer in, with where it came from (``conversation``, ``text``, …)."""
    known = turn.language if turn is not None else None
    if known is not None and known.confidence >= settings.language_confidence:
        return LanguageGuess(known.code, known.confidence, "conversation")
    cued = cue_language(text, settings.languages)
    code, probability = classify(text, settings.languages)
    short = len(text.split()) <= SHORT_WORDS
    if probability >= settings.language_confidence and not (short and cued and cued != code):
        return LanguageGuess(code, round(probability, 3), "text")
    if cued:
        return LanguageGuess(cued, CUE_CONFIDENCE, "cues")
    browser = _browser_language(turn)
    if browser:
        return LanguageGuess(browser, 0.0, "browser")
    return LanguageGuess(settings.default_language, 0.0, "default")
