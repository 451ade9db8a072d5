"""The dashboard in a real browser (headless Chromium): login, every page, filters, the replay
button, and no console error anywhere. ``DESKMATE_SCREENSHOTS=docs/images`` keeps the
screenshots of each page (see docs/dashboard.md); otherwise they go to a temporary folder."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from deskmate.core.app import create_app
from deskmate.core.store import db
from tests.dashboard.browser import chromium, need_chromium, serving
from tests.dashboard.conftest import TOKEN, Seeded, dashboard_settings, seed

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "dashboard.py"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    need_chromium()
    with chromium(tmp_path_factory.mktemp("profile")) as context:
        yield context


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Seeded]]:
    need_chromium()
    base = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{base / 'deskmate.db'}"
    db.upgrade(url)
    seeded = seed(url, datetime.now(UTC))
    with serving(create_app(dashboard_settings(url, base))) as address:
        yield address, seeded


class Tab:
    """One page of the browser, collecting console errors and uncaught exceptions."""

    def __init__(self, context: Any, base: str) -> None:
        self.page = context.new_page()
        self.base = base
        self.errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def log_in(self) -> None:
        self.page.goto(f"{self.base}/")
        assert "/login" in self.page.url
        self.page.fill("input[name=token]", TOKEN)
        self.page.click("button[type=submit]")

    def rows(self, table: str) -> int:
        return self.page.locator(f"#{table} tr").count() - 1


@pytest.fixture
def tab(browser: Any, live: tuple[str, Seeded]) -> Iterator[Tab]:
    tab = Tab(browser, live[0])
    browser.clear_cookies()
    yield tab
    tab.page.close()
    assert tab.errors == [], "no console error on any page"


def test_login_leads_to_the_overview(tab: Tab) -> None:
    tab.log_in()
    assert tab.page.url == f"{tab.base}/"
    assert tab.page.locator("h1").inner_text().startswith("Overview")
    assert "7 of 8 conversations" in tab.page.locator("#involvement").inner_text()


def test_a_wrong_token_stays_on_the_login_form(tab: Tab) -> None:
    tab.page.goto(f"{tab.base}/login")
    tab.page.fill("input[name=token]", "wrong")
    tab.page.click("button[type=submit]")
    assert "not the admin token" in tab.page.locator("[role=alert]").inner_text()
    tab.errors.clear()  # the browser logs the 401 answer itself as a console error


def test_every_page_loads_from_the_navigation(tab: Tab, live) -> None:
    tab.log_in()
    for label, heading in [
        ("Conversations", "Conversations"),
        ("Unanswered", "Unanswered questions"),
        ("Shadow & replay", "Shadow mode and replay"),
        ("Health", "Health"),
        ("Overview", "Overview"),
    ]:
        tab.page.click(f"nav >> text={label}")
        assert tab.page.locator("h1").inner_text().startswith(heading)
    tab.page.goto(f"{tab.base}/sessions/{live[1].ids['c-gap1']}")
    assert "Handed to the team" in tab.page.locator("#session").inner_text()


def test_filters_narrow_the_list(tab: Tab) -> None:
    tab.log_in()
    tab.page.click("nav >> text=Conversations")
    assert tab.rows("conversations") == 8
    tab.page.select_option("select[name=reason]", "no_knowledge")
    tab.page.click("form.filters button")
    assert "reason=no_knowledge" in tab.page.url
    assert tab.rows("conversations") == 2
    tab.page.fill("input[name=q]", "Okta")
    tab.page.select_option("select[name=reason]", "")
    tab.page.click("form.filters button")
    assert tab.rows("conversations") == 1
    assert "c-gap3" in tab.page.locator("#conversations").inner_text()


def test_a_figure_opens_the_conversations_behind_it(tab: Tab) -> None:
    tab.log_in()
    tab.page.click("#answer-rate")
    assert "outcome=answered" in tab.page.url
    assert tab.rows("conversations") == 2


def test_the_replay_button_queues_the_dead_event(tab: Tab) -> None:
    tab.log_in()
    tab.page.click("nav >> text=Health")
    assert tab.rows("dead") == 1
    tab.page.click("#dead button")
    assert "queued again" in tab.page.locator("[role=status]").inner_text()
    assert tab.page.locator("#no-dead").is_visible()


def _bench_fill() -> Any:
    spec = importlib.util.spec_from_file_location("dashboard_benchmark", BENCHMARK)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_screenshots_of_every_page(browser: Any, tmp_path: Path) -> None:
    """A fortnight of generated traffic, one screenshot per page (PNG, one screen high)."""
    bench = _bench_fill()
    url = f"sqlite:///{tmp_path / 'deskmate.db'}"
    db.upgrade(url)
    now = datetime.now(UTC)
    engine = db.make_engine(url)
    bench.fill(engine, 1500, 14, now - timedelta(minutes=5))
    engine.dispose()
    app = bench.make_app(url, tmp_path)
    out = Path(os.environ.get("DESKMATE_SCREENSHOTS") or tmp_path / "shots")
    out.mkdir(parents=True, exist_ok=True)
    with serving(app) as base:
        tab = Tab(browser, base)
        browser.clear_cookies()
        tab.page.goto(f"{base}/login")
        tab.page.screenshot(path=str(out / "dashboard-login.png"))
        tab.page.fill("input[name=token]", bench.TOKEN)
        tab.page.click("button[type=submit]")
        pages = {
            "overview": "/",
            "conversations": "/conversations?outcome=handed_off",
            "unanswered": "/unanswered",
            "trials": "/trials",
            "health": "/health",
            "session": "/sessions/1490",
        }
        for name, path in pages.items():
            tab.page.goto(base + path)
            tab.page.screenshot(path=str(out / f"dashboard-{name}.png"))
        tab.page.close()
    assert tab.errors == []
    for name in ["login", *pages]:
        shot = out / f"dashboard-{name}.png"
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
