"""The Intercom REST subset, at Intercom's own paths and with its shapes."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, request
from marshmallow import Schema, ValidationError

from deskmate.core.sandbox import inputs, search, shapes
from deskmate.core.sandbox.records import Conversation
from deskmate.core.sandbox.runtime import current_sandbox
from deskmate.core.sandbox.state import SandboxError
from deskmate.core.sandbox.text import sanitize_admin_html

bp = Blueprint("sandbox_api", __name__)

ARTICLES_PER_PAGE = 15
MAX_PAGE = 1_000_000
_VERSION = re.compile(r"^(\d{1,2})\.(\d{1,2})$")


def _view() -> shapes.View:
    """Rendering options from ``display_as`` and ``Intercom-Version`` (2.16+ says 0 for nobody)."""
    version = request.headers.get("Intercom-Version")
    v216 = False
    if version is not None:
        match = _VERSION.match(version)
        if match is None and version.lower() != "unstable":
            raise SandboxError(400, "intercom_version_invalid",
                               "The requested version could not be found")  # fmt: skip
        v216 = match is None or (int(match[1]), int(match[2])) >= (2, 16)
    return shapes.View(plaintext=request.args.get("display_as") == "plaintext", v216=v216)


def _load(schema: type[Schema]) -> dict[str, Any]:
    data = inputs.json_object(request.get_data())
    if data is None:
        raise SandboxError(400, "parameter_invalid", "The request body must be a JSON object")
    try:
        return schema().load(data)
    except ValidationError as exc:
        field, message = inputs.first_error(exc.messages)
        code = "parameter_not_found" if "Missing data" in message else "parameter_invalid"
        raise SandboxError(400, code, f"{field or 'body'}: {message}", field) from None


def _conversation_json(conv: Conversation, view: shapes.View) -> dict[str, Any]:
    return current_sandbox().state.render(conv, view)


@bp.get("/me")
def me() -> dict[str, Any]:
    state = current_sandbox().state
    return shapes.me(state.admins[state.me_id], state.app, state.app_id)


@bp.get("/admins")
def admins() -> dict[str, Any]:
    listed = [shapes.admin(a) for a in current_sandbox().state.admins.values()]
    return {"type": "admin.list", "admins": listed}


@bp.get("/admins/<admin_id>")
def admin(admin_id: str) -> dict[str, Any]:
    return shapes.admin(current_sandbox().state.admin(admin_id))


@bp.get("/teams")
def teams() -> dict[str, Any]:
    listed = [shapes.team(t) for t in current_sandbox().state.teams.values()]
    return {"type": "team.list", "teams": listed}


@bp.get("/teams/<team_id>")
def team(team_id: str) -> dict[str, Any]:
    return shapes.team(current_sandbox().state.team(team_id))


@bp.get("/conversations/<conversation_id>")
def get_conversation(conversation_id: str) -> dict[str, Any]:
    view = _view()
    state = current_sandbox().state
    with state.lock:
        return _conversation_json(state.conversation(conversation_id), view)


@bp.put("/conversations/<conversation_id>")
def update_conversation(conversation_id: str) -> dict[str, Any]:
    view, data = _view(), _load(inputs.UpdateConversationRequest)
    state = current_sandbox().state
    with state.lock:
        conv = state.update_conversation(
            conversation_id, data["custom_attributes"], data["title"], data["read"]
        )
        return _conversation_json(conv, view)


@bp.post("/conversations/<conversation_id>/reply")
def reply(conversation_id: str) -> dict[str, Any]:
    view, data = _view(), _load(inputs.ReplyRequest)
    state = current_sandbox().state
    body = sanitize_admin_html(data["body"])
    with state.lock:
        if data["type"] == "user":
            conv = state.conversation(conversation_id)
            if data["intercom_user_id"] not in conv.contact_ids:
                raise SandboxError(400, "parameter_invalid",
                                   "intercom_user_id must be a contact of this conversation",
                                   "intercom_user_id")  # fmt: skip
            state.customer_reply(conversation_id, body)
        else:
            conv = state.admin_message(
                conversation_id, data["admin_id"], body, data["message_type"], via_api=True
            )
        return _conversation_json(conv, view)


@bp.post("/conversations/<conversation_id>/parts")
def manage(conversation_id: str) -> dict[str, Any]:
    view, data = _view(), _load(inputs.PartsRequest)
    state = current_sandbox().state
    body = sanitize_admin_html(data["body"]) if data["body"] else None
    actor = data["admin_id"]
    with state.lock:
        match data["message_type"]:
            case "assignment":
                conv = state.assign(conversation_id, actor, data["type"], data["assignee_id"],
                                    body, via_api=True)  # fmt: skip
            case "close":
                conv = state.close(conversation_id, actor, body, via_api=True)
            case "open":
                conv = state.open(conversation_id, actor, via_api=True)
            case _:
                conv = state.snooze(conversation_id, actor, data["snoozed_until"], via_api=True)
        return _conversation_json(conv, view)


@bp.post("/conversations/<conversation_id>/tags")
def attach_tag(conversation_id: str) -> dict[str, Any]:
    data = _load(inputs.AttachTagRequest)
    state = current_sandbox().state
    with state.lock:
        applied = state.attach_tag(conversation_id, data["id"], data["admin_id"])
        return shapes.tag(state.tags[applied.tag_id], applied.applied_at, applied.applied_by)


@bp.delete("/conversations/<conversation_id>/tags/<tag_id>")
def detach_tag(conversation_id: str, tag_id: str) -> dict[str, Any]:
    data = _load(inputs.DetachTagRequest)
    return shapes.tag(current_sandbox().state.detach_tag(conversation_id, tag_id, data["admin_id"]))


def _conversation_list(page: search.Page, view: shapes.View) -> dict[str, Any]:
    state = current_sandbox().state
    pages: dict[str, Any] = {
        "type": "pages",
        "page": page.page,
        "per_page": page.per_page,
        "total_pages": max(1, -(-page.total // page.per_page)),
    }
    if page.next_cursor:
        pages["next"] = {"per_page": page.per_page, "starting_after": page.next_cursor}
    return {
        "type": "conversation.list",
        "pages": pages,
        "total_count": page.total,
        "conversations": [state.render(c, view, parts=None) for c in page.items],
    }


@bp.get("/conversations")
def list_conversations() -> dict[str, Any]:
    view = _view()
    per_page = search.per_page_of(request.args.get("per_page"))
    state = current_sandbox().state
    with state.lock:
        page = search.paginate(
            state.conversations.values(), lambda c: True, per_page,
            request.args.get("starting_after"), descending=True,
        )  # fmt: skip
        return _conversation_list(page, view)


@bp.post("/conversations/search")
def search_conversations() -> dict[str, Any]:
    view, data = _view(), _load(inputs.SearchRequest)
    predicate = search.compile_query(data["query"])
    pagination = data["pagination"]
    per_page = search.per_page_of(pagination.get("per_page"))
    state = current_sandbox().state
    with state.lock:
        page = search.paginate(
            state.conversations.values(), predicate, per_page, pagination.get("starting_after")
        )
        return _conversation_list(page, view)


@bp.get("/tags")
def list_tags() -> dict[str, Any]:
    state = current_sandbox().state
    with state.lock:
        return {"type": "list", "data": [shapes.tag(t) for t in state.tags.values()]}


@bp.post("/tags")
def create_tag() -> dict[str, Any]:
    data = _load(inputs.TagRequest)
    return shapes.tag(current_sandbox().state.tag_named(data["name"], data["id"]))


@bp.get("/contacts/<contact_id>")
def contact(contact_id: str) -> dict[str, Any]:
    state = current_sandbox().state
    with state.lock:
        return shapes.contact(state.contact(contact_id), state.app_id)


@bp.get("/contacts/<contact_id>/companies")
def contact_companies(contact_id: str) -> dict[str, Any]:
    state = current_sandbox().state
    with state.lock:
        found = state.contact(contact_id)
        companies = [shapes.company(state.companies[c], state.app_id) for c in found.company_ids]
    return {
        "type": "list",
        "companies": companies,
        "total_count": len(companies),
        "pages": {"type": "pages", "next": None, "page": 1, "per_page": 50, "total_pages": 1},
    }


@bp.get("/companies/<company_id>")
def company(company_id: str) -> dict[str, Any]:
    state = current_sandbox().state
    with state.lock:
        return shapes.company(state.company(company_id), state.app_id)


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise SandboxError(400, "parameter_invalid", f"{name} must be from {low} to {high}", name)
    return int(raw)


@bp.get("/articles")
def list_articles() -> dict[str, Any]:
    page = _int_arg("page", 1, 1, MAX_PAGE)
    per_page = _int_arg("per_page", ARTICLES_PER_PAGE, 1, search.MAX_PER_PAGE)
    state = current_sandbox().state
    with state.lock:
        ordered = sorted(
            state.articles.values(), key=lambda a: (a.updated_at, int(a.id)), reverse=True
        )
        chosen = ordered[(page - 1) * per_page : page * per_page]
        data = [shapes.article(a, state.app_id) for a in chosen]
    return {
        "type": "list",
        "pages": {
            "type": "pages",
            "page": page,
            "per_page": per_page,
            "total_pages": max(1, -(-len(ordered) // per_page)),
        },
        "total_count": len(ordered),
        "data": data,
    }


@bp.get("/articles/<article_id>")
def article(article_id: str) -> dict[str, Any]:
    state = current_sandbox().state
    with state.lock:
        return shapes.article(state.article(article_id), state.app_id)
