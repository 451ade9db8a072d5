"""The client over real HTTP on loopback: timeouts, connection reuse, streamed size limits."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from deskmate.core.intercom.client import IntercomClient, RetryPolicy
from deskmate.core.intercom.errors import ConnectionFailed, InvalidResponse, Timeout
from deskmate.core.intercom.ratelimit import RateLimiter
from deskmate.testing import make_workspace

ME = json.dumps({"type": "admin", "id": "1"}).encode()


class Handler(BaseHTTPRequestHandler):
    """``/me`` answers at once, ``/slow`` after 0.5 s, ``/huge`` streams 2 MB without a length."""

    protocol_version = "HTTP/1.1"
    ports: list[int] = []

    def do_GET(self) -> None:
        self.ports.append(self.client_address[1])
        if self.path.startswith("/huge"):
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
            self.wfile.write(b'Connection: close\r\n\r\n{"data": "' + b"x" * 2_000_000)
            self.close_connection = True
            return
        if self.path.startswith("/slow"):
            time.sleep(0.5)
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(ME)}"
        self.wfile.write(head.encode() + b"\r\n\r\n" + ME)

    do_POST = do_GET

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Handler.ports = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


def client_for(base_url: str, **options: Any) -> IntercomClient:
    defaults: dict[str, Any] = {
        "limiter": RateLimiter(10000),
        "sleep": lambda _: None,
        "retry": RetryPolicy(max_retries=1),
    }
    return IntercomClient(make_workspace(base_url=base_url), **(defaults | options))


def test_calls_reuse_one_pooled_connection(server: str) -> None:
    with client_for(server) as client:
        for _ in range(5):
            assert client.me() == {"type": "admin", "id": "1"}
    assert len(Handler.ports) == 5 and len(set(Handler.ports)) == 1


def test_a_slow_answer_to_a_post_is_an_ambiguous_timeout(server: str) -> None:
    with client_for(server, timeout=(1.0, 0.1)) as client:
        client.base_url = server + "/slow"
        started = time.monotonic()
        with pytest.raises(Timeout) as caught:
            client.reply("1", "hi", admin_id="9")
    assert caught.value.ambiguous
    assert time.monotonic() - started < 0.45
    assert len(Handler.ports) == 1


def test_a_refused_connection_is_retried_and_not_ambiguous() -> None:
    attempts: list[Any] = []
    client = client_for("http://127.0.0.1:9", on_call=lambda *call: attempts.append(call))
    with client, pytest.raises(ConnectionFailed) as caught:
        client.reply("1", "hi", admin_id="9")
    assert not caught.value.ambiguous
    assert [status for _, status, _ in attempts] == [None, None]


def test_a_streamed_oversized_body_is_cut_off(server: str) -> None:
    with client_for(server, max_response_bytes=100_000) as client:
        client.base_url = server + "/huge"
        with pytest.raises(InvalidResponse, match="larger than 100000 bytes"):
            client.me()
