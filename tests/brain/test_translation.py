"""Questions in six languages find English articles through the shipped translation table."""

from __future__ import annotations

import gzip

from deskmate.core.brain import translation
from deskmate.core.brain.search import KnowledgeIndex, Passage

ARTICLES = KnowledgeIndex(
    [
        Passage("w", "warranty", "Warranty", "Every device has a two-year warranty."),
        Passage("n", "number", "Your phone number", "Change the phone number on your profile."),
        Passage("r", "refunds", "Refund policy", "Ask for a full refund within 30 days."),
    ]
)


def best(question: str, language: str | None, context: str = "") -> list[str]:
    query = ARTICLES.query(question, context=context, language=language)
    return [hit.doc_id for hit in ARTICLES.search(query, limit=1)]


def test_a_word_the_knowledge_lacks_searches_its_english_translation() -> None:
    assert best("quanto dura la garanzia del dispositivo", "it") == ["warranty"]
    assert best("a garantia cobre o quê", "pt") == ["warranty"]
    assert best("mudei de telemóvel, como atualizo?", "pt") == ["number"]


def test_the_same_question_read_as_english_finds_nothing() -> None:
    assert best("quanto dura la garanzia del dispositivo", "en") == []


def test_a_translation_counts_only_when_the_knowledge_uses_it() -> None:
    query = ARTICLES.query("garanzia", language="it")
    (concept,) = query.concepts
    assert concept.alternatives == {"warranti"}


def test_a_follow_up_borrows_translated_words_from_its_context() -> None:
    assert best("e per lo schermo rotto?", "it", context="domanda sulla garanzia") == ["warranty"]
    assert best("e per lo schermo rotto?", "it") == []


def test_words_as_common_as_grammar_are_left_untranslated() -> None:
    assert translation.english("muito", "pt") == ()
    assert translation.english("todos", "es") == ()


def test_english_is_never_translated_and_an_unknown_language_reads_every_table() -> None:
    assert translation.english("garanzia", "en") == ()
    assert translation.english("garanzia", None) == ("warranti",)


def test_accents_are_optional_as_customers_type_them() -> None:
    assert translation.english("telemovel", "pt") == translation.english("telemóvel", "pt")
    assert translation.english("telemovel", "pt") == ("phone",)


def test_the_shipped_table_is_well_formed_and_names_its_sources() -> None:
    with gzip.open(translation.TRANSLATIONS_FILE, "rt", encoding="utf-8") as lines:
        text = lines.read()
    header = [line for line in text.splitlines() if line.startswith("#")]
    rows = [line.split("\t") for line in text.splitlines() if not line.startswith("#")]
    assert any("wordfreq" in line and "CC BY-SA" in line for line in header)
    assert any("Universal Sentence Encoder" in line for line in header)
    assert len(rows) > 50_000
    assert all(len(row) == 3 and row[1] and row[2] for row in rows)
    assert {row[0] for row in rows} == {"es", "fr", "de", "pt", "it", "nl"}


def test_an_unreadable_table_leaves_the_brain_without_translations_not_without_answers(
    tmp_path, caplog
) -> None:
    broken = tmp_path / "translations.tsv.gz"
    broken.write_bytes(b"not gzip at all")
    assert translation.load_table(broken) == {}
    assert "can't read the translation table" in caplog.text
    assert translation.load_table(tmp_path / "missing.tsv.gz") == {}


def test_a_malformed_line_is_skipped_and_the_rest_is_read(tmp_path, caplog) -> None:
    table = tmp_path / "translations.tsv.gz"
    with gzip.open(table, "wt", encoding="utf-8") as out:
        out.write("# header\nit\tgaranzia\twarranty\nit\tbroken line\npt\tsenha\tpassword\n")
    assert translation.load_table(table) == {
        "it": {"garanzia": "warranty"},
        "pt": {"senha": "password"},
    }
    assert "1 malformed line(s) skipped" in caplog.text
