"""Language of a customer's message: py3langid with normalised probabilities, then fallbacks.

Order (DESIGN.md "Language and sentiment"): a conversation that already has a confident language
keeps it; otherwise py3langid's guess when its probability reaches the threshold (0.5, which sends
every one- or two-word message to the fallback); otherwise the contact's browser language;
otherwise the configured default.
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
    code, probability = classify(text, settings.languages)
    if probability >= settings.language_confidence:
        return LanguageGuess(code, round(probability, 3), "text")
    browser = _browser_language(turn)
    if browser:
        return LanguageGuess(browser, 0.0, "browser")
    return LanguageGuess(settings.default_language, 0.0, "default")
