"""The default handoff: a note for the rep, a tag, the route, and machine-readable attributes.

Registered ``trylast`` as the ``escalate`` implementation; a plugin can replace the sequence
(a CRM ticket instead of a note, say). Every step goes through ``turn.actions`` so a retried run
never repeats one.
"""

from __future__ import annotations

from html import escape

from deskmate.core.domain import ActionResult, Handoff, Turn
from deskmate.hookspecs import hookimpl


def handoff_note(handoff: Handoff) -> str:
    """The internal note a rep reads first: what the customer needs and how they feel."""
    reasons = "".join(f"<li>{escape(r.detail)}</li>" for r in handoff.reasons)
    lines = [
        "<p><b>deskmate handed this conversation to the team.</b></p>",
        f"<p><b>Summary:</b> {escape(handoff.summary)}</p>",
        f"<p><b>Sentiment:</b> {escape(handoff.sentiment.label)}"
        + (f" ({escape(', '.join(handoff.sentiment.cues))})" if handoff.sentiment.cues else "")
        + "</p>",
        f"<p><b>Language:</b> {escape(handoff.language or 'unknown')}</p>",
        f"<p><b>Why:</b></p><ul>{reasons}</ul>",
    ]
    if handoff.session_url:
        url = escape(handoff.session_url, quote=True)
        lines.append(f'<p><a href="{url}">What the AI saw and did</a></p>')
    return "".join(lines)


def handoff_attributes(turn: Turn, handoff: Handoff) -> dict[str, str]:
    """The reason, sentiment and language as conversation attributes for Intercom workflows."""
    policy = turn.workspace.handoff
    return {
        policy.reason_attribute: ", ".join(r.code for r in handoff.reasons),
        policy.sentiment_attribute: handoff.sentiment.label,
        policy.language_attribute: handoff.language or "unknown",
    }


@hookimpl(trylast=True)
def escalate(turn: Turn, handoff: Handoff) -> list[ActionResult]:
    policy = turn.workspace.handoff
    results = [
        turn.actions.note(turn, handoff_note(handoff), key="handoff-note"),
        turn.actions.tag(turn, policy.tag),
        turn.actions.assign(turn, handoff.route),
    ]
    if policy.write_attributes:
        results.append(turn.actions.set_attributes(turn, handoff_attributes(turn, handoff)))
    return results
