"""One structured model call per customer message, shared by every hook of the turn.

:func:`think` builds the prompt, calls the endpoint (bounded retries, ``Retry-After``, the
circuit breaker, the ``response_format`` fallback), reads and checks the answer, records it in
the session audit and the metrics, and caches the :class:`TurnResult` under the message it
answers. ``generate_reply`` calls it; ``escalation_reasons``, ``analyze_sentiment`` and
``summarize`` only read the cache.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from deskmate.core.domain import Draft, EscalationReason, Hit, Sentiment, Turn
from deskmate.core.metrics import Metrics
from deskmate.core.store.audit import append_audit
from deskmate.core.store.models import AuditRecord
from deskmate.plugins.llm.answer import (
    INVALID_OUTPUT,
    SCHEMA,
    ModelAnswer,
    OutputError,
    check_grounding,
    parse_answer,
)
from deskmate.plugins.llm.breaker import BREAKERS, Breakers
from deskmate.plugins.llm.client import RESPONSE_MODES, ChatResult, ModelClient, ModelError
from deskmate.plugins.llm.options import LlmOptions
from deskmate.plugins.llm.prompt import Prompt, build_prompt

log = logging.getLogger(__name__)

AUDIT_KIND = "model"
HUMAN_NEEDED = "human_needed"
MODEL_UNAVAILABLE = "model_unavailable"
CACHE_SIZE = 2048
RAW_CHARS = 4000
BACKOFF = 0.5
TRUSTED_LANGUAGE = 0.5
SCORES = {"negative": -0.5, "neutral": 0.0, "positive": 0.5}
"""Scores for the model's labels: mild enough that the default brain's frustration rule (which
wants cues or a score of -0.6 or less) leaves the decision to hand off to the model."""


@dataclass
class TurnResult:
    """What the one call of a turn decided; ``fallback``: the default brain decides instead."""

    outcome: str
    draft: Draft | None = None
    reasons: list[EscalationReason] = field(default_factory=list)
    answer: ModelAnswer | None = None
    fallback: bool = False

    @property
    def sentiment(self) -> Sentiment | None:
        if self.answer is None:
            return None
        return Sentiment(self.answer.sentiment, SCORES[self.answer.sentiment])

    @property
    def summary(self) -> str | None:
        return self.answer.summary if self.answer and self.answer.summary else None


@dataclass
class Attempt:
    """One try at the endpoint, as the audit shows it."""

    mode: str
    outcome: str
    seconds: float
    detail: str = ""


class TurnCache:
    """The results of recent turns by (workspace, conversation, part), and each conversation's
    newest, for the summary written when it closes."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._turns: OrderedDict[tuple[str, str, str], TurnResult] = OrderedDict()
        self._latest: OrderedDict[tuple[str, str], TurnResult] = OrderedDict()

    def get(self, turn: Turn) -> TurnResult | None:
        key = _key(turn)
        with self._lock:
            return self._turns.get(key) if key else None

    def latest(self, turn: Turn) -> TurnResult | None:
        with self._lock:
            return self._latest.get((turn.workspace.app_id, turn.conversation.id))

    def put(self, turn: Turn, result: TurnResult) -> None:
        key = _key(turn)
        if key is None:
            return
        with self._lock:
            for store, name in ((self._turns, key), (self._latest, key[:2])):
                store[name] = result
                store.move_to_end(name)
                while len(store) > self._size:
                    store.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._turns.clear()
            self._latest.clear()


def _key(turn: Turn) -> tuple[str, str, str] | None:
    if turn.latest is None:
        return None
    return (turn.workspace.app_id, turn.conversation.id, turn.latest.part_id)


CACHE = TurnCache()
_modes: dict[str, str] = {}
"""The best ``response_format`` each endpoint took (a server refusing json_schema is asked in
JSON mode from then on, so a message still costs one call)."""


@dataclass
class Caller:
    """What :func:`think` needs besides the turn: options, a client, metrics, breakers."""

    options: LlmOptions
    client: ModelClient
    metrics: Metrics | None = None
    breakers: Breakers = BREAKERS
    hidden: tuple[str, ...] = ()
    sleep: Callable[[float], None] = time.sleep


