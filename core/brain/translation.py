"""English translations of everyday words, so a question can find an article in English.

Help centers are mostly written in English and customers write in their own language. A word of
the question that the knowledge base lacks ("rimborso", "telemóvel") also searches its English
translations ("refund", "phone") when the knowledge uses them, the way a synonym does. The table
(``data/translations.tsv.gz``: about 73,000 everyday words of Spanish, French, German,
Portuguese, Italian and Dutch) was built offline by ``tools/build_translations.py`` from the
nearest English words in a multilingual sentence encoder; deskmate reads the table, never the
model. It is loaded once, with the knowledge warm-up (docs/brain.md gives its cost).
"""

from __future__ import annotations

import gzip
from pathlib import Path

from deskmate.core.brain.once import LoadedOnce
from deskmate.core.brain.text import fold, tokenize

TRANSLATIONS_FILE = Path(__file__).with_name("data") / "translations.tsv.gz"
"""language <tab> word <tab> English words, one word per line (``#`` lines are comments)."""

Table = dict[str, dict[str, str]]


def _load() -> Table:
    """Language → unaccented word → its English translations, as written in the table."""
    tables: Table = {}
    with gzip.open(TRANSLATIONS_FILE, "rt", encoding="utf-8") as lines:
        for line in lines:
            if not line.startswith("#"):
                language, word, english = line.rstrip("\n").split("\t")
                tables.setdefault(language, {})[fold(word)] = english
    return tables


_tables = LoadedOnce(_load)


def warm() -> None:
    """Load the table now rather than on the first question."""
    _tables.warm()


def english(word: str, language: str | None) -> tuple[str, ...]:
    """The English terms (stemmed as search stems them) that ``word`` (case-folded) translates
    to from ``language``; from any language when the question's is unknown, none from English."""
    if language == "en":
        return ()
    loaded = _tables.get()
    key = fold(word)
    tables = [loaded[language]] if language in loaded else list(loaded.values())
    return tuple(dict.fromkeys(t for table in tables for t in tokenize(table.get(key, ""))))
