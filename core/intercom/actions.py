"""The Intercom implementations of the action hooks, registered ``trylast``.

A shadow-mode or dry-run plugin implements the same hooks without ``trylast`` and returns its own
:class:`~deskmate.core.domain.ActionResult`, so these never run.
"""

from __future__ import annotations

from typing import Any

from deskmate.core.domain import ActionResult, Route, Turn
from deskmate.hookspecs import hookimpl

EXCERPT_KEYS = ("type", "id", "part_type", "state", "admin_assignee_id", "team_assignee_id")


def _excerpt(response: Any, created: tuple[str, str] | None) -> dict[str, Any]:
    """The few fields of Intercom's answer worth keeping in the audit trail, and the id of the
    part the action created when ``created`` (author id, part type) names it."""
    if not isinstance(response, dict):
        return {}
    excerpt = {key: response[key] for key in EXCERPT_KEYS if key in response}
    part_id = _created_part(response, *created) if created else None
    if part_id is not None:
        excerpt["part_id"] = part_id
    return excerpt


def _created_part(response: dict[str, Any], author_id: str, part_type: str) -> str | None:
    """The newest part of ``part_type`` by ``author_id`` in a conversation Intercom returned:
    the one the action just created (deskmate knows its webhook by this id)."""
    listing = response.get("conversation_parts")
    parts = listing.get("conversation_parts") if isinstance(listing, dict) else None
    for part in reversed(parts if isinstance(parts, list) else []):
        if not isinstance(part, dict) or part.get("part_type") != part_type:
            continue
        author = part.get("author")
        if isinstance(author, dict) and str(author.get("id")) == author_id and part.get("id"):
            return str(part["id"])
    return None


def _posted(action: str, response: Any, created: tuple[str, str] | None = None) -> ActionResult:
    """The result of an action Intercom accepted, with an excerpt of its answer."""
    return ActionResult(
        action, True, "posted to Intercom", status=200, response=_excerpt(response, created)
    )


@hookimpl(trylast=True)
def post_reply(turn: Turn, body: str) -> ActionResult:
    admin = turn.workspace.ai_admin_id
    response = turn.intercom.reply(turn.conversation.id, body, admin_id=admin)
    return _posted("reply", response, (admin, "comment"))


@hookimpl(trylast=True)
def post_note(turn: Turn, body: str) -> ActionResult:
    admin = turn.workspace.ai_admin_id
    response = turn.intercom.reply(turn.conversation.id, body, admin_id=admin, message_type="note")
    return _posted("note", response, (admin, "note"))


@hookimpl(trylast=True)
def tag(turn: Turn, name: str) -> ActionResult:
    admin = turn.workspace.ai_admin_id
    tag_id = turn.intercom.find_or_create_tag(name)
    return _posted("tag", turn.intercom.attach_tag(turn.conversation.id, tag_id, admin))


@hookimpl(trylast=True)
def assign(turn: Turn, route: Route) -> ActionResult:
    admin = turn.workspace.ai_admin_id
    kind, target = route.assignee()
    response = turn.intercom.assign(
        turn.conversation.id, admin_id=admin, assignee_id=target, type=kind
    )
    return _posted("assign", response, (admin, "assignment"))


@hookimpl(trylast=True)
def set_attributes(turn: Turn, attributes: dict[str, Any]) -> ActionResult:
    return _posted(
        "attributes", turn.intercom.update_conversation_attributes(turn.conversation.id, attributes)
    )
