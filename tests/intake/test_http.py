"""The intake over real HTTP (waitress on loopback): URL check, streamed bodies, and the sandbox's
signed webhooks delivered three times each."""

from __future__ import annotations

import http.client
import select
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from deskmate.core.intake import MAX_BODY_BYTES
from deskmate.core.sandbox import SandboxServer
from deskmate.core.server import bind
from deskmate.core.threaded_server import ThreadedServer
from deskmate.testing import TEST_APP_ID


@pytest.fixture
def live_url(intake: Any) -> Iterator[str]:
    """The intake app served as ``deskmate serve`` serves it, on a free loopback port."""
    server = bind(intake.app, port=0, threads=4)
    running = ThreadedServer(server, "intake-http")
    running.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    running.stop()


def test_head_answers_200_over_http(live_url: str) -> None:
    assert requests.head(f"{live_url}/webhooks/intercom", timeout=5).status_code == 200


def test_chunked_body_over_1_mib_without_length_is_413(intake: Any, live_url: str) -> None:
    parts = urlsplit(live_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    chunks = (b"{" + b" " * 65_535 for _ in range(MAX_BODY_BYTES // 65_536 + 2))
    conn.request(
        "POST",
        "/webhooks/intercom",
        body=chunks,
        headers={"X-Hub-Signature": "sha1=" + "0" * 40},
        encode_chunked=True,
    )
    response = conn.getresponse()
    assert response.status == 413
    conn.close()
    assert intake.rows() == []


def _open(live_url: str) -> socket.socket:
    parts = urlsplit(live_url)
    return socket.create_connection((parts.hostname, parts.port), timeout=10)


def _status_line(sock: socket.socket) -> bytes:
    return sock.makefile("rb").readline()


def test_huge_content_length_gets_413_before_any_body_is_sent(intake: Any, live_url: str) -> None:
    with _open(live_url) as sock:
        sock.sendall(
            b"POST /webhooks/intercom HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: 268435456\r\nContent-Type: application/json\r\n\r\n"
        )
        started = time.monotonic()
        status = _status_line(sock)
        elapsed = time.monotonic() - started
    assert status.startswith(b"HTTP/1.1 413"), status
    assert elapsed < 5, "the answer must not wait for the 256 MiB the header announces"
    assert intake.rows() == []


def _send_chunks_until_answered(sock: socket.socket, limit: int) -> int:
    """Send 64 KiB chunks until the server answers or closes (or ``limit`` bytes went out);
    return how many body bytes were sent."""
    chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
    sent = 0
    while sent < limit:
        readable, _, _ = select.select([sock], [], [], 0)
        if readable:
            return sent
        try:
            sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            return sent
        sent += 0x10000
    return sent


def test_chunked_body_is_cut_off_at_the_limit(intake: Any, live_url: str) -> None:
    with _open(live_url) as sock:
        sock.sendall(
            b"POST /webhooks/intercom HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        sent = _send_chunks_until_answered(sock, limit=64 * MAX_BODY_BYTES)
        status = _status_line(sock)
    assert status.startswith(b"HTTP/1.1 413"), status
    assert sent < 8 * MAX_BODY_BYTES, f"the server read {sent} bytes before refusing"
    assert intake.rows() == []


def test_signed_notification_over_http_is_stored(intake: Any, live_url: str) -> None:
    body = intake.notification(id="notif_http")
    response = requests.post(
        f"{live_url}/webhooks/intercom", data=body, headers=intake.sign(body), timeout=5
    )
    assert response.status_code == 200
    assert [r.notification_id for r in intake.rows()] == ["notif_http"]


def _deliveries(sandbox: SandboxServer, expected: int) -> list[dict[str, Any]]:
    """Wait until the sandbox has nothing pending and made ``expected`` deliveries."""
    deadline = time.monotonic() + 15
    while True:
        state = requests.get(f"{sandbox.base_url}/_sandbox/webhooks", timeout=5).json()
        done = state["pending"] == 0 and len(state["deliveries"]) >= expected
        if done or time.monotonic() > deadline:
            return state["deliveries"]
        time.sleep(0.05)


def test_sandbox_webhooks_delivered_three_times_are_stored_exactly_once(
    intake: Any, live_url: str, intercom_sandbox: SandboxServer
) -> None:
    control = f"{intercom_sandbox.base_url}/_sandbox"
    hook_url = f"{live_url}/webhooks/intercom"
    requests.post(f"{control}/webhooks", json={"url": hook_url, "duplicate": 3}, timeout=5)
    admin = requests.get(control, timeout=5).json()["human_admin_id"]
    created = requests.post(
        f"{control}/conversations",
        json={
            "channel": "messenger",
            "body": "Hi, my invoice is wrong",
            "contact": {"name": "Ada", "email": "ada@example.com"},
        },
        timeout=5,
    ).json()
    conversation = f"{control}/conversations/{created['id']}"
    requests.post(f"{conversation}/reply", json={"body": "Hello?"}, timeout=5)
    requests.post(
        f"{conversation}/admin_reply", json={"admin_id": admin, "body": "On it"}, timeout=5
    )
    requests.post(f"{conversation}/close", json={}, timeout=5)

    deliveries = _deliveries(intercom_sandbox, expected=12)
    assert len(deliveries) == 12
    assert {d["status"] for d in deliveries} == {200}
    rows = intake.rows()
    assert sorted(r.notification_id for r in rows) == sorted({d["id"] for d in deliveries})
    assert [r.topic for r in rows] == [
        "conversation.user.created",
        "conversation.user.replied",
        "conversation.admin.replied",
        "conversation.admin.closed",
    ]
    assert {r.status for r in rows} == {"queued"}
    assert {r.conversation_id for r in rows} == {created["id"]}
    assert intake.counter("deskmate_webhooks_duplicate_total", workspace=TEST_APP_ID) == 8