def think(turn: Turn, hits: list[Hit], caller: Caller) -> TurnResult:
    """The turn's result: cached, or from one model call (retries and fallbacks included)."""
    cached = CACHE.get(turn)
    if cached is not None:
        return cached
    started = time.perf_counter()
    prompt = build_prompt(turn, hits, caller.options, caller.hidden)
    attempts: list[Attempt] = []
    chat, error = _call(prompt, caller, attempts, turn.workspace.app_id)
    result, parsed_error = _decide(turn, prompt, chat, error, caller.options)
    spent = time.perf_counter() - started
    CACHE.put(turn, result)
    _audit(turn, caller, prompt, chat, attempts, result, parsed_error, spent)
    return result


def _call(
    prompt: Prompt, caller: Caller, attempts: list[Attempt], workspace: str
) -> tuple[ChatResult | None, ModelError | None]:
    """Call until an answer parses, the retries are spent or the circuit opens."""
    options, endpoint = caller.options, caller.options.endpoint
    tries = options.max_retries + 1
    error: ModelError | None = None
    for mode in _modes_from(endpoint):
        while tries > 0:
            if not caller.breakers.allow(endpoint):
                left = caller.breakers.seconds_left(endpoint)
                error = ModelError("breaker_open", f"circuit open for {left:.0f} s more")
                attempts.append(Attempt(mode, "breaker_open", 0.0, error.detail))
                _count(caller, workspace, "breaker_open")
                return None, error
            tries -= 1
            began = time.perf_counter()
            try:
                chat = caller.client.chat(prompt.messages, mode, SCHEMA)
            except ModelError as exc:
                seconds = time.perf_counter() - began
                if exc.kind == "format_unsupported":
                    tries += 1
                    attempts.append(Attempt(mode, exc.kind, seconds, exc.detail))
                    break
                error = exc
                _failed(caller, workspace, attempts, Attempt(mode, exc.kind, seconds, exc.detail))
                if not exc.retryable or tries == 0:
                    return None, error
                caller.sleep(_wait(exc, options, len(attempts)))
                continue
            problem = _problem(chat)
            outcome = problem.kind if problem else "ok"
            attempts.append(Attempt(mode, outcome, chat.seconds, problem.detail if problem else ""))
            usage = (chat.tokens_in, chat.tokens_out)
            cost = options.cost(*usage)
            _count(caller, workspace, outcome, chat.seconds, usage, cost)
            caller.breakers.succeeded(endpoint)
            _modes[endpoint] = mode
            if problem is None:
                return chat, None
            error = problem
            if tries == 0:
                return chat, error
        else:
            return None, error
    return None, error or ModelError("format_unsupported", "no response_format was accepted")


def _modes_from(endpoint: str) -> Iterator[str]:
    start = RESPONSE_MODES.index(_modes.get(endpoint, RESPONSE_MODES[0]))
    yield from RESPONSE_MODES[start:]


def _problem(chat: ChatResult) -> ModelError | None:
    """A refusal or an unreadable answer (worth one more try), else ``None``."""
    if chat.refusal or chat.finish_reason == "content_filter":
        return ModelError("refused", (chat.refusal or "content filter")[:200])
    try:
        parse_answer(chat.content)
    except OutputError as exc:
        return ModelError("malformed", str(exc))
    return None


def _failed(caller: Caller, workspace: str, attempts: list[Attempt], attempt: Attempt) -> None:
    """Record a failed attempt; enough of them in a row open the endpoint's circuit."""
    attempts.append(attempt)
    _count(caller, workspace, attempt.outcome, attempt.seconds)
    options = caller.options
    opened = caller.breakers.failed(
        options.endpoint, attempt.outcome, options.breaker_failures, options.breaker_seconds
    )
    if opened:
        log.warning(
            "model endpoint %s failing (%s): circuit open for %.0f s",
            options.endpoint,
            attempt.outcome,
            options.breaker_seconds,
        )


def _wait(exc: ModelError, options: LlmOptions, attempt: int) -> float:
    if exc.retry_after is not None:
        return min(exc.retry_after, options.max_retry_wait)
    return min(BACKOFF * 2 ** (attempt - 1), options.max_retry_wait)


def _count(
    caller: Caller,
    workspace: str,
    outcome: str,
    seconds: float | None = None,
    usage: tuple[int, int] = (0, 0),
    cost: float = 0.0,
) -> None:
    if caller.metrics is not None:
        caller.metrics.model_call(workspace, caller.options.endpoint, outcome, seconds, usage, cost)


