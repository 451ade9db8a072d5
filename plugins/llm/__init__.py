"""The llm plugin: answers with any OpenAI-compatible model, grounded in the team's knowledge.

Off until ``[plugins.llm]`` (or a workspace's override) sets ``base_url`` and ``model``. Then it
decides first: ``generate_reply`` makes the turn's one structured call, and
``escalation_reasons``, ``analyze_sentiment`` and ``summarize`` read its cached result. An
answer that is not grounded in the passages it was shown is never sent: the conversation is
handed off with the reason. docs/llm.md has the set-up for OpenAI, Azure, Ollama and vLLM.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from marshmallow import Schema

from deskmate.hookspecs import hookimpl
from deskmate.plugins.llm.options import NAME, LlmConfig, LlmOptions, options_for

if TYPE_CHECKING:
    from deskmate.core.config import Settings
    from deskmate.core.domain import Draft, EscalationReason, Hit, Sentiment, Turn

__all__ = ["NAME", "LlmConfig", "LlmOptions", "options_for", "reset"]


def _service() -> Any:
    """The module that does the work, imported when a hook first runs (the SDK, metrics and
    store are slow to import; ``deskmate --help`` needs none of them)."""
    from deskmate.plugins.llm import service

    return service


def reset() -> None:
    """Forget the settings, clients, cached turns and breaker states (tests, a reloaded
    configuration)."""
    _service().reset()


@hookimpl
def config_schema() -> type[Schema]:
    return LlmConfig


@hookimpl
def startup(settings: Settings, app: Any) -> None:
    _service().startup(settings, app)


@hookimpl
def generate_reply(turn: Turn, hits: list[Hit]) -> Draft | None:
    return _service().generate_reply(turn, hits)


@hookimpl
def escalation_reasons(turn: Turn) -> list[EscalationReason] | None:
    return _service().escalation_reasons(turn)


@hookimpl
def analyze_sentiment(turn: Turn | None) -> Sentiment | None:
    return _service().analyze_sentiment(turn)


@hookimpl
def summarize(turn: Turn) -> str | None:
    return _service().summarize(turn)
