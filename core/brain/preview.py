"""What the AI would do with one question, without a conversation.

:func:`question_preview` runs every plugin's hooks through the engine's own
:func:`~deskmate.core.thinking.think` (``deskmate ask``); :func:`answer_preview` runs the default
brain alone on a given index (its tests, calibration and benchmarks).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from html import escape
from typing import Any

from deskmate.core.brain import compose, escalation, language, sentiment
from deskmate.core.brain.conversation import is_acknowledgement
from deskmate.core.brain.query import build_query, compile_synonyms
from deskmate.core.brain.search import KnowledgeIndex
from deskmate.core.brain.settings import BrainSettings, brain_settings
from deskmate.core.config import Settings, WorkspaceSettings
from deskmate.core.domain import (
    Author,
    Draft,
    EscalationReason,
    Hit,
    LanguageGuess,
    Message,
    Sentiment,
    Turn,
)
from deskmate.core.intercom.models import Conversation, Source
from deskmate.core.thinking import think

ASKER = Author("user", "deskmate-ask")
"""The customer of a one-off question: no contact, so enrichment adds nothing."""


@dataclass
class Preview:
    """The language, sentiment, knowledge hits, draft and escalation reasons for a question."""

    question: str
    language: LanguageGuess | None
    sentiment: Sentiment
    hits: list[Hit]
    draft: Draft | None
    reasons: list[EscalationReason]

    @property
    def escalates(self) -> bool:
        return bool(self.reasons)

    @property
    def silent(self) -> bool:
        """Whether the AI would send nothing (an acknowledgement, no closing line set)."""
        return not self.reasons and self.draft is not None and self.draft.silent

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view (``deskmate ask --json``)."""
        data = asdict(self)
        data["escalates"] = self.escalates
        data["silent"] = self.silent
        return data


def answer_preview(
    question: str,
    language_hint: str | None,
    index: KnowledgeIndex | None,
    settings: BrainSettings | Any = None,
    *,
    include_internal: bool = False,
) -> Preview:
    """Run the default brain on ``question`` without a conversation.

    ``language_hint`` (an ISO 639-1 code) skips detection; ``settings`` is a
    :class:`BrainSettings` or the whole configuration; ``include_internal`` searches internal
    passages too, as assist drafts do. The history-based triggers (loop, turns) need a
    conversation and are not checked.
    """
    options = settings if isinstance(settings, BrainSettings) else brain_settings(settings)
    guess = (
        LanguageGuess(language_hint, 1.0, "given")
        if language.language_code(language_hint)
        else language.detect(question, None, options)
    )
    mood = sentiment.analyze(question, guess.code)
    if is_acknowledgement(question):
        draft = compose.acknowledge(options.closing_reply)
        return Preview(question, guess, mood, [], draft, [])
    visibility = ("public", "internal") if include_internal else ("public",)
    synonyms = compile_synonyms(options.synonyms)
    query = (
        index.query(question, synonyms, language=guess.code)
        if index is not None
        else build_query(question, language=guess.code)
    )
    hits = index.search(query, options.search_limit, visibility) if index is not None else []
    draft = compose.compose(
        query,
        hits,
        guess.code,
        max_sentences=options.max_reply_sentences,
        weight=index.idf if index is not None else compose.uniform,
    )
    reasons = escalation.message_reasons(question, draft, mood, options)
    return Preview(question, guess, mood, hits, draft, reasons)


def question_preview(
    hook: Any,
    question: str,
    workspace: WorkspaceSettings,
    settings: Settings,
    *,
    language_hint: str | None = None,
    include_internal: bool = False,
) -> Preview:
    """Run the hooks the engine runs on a customer's message, plugins included, on ``question``.

    The question is a Messenger-like conversation's opening message from a customer with no
    contact record, assigned to the AI admin; nothing is stored and Intercom is never called.
    ``language_hint`` (an ISO 639-1 code) skips detection; ``include_internal`` decides as in
    assist mode, where internal knowledge is searched too.
    """
    turn = question_turn(question, workspace, settings, include_internal=include_internal)
    turn.channel = hook.channel_for(conversation=turn.conversation)
    code = language.language_code(language_hint)
    given = LanguageGuess(code, 1.0, "given") if code else None
    thought = think(hook, turn, question, language=given)
    return Preview(
        question, thought.language, thought.sentiment, thought.hits, thought.draft, thought.reasons
    )


def question_turn(
    question: str, workspace: WorkspaceSettings, settings: Settings, *, include_internal: bool
) -> Turn:
    """A turn whose only message is ``question``, from a customer, to the AI admin."""
    body = f"<p>{escape(question)}</p>"
    source = Source("ask", "conversation", "customer_initiated", body, ASKER)
    conversation = Conversation("ask", source, admin_assignee_id=workspace.ai_admin_id)
    message = Message("ask", ASKER, question, body)
    return Turn(
        workspace=workspace,
        conversation=conversation,
        mode="assist" if include_internal else "autopilot",
        messages=[message],
        latest=message,
        settings=settings,
    )
