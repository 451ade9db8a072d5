"""What the llm plugin's hooks do: one client per endpoint, the turn's one call, and the
hooks that read its cached result. Imported on first use, so listing commands stays fast."""

from __future__ import annotations

import threading
from typing import Any

from deskmate.core.config import Settings
from deskmate.core.domain import Draft, EscalationReason, Hit, Sentiment, Turn
from deskmate.core.metrics import Metrics, default_metrics, metrics_for
from deskmate.plugins.llm.brain import CACHE, Caller, TurnResult, think
from deskmate.plugins.llm.breaker import BREAKERS
from deskmate.plugins.llm.client import ModelClient
from deskmate.plugins.llm.options import NAME, LlmOptions, options_for


class _State:
    """The settings seen at startup, the metrics to report into and one client per endpoint."""

    def __init__(self) -> None:
        self.settings: Settings | None = None
        self.metrics: Metrics | None = None
        self.clients: dict[tuple[str, str, str], ModelClient] = {}
        self.lock = threading.Lock()

    def client(self, options: LlmOptions) -> ModelClient:
        key = (options.base_url, options.model, repr(options.api_key))
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
    options = options_for(settings.plugin_config(NAME), turn.workspace.app_id)
    return options if options.configured else None


def _result(turn: Turn) -> TurnResult | None:
    """The cached result of this turn's call, when it is ours to use."""
    result = CACHE.get(turn)
    return None if result is None or result.fallback else result


def startup(settings: Settings, app: Any) -> None:
    reset()
    _state.settings = settings
    _state.metrics = metrics_for(app) if app is not None else default_metrics()


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
