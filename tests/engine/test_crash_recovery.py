"""A worker killed with SIGKILL mid-run loses nothing and posts nothing twice.

The host (intake) runs in this process; the worker is a real ``deskmate worker`` process that is
killed while Intercom (the sandbox) is slow to answer its replies, then started again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import waitress
from sqlalchemy import select

from deskmate.core.app import create_app
from deskmate.core.config import load
from deskmate.core.intake import WEBHOOK_PATH, set_dispatcher
from deskmate.core.jobs import JobQueue, make_huey
from deskmate.core.runtime import QueueDispatcher
from deskmate.core.sandbox import SandboxServer, create_sandbox_app
from deskmate.core.sandbox.seed import load_workspace
from deskmate.core.store.db import make_engine, make_session_factory, upgrade
from deskmate.core.store.models import ActionRecord, EventRecord, EventStatus
from deskmate.core.threaded_server import ThreadedServer
from deskmate.plugins.knowledge_sync import sync_workspace_articles

TOKEN, SECRET, APP_ID = "crash-token", "crash-secret", "crashapp"
QUESTIONS = [
    "How do I reset my password?",
    "How long does shipping take?",
    "What is the refund policy?",
]

CONFIG = """
instance_path = "{instance}"
public_url = "http://127.0.0.1:9"
[jobs]
lease_seconds = 2
[workspaces.{app_id}]
access_token = {{ env = "CRASH_TOKEN" }}
client_secret = {{ env = "CRASH_SECRET" }}
ai_admin_id = "{ai}"
base_url = "{base_url}"
process_unassigned = true
[plugins.messenger]
initial_delay = 0
"""


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    app = create_sandbox_app(TOKEN, SECRET, APP_ID, webhook_retry_delay=0.2)
    with SandboxServer(app) as server:
        yield server


@pytest.fixture
def config_path(tmp_path: Path, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CRASH_TOKEN", TOKEN)
    monkeypatch.setenv("CRASH_SECRET", SECRET)
    path = tmp_path / "deskmate.toml"
    path.write_text(
        CONFIG.format(
            instance=tmp_path / "instance",
            app_id=APP_ID,
            ai=load_workspace().me_id,
            base_url=sandbox.base_url,
        )
    )
    return path


@pytest.fixture
def host(config_path: Path, sandbox: SandboxServer) -> Iterator[str]:
    """The webhook host in this process; it only records and enqueues."""
    settings, plugins = load(config_path)
    upgrade(settings.resolved_database_url())
    sync_workspace_articles(settings, APP_ID)
    app = create_app(settings, plugins)
    set_dispatcher(app, QueueDispatcher(JobQueue(make_huey(settings), lambda *_: None)))
    server = waitress.create_server(
        app, host="127.0.0.1", port=0, threads=4, asyncore_use_poll=True
    )
    url = f"http://127.0.0.1:{server.effective_port}"
    running = ThreadedServer(server, "deskmate-http")
    running.start()
    sandbox.sandbox.webhooks.configure(url=url + WEBHOOK_PATH)
    yield settings.resolved_database_url()
    running.stop()


def start_worker(config_path: Path) -> subprocess.Popen[bytes]:
    deskmate = Path(sys.executable).with_name("deskmate")
    command = [str(deskmate), "--config", str(config_path), "worker"]
    return subprocess.Popen(command, env=os.environ.copy(), stdout=subprocess.DEVNULL)


def wait_for(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def control(sandbox: SandboxServer, path: str, **body: object) -> dict:
    response = requests.post(f"{sandbox.base_url}/_sandbox{path}", json=body, timeout=5)
    assert response.status_code in (200, 201), response.text
    return response.json()


def read_conversation(sandbox: SandboxServer, conversation_id: str) -> dict:
    return requests.get(
        f"{sandbox.base_url}/conversations/{conversation_id}",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    ).json()


def ai_parts(sandbox: SandboxServer, conversation_id: str, part_type: str = "comment") -> int:
    parts = read_conversation(sandbox, conversation_id)["conversation_parts"]["conversation_parts"]
    me = load_workspace().me_id
    return sum(1 for p in parts if p["part_type"] == part_type and str(p["author"]["id"]) == me)


def ai_replies(sandbox: SandboxServer, conversation_id: str) -> int:
    return ai_parts(sandbox, conversation_id)


def run_until_settled(config_path: Path, sessions) -> None:
    """Start a worker, wait until every stored event is final, stop it."""
    worker = start_worker(config_path)
    try:

        def all_settled() -> bool:
            with sessions() as db:
                statuses = db.scalars(select(EventRecord.status)).all()
            return bool(statuses) and all(s in EventStatus.FINAL for s in statuses)

        assert wait_for(all_settled, 45), "events were left unfinished after the restart"
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(15)


def test_a_worker_killed_mid_run_finishes_every_conversation_once_after_restart(
    sandbox: SandboxServer, config_path: Path, host: str
) -> None:
    sessions = make_session_factory(make_engine(host))
    control(sandbox, "/faults", status="timeout", rate=1.0, latency_ms=1500, paths=["*/reply"])
    contact = {"name": "Ada", "email": "ada@example.com"}
    conversations = [
        control(sandbox, "/conversations", channel="messenger", body=q, contact=contact)["id"]
        for q in QUESTIONS
    ]
    worker = start_worker(config_path)
    try:

        def a_reply_is_in_flight() -> bool:
            with sessions() as db:
                return db.scalar(select(ActionRecord.id).where(ActionRecord.status == "pending"))

        assert wait_for(a_reply_is_in_flight), "the worker never started a reply"
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    requests.delete(f"{sandbox.base_url}/_sandbox/faults", timeout=5)

    run_until_settled(config_path, sessions)
    assert [ai_replies(sandbox, c) for c in conversations] == [1, 1, 1]


def test_a_worker_killed_while_posting_handoff_notes_hands_each_conversation_off_once(
    sandbox: SandboxServer, config_path: Path, host: str
) -> None:
    sessions = make_session_factory(make_engine(host))
    control(sandbox, "/faults", status="timeout", rate=1.0, latency_ms=1500, paths=["*/reply"])
    contact = {"name": "Grace", "email": "grace@example.com"}
    conversations = [
        control(sandbox, "/conversations", channel="messenger", body=text, contact=contact)["id"]
        for text in ("I want to speak to a human", "Let me talk to a person, this is a disgrace")
    ]
    worker = start_worker(config_path)
    try:

        def a_note_is_in_flight() -> bool:
            with sessions() as db:
                pending = (ActionRecord.status == "pending") & (ActionRecord.kind == "note")
                return db.scalar(select(ActionRecord.id).where(pending)) is not None

        assert wait_for(a_note_is_in_flight), "the worker never started a handoff note"
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    time.sleep(2.0)  # the sandbox finishes the slow note the killed worker sent
    requests.delete(f"{sandbox.base_url}/_sandbox/faults", timeout=5)

    run_until_settled(config_path, sessions)
    for conversation in conversations:
        assert ai_parts(sandbox, conversation, "note") == 1
        assert ai_parts(sandbox, conversation, "assignment") == 1
        assert read_conversation(sandbox, conversation)["tags"]["tags"]
