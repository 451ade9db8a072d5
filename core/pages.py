"""The session page: what the AI saw, decided and did in one conversation, linked from the
handoff note and from the dashboard.

A link in an Intercom note can't carry a header, so each session link is signed with the admin
token (``?sig=``); a request with ``Authorization: Bearer <admin token>`` or a dashboard login
is accepted too. Without an ``admin_token`` in the config the pages stay closed. Pages are never
cached, never send the signed URL on as a referrer, and run no script (a strict
Content-Security-Policy).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, render_template, request

from deskmate.core.app import bearer_matches, state
from deskmate.core.config import Settings
from deskmate.core.dashboard.auth import logged_in
from deskmate.core.dashboard.display import (
    STATES,
    duration,
    intercom_url,
    local_time,
    outcome_of,
    reason_label,
)
from deskmate.core.reports import session_detail
from deskmate.core.store.db import make_session_factory
from deskmate.core.store.models import SessionRecord

bp = Blueprint("deskmate_pages", __name__, template_folder="templates")

MAX_SESSION_ID = 2**63 - 1
"""Larger ids can't be stored, so they can't exist (and would overflow the database driver)."""
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


def _signature(settings: Settings, session_id: int) -> str | None:
    if settings.admin_token is None:
        return None
    key = settings.admin_token.reveal().encode()
    return hmac.new(key, f"session:{session_id}".encode(), hashlib.sha256).hexdigest()[:32]


def session_link(settings: Settings, session_id: int) -> str:
    """The signed URL of a session's page, for handoff notes and the CLI."""
    url = f"{settings.public_url.rstrip('/')}/sessions/{session_id}"
    signature = _signature(settings, session_id)
    return f"{url}?sig={signature}" if signature else url


def _allowed(settings: Settings, session_id: int) -> bool:
    """Whether the request carries the page's signature (``?sig=``) or the admin token."""
    expected = _signature(settings, session_id)
    if expected is None:
        return False
    given = request.args.get("sig", "")
    if given and hmac.compare_digest(given.encode(), expected.encode()):
        return True
    assert settings.admin_token is not None
    return logged_in() or bearer_matches(settings.admin_token)


@bp.get("/sessions/<int:session_id>")
def session_page(session_id: int) -> Any:
    """What the AI saw, decided and did in one conversation (read-only)."""
    host_state = state()
    if host_state.settings.admin_token is None:
        abort(403, "session pages need admin_token in the config")
    if not _allowed(host_state.settings, session_id):
        abort(401, "open this page from a handoff note, or send the admin token")
    if host_state.engine is None:
        abort(503, "the database is unavailable")
    if session_id > MAX_SESSION_ID:
        abort(404, "no such session")
    with make_session_factory(host_state.engine, read_only=True)() as db:
        record = db.get(SessionRecord, session_id)
        if record is None:
            abort(404, "no such session")
        data = session_detail(db, record)
    workspace = host_state.settings.workspaces.get(record.workspace_id)
    zone = ZoneInfo(workspace.timezone if workspace else "UTC")
    for entry in data["audit"]:
        entry["when"] = local_time(datetime.fromisoformat(entry["at"]), zone)
    return render_template(
        "session.html",
        record=record,
        workspace=workspace,
        state_label=STATES.get(record.state, record.state),
        outcome=outcome_of(record),
        reason=reason_label(record.handoff_reason) if record.handed_off_at else None,
        intercom=intercom_url(workspace, record.conversation_id) if workspace else None,
        times={
            name: local_time(getattr(record, name), zone)
            for name in ("created_at", "updated_at", "handed_off_at", "resolved_at")
        },
        first_answer=duration(record.first_answer_seconds),
        **data,
    )


@bp.after_request
def _secure(response: Response) -> Response:
    """Session pages and their errors: no caching, no referrer, no scripts, no framing."""
    response.headers.update(SECURITY_HEADERS)
    return response
