"""Several deskmate processes on one config, against the sandbox: a fleet on one machine.

``deskmate serve --workers 0`` processes take the webhooks (the sandbox hands its deliveries to
each in turn, as a load balancer would) and ``deskmate worker`` processes run the conversations,
all on one PostgreSQL database and one Redis job queue. Each is a real OS process that can be
killed and restarted; the sandbox runs in this process, so its state and request log are read
directly. Used by the fleet test (tests/fleet/) and ``benchmarks/fleet.py``.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import tomli_w
from huey import RedisHuey
from sqlalchemy import func, select

from deskmate.core.intake import WEBHOOK_PATH
from deskmate.core.jobs import QUEUE_NAME, JobQueue
from deskmate.core.local_servers import free_port
from deskmate.core.sandbox import SandboxServer, create_sandbox_app
from deskmate.core.sandbox.seed import load_workspace
from deskmate.core.store.db import make_engine, make_session_factory, upgrade
from deskmate.core.store.knowledge import has_documents
from deskmate.core.store.models import EventRecord, EventStatus

APP_ID = "fleet"
TOKEN_ENV = "DESKMATE_FLEET_INTERCOM_TOKEN"
SECRET_ENV = "DESKMATE_FLEET_CLIENT_SECRET"
LAUNCHER = "from deskmate.core.cli import main; main()"
START_TIMEOUT = 90.0  # seconds for one process to be ready, on a loaded 2-core machine
WORKER_READY = "deskmate worker running"
NO_DELAY = {"messenger": {"initial_delay": 0}, "email": {"initial_delay": 0}}


@dataclass
class FleetOptions:
    """The fleet's shape and the config every process shares."""

    database_url: str
    redis_url: str
    serves: int = 2
    workers: int = 3
    worker_threads: int = 2
    serve_threads: int = 8
    rate_limit: int = 600  # the sandbox's calls per minute, and the workspace's
    duplicate_webhooks: int = 2
    lease_seconds: int = 15
    plugins: dict[str, dict[str, Any]] = field(default_factory=lambda: dict(NO_DELAY))
    env: dict[str, str] = field(default_factory=dict)  # added to every process's environment


