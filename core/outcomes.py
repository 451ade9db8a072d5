"""What the AI did with a conversation, as one record: logged, counted in the metrics, and
passed to whoever listens (``Engine.on_outcome``).

The engine makes one :class:`ConversationOutcome` per decision on a customer message
(``answered``, ``handed_off`` with its reason codes, ``assisted``, ``skipped`` with a reason
code) and one when a conversation is closed (``closed``, resolved by the AI or by a human).
Reason codes are short and stable (escalation reason codes, ``Decision.code``), so they make
metric labels and log fields; the readable reason is in ``detail``.

Which plugin drafted a reply (the *brain*) is taken from ``generate_reply`` itself: each
implementation is wrapped once so the one whose draft won is known (:func:`drafting_brain`).
"""

from __future__ import annotations

import contextvars
import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

ANSWERED = "answered"
HANDED_OFF = "handed_off"
ASSISTED = "assisted"
SKIPPED = "skipped"
CLOSED = "closed"
DECISIONS = (ANSWERED, HANDED_OFF, ASSISTED, SKIPPED)
RESOLVED_BY_AI = "ai"
RESOLVED_BY_HUMAN = "human"
NO_BRAIN = "none"
OTHER = "other"
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


def reason_code(code: str | None) -> str:
    """``code`` when it is a short snake_case code, else ``other`` (keeps label values bounded)."""
    return code if code and _CODE.match(code) else OTHER


@dataclass(frozen=True)
class ConversationOutcome:
    """One decision on a conversation (or its close) and why."""

    workspace: str
    conversation: str
    channel: str
    outcome: str
    reasons: tuple[str, ...] = ()
    detail: str = ""
    brain: str = NO_BRAIN
    session_id: int | None = None
    event_id: int | None = None
    first_answer_seconds: float | None = None
    resolved_by: str | None = None

    @property
    def reason(self) -> str:
        """The main reason code (the first), or ``""``."""
        return self.reasons[0] if self.reasons else ""

    def fields(self) -> dict[str, Any]:
        """The structured log fields of this outcome."""
        found = {
            "workspace": self.workspace,
            "conversation": self.conversation,
            "channel": self.channel,
            "outcome": self.outcome,
            "reasons": list(self.reasons),
            "brain": self.brain,
            "session": self.session_id,
            "event": self.event_id,
        }
        if self.resolved_by is not None:
            found["resolved_by"] = self.resolved_by
        if self.first_answer_seconds is not None:
            found["first_answer_seconds"] = round(self.first_answer_seconds, 3)
        return found


def log_outcome(outcome: ConversationOutcome) -> None:
    """One INFO line for the outcome: what, why, in which conversation."""
    why = ", ".join(outcome.reasons)
    log.info(
        "conversation %s %s%s: %s (workspace %s, session %s)",
        outcome.conversation,
        outcome.outcome,
        f" [{why}]" if why else "",
        outcome.detail,
        outcome.workspace,
        outcome.session_id,
        extra=outcome.fields(),
    )


_drafted_by: contextvars.ContextVar[str] = contextvars.ContextVar("deskmate_brain", default="")


def _attributed(func: Callable[..., Any], plugin_name: str) -> Callable[..., Any]:
    @functools.wraps(func)
    def call(*args: Any, **kwargs: Any) -> Any:
        result = func(*args, **kwargs)
        if result is not None:
            _drafted_by.set(plugin_name)
        return result

    call.deskmate_brain = plugin_name  # type: ignore[attr-defined]
    return call


def drafting_brain(hook: Any, draft: Callable[[], Any]) -> tuple[Any, str]:
    """Call ``draft()`` (the ``generate_reply`` hook) and return its result and the name of the
    plugin whose implementation produced it (:data:`NO_BRAIN` when none did)."""
    for impl in hook.generate_reply.get_hookimpls():
        if not hasattr(impl.function, "deskmate_brain") and not (impl.wrapper or impl.hookwrapper):
            impl.function = _attributed(impl.function, impl.plugin_name)
    token = _drafted_by.set("")
    try:
        result = draft()
        return result, (_drafted_by.get() or NO_BRAIN) if result is not None else NO_BRAIN
    finally:
        _drafted_by.reset(token)
