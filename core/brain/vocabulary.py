"""How common a word is in everyday language, so a customer's everyday words weigh less.

A word of the question that the knowledge base never uses is either the customer's own way of
saying things ("my stuff", "anymore", "je veux") or the sign of a need the knowledge doesn't cover
("warranty", "franchise"). Everyday-language frequencies tell the two apart: wordfreq's lists for
the languages deskmate answers in (its "small" lists, about 30,000 words each, loaded once on
first use — about 0.4 s and 25 MB), as Zipf values (log10 of uses per billion words: 7 for
"the", 3 for words met once in a million). The same lists keep typo correction from "fixing" a
real word into another one ("charge" is not a misspelt "change").
"""

from __future__ import annotations

import math

from deskmate.core.brain.once import LoadedOnce
from deskmate.core.brain.text import fold

LANGUAGES = ("en", "es", "fr", "de", "pt", "it", "nl")
"""The languages whose everyday words are known (deskmate's cue lists cover the same)."""
RARE_ZIPF = 3.0
"""At or below this Zipf value a word is rare: it weighs fully when the knowledge lacks it."""
EVERYDAY_ZIPF = 6.0
"""At or above this Zipf value a word is as common as words get: it weighs :data:`FLOOR`."""
FLOOR = 0.15
"""The least a word of the question weighs, relative to a rare one."""
REAL_WORD_ZIPF = 3.5
"""A word at least this common in one of :data:`LANGUAGES` is a real word, never a typo."""


def _load() -> dict[str, float]:
    """Word → highest Zipf value across :data:`LANGUAGES`, under each word and its unaccented
    form (customers often type without accents)."""
    from wordfreq import get_frequency_dict

    table: dict[str, float] = {}
    for language in LANGUAGES:
        for word, frequency in get_frequency_dict(language, wordlist="small").items():
            zipf = math.log10(frequency * 1e9) if frequency > 0 else 0.0
            for key in {word, fold(word)}:
                if zipf > table.get(key, 0.0):
                    table[key] = zipf
    return table


_table = LoadedOnce(_load)


def warm() -> None:
    """Load the frequency lists now rather than on the first question."""
    _table.warm()


def zipf(word: str) -> float:
    """How common ``word`` (case-folded) is in the most common of :data:`LANGUAGES`; 0 unknown."""
    return _table.get().get(word, 0.0)


def is_real_word(word: str) -> bool:
    """Whether ``word`` is common enough in some language not to be taken for a typo."""
    return zipf(word) >= REAL_WORD_ZIPF


def informativeness(word: str) -> float:
    """How much a question word the knowledge lacks should count, in [:data:`FLOOR`, 1]:
    1 for a rare word, falling linearly to :data:`FLOOR` for the most common ones; a number
    (an order number, "5 days ago") says nothing of the topic and counts :data:`FLOOR`."""
    if any(c.isdigit() for c in word):
        return FLOOR
    share = (zipf(word) - RARE_ZIPF) / (EVERYDAY_ZIPF - RARE_ZIPF)
    return 1.0 - (1.0 - FLOOR) * min(1.0, max(0.0, share))
