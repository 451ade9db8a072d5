"""A whole deskmate on loopback: the sandbox Intercom, the host and a worker, wired together.

Used by ``deskmate demo``, by end-to-end tests and for config trials: the same engine, the same
store and real HTTP between deskmate and the fake Intercom; only Intercom itself is local.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import requests

from deskmate.core.app import state
from deskmate.core.brain.settings import BrainSettings
from deskmate.core.config import (
    ChannelSwitches,
    HandoffPolicy,
    Routing,
    RunMode,
    Secret,
    Settings,
    WorkspaceSettings,
)
from deskmate.core.intake import WEBHOOK_PATH, intake_for, set_dispatcher
from deskmate.core.plugins import PluginHost, make_plugin_manager
from deskmate.core.runtime import QueueDispatcher, Worker
from deskmate.core.sandbox import SandboxServer, create_sandbox_app
from deskmate.core.sandbox.seed import load_workspace
from deskmate.core.server import bind, listen_url, prepare_app
from deskmate.core.store.events import list_events
from deskmate.core.store.models import EventStatus
from deskmate.core.threaded_server import ThreadedServer

APP_ID = "demo"


@dataclass
class StackOptions:
    """What differs between a demo, a test and a config trial."""

    process_unassigned: bool = True
    routing: Routing = field(default_factory=Routing)
    handoff: HandoffPolicy = field(default_factory=HandoffPolicy)
    channels: Mapping[str, ChannelSwitches] = field(default_factory=dict)
    mode: RunMode = "live"
    shadow_note: bool = False
    brain: BrainSettings = field(default_factory=BrainSettings)
    plugins: dict[str, dict[str, Any]] = field(default_factory=dict)
    duplicate_webhooks: int = 1
    rate_limit: int = 10_000
    workers: int = 2
    redis_url: str | None = None
    extra_plugins: list[tuple[str, object]] = field(default_factory=list)
    sandbox_options: dict[str, Any] = field(default_factory=dict)
    sandbox_model: bool = False
    """Answer with the llm plugin and the sandbox's own model (``deskmate demo --brain llm``)."""


def sandbox_model_section(sandbox_url: str) -> dict[str, Any]:
    """The ``[plugins.llm]`` section that points at the sandbox's model."""
    return {
        "base_url": f"{sandbox_url}/v1",
        "model": "sandbox-model",
        "embedding_model": "sandbox-embed",
        "api_key": Secret("sandbox", "model key", secrets.token_urlsafe(16)),
        "max_retry_wait": 2.0,
    }


