"""The control API under ``/_sandbox``: play the customer and the human teammates, add articles,
inspect the calls received, inject faults and shape webhook delivery. It needs no token: keep the
sandbox on loopback."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from marshmallow import Schema, ValidationError

from deskmate.core.sandbox import inputs, shapes
from deskmate.core.sandbox.guards import Fault
from deskmate.core.sandbox.runtime import current_sandbox
from deskmate.core.sandbox.state import SandboxError
from deskmate.core.sandbox.text import plain_to_html

bp = Blueprint("sandbox_control", __name__, url_prefix="/_sandbox")


class ControlInputError(Exception):
    """A control request with a malformed body; ``fields`` maps each field to its problems."""

    def __init__(self, message: str, fields: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message, self.fields = message, fields or {}


def _load(schema: type[Schema]) -> dict[str, Any]:
    raw = request.get_data()
    data = inputs.json_object(raw) if raw.strip() else {}
    if data is None:
        raise ControlInputError("the request body must be a JSON object")
    try:
        return schema().load(data)
    except ValidationError as exc:
        field, message = inputs.first_error(exc.messages)
        where = f"{field}: " if field else ""
        raise ControlInputError(f"{where}{message}", exc.messages) from None


@bp.get("")
def info() -> dict[str, Any]:
    """The workspace a config needs: app id, the AI admin (the token's owner), admins, teams."""
    state = current_sandbox().state
    return {
        "app_id": state.app_id,
        "me": state.me_id,
        "human_admin_id": state.human_admin_id,
        "admins": [shapes.admin(a) for a in state.admins.values()],
        "teams": [shapes.team(t) for t in state.teams.values()],
    }


@bp.post("/conversations")
def new_conversation() -> tuple[dict[str, Any], int]:
    """A customer starts a conversation (``conversation.user.created``)."""
    data = _load(inputs.NewConversationIn)
    state = current_sandbox().state
    person, org = data["contact"], data["company"]
    with state.lock:
        contact = state.upsert_contact(
            person["name"], person["email"], person["custom_attributes"], person["role"],
            person["browser_language"], person["external_id"],
        )  # fmt: skip
        company_id = None
        if org is not None:
            company_id = state.attach_company(contact, org["name"], org["custom_attributes"]).id
        conv = state.start_conversation(
            contact, data["channel"], plain_to_html(data["body"]), data["subject"],
            data["delivered_as"],
        )  # fmt: skip
    return {"id": conv.id, "contact_id": contact.id, "company_id": company_id}, 201


def _acted(conversation_id: str) -> dict[str, Any]:
    conv = current_sandbox().state.conversation(conversation_id)
    return {"id": conv.id, "part_id": conv.parts[-1].id}


@bp.post("/conversations/<conversation_id>/reply")
def customer_reply(conversation_id: str) -> dict[str, Any]:
    """The customer replies (``conversation.user.replied``)."""
    data = _load(inputs.CustomerReplyIn)
    new = current_sandbox().state.customer_reply(conversation_id, plain_to_html(data["body"]))
    return {"id": conversation_id, "part_id": new.id}


@bp.post("/conversations/<conversation_id>/admin_reply")
def admin_reply(conversation_id: str) -> dict[str, Any]:
    """A human teammate replies in Intercom's inbox (``conversation.admin.replied``)."""
    data = _load(inputs.AdminReplyIn)
    state = current_sandbox().state
    with state.lock:
        state.admin_message(conversation_id, data["admin_id"], plain_to_html(data["body"]),
                            data["message_type"], via_api=False)  # fmt: skip
        return _acted(conversation_id)


@bp.post("/conversations/<conversation_id>/assign")
def assign(conversation_id: str) -> dict[str, Any]:
    """Assign to an admin or a team (``conversation.admin.assigned``), by a human teammate."""
    data = _load(inputs.AssignIn)
    state = current_sandbox().state
    kind, target = ("admin", data["admin_id"]) if data["admin_id"] else ("team", data["team_id"])
    actor = data["by_admin_id"] or state.human_admin_id
    with state.lock:
        state.assign(conversation_id, actor, kind, target, None, via_api=False)
        return _acted(conversation_id)


@bp.post("/conversations/<conversation_id>/close")
def close(conversation_id: str) -> dict[str, Any]:
    """A human teammate closes the conversation (``conversation.admin.closed``)."""
    data = _load(inputs.CloseIn)
    state = current_sandbox().state
    body = plain_to_html(data["body"]) if data["body"] else None
    with state.lock:
        state.close(conversation_id, data["admin_id"] or state.human_admin_id, body, via_api=False)
        return _acted(conversation_id)


@bp.post("/articles")
def new_article() -> tuple[dict[str, Any], int]:
    """Add a Help Center article (body in HTML) with optional translations."""
    data = _load(inputs.ArticleIn)
    translations = {k: (v["title"], v["body"]) for k, v in data["translations"].items()}
    article = current_sandbox().state.add_article(
        data["title"], data["body"], data["state"], data["locale"], translations
    )
    return {"id": article.id}, 201


@bp.get("/requests")
def list_requests() -> dict[str, Any]:
    """The REST calls received, oldest first."""
    return {"requests": current_sandbox().requests.entries()}


@bp.delete("/requests")
def clear_requests() -> tuple[str, int]:
    current_sandbox().requests.clear()
    return "", 204


@bp.get("/faults")
def list_faults() -> dict[str, Any]:
    return {"faults": [f.as_dict() for f in current_sandbox().faults.active()]}


@bp.post("/faults")
def add_fault() -> tuple[dict[str, Any], int]:
    """Add a fault rule (see ``guards.Fault``); ``seed`` reseeds the dice for reproducible runs."""
    data = _load(inputs.FaultIn)
    fault = Fault(
        data["status"], data["rate"], data["latency_ms"], tuple(data["paths"]),
        data["retry_after"], data["effect_first"],
    )  # fmt: skip
    faults = current_sandbox().faults
    faults.add(fault, data["seed"])
    return {"faults": [f.as_dict() for f in faults.active()]}, 201


@bp.delete("/faults")
def clear_faults() -> tuple[str, int]:
    current_sandbox().faults.clear()
    return "", 204


def _webhook_settings() -> dict[str, Any]:
    sandbox = current_sandbox()
    return {
        "url": sandbox.webhooks.url,
        "urls": list(sandbox.webhooks.urls),
        "duplicate": sandbox.webhooks.duplicate,
        "also_as": sandbox.webhooks.also_as,
        "admin_webhooks": sandbox.state.admin_webhooks,
        "pending": sandbox.webhooks.pending(),
    }


@bp.get("/webhooks")
def webhooks() -> dict[str, Any]:
    """Delivery settings and every delivery attempt so far."""
    return {**_webhook_settings(), "deliveries": current_sandbox().webhooks.deliveries()}


@bp.post("/webhooks")
def configure_webhooks() -> dict[str, Any]:
    """``duplicate``: send each later notification n times; ``also_as``: send each notification
    of a topic again under another topic; ``url``: where to send, or ``urls``: several receivers
    taking the deliveries in turn; ``admin_webhooks``: whether the API's own replies, notes and
    assignments are announced."""
    data = _load(inputs.WebhooksIn)
    sandbox = current_sandbox()
    sandbox.webhooks.configure(
        url=data["url"], urls=data["urls"], duplicate=data["duplicate"], also_as=data["also_as"]
    )
    if data["admin_webhooks"] is not None:
        with sandbox.state.lock:
            sandbox.state.admin_webhooks = data["admin_webhooks"]
    return _webhook_settings()


def control_error(exc: ControlInputError | SandboxError) -> tuple[dict[str, Any], int]:
    """The control API's error body: ``{"error", "message", "fields"?}``."""
    if isinstance(exc, ControlInputError):
        return {"error": "invalid_request", "message": exc.message, "fields": exc.fields}, 400
    return {"error": exc.code, "message": exc.message}, exc.status