def _decide(
    turn: Turn,
    prompt: Prompt,
    chat: ChatResult | None,
    error: ModelError | None,
    options: LlmOptions,
) -> tuple[TurnResult, str | None]:
    """Turn the call's outcome into a draft, handoff reasons or the fallback."""
    if error is not None or chat is None:
        failure = error or ModelError("unreachable", "no answer")
        if options.on_failure == "default_brain":
            return TurnResult(failure.kind, fallback=True), failure.detail
        code = INVALID_OUTPUT if failure.kind == "malformed" else MODEL_UNAVAILABLE
        reason = EscalationReason(code, f"the model gave no usable answer ({failure})")
        return _handoff(turn, failure.kind, reason), failure.detail
    answer = parse_answer(chat.content)
    language = _trusted_language(turn)
    rejection = check_grounding(
        answer, prompt.passages, language, options.reply_limit(turn.channel)
    )
    if answer.needs_human:
        why = answer.handoff_reason or "the model asked for a person"
        return _handoff(turn, "human_needed", EscalationReason(HUMAN_NEEDED, why), answer), None
    if rejection is not None:
        reason = EscalationReason(rejection.code, rejection.detail)
        return _handoff(turn, "rejected", reason, answer), rejection.detail
    cited = [hit for hit in prompt.passages if hit.doc_id in answer.cited_ids]
    draft = Draft(answer.answer, answer.confidence, cited, language or answer.language or None)
    return TurnResult("answered", draft=draft, answer=answer), None


def _trusted_language(turn: Turn) -> str | None:
    """The customer's language when deskmate is sure of it (else the answer's is not checked)."""
    guess = turn.language
    return guess.code if guess is not None and guess.confidence >= TRUSTED_LANGUAGE else None


def _handoff(
    turn: Turn, outcome: str, reason: EscalationReason, answer: ModelAnswer | None = None
) -> TurnResult:
    """A result that hands off: an empty draft stops the default brain from composing one."""
    language = turn.language.code if turn.language else None
    empty = Draft("", 0.0, [], language)
    return TurnResult(outcome, draft=empty, reasons=[reason], answer=answer)


def _audit(
    turn: Turn,
    caller: Caller,
    prompt: Prompt,
    chat: ChatResult | None,
    attempts: list[Attempt],
    result: TurnResult,
    problem: str | None,
    spent: float,
) -> None:
    """The session audit's ``model`` record: what was sent, what came back, what it cost."""
    effects = turn.actions
    if effects is None or turn.session_id is None:
        return
    options = caller.options
    model_seconds = sum(a.seconds for a in attempts)
    usage = (chat.tokens_in, chat.tokens_out) if chat else (0, 0)
    data: dict[str, Any] = {
        "model": options.model,
        "endpoint": options.endpoint,
        "outcome": result.outcome,
        "problem": problem,
        "attempts": [a.__dict__ for a in attempts],
        "prompt_size": {
            "chars": sum(len(m["content"]) for m in prompt.messages),
            "estimated_input": prompt.tokens,
            "history_turns": prompt.history_kept,
        },
        "usage": {"input": usage[0], "output": usage[1]},
        "latency_ms": round(model_seconds * 1000, 1),
        "overhead_ms": round(max(0.0, spent - model_seconds) * 1000, 1),
        "passages": [{"id": h.doc_id, "title": h.title} for h in prompt.passages],
        "raw": chat.content[:RAW_CHARS] if chat else None,
        "reasons": [{"code": r.code, "detail": r.detail} for r in result.reasons],
        "fallback": result.fallback,
        "circuit_open": caller.breakers.seconds_left(options.endpoint) > 0,
    }
    cost = options.cost(*usage)
    with effects.sessions.begin() as db:
        spent_before = sum(
            float(r.data.get("cost", 0.0))
            for r in db.query(AuditRecord).filter_by(session_id=turn.session_id, kind=AUDIT_KIND)
        )
        data["cost"] = round(cost, 8)
        data["conversation_cost"] = round(spent_before + cost, 8)
        append_audit(
            db,
            workspace_id=turn.workspace.app_id,
            session_id=turn.session_id,
            event_id=effects.event_id,
            kind=AUDIT_KIND,
            data=data,
        )
