"""What the AI works out about a customer's message before acting, through the hooks.

One function for the engine and for ``deskmate ask``, so what ``ask`` shows is what the live
engine would decide: the same plugins enrich, detect, rate, search, draft and find reasons to
escalate, in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from typing import Any

from deskmate.core.domain import Draft, EscalationReason, Hit, LanguageGuess, Sentiment, Turn
from deskmate.core.intercom.errors import IntercomError
from deskmate.core.outcomes import NO_BRAIN, drafting_brain

KNOWLEDGE_LIMIT = 5


@dataclass
class Thought:
    """The language, sentiment, knowledge hits, draft and escalation reasons for one message.

    ``enrich_error`` says why ``enrich_context`` could not reach Intercom (the AI went on
    without the contact's facts).
    """

    language: LanguageGuess | None
    sentiment: Sentiment
    hits: list[Hit]
    draft: Draft | None
    reasons: list[EscalationReason]
    enrich_error: str | None = None
    brain: str = NO_BRAIN
    """The plugin whose ``generate_reply`` drafted (:data:`NO_BRAIN` when none did)."""


def think(hook: Any, turn: Turn, text: str, *, language: LanguageGuess | None = None) -> Thought:
    """Run the deciding hooks on ``text``, the customer's latest words, filling in ``turn``.

    ``language`` is a language already known (the session's, or one the caller gives); without
    it, ``detect_language`` guesses. ``turn.enrichment``, ``turn.language`` and
    ``turn.sentiment`` are set as the hooks that follow expect them.
    """
    enrich_error = enrich(hook, turn)
    turn.language = language or hook.detect_language(text=text, turn=turn)
    code = turn.language.code if turn.language else None
    hits = search(hook, text, code, turn)
    draft, brain = drafting_brain(hook, lambda: hook.generate_reply(turn=turn, hits=hits))
    # after the draft: a model-backed brain rates the mood from the same call
    turn.sentiment = sentiment_of(hook, text, code, turn)
    reasons = list(chain.from_iterable(hook.escalation_reasons(turn=turn, draft=draft)))
    return Thought(turn.language, turn.sentiment, hits, draft, reasons, enrich_error, brain)


def enrich(hook: Any, turn: Turn) -> str | None:
    """Merge every ``enrich_context`` result into ``turn.enrichment``; returns why Intercom could
    not be asked, if it could not (the turn goes on without those facts)."""
    try:
        for facts in hook.enrich_context(turn=turn):
            turn.enrichment.update(facts)
    except IntercomError as exc:
        return str(exc)
    return None


def sentiment_of(hook: Any, text: str, language: str | None, turn: Turn) -> Sentiment:
    """The customer's sentiment in ``text``; ``unknown`` when no plugin rates it."""
    found = hook.analyze_sentiment(text=text, language=language, turn=turn)
    return found or Sentiment("unknown")


def search(hook: Any, text: str, language: str | None, turn: Turn | None) -> list[Hit]:
    """Every plugin's knowledge hits for ``text``, best first, the best few only."""
    found = chain.from_iterable(
        hook.search_knowledge(query=text, language=language, turn=turn, limit=KNOWLEDGE_LIMIT)
    )
    return sorted(found, key=lambda h: h.score, reverse=True)[:KNOWLEDGE_LIMIT]
