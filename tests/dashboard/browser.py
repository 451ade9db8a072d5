"""Headless Chromium from Debian's packages, driven by Playwright, and a dashboard served over
real HTTP on loopback for it.

Playwright's own browser downloads are never used: Chromium is launched from
:data:`CHROMIUM`. Without it the browser tests are skipped with one line saying what to install,
unless ``DESKMATE_TEST_BROWSER=require`` (CI), which makes its absence a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from waitress import create_server

from deskmate.core.threaded_server import ThreadedServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def need_chromium() -> None:
    """Skip (or fail, when required) without Debian's Chromium."""
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: apt-get install -y chromium to run the browser tests"
    if os.environ.get("DESKMATE_TEST_BROWSER") == "require":
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """``app`` on a free loopback port; yields its base URL."""
    server = create_server(
        app, host="127.0.0.1", port=0, threads=4, ident="dashboard-test", asyncore_use_poll=True
    )
    running = ThreadedServer(server, "dashboard-test")
    running.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        running.stop()


@contextmanager
def chromium(profile: Path) -> Iterator[object]:
    """A Playwright browser context of Debian's Chromium with a throwaway profile."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1200, "height": 820},
        )
        try:
            yield context
        finally:
            context.close()
