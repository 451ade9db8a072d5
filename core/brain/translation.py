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
import logging
from pathlib import Path

from deskmate.core.brain.once import LoadedOnce
from deskmate.core.brain.text import fold, tokenize

TRANSLATIONS_FILE = Path(__file__).with_name("data") / "translations.tsv.gz"
"""language <tab> word <tab> English words, one word per line (``#`` lines are comments)."""

Table = dict[str, dict[str, str]]

log = logging.getLogger(__name__)


def load_table(path: Path) -> Table:
    """Language → unaccented word → its English translations, as written in the table.

    A table that can't be read leaves the brain without translations, not without answers:
    questions then search their own words only. A malformed line is skipped.
    """
    tables: Table = {}
    skipped = 0
    try:
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for line in lines:
                if line.startswith("#"):
                    continue
                fields = line.rstrip("\n").split("\t")
                if len(fields) != 3 or not all(fields):
                    skipped += 1
                    continue
                language, word, english = fields
                tables.setdefault(language, {})[fold(word)] = english
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        log.warning(
            "can't read the translation table %s (%s): questions in other languages search "
            "their own words only; reinstall deskmate to restore it",
            path,
            type(exc).__name__,
        )
        return {}
    if skipped:
        log.warning("translation table %s: %d malformed line(s) skipped", path, skipped)
    return tables


_tables = LoadedOnce(lambda: load_table(TRANSLATIONS_FILE))


def warm() -> None:
    """Load the table now rather than on the first question."""
    _tables.warm()


def english(word: str, language: str | None) -> tuple[str, ...]:
    """The English terms (stemmed as search stems them) that ``word`` (case-folded) translates
    to from ``language``; from every table when the table has no such language (or it is
    unknown), none from English."""
    if language == "en":
        return ()
    loaded = _tables.get()
    key = fold(word)
    tables = [loaded[language]] if language in loaded else list(loaded.values())
    return tuple(dict.fromkeys(t for table in tables for t in tokenize(table.get(key, ""))))
