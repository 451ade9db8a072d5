"""What the llm plugin's hooks do: one client per endpoint, the turn's one call, the hooks
that read its cached result, and semantic search. Imported on first use, so listing commands
stays fast."""

from __future__ import annotations

import logging
import threading
from typing import Any

from deskmate.core.brain import runtime as brain_runtime
from deskmate.core.config import Settings
from deskmate.core.domain import Draft, EscalationReason, Hit, PeriodicJob, Sentiment, Turn
from deskmate.core.metrics import Metrics, default_metrics, metrics_for
from deskmate.core.store.db import make_engine, make_session_factory
from deskmate.plugins.llm.brain import CACHE, Caller, TurnResult, think
from deskmate.plugins.llm.breaker import BREAKERS
from deskmate.plugins.llm.client import ModelClient, ModelError
from deskmate.plugins.llm.options import NAME, LlmOptions, options_for
from deskmate.plugins.llm.semantic import EmbeddingRun, embed_pending, query_vector
from deskmate.plugins.llm.vectors import StoreVectors

log = logging.getLogger(__name__)
EMBEDDINGS_SCHEDULE = "* * * * *"
"""Passages a sync stored get their vectors within a minute."""


class _State:
    """The settings seen at startup, the metrics to report into and one client per endpoint."""

    def __init__(self) -> None:
        self.settings: Settings | None = None
        self.metrics: Metrics | None = None
        self.clients: dict[tuple[str, str, str | None, str], ModelClient] = {}
        self.vectors: StoreVectors | None = None
        self.lock = threading.Lock()

    def client(self, options: LlmOptions) -> ModelClient:
        key = (options.base_url, options.model, options.embedding_model, repr(options.api_key))
        with self.lock:
            if key not in self.clients:
                self.clients[key] = ModelClient(options)
                if self.metrics is not None:
                    endpoint = options.endpoint
                    self.metrics.track_breaker(
                        endpoint, lambda: BREAKERS.seconds_left(endpoint) > 0
                    )
            return self.clients[key]


_state = _State()


def reset() -> None:
    """Forget the settings, clients, cached turns and breaker states (tests, a reloaded
    configuration)."""
    _state.settings = None
    _state.vectors = None
    with _state.lock:
        for client in _state.clients.values():
            client.close()
        _state.clients.clear()
    CACHE.clear()
    BREAKERS.reset()


def _hidden(settings: Any, options: LlmOptions) -> tuple[str, ...]:
    """Every configured secret's value: none of them may reach a prompt."""
    secrets = [options.api_key, getattr(settings, "admin_token", None)]
    for workspace in getattr(settings, "workspaces", {}).values():
        secrets += [workspace.access_token, workspace.client_secret]
    return tuple(s.reveal() for s in secrets if s is not None and s.reveal())


def _options(turn: Turn) -> LlmOptions | None:
    settings = turn.settings or _state.settings
    if settings is None:
        return None
    return _configured(settings, turn.workspace.app_id)


def _configured(settings: Settings, workspace_id: str) -> LlmOptions | None:
    options = options_for(settings.plugin_config(NAME), workspace_id)
    return options if options.configured else None


def _vectors(settings: Settings) -> StoreVectors:
    with _state.lock:
        if _state.vectors is None:
            url = settings.resolved_database_url()
            _state.vectors = StoreVectors(lambda: make_engine(url))
        return _state.vectors


def _result(turn: Turn) -> TurnResult | None:
    """The cached result of this turn's call, when it is ours to use."""
    result = CACHE.get(turn)
    return None if result is None or result.fallback else result


def startup(settings: Settings, app: Any) -> None:
    reset()
    _state.settings = settings
    _state.metrics = metrics_for(app) if app is not None else default_metrics()


def search_knowledge(query: str, turn: Turn | None, limit: int) -> list[Hit] | None:
    """The passages nearest the question by meaning (the engine fuses them with BM25's)."""
    options = _options(turn) if turn is not None else None
    if turn is None or options is None or not options.embedding_model:
        return None
    settings = turn.settings or _state.settings
    passages = brain_runtime.current().index(turn.workspace.app_id)
    if settings is None or passages is None or BREAKERS.seconds_left(options.endpoint) > 0:
        return None
    vector = query_vector(_state.client(options).embed, query)
    if vector is None:
        return None
    index = _vectors(settings).index(turn.workspace.app_id, options.embedding_model)
    visibility = ("public", "internal") if turn.mode == "assist" else ("public",)
    return index.search(vector, passages, limit, visibility) or None


def embed_workspaces(settings: Settings) -> dict[str, EmbeddingRun]:
    """Embed the passages still without a vector in every workspace with an ``embedding_model``
    (the ``llm:embeddings`` job); a failing endpoint is logged and retried at the next run."""
    runs: dict[str, EmbeddingRun] = {}
    engine = make_engine(settings.resolved_database_url())
    try:
        sessions = make_session_factory(engine)
        for workspace_id in settings.workspaces:
            options = _configured(settings, workspace_id)
            if options is None or not options.embedding_model:
                continue
            embed = _state.client(options).embed
            try:
                runs[workspace_id] = embed_pending(
                    sessions, workspace_id, options.embedding_model, embed,
                    batch_size=options.embedding_batch,
                )  # fmt: skip
            except ModelError as exc:
                log.error("embedding the passages of %s stopped: %s", workspace_id, exc)
    finally:
        engine.dispose()
    if _state.vectors is not None:
        _state.vectors.invalidate()
    return runs


def register_jobs(settings: Settings) -> list[PeriodicJob] | None:
    if not any(
        (options := _configured(settings, ws)) is not None and options.embedding_model
        for ws in settings.workspaces
    ):
        return None
    return [PeriodicJob(f"{NAME}:embeddings", EMBEDDINGS_SCHEDULE, embed_workspaces, at_start=True)]


def generate_reply(turn: Turn, hits: list[Hit]) -> Draft | None:
    options = _options(turn)
    if options is None or turn.latest is None:
        return None
    settings = turn.settings or _state.settings
    caller = Caller(
        options, _state.client(options), _state.metrics, hidden=_hidden(settings, options)
    )
    result = think(turn, hits, caller)
    return None if result.fallback else result.draft


def escalation_reasons(turn: Turn) -> list[EscalationReason] | None:
    result = _result(turn)
    return list(result.reasons) if result is not None else None


def analyze_sentiment(turn: Turn | None) -> Sentiment | None:
    result = _result(turn) if turn is not None else None
    return result.sentiment if result is not None else None


def summarize(turn: Turn) -> str | None:
    result = _result(turn) or CACHE.latest(turn)
    return result.summary if result is not None and not result.fallback else None