@dataclass
class Process:
    """One deskmate process of the fleet, its command and its output file."""

    name: str
    command: list[str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


class FleetError(RuntimeError):
    """A process of the fleet did not start or did not settle in time."""


class Fleet:
    """``with Fleet(folder, options) as fleet:`` starts the sandbox, then the servers and the
    workers; leaving the block stops every process (SIGTERM, then SIGKILL) and the sandbox."""

    def __init__(self, folder: Path, options: FleetOptions) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.options = options
        self.token, self.secret = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        seed = load_workspace()
        self.ai_admin_id = seed.me_id
        app = create_sandbox_app(
            self.token, self.secret, APP_ID, rate_limit=options.rate_limit, webhook_retry_delay=0.5
        )
        self.sandbox_server = SandboxServer(app)
        self.config_path = self.folder / "deskmate.toml"
        self.instance_path = self.folder / "instance"
        self.workers_started_at = self.workers_ready_at = 0.0
        self.serves = [self._serve(i) for i in range(options.serves)]
        self.workers = [self._worker(i) for i in range(options.workers)]
        self._db = make_engine(options.database_url)
        self.sessions = make_session_factory(self._db)

    # -- life cycle -------------------------------------------------------------------------

    def __enter__(self) -> Fleet:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Sandbox, config, migrations (once, before any process), servers, then workers."""
        self.sandbox_server.__enter__()
        self.instance_path.mkdir(exist_ok=True)
        self.config_path.write_text(tomli_w.dumps(self.config()))
        upgrade(self._db)
        self.launch(*self.serves)
        urls = [p.url + WEBHOOK_PATH for p in self.serves]
        self.sandbox.webhooks.configure(urls=urls, duplicate=self.options.duplicate_webhooks)
        self.workers_started_at = time.time()
        self.launch(*self.workers)
        self.workers_ready_at = time.time()

    def close(self) -> None:
        for process in [*self.workers, *self.serves]:
            self.stop(process)
        self.sandbox_server.close()
        self._db.dispose()

    def config(self) -> dict[str, Any]:
        """The ``deskmate.toml`` every process reads (secrets come from the environment)."""
        workspace = {
            "access_token": {"env": TOKEN_ENV},
            "client_secret": {"env": SECRET_ENV},
            "ai_admin_id": self.ai_admin_id,
            "base_url": self.sandbox_server.base_url,
            "rate_limit": self.options.rate_limit,
            "process_unassigned": True,
        }
        return {
            "instance_path": str(self.instance_path),
            "database_url": self.options.database_url,
            "jobs": {
                "backend": "redis",
                "redis_url": self.options.redis_url,
                "lease_seconds": self.options.lease_seconds,
            },
            "workspaces": {APP_ID: workspace},
            "plugins": self.options.plugins,
        }

    def _command(self, *args: str) -> list[str]:
        return [sys.executable, "-c", LAUNCHER, "--config", str(self.config_path), *args]

    def _serve(self, index: int) -> Process:
        port = free_port()
        threads = str(self.options.serve_threads)
        command = self._command("serve", f"--port={port}", f"--threads={threads}", "--workers=0")
        return Process(f"serve-{index}", command, self.folder / f"serve-{index}.log", port=port)

    def _worker(self, index: int) -> Process:
        command = self._command("worker", f"--workers={self.options.worker_threads}")
        return Process(f"worker-{index}", command, self.folder / f"worker-{index}.log")

    def launch(self, *processes: Process) -> None:
        """Start ``processes`` together (output appended to their logs) and wait until each is
        ready: a server answers ``/healthz``, a worker says it is running."""
        env = {**os.environ, **self.options.env, TOKEN_ENV: self.token, SECRET_ENV: self.secret}
        for process in processes:
            with process.log.open("ab") as out:
                process.popen = subprocess.Popen(
                    process.command, stdout=out, stderr=subprocess.STDOUT, env=env
                )
        deadline = time.monotonic() + START_TIMEOUT
        waiting = list(processes)
        while waiting:
            for process in list(waiting):
                if not process.running():
                    raise FleetError(f"{process.name} exited: {process.output()[-3000:]}")
                if self._ready(process):
                    waiting.remove(process)
            if time.monotonic() > deadline:
                names = ", ".join(p.name for p in waiting)
                raise FleetError(f"{names} not ready within {START_TIMEOUT:.0f} s")
            time.sleep(0.2)

    def _ready(self, process: Process) -> bool:
        if process.port is None:
            return WORKER_READY in process.output()
        try:
            return requests.get(process.url + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def kill(self, process: Process, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to ``process`` and wait for it to exit."""
        if process.running():
            assert process.popen is not None
            process.popen.send_signal(sig)
            process.popen.wait(60)

    def stop(self, process: Process) -> None:
        """SIGTERM, then SIGKILL if it has not exited within 30 s."""
        if not process.running():
            return
        assert process.popen is not None
        process.popen.terminate()
        try:
            process.popen.wait(30)
        except subprocess.TimeoutExpired:
            process.popen.kill()
            process.popen.wait(30)

    # -- the sandbox and the store ------------------------------------------------------------

    @property
    def sandbox(self) -> Any:
        return self.sandbox_server.sandbox

    def start_conversation(self, body: str, name: str, email: str) -> str:
        """A customer opens a Messenger conversation; returns its id."""
        response = requests.post(
            f"{self.sandbox_server.base_url}/_sandbox/conversations",
            json={"channel": "messenger", "body": body, "contact": {"name": name, "email": email}},
            timeout=30,
        )
        if response.status_code != 201:
            raise FleetError(f"sandbox refused a conversation: {response.text}")
        return response.json()["id"]

    def ai_parts(self) -> Counter[tuple[str, str]]:
        """(conversation id, part type) -> parts the AI posted, from the sandbox's state."""
        state = self.sandbox.state
        with state.lock:
            return Counter(
                (conversation.id, part.part_type)
                for conversation in state.conversations.values()
                for part in conversation.parts
                if part.author.id == self.ai_admin_id
            )

    def calls(self) -> list[dict[str, Any]]:
        """Every REST call the sandbox received (method, path, status, time), oldest first."""
        return self.sandbox.requests.entries()

    def event_statuses(self) -> Counter[str]:
        """Stored webhook events by status."""
        with self.sessions() as db:
            rows = db.execute(select(EventRecord.status, func.count()).group_by(EventRecord.status))
            return Counter({status: count for status, count in rows})

    def queued_jobs(self) -> int:
        """Jobs waiting in the Redis queue (due now or scheduled for later)."""
        return JobQueue(RedisHuey(QUEUE_NAME, url=self.options.redis_url), _nothing).pending()

    def has_knowledge(self) -> bool:
        with self.sessions() as db:
            return has_documents(db, APP_ID)

    def wait_for(self, check: Any, timeout: float, what: str) -> None:
        """Poll ``check()`` until true; :class:`FleetError` naming ``what`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise FleetError(f"{what} not reached within {timeout:.0f} s")
            time.sleep(0.25)

    def settled(self) -> bool:
        """No webhook waiting in the sandbox and no stored event still pending."""
        if self.sandbox.webhooks.pending():
            return False
        statuses = self.event_statuses()
        return not any(statuses[s] for s in EventStatus.PENDING)

    def wait_settled(self, timeout: float) -> None:
        """Wait until :meth:`settled` holds twice, a second apart (a webhook may be in flight
        between the sandbox and a server)."""
        self.wait_for(lambda: self.settled() and _after(1.0, self.settled), timeout, "settled")

    def process_outputs(self) -> Mapping[str, str]:
        return {p.name: p.output() for p in [*self.serves, *self.workers]}


def _nothing(*_: object) -> None:
    return None


def _after(seconds: float, check: Any) -> bool:
    time.sleep(seconds)
    return bool(check())
