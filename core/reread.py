"""Did an earlier attempt take effect after all? The conversation as Intercom shows it now.

An action whose outcome was never recorded (the run died mid-call) or is unknown (a timeout) may
have happened. Before repeating it, :func:`already_applied` re-reads the conversation once and
looks for it: a reply or note among the AI admin's parts since the triggering message (matched on
:func:`~deskmate.core.html.visible_words`, which survive Intercom's plain-text rendering of lists,
links and images), the tag on the conversation, the assignee, the attribute values. When found,
the action is recorded as done instead of being made twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from deskmate.core.domain import UNASSIGNED, Route, Turn
from deskmate.core.html import visible_words, words_in_order
from deskmate.core.intercom.models import Conversation, Part

Found = dict[str, Any]
Check = Callable[[Turn, Conversation, dict[str, Any]], Found | None]


def already_applied(turn: Turn, kind: str, request: dict[str, Any]) -> Found | None:
    """What the conversation shows of the action ``kind`` with ``request``, or ``None`` when it
    shows nothing (then the action is safe to make)."""
    check = _CHECKS.get(kind)
    if check is None or turn.intercom is None:
        return None
    conversation = turn.intercom.get_conversation(turn.conversation.id)
    found = check(turn, conversation, request)
    return None if found is None else {"found": "on re-read", **found}


def _since_trigger(turn: Turn, conversation: Conversation) -> list[Part]:
    """The parts after the message the turn answers: where this turn's actions can be.

    All parts when that message is the conversation's source or beyond the 500 Intercom returns.
    """
    ids = [part.id for part in conversation.parts]
    trigger = turn.latest.part_id if turn.latest else None
    return conversation.parts[ids.index(trigger) + 1 :] if trigger in ids else conversation.parts


def _ai_parts(turn: Turn, conversation: Conversation, part_type: str) -> list[Part]:
    ai_admin = turn.workspace.ai_admin_id
    return [
        part
        for part in _since_trigger(turn, conversation)
        if part.part_type == part_type and part.author.id == ai_admin
    ]


def _posted(part_type: str) -> Check:
    def check(turn: Turn, conversation: Conversation, request: dict[str, Any]) -> Found | None:
        needle = visible_words(request.get("body") or "")
        if not needle:
            return None
        for part in _ai_parts(turn, conversation, part_type):
            if words_in_order(needle, visible_words(part.body or "")):
                return {"part_id": part.id}
        return None

    return check


def _tagged(turn: Turn, conversation: Conversation, request: dict[str, Any]) -> Found | None:
    name = request["name"].strip()  # as find_or_create_tag names it
    return {"tag": name} if name in conversation.tags else None


def _assigned(turn: Turn, conversation: Conversation, request: dict[str, Any]) -> Found | None:
    kind, target = Route(**request).assignee()
    wanted = None if target == UNASSIGNED else target
    for part in reversed(_ai_parts(turn, conversation, "assignment")):
        if _assignee_in(part) == wanted:
            return {"part_id": part.id}
    current = conversation.team_assignee_id if kind == "team" else conversation.admin_assignee_id
    return {"assignee": target} if current == wanted else None


def _assignee_in(part: Part) -> str | None:
    """Whom an assignment part assigned to (``None``: nobody), as a string id."""
    value = (part.assigned_to or {}).get("id")
    return None if value in (None, "", 0, UNASSIGNED) else str(value)


def _attributes_set(
    turn: Turn, conversation: Conversation, request: dict[str, Any]
) -> Found | None:
    wanted = request["attributes"]
    current = conversation.custom_attributes
    return (
        {"attributes": sorted(wanted)}
        if all(key in current and current[key] == value for key, value in wanted.items())
        else None
    )


_CHECKS: dict[str, Check] = {
    "reply": _posted("comment"),
    "note": _posted("note"),
    "tag": _tagged,
    "assign": _assigned,
    "attributes": _attributes_set,
}
