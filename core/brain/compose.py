"""An extractive reply: the sentences of the best passages that answer the question, with sources.

Confidence is *coverage* calibrated by the *retrieval margin*. Coverage is the share of the
question's concepts (its words, each standing also for its typo correction and synonyms), weighted
by how rare each is in the knowledge base (BM25 idf; unknown words weigh most), that the best
passage holds (or its translation that holds the most: a translation says the same). The margin
is how far the best document's search score is ahead of the next document's, in [0, 1].
Confidence is ``coverage ** (1 - MARGIN_POWER * margin)``: a clear winner lifts a partial match
(a customer's own wording around the article's key word), a close race leaves it as it is. Full
coverage is 1 and none is 0 whatever the margin. The threshold that turns a low score into a
handoff is ``confidence_threshold``; docs/brain.md shows how both were chosen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from deskmate.core.brain.language import language_code
from deskmate.core.brain.query import Query, build_query
from deskmate.core.brain.text import sentences, term_set
from deskmate.core.domain import Draft, Hit

MAX_REPLY_CHARS = 700
MARGIN_POWER = 0.5
"""How much a clear retrieval margin lifts a partial coverage (chosen on the eval's tune part)."""
PASSAGES_USED = 2
"""The reply quotes the best passage, and the next one only when it is from the same document."""

Weight = Callable[[str], float]
_CJK_STOPS = ("。", "\uff01", "\uff1f")


def uniform(_: str) -> float:
    return 1.0


def margin(hits: Sequence[Hit]) -> float:
    """How far the best hit's document leads the next document, as a share of its score."""
    if not hits or hits[0].score <= 0:
        return 0.0
    runner_up = max((h.score for h in hits if h.doc_id != hits[0].doc_id), default=0.0)
    return max(0.0, (hits[0].score - runner_up) / hits[0].score)


def calibrated(covered: float, lead: float) -> float:
    """Confidence from coverage and retrieval margin (both in [0, 1])."""
    return covered ** (1.0 - MARGIN_POWER * lead) if covered > 0 else 0.0


def _in_language(hits: Sequence[Hit], language: str | None) -> list[Hit]:
    """The hits in ``language`` when the best document has a translation in it, else all.

    Only a translation of the best document is preferred: another document in the customer's
    language is a worse answer, not a better-worded one.
    """
    same = [h for h in hits if language and language_code(h.locale) == language]
    return same if any(h.doc_id == hits[0].doc_id for h in same) else list(hits)


def _translations(top: Hit, hits: Sequence[Hit]) -> list[Hit]:
    """The hits that are ``top``'s document in another language: they say the same in other
    words, and the customer's words may be the ones of any of them ("assinatura" is the English
    article's "plans", not the Spanish one's "planes")."""
    return [h for h in hits if h.doc_id == top.doc_id and h.locale != top.locale]


def _best_sentences(
    question: frozenset[str], hits: Sequence[Hit], limit: int, weight: Weight
) -> list[str]:
    """The whole passage when it is short, else the ``limit`` sentences sharing the most
    (idf-weighted) terms with the question, in reading order."""
    candidates = [s for hit in hits for s in sentences(hit.passage)]
    if len(candidates) <= limit:
        return candidates
    ranked: list[tuple[float, int, str]] = []
    for order, sentence in enumerate(candidates):
        overlap = sum(weight(t) for t in question & term_set(sentence))
        if overlap:
            ranked.append((overlap, -order, sentence))
    chosen = sorted(ranked, reverse=True)[:limit]
    if not chosen:
        return candidates[:limit]
    return _with_answers(candidates, sorted(-order for _, order, _ in chosen))


def _with_answers(candidates: list[str], picked: list[int]) -> list[str]:
    """The picked sentences in reading order, each one that asks followed by the sentence that
    answers it ("No email?" alone answers nothing; "No email? Check your spam folder." does)."""
    answered = set(picked)
    for index in picked:
        if candidates[index].rstrip().endswith(("?", "\uff1f")) and index + 1 < len(candidates):
            answered.add(index + 1)
    return [candidates[index] for index in sorted(answered)]


def _join(parts: Sequence[str]) -> str:
    """Join sentences with a space, except after CJK full stops, which need none."""
    text = ""
    for part in parts:
        text += part if not text or text.endswith(_CJK_STOPS) else f" {part}"
    return text


def _clip(text: str) -> str:
    if len(text) <= MAX_REPLY_CHARS:
        return text
    cut = text[:MAX_REPLY_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def acknowledge(closing_reply: str = "") -> Draft:
    """The draft for an acknowledgement: the configured closing line, or nothing at all."""
    return Draft(text=closing_reply, confidence=1.0)


def compose(
    question: str | Query,
    hits: Sequence[Hit],
    language: str | None,
    *,
    max_sentences: int = 3,
    weight: Weight = uniform,
) -> Draft | None:
    """Draft a reply to ``question`` from ``hits`` (best first); ``None`` without material."""
    query = build_query(question) if isinstance(question, str) else question
    terms = query.terms
    pool = _in_language([h for h in hits if h.passage.strip()], language)
    if not terms or not pool:
        return None
    top = pool[0]
    used = [top, *[h for h in pool[1:PASSAGES_USED] if h.doc_id == top.doc_id]]
    covered = max(
        query.coverage(term_set(f"{h.title}\n{h.passage}"), weight)
        for h in [top, *_translations(top, hits)]
    )
    best = calibrated(covered, margin(hits))
    text = _clip(_join(_best_sentences(terms, used, max_sentences, weight)))
    cited = [h for h in used if any(s in text for s in sentences(h.passage))] or used[:1]
    return Draft(
        text=text,
        confidence=round(best, 3),
        citations=cited,
        language=language_code(top.locale) or language,
    )
