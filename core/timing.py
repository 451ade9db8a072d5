"""How long the decision hooks take: a plugin of hook wrappers that adds their time up per thread.

The decision hooks are what the engine asks before it acts (language, sentiment, enrichment,
knowledge, draft, escalation); their time is the reply decision that the latency target is for.
Used by ``deskmate eval`` and the conversation benchmark.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from typing import Any

from deskmate import hookspecs

DECISION_HOOKS = (
    "detect_language",
    "analyze_sentiment",
    "enrich_context",
    "search_knowledge",
    "generate_reply",
    "escalation_reasons",
)


def _timed(name: str) -> Callable[..., Any]:
    """A wrapper of hook ``name`` that adds the time of the hook's call to the thread's sum."""

    def wrapper(self: HookTimer) -> Generator[None, Any, Any]:
        start = time.perf_counter_ns()
        try:
            return (yield)
        finally:
            self.local.ms = self.spent() + (time.perf_counter_ns() - start) / 1e6

    wrapper.__name__ = name
    return hookspecs.hookimpl(wrapper=True)(wrapper)


class HookTimer:
    """A plugin that wraps the decision hooks and adds their time up per thread (in ms)."""

    def __init__(self) -> None:
        self.local = threading.local()

    def spent(self) -> float:
        return getattr(self.local, "ms", 0.0)

    def reset(self) -> None:
        self.local.ms = 0.0

    detect_language = _timed("detect_language")
    analyze_sentiment = _timed("analyze_sentiment")
    enrich_context = _timed("enrich_context")
    search_knowledge = _timed("search_knowledge")
    generate_reply = _timed("generate_reply")
    escalation_reasons = _timed("escalation_reasons")