class LocalStack:
    """Start with ``with LocalStack(folder) as stack:``; ``stack.sandbox_url`` is Intercom."""

    def __init__(self, folder: Path, options: StackOptions | None = None) -> None:
        self.folder = Path(folder)
        self.options = options or StackOptions()
        token, secret = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        seed = load_workspace()
        sandbox_app = create_sandbox_app(
            token,
            secret,
            APP_ID,
            rate_limit=self.options.rate_limit,
            webhook_retry_delay=0.2,
            **self.options.sandbox_options,
        )
        self.sandbox_server = SandboxServer(sandbox_app)
        self.ai_admin_id = seed.me_id
        self.human_admin_id = seed.human_admin_id
        workspace = WorkspaceSettings(
            app_id=APP_ID,
            name="Sandbox",
            access_token=Secret("sandbox", "token", token),
            client_secret=Secret("sandbox", "client secret", secret),
            ai_admin_id=self.ai_admin_id,
            base_url=self.sandbox_server.base_url,
            rate_limit=self.options.rate_limit,
            routing=self.options.routing,
            handoff=self.options.handoff,
            channels=dict(self.options.channels),
            process_unassigned=self.options.process_unassigned,
            mode=self.options.mode,
            shadow_note=self.options.shadow_note,
        )
        plugins = dict(self.options.plugins)
        if self.options.sandbox_model:
            plugins["llm"] = sandbox_model_section(self.sandbox_server.base_url) | plugins.get(
                "llm", {}
            )
        self.settings = Settings(
            workspaces={APP_ID: workspace},
            instance_path=self.folder,
            admin_token=Secret("sandbox", "admin token", secrets.token_urlsafe(16)),
            plugins=plugins,
            brain=self.options.brain,
            jobs_backend="redis" if self.options.redis_url else "sqlite",
            redis_url=self.options.redis_url,
        )
        self.host: PluginHost = make_plugin_manager(
            plugins, env={}, extra_plugins=self.options.extra_plugins
        )
        self.app = prepare_app(self.settings, self.host)
        self.server = bind(self.app, port=0, threads=4)
        self.url = listen_url(self.server)
        self.settings = replace(self.settings, public_url=self.url)
        state(self.app).settings = self.settings
        self.worker = Worker(self.settings, self.host, workers=self.options.workers)
        set_dispatcher(self.app, QueueDispatcher(self.worker.queue))
        self._running = ThreadedServer(self.server, "deskmate-http")

    @property
    def sandbox_url(self) -> str:
        return self.sandbox_server.base_url

    @property
    def engine(self) -> Any:
        return self.worker.engine

    def __enter__(self) -> LocalStack:
        self.sandbox_server.__enter__()
        webhooks = self.sandbox_server.sandbox.webhooks
        webhooks.configure(url=self.url + WEBHOOK_PATH, duplicate=self.options.duplicate_webhooks)
        self._running.start()
        self.host.hook.startup(settings=self.settings, app=None)
        self.worker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop everything the stack started and close its database handles."""
        self.worker.stop()
        self.sandbox_server.close()
        self._running.stop()
        writer = intake_for(self.app).writer
        if writer is not None:
            writer.stop()
        engine = state(self.app).engine
        if engine is not None:
            engine.dispose()

    def wait_settled(self, timeout: float = 30.0) -> bool:
        """Wait until every webhook is delivered and every stored event is settled."""
        deadline = time.monotonic() + timeout
        webhooks = self.sandbox_server.sandbox.webhooks
        while time.monotonic() < deadline:
            if webhooks.pending() == 0 and not self.pending_events():
                time.sleep(0.3)
                if webhooks.pending() == 0 and not self.pending_events():
                    return True
            time.sleep(0.1)
        return False

    def pending_events(self) -> list[Any]:
        with self.engine.sessions() as db:
            return [e for e in list_events(db, limit=10_000) if e.status in EventStatus.PENDING]

    # -- playing customers and reps on the sandbox -------------------------------------------

    def control(self, path: str, **body: Any) -> dict[str, Any]:
        """Call the sandbox's control API (``/_sandbox{path}``) and return its JSON answer."""
        response = requests.post(f"{self.sandbox_url}/_sandbox{path}", json=body, timeout=10)
        if response.status_code not in (200, 201):
            raise RuntimeError(f"sandbox refused {path}: {response.status_code} {response.text}")
        return response.json()

    def start_conversation(self, body: str, channel: str = "messenger", **extra: Any) -> str:
        """A customer opens a conversation; returns its id."""
        extra.setdefault("contact", {"name": "Ada Lovelace", "email": "ada@example.com"})
        return self.control("/conversations", channel=channel, body=body, **extra)["id"]

    def conversation(self, conversation_id: str) -> dict[str, Any]:
        """The conversation as Intercom (the sandbox) shows it to reps."""
        token = self.settings.workspaces[APP_ID].access_token.reveal()
        response = requests.get(
            f"{self.sandbox_url}/conversations/{conversation_id}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()

    def parts_by_ai(self, conversation_id: str, part_type: str = "comment") -> list[dict[str, Any]]:
        """The parts the AI admin posted (``comment`` replies or ``note`` notes)."""
        parts = self.conversation(conversation_id)["conversation_parts"]["conversation_parts"]
        return [
            p
            for p in parts
            if p["part_type"] == part_type and str(p["author"]["id"]) == self.ai_admin_id
        ]
