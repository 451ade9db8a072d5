"""The Flask host: ``create_app`` builds one deskmate web application (Flask's factory pattern).

The app carries its own plugin host and database engine in ``app.extensions["deskmate"]`` (a
:class:`HostState`), so two apps in one process never share plugins or state. Core routes live
in blueprints listed in :data:`CORE_BLUEPRINTS`; plugins add theirs through ``register_routes``.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request
from sqlalchemy import Engine
from werkzeug.utils import import_string

from deskmate.core.config import Secret, Settings, load
from deskmate.core.jobs import make_huey
from deskmate.core.logs import secret_values
from deskmate.core.plugins import PluginHost, make_plugin_manager
from deskmate.core.store import db

EXTENSION = "deskmate"
QUEUE_EXTENSION = "deskmate_queue"
"""Where ``/readyz`` keeps the job queue it checks (opened on the first check)."""

CORE_BLUEPRINTS: list[str] = [
    "deskmate.core.app:bp",
    "deskmate.core.intake:bp",
    "deskmate.core.metrics:bp",
    "deskmate.core.pages:bp",
]
"""Import paths (``module:attribute``) of the blueprints deskmate itself mounts, in order.

They are imported when an app is created, so a core module may import this one freely.
"""

bp = Blueprint("deskmate_host", __name__)


@dataclass
class HostState:
    """What one app holds: the settings, the plugin host, and the database engine.

    ``engine`` is ``None`` when the database URL can't be used; ``engine_error`` then says why.
    """

    settings: Settings
    host: PluginHost
    engine: Engine | None
    engine_error: str | None = None


def state(app: Flask | None = None) -> HostState:
    """The :class:`HostState` of ``app`` (default: the current app)."""
    return (app or current_app).extensions[EXTENSION]


def create_app(
    settings: Settings | None = None, host: PluginHost | None = None, *, testing: bool = False
) -> Flask:
    """Create a deskmate web application.

    With no arguments the config file is loaded (``$DESKMATE_CONFIG``, else ``./deskmate.toml``),
    so any WSGI server can run ``deskmate.core.app:create_app()``; ``deskmate serve`` also applies
    the database migrations first, which ``deskmate db upgrade`` does otherwise.

    :param settings: the validated configuration; loaded from the config file when ``None``.
    :param host: a plugin host; built from ``settings.plugins`` when ``None``.
    :param testing: set Flask's ``TESTING`` flag (exceptions reach the test client).
    :raises deskmate.core.config.ConfigInvalid: no settings given and the config file is invalid.
    """
    if settings is None:
        settings, loaded = load()
        host = host or loaded
    host = host or make_plugin_manager(settings.plugins)
    app = Flask(__name__, instance_path=str(settings.instance_path.resolve()))
    app.config["TESTING"] = testing
    app.extensions[EXTENSION] = _state(settings, host)
    for path in CORE_BLUEPRINTS:
        app.register_blueprint(import_string(path))
    _register_plugin_routes(app, settings, host)
    host.hook.startup(settings=settings, app=app)
    return app


def _state(settings: Settings, host: PluginHost) -> HostState:
    try:
        engine = db.make_engine(settings.resolved_database_url())
    except db.DatabaseError as exc:
        return HostState(settings, host, None, str(exc))
    return HostState(settings, host, engine)


def _register_plugin_routes(app: Flask, settings: Settings, host: PluginHost) -> None:
    """Mount each plugin's blueprints; a plugin whose routes can't be mounted is failed alone."""

    def mount(blueprints: list[Blueprint] | None) -> None:
        for blueprint in blueprints or []:
            app.register_blueprint(blueprint)

    host.call_each("register_routes", mount, settings=settings)


@bp.get("/healthz")
def healthz() -> tuple[Any, int]:
    """Health: 200 when the database is reachable and its schema is current."""
    database = _database_health(state())
    code = 200 if database["ok"] else 503
    return jsonify(status="ok" if database["ok"] else "degraded", database=database), code


@bp.get("/readyz")
def readyz() -> tuple[Any, int]:
    """Readiness: 200 when the database is reachable and migrated and the job queue answers;
    503 with the reason otherwise (a load balancer sends no webhooks here until it is 200)."""
    host_state = state()
    checks = {"database": _database_health(host_state), "queue": _queue_health(current_app)}
    ready = all(check["ok"] for check in checks.values())
    reasons = [f"{name}: {check['detail']}" for name, check in checks.items() if not check["ok"]]
    body = {"status": "ready" if ready else "not ready", **checks}
    if reasons:
        body["reason"] = "; ".join(reasons)
    return jsonify(body), 200 if ready else 503


def _queue_health(app: Flask) -> dict[str, Any]:
    """Whether the job queue (the SQLite file or Redis) answers, and how many jobs wait in it."""
    settings = state(app).settings
    try:
        huey = app.extensions.get(QUEUE_EXTENSION)
        if huey is None:
            huey = app.extensions[QUEUE_EXTENSION] = make_huey(settings)
        pending = huey.pending_count()
    except Exception as exc:  # the queue's errors differ by backend; any of them means not ready
        detail = f"{type(exc).__name__}: {exc}"
        for secret in secret_values(settings):
            detail = detail.replace(secret, "[redacted]")
        return {"ok": False, "backend": settings.jobs_backend, "detail": detail}
    return {"ok": True, "backend": settings.jobs_backend, "pending": pending}


def _database_health(host_state: HostState) -> dict[str, Any]:
    if host_state.engine is None:
        return {"ok": False, "reachable": False, "detail": host_state.engine_error}
    try:
        schema = db.check_schema(host_state.engine)
    except db.DatabaseError as exc:
        return {"ok": False, "reachable": False, "detail": str(exc)}
    return {
        "ok": schema.up_to_date,
        "reachable": True,
        "at_head": schema.up_to_date,
        "revision": schema.current,
        "detail": schema.describe(),
    }


@bp.get("/-/plugins")
def plugins() -> tuple[Any, int]:
    """The plugin report (as ``deskmate plugins --json``); ``?all=1`` includes the defaults.

    When ``admin_token`` is configured the report needs ``Authorization: Bearer <token>``.
    """
    token = state().settings.admin_token
    if token is not None and not bearer_matches(token):
        return jsonify(error="send the admin token as 'Authorization: Bearer <token>'"), 401
    include_defaults = request.args.get("all", "") not in ("", "0")
    infos = state().host.report(include_defaults=include_defaults)
    return jsonify([info.as_dict() for info in infos]), 200


def bearer_matches(token: Secret) -> bool:
    """Whether this request sends ``Authorization: Bearer <token>`` (compared in constant time)."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.reveal().encode()
    )
