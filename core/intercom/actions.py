"""The Intercom implementations of the action hooks, registered ``trylast``.

A shadow-mode or dry-run plugin implements the same hooks without ``trylast`` and returns its own
:class:`~deskmate.core.domain.ActionResult`, so these never run.
"""

from __future__ import annotations

from typing import Any

from deskmate.core.domain import ActionResult, Route, Turn
from deskmate.hookspecs import hookimpl

EXCERPT_KEYS = ("type", "id", "part_type", "state", "admin_assignee_id", "team_assignee_id")


def _excerpt(response: Any) -> dict[str, Any]:
    """The few fields of Intercom's answer worth keeping in the audit trail."""
    if not isinstance(response, dict):
        return {}
    return {key: response[key] for key in EXCERPT_KEYS if key in response}


def _posted(action: str, response: Any) -> ActionResult:
    """The result of an action Intercom accepted, with an excerpt of its answer."""
    return ActionResult(action, True, "posted to Intercom", status=200, response=_excerpt(response))


@hookimpl(trylast=True)
def post_reply(turn: Turn, body: str) -> ActionResult:
    admin = turn.workspace.ai_admin_id
    return _posted("reply", turn.intercom.reply(turn.conversation.id, body, admin_id=admin))


@hookimpl(trylast=True)
def post_note(turn: Turn, body: str) -> ActionResult:
    admin = turn.workspace.ai_admin_id
    return _posted(
        "note",
        turn.intercom.reply(turn.conversation.id, body, admin_id=admin, message_type="note"),
    )


@hookimpl(trylast=True)
def tag(turn: Turn, name: str) -> ActionResult:
    admin = turn.workspace.ai_admin_id
    tag_id = turn.intercom.find_or_create_tag(name)
    return _posted("tag", turn.intercom.attach_tag(turn.conversation.id, tag_id, admin))


@hookimpl(trylast=True)
def assign(turn: Turn, route: Route) -> ActionResult:
    admin = turn.workspace.ai_admin_id
    if route.mode == "admin" and route.admin_id:
        target, kind = route.admin_id, "admin"
    elif route.mode == "team" and route.team_id:
        target, kind = route.team_id, "team"
    else:
        target, kind = "0", "admin"
    return _posted(
        "assign",
        turn.intercom.assign(turn.conversation.id, admin_id=admin, assignee_id=target, type=kind),
    )


@hookimpl(trylast=True)
def set_attributes(turn: Turn, attributes: dict[str, Any]) -> ActionResult:
    return _posted(
        "attributes", turn.intercom.update_conversation_attributes(turn.conversation.id, attributes)
    )
