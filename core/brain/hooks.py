"""The default brain, registered as a ``trylast`` plugin so any part can be replaced.

Each hook is a thin adapter that declares only the arguments it reads (pluggy passes them by
name); the work lives in ``search``, ``compose``, ``language``, ``sentiment``, ``escalation`` and
``summary``, and options and knowledge come from ``runtime``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from deskmate.core.brain import compose, escalation, runtime, sentiment, summary
from deskmate.core.brain import language as lang
from deskmate.core.brain.conversation import follow_up_context, is_acknowledgement, points_back
from deskmate.core.brain.knowledge import STORE_ERRORS
from deskmate.core.brain.query import Query, compile_synonyms
from deskmate.core.brain.search import KnowledgeIndex
from deskmate.hookspecs import hookimpl

if TYPE_CHECKING:
    from deskmate.core.config import Settings
    from deskmate.core.domain import Draft, EscalationReason, Hit, LanguageGuess, Sentiment, Turn

log = logging.getLogger(__name__)


def _index(turn: Turn | None) -> KnowledgeIndex | None:
    workspace = turn.workspace.app_id if turn is not None else None
    try:
        return runtime.current().index(workspace)
    except STORE_ERRORS as exc:
        log.warning("knowledge store unavailable, answering without it: %s", type(exc).__name__)
        return None


def _query(
    text: str, turn: Turn | None, index: KnowledgeIndex, language: str | None = None
) -> Query:
    """The question as a query: corrected, with synonyms, and with context when it follows up."""
    synonyms = compile_synonyms(runtime.current().settings.synonyms)
    if language is None and turn is not None and turn.language:
        language = turn.language.code
    return index.query(text, synonyms, follow_up_context(turn), language, points_back(text))


@hookimpl(trylast=True)
def startup(settings: Settings) -> None:
    runtime.configure(settings)


@hookimpl(trylast=True)
def search_knowledge(
    query: str, language: str | None, turn: Turn | None, limit: int
) -> list[Hit] | None:
    index = _index(turn)
    if index is None or is_acknowledgement(query):
        return None
    assist = turn is not None and turn.mode == "assist"
    visibility = ("public", "internal") if assist else ("public",)
    return index.search(_query(query, turn, index, language), limit, visibility) or None


@hookimpl(trylast=True)
def generate_reply(turn: Turn, hits: list[Hit]) -> Draft | None:
    if turn.latest is None:
        return None
    settings = runtime.current().settings
    if is_acknowledgement(turn.latest.text):
        return compose.acknowledge(settings.closing_reply)
    index = _index(turn)
    question = _query(turn.latest.text, turn, index) if index is not None else turn.latest.text
    return compose.compose(
        question,
        hits,
        turn.language.code if turn.language else None,
        max_sentences=settings.max_reply_sentences,
        weight=index.idf if index is not None else compose.uniform,
    )


@hookimpl(trylast=True)
def escalation_reasons(turn: Turn, draft: Draft | None) -> list[EscalationReason] | None:
    if turn.latest is None:
        return None
    mood = turn.sentiment
    if mood is None:
        mood = sentiment.analyze(turn.latest.text, turn.language.code if turn.language else None)
    return escalation.reasons(turn, draft, mood, runtime.current().settings) or None


@hookimpl(trylast=True)
def detect_language(text: str, turn: Turn | None) -> LanguageGuess:
    return lang.detect(text, turn, runtime.current().settings)


@hookimpl(trylast=True)
def analyze_sentiment(text: str, language: str | None) -> Sentiment:
    return sentiment.analyze(text, language)


@hookimpl(trylast=True)
def summarize(turn: Turn) -> str:
    return summary.summarize(turn)
