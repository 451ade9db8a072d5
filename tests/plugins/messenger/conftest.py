"""A real image server on loopback, and settings that let the Messenger plugin reach it."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from deskmate.core.config import Settings
from deskmate.plugins import messenger

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
"""Enough of a PNG for the magic-byte check."""


class ImageServer:
    """What the loopback server serves, where it listens, and how often each path was asked."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self.server = server
        self.png = PNG
        self.hits: Counter[str] = Counter()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def origin(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"http://{self.origin}{path}"


def _handler(state: ImageServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            """Keep test output quiet."""

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            state.hits[path] += 1
            route = ROUTES.get(path)
            if route is None:
                self.send_error(404)
                return
            route(self)

        def send_body(self, body: bytes, content_type: str = "image/png") -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def redirect(self) -> None:
            target = parse_qs(urlsplit(self.path).query)["to"][0]
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def slow_headers(self) -> None:
            time.sleep(2)
            self.send_body(PNG)

        def drip(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "200")
            self.end_headers()
            try:
                self.wfile.write(PNG[:10])
                for _ in range(40):
                    self.wfile.flush()
                    time.sleep(0.1)
                    self.wfile.write(b"\x00")
            except OSError:
                return

        def huge_declared(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(500 * 1024 * 1024))
            self.end_headers()
            self.wfile.write(PNG)

        def huge_undeclared(self) -> None:
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                self.wfile.write(PNG)
                for _ in range(64):
                    self.wfile.write(b"\x00" * 16 * 1024)
            except OSError:
                return

    ROUTES: dict[str, Callable[[Handler], None]] = {
        "/image.png": lambda h: h.send_body(PNG),
        "/other.png": lambda h: h.send_body(PNG + b"other"),
        "/page.html": lambda h: h.send_body(b"<html><script>x()</script></html>", "text/html"),
        "/svg": lambda h: h.send_body(b"<svg onload='x()'></svg>", "image/svg+xml"),
        "/redirect": Handler.redirect,
        "/slow": Handler.slow_headers,
        "/drip": Handler.drip,
        "/huge-declared": Handler.huge_declared,
        "/huge": Handler.huge_undeclared,
    }
    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that give up early (timeouts, caps) are what the tests want; stay quiet."""


def _serve() -> Iterator[ImageServer]:
    server = _QuietServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    state = ImageServer(server)
    server.RequestHandlerClass = _handler(state)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def image_server() -> Iterator[ImageServer]:
    """A loopback HTTP server with images, a 404, slow, huge, non-image and redirect routes."""
    yield from _serve()


@pytest.fixture
def other_server() -> Iterator[ImageServer]:
    """A second loopback server, for redirects to an address nobody allowed."""
    yield from _serve()


@pytest.fixture
def messenger_settings(settings: Settings) -> Iterator[Callable[..., Settings]]:
    """Settings whose ``[plugins.messenger]`` section is ``options`` (the plugin is told at
    startup, as the host does)."""

    def build(**options: Any) -> Settings:
        configured = dataclasses.replace(settings, plugins={"messenger": options})
        messenger.startup(configured)
        return configured

    yield build
    messenger.startup(settings)


@pytest.fixture
def loopback_settings(
    messenger_settings: Callable[..., Settings], image_server: ImageServer
) -> Settings:
    """The loopback server allowed by its literal address, plain HTTP, a 0.5 s timeout."""
    return messenger_settings(
        image_hosts=[image_server.origin],
        image_allow_http=True,
        image_timeout=0.5,
        max_image_bytes=64 * 1024,
    )


@pytest.fixture
def restore_messenger(settings: Settings) -> Iterator[None]:
    """Put the plugin back on its defaults after a test that reconfigured it."""
    yield
    messenger.startup(settings)
