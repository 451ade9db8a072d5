"""Logging in to the dashboard: the admin token, typed once into a form, opens a signed session
cookie; every POST carries a per-session CSRF token (Flask-WTF's) in a hidden field.

The cookie is signed with a key derived from the admin token, so changing the token logs
everyone out. The token itself never appears in a URL, a cookie or a page.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Flask, abort, request, session
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from wtforms import ValidationError

from deskmate.core.config import Secret, Settings

LOGGED_IN = "deskmate_admin"
LIFETIME = timedelta(hours=12)


def configure(app: Flask, settings: Settings) -> None:
    """Give ``app`` its cookie key and cookie rules (nothing without an admin token)."""
    if settings.admin_token is None:
        return
    app.secret_key = cookie_key(settings.admin_token)
    app.config.update(
        SESSION_COOKIE_NAME="deskmate_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=(settings.public_url or "").startswith("https://"),
        PERMANENT_SESSION_LIFETIME=LIFETIME,
        SESSION_REFRESH_EACH_REQUEST=False,
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.jinja_env.globals["csrf_token"] = generate_csrf


def cookie_key(token: Secret) -> bytes:
    """The key session cookies are signed with, derived from (never equal to) the token."""
    return hmac.new(token.reveal().encode(), b"deskmate dashboard cookies", hashlib.sha256).digest()


def logged_in() -> bool:
    """Whether this request's session cookie says the admin token was given."""
    return session.get(LOGGED_IN) is True


def log_in(token: Secret, given: str) -> bool:
    """Open a session when ``given`` is the admin token (compared in constant time)."""
    if not hmac.compare_digest(given.strip().encode(), token.reveal().encode()):
        return False
    session.clear()
    session[LOGGED_IN] = True
    session.permanent = True
    return True


def log_out() -> None:
    session.clear()


def check_csrf() -> None:
    """Refuse (400) a POST without this session's CSRF token; nothing is changed."""
    try:
        validate_csrf(request.form.get("csrf_token", ""))
    except (ValidationError, CSRFError) as exc:
        abort(400, f"the form is out of date or forged ({exc}); reload the page and try again")


def local_path(target: str | None, default: str) -> str:
    """``target`` when it is a path on this site (after login), else ``default``."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target
