"""Login by the admin token: a signed session cookie, CSRF on every POST, no token in URLs."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from deskmate.core.app import create_app
from tests.dashboard.conftest import TOKEN, csrf_of, dashboard_settings, log_in

PAGES = ["/", "/conversations", "/unanswered", "/health"]


def test_pages_redirect_to_the_login_form_until_logged_in(app: Flask) -> None:
    client = app.test_client()
    for page in PAGES:
        response = client.get(page + "?since=2026-01-01")
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")
    form = client.get("/login")
    assert form.status_code == 200
    assert 'type="password"' in form.get_data(as_text=True)


def test_the_right_token_opens_a_session_and_returns_to_the_page_asked(app: Flask) -> None:
    client = app.test_client()
    form = client.get("/login?next=/health").get_data(as_text=True)
    response = client.post(
        "/login", data={"token": TOKEN, "csrf_token": csrf_of(form), "next": "/health"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/health"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("deskmate_session=") and "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert TOKEN not in cookie and TOKEN not in response.headers["Location"]
    assert client.get("/health").status_code == 200


def test_a_wrong_token_is_refused_and_opens_nothing(app: Flask) -> None:
    client = app.test_client()
    response = log_in(client, "not-the-token")
    assert response.status_code == 401
    assert "not the admin token" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_a_login_without_the_csrf_token_is_refused(app: Flask) -> None:
    client = app.test_client()
    client.get("/login")
    response = client.post("/login", data={"token": TOKEN})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_an_outside_next_is_not_followed(app: Flask) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        client = app.test_client()
        form = client.get("/login").get_data(as_text=True)
        response = client.post(
            "/login", data={"token": TOKEN, "csrf_token": csrf_of(form), "next": target}
        )
        assert response.headers["Location"] == "/"


def test_logout_needs_csrf_and_ends_the_session(client) -> None:
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200
    page = client.get("/").get_data(as_text=True)
    response = client.post("/logout", data={"csrf_token": csrf_of(page)})
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_a_new_admin_token_ends_every_session(app: Flask, store_url: str, tmp_path: Path) -> None:
    client = app.test_client()
    log_in(client)
    cookie = client.get_cookie("deskmate_session")
    assert cookie is not None
    other = create_app(dashboard_settings(store_url, tmp_path, token="another-token-9876543210"))
    stranger = other.test_client()
    stranger.set_cookie("deskmate_session", cookie.value)
    assert stranger.get("/").status_code == 302


def test_the_dashboard_is_closed_without_an_admin_token(store_url: str, tmp_path: Path) -> None:
    client = create_app(dashboard_settings(store_url, tmp_path, token=None)).test_client()
    response = client.get("/login")
    assert response.status_code == 403
    assert "admin_token" in response.get_data(as_text=True)


def test_pages_run_no_script_are_not_cached_and_send_no_referrer(client) -> None:
    for page in [*PAGES, "/login"]:
        response = client.get(page)
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "form-action 'self'" in policy
        assert "<script" not in response.get_data(as_text=True)


def test_no_secret_reaches_any_page(client, seeded) -> None:
    secrets = [TOKEN, "intercom-token-secret", "client-secret-value"]
    pages = [*PAGES, "/login", f"/sessions/{seeded.ids['c-human']}", "/conversations?q=x"]
    for page in pages:
        html = client.get(page).get_data(as_text=True)
        assert not [s for s in secrets if s in html], page
