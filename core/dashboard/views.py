"""The dashboard's routes: login, overview, conversations, unanswered and content, trials
(shadow mode and replay), health.

Every page needs a logged-in session (else 302 to the login form) and every POST a CSRF token.
Pages are plain HTML forms and links: they run no script and work without JavaScript.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy.orm import Session

from deskmate.core.app import state
from deskmate.core.config import WorkspaceSettings
from deskmate.core.dashboard import auth, display
from deskmate.core.dashboard.content import content_gaps, content_performance
from deskmate.core.dashboard.figures import (
    OUTCOMES,
    BadFilter,
    Filters,
    conversations,
    overview,
    parse_filters,
)
from deskmate.core.dashboard.health import health
from deskmate.core.dashboard.trials import replay_report, shadow_summary
from deskmate.core.pages import SECURITY_HEADERS
from deskmate.core.store.db import make_session_factory
from deskmate.core.store.events import ReplayRefused, replay_event
from deskmate.core.store.models import utcnow

bp = Blueprint("dashboard", __name__, template_folder="../templates")
OPEN_ENDPOINTS = {"dashboard.login"}


@bp.record_once
def _configure(setup: Any) -> None:
    auth.configure(setup.app, state(setup.app).settings)


@bp.before_request
def _guard() -> Any:
    """Closed without an admin token; 302 to the login form when not logged in; CSRF on POST."""
    if state().settings.admin_token is None:
        abort(403, "the dashboard needs admin_token in the config")
    if request.method == "POST":
        auth.check_csrf()
    if request.endpoint not in OPEN_ENDPOINTS and not auth.logged_in():
        return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))
    return None


@bp.after_request
def _secure(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


@bp.errorhandler(BadFilter)
def _bad_filter(exc: BadFilter) -> tuple[str, int]:
    return render_template("dashboard/error.html", message=str(exc)), 400


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The admin token form; a right token opens a session and goes on to ``next``."""
    target = auth.local_path(request.values.get("next"), url_for("dashboard.overview_page"))
    if request.method == "POST":
        token = state().settings.admin_token
        assert token is not None
        if auth.log_in(token, request.form.get("token", "")):
            return redirect(target)
        return render_template("dashboard/login.html", next=target, wrong=True), 401
    return render_template("dashboard/login.html", next=target, wrong=False)


@bp.post("/logout")
def logout() -> Any:
    auth.log_out()
    return redirect(url_for("dashboard.login"))


@bp.get("/")
def overview_page() -> Any:
    workspace, filters = _filters()
    with _db() as db:
        figures = overview(db, filters)
    return _render("overview.html", workspace, filters, figures=figures)


@bp.get("/conversations")
def conversations_page() -> Any:
    workspace, filters = _filters()
    with _db() as db:
        rows, more = conversations(db, filters)
    return _render("conversations.html", workspace, filters, rows=rows, more=more)


@bp.get("/unanswered")
def unanswered_page() -> Any:
    workspace, filters = _filters()
    with _db() as db:
        gaps, looked_at = content_gaps(db, filters)
        documents = content_performance(db, filters)
    return _render(
        "unanswered.html", workspace, filters, gaps=gaps, looked_at=looked_at, documents=documents
    )


@bp.get("/trials")
def trials_page() -> Any:
    """Shadow decisions beside what the team did, and the last replay report."""
    workspace, filters = _filters()
    with _db() as db:
        shadow = shadow_summary(db, filters)
    replay = replay_report(state().settings, workspace.app_id)
    return _render("trials.html", workspace, filters, shadow=shadow, replay=replay)


@bp.get("/health")
def health_page() -> Any:
    workspace, filters = _filters()
    with _db() as db:
        report = health(db, workspace.app_id, utcnow())
    return _render("health.html", workspace, filters, health=report)


@bp.post("/health/events/<int:event_id>/replay")
def replay(event_id: int) -> Any:
    """Queue a stored event again (as ``deskmate events replay``); done or skipped ones need
    the force box ticked."""
    force = request.form.get("force") == "1"
    with _db(write=True) as db:
        try:
            event = replay_event(db, event_id, force=force)
        except ReplayRefused as refused:
            flash(f"Not replayed: {refused}; tick 'force' to run the conversation again.", "error")
            event = None
        else:
            if event is None:
                flash(f"Event {event_id} does not exist or is running now.", "error")
            else:
                flash(f"Event {event_id} queued again; the worker handles it shortly.", "ok")
        db.commit()
    workspace = request.form.get("workspace", "")
    return redirect(
        url_for("dashboard.health_page", **({"workspace": workspace} if workspace else {}))
    )


def _filters() -> tuple[WorkspaceSettings, Filters]:
    """The page's workspace (``?workspace=``, default the first configured) and filters."""
    settings = state().settings
    if not settings.workspaces:
        abort(404, "no workspace is configured")
    app_id = request.args.get("workspace") or next(iter(settings.workspaces))
    workspace = settings.workspaces.get(app_id)
    if workspace is None:
        raise BadFilter(f"unknown workspace {app_id!r}")
    zone = ZoneInfo(workspace.timezone)
    today = datetime.now(zone).date()
    return workspace, parse_filters(request.args.to_dict(), workspace.app_id, zone, today)


@contextmanager
def _db(*, write: bool = False) -> Iterator[Session]:
    engine = state().engine
    if engine is None:
        abort(503, "the database is unavailable")
    with make_session_factory(engine, read_only=not write)() as db:
        yield db


def _render(template: str, workspace: WorkspaceSettings, filters: Filters, **data: Any) -> str:
    return render_template(
        f"dashboard/{template}",
        workspace=workspace,
        workspaces=state().settings.workspaces,
        filters=filters,
        outcomes=list(OUTCOMES),
        reasons=display.REASONS,
        show=display,
        zone=filters.zone,
        session_path=f"{request.script_root}/sessions/",
        **data,
    )
