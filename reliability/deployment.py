"""A deskmate deployment of real processes on loopback, an operator's worst day played against
it, and the tally that says whether anything was lost or done twice.

The sandbox Intercom runs in this process (it stands for Intercom, which does not crash);
deskmate runs as ``deskmate serve`` (webhooks plus job consumers) and ``deskmate worker`` child
processes sharing one SQLite database. :class:`Chaos` SIGKILLs them at seeded random points,
most often the process that holds a conversation whose Intercom write is in flight, and starts
them again as a supervisor would. Used by ``tests/reliability`` (small) and ``soak.py`` (large).
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import requests
from sqlalchemy import select

from deskmate.core.config import load
from deskmate.core.intake import WEBHOOK_PATH
from deskmate.core.local_servers import free_port
from deskmate.core.sandbox import SandboxServer, create_sandbox_app
from deskmate.core.sandbox.seed import load_workspace
from deskmate.core.store.db import make_engine, make_session_factory, upgrade
from deskmate.core.store.models import (
    ActionRecord,
    ActionStatus,
    ConversationLease,
    EventRecord,
    EventStatus,
    utcnow,
)
from deskmate.plugins.knowledge_sync import sync_workspace_articles

APP_ID = "reliable"
TOKEN_ENV, SECRET_ENV = "RELIABILITY_INTERCOM_TOKEN", "RELIABILITY_CLIENT_SECRET"
QUESTIONS = (
    "How do I reset my password?",
    "How long does shipping take?",
    "What is the refund policy?",
)
HUMAN = "I want to talk to a human please"
WRITE_PATHS = ["/conversations/*/reply", "/conversations/*/parts", "/conversations/*/tags"]
LANDED_ANYWAY = 502
"""The status of the storm's ambiguous failures: answered after the write took effect."""
FAULT_MIX = ((429, 0.3), (503, 0.2), (500, 0.1), (LANDED_ANYWAY, 0.4))
"""Shares of the fault rate: 429 and 503 with ``Retry-After: 1``; 502 only on writes, after the
write took effect (an ambiguous failure)."""
STARTUP_TIMEOUT = 40.0
POLL = 0.1

CONFIG = """
instance_path = "{instance}"
public_url = "http://127.0.0.1:9"
[jobs]
lease_seconds = {lease}
sweep_seconds = 2
max_attempts = {max_attempts}
[workspaces.{app_id}]
access_token = {{ env = "{token_env}" }}
client_secret = {{ env = "{secret_env}" }}
ai_admin_id = "{ai}"
base_url = "{base_url}"
process_unassigned = true
[workspaces.{app_id}.routing]
mode = "team"
team_id = "{team}"
[plugins.messenger]
initial_delay = 0
"""


@dataclass(frozen=True)
class Plan:
    """One scenario: how many conversations, how many kills, which faults, which duplicates."""

    conversations: int = 6
    handoff_every: int = 3
    """Every n-th conversation asks for a human (note, tag, assignment); the others get answers
    and, with ``follow_ups``, ask a second question once the first is answered."""
    follow_ups: bool = True
    kills: int = 0
    kill_gap: tuple[float, float] = (0.3, 1.5)
    """Seconds between kills, drawn uniformly."""
    fault_rate: float = 0.0
    """Share of REST calls that fail: 503s, 500s, 429s with Retry-After, and ambiguous 502s
    that take effect although their answer says they failed."""
    slow_writes: float = 0.0
    """Share of writes whose answer is held 1.5 s after they took effect (kills land there)."""
    duplicate: int = 1
    cross_topic: bool = False
    """Announce every customer reply under ``user.created`` too (the same part, a new id)."""
    workers: int = 1
    """``deskmate worker`` processes beside the one ``deskmate serve``."""
    seed: int = 0
    timeout: float = 90.0
    lease_seconds: int = 2
    max_attempts: int = 8


def deskmate_command() -> list[str]:
    script = Path(sys.executable).with_name("deskmate")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from deskmate.core.cli import main; main()"]


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(POLL)
    return condition()


class Process:
    """One ``deskmate serve`` or ``deskmate worker`` child, restartable, logging to a file."""

    def __init__(self, role: str, args: list[str], folder: Path, env: dict[str, str]) -> None:
        self.role, self.args, self.folder, self.env = role, args, folder, env
        self.popen: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._log: TextIO | None = None
        self.ready: Callable[[], bool] = lambda: True

    @property
    def log_path(self) -> Path:
        return self.folder / f"{self.role}-{self.starts}.log"

    @property
    def pid(self) -> int | None:
        return None if self.popen is None else self.popen.pid

    def start(self) -> None:
        """Start the process; it is ready once :meth:`wait_ready` returns."""
        self.starts += 1
        self._log = self.log_path.open("w")
        self.popen = subprocess.Popen(
            [*deskmate_command(), *self.args],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self) -> None:
        """Wait until it serves (``serve``) or consumes (``worker``); fail if it exited."""
        if self.popen is None:
            raise RuntimeError(f"{self.role} was never started")
        if not wait_for(lambda: self.ready() or self.popen.poll() is not None, STARTUP_TIMEOUT):
            raise RuntimeError(f"{self.role} did not start; see {self.log_path}")
        if self.popen.poll() is not None:
            raise RuntimeError(f"{self.role} exited at start; see {self.log_path}")

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a lost machine would."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(10)
        self._close_log()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not stopped within 15 s."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


@dataclass
class Conversation:
    """A customer of the scenario and what deskmate owes them."""

    index: int
    id: str
    handoff: bool
    messages: int = 1


class Deployment:
    """The sandbox in this process and deskmate's processes; ``with Deployment(...) as d:``."""

    def __init__(self, folder: Path, plan: Plan) -> None:
        self.folder, self.plan = Path(folder), plan
        self.folder.mkdir(parents=True, exist_ok=True)
        self.token, secret = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
        self.workspace = load_workspace()
        self.sandbox = SandboxServer(
            create_sandbox_app(
                self.token, secret, APP_ID, webhook_retries=10, webhook_retry_delay=0.2
            )
        )
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DESKMATE_")}
        self.env.update({TOKEN_ENV: self.token, SECRET_ENV: secret})
        self.config = self.folder / "deskmate.toml"
        self.processes: list[Process] = []
        self.database_url = ""

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Deployment:
        try:
            self.sandbox.__enter__()
            self._write_config()
            self._prepare_store()
            self._start_processes()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every process this deployment started, then the sandbox."""
        for process in self.processes:
            process.stop()
        self.sandbox.close()

    def _write_config(self) -> None:
        team = next(iter(self.workspace_info()["teams"]))["id"]
        self.config.write_text(
            CONFIG.format(
                instance=self.folder / "instance",
                lease=self.plan.lease_seconds,
                max_attempts=self.plan.max_attempts,
                app_id=APP_ID,
                token_env=TOKEN_ENV,
                secret_env=SECRET_ENV,
                ai=self.workspace.me_id,
                base_url=self.sandbox.base_url,
                team=team,
            )
        )

    def _prepare_store(self) -> None:
        """Migrate and sync the sandbox's Help Center, so customers' questions have answers."""
        settings, _ = load(self.config, env=self.env)
        self.database_url = settings.resolved_database_url()
        upgrade(self.database_url)
        sync_workspace_articles(settings, APP_ID)
        self.sessions = make_session_factory(make_engine(self.database_url))

    def _start_processes(self) -> None:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        serve = Process(
            "serve",
            ["--config", str(self.config), "serve", "--port", str(port), "--threads", "4"],
            self.folder,
            self.env,
        )
        serve.ready = lambda: _healthy(url)
        self.processes.append(serve)
        for n in range(self.plan.workers):
            worker = Process(
                f"worker{n + 1}",
                ["--config", str(self.config), "worker", "--workers", "2"],
                self.folder,
                self.env,
            )
            worker.ready = _announces(worker, "deskmate worker running")
            self.processes.append(worker)
        for process in self.processes:
            process.start()
        self.wait_ready()
        echo = {"conversation.user.replied": "conversation.user.created"}
        self.control(
            "/webhooks",
            url=url + WEBHOOK_PATH,
            duplicate=self.plan.duplicate,
            also_as=echo if self.plan.cross_topic else {},
        )
        self._add_faults()

    def _add_faults(self) -> None:
        """The plan's fault mix, each kind a share of ``fault_rate`` (seeded)."""
        rate, seed = self.plan.fault_rate, self.plan.seed
        if self.plan.slow_writes:
            self.control(
                "/faults", status="timeout", rate=self.plan.slow_writes, latency_ms=1500,
                effect_first=True, paths=WRITE_PATHS, seed=seed,
            )  # fmt: skip
        if rate:
            # A rule sees only the calls the rules before it let through, hence the division.
            before = 0.0
            for status, share in FAULT_MIX:
                extra: dict[str, Any] = {"retry_after": 1} if status in (429, 503) else {}
                if status == LANDED_ANYWAY:
                    extra = {"effect_first": True, "paths": WRITE_PATHS}
                odds = rate * share / (1 - rate * before)
                self.control("/faults", status=status, rate=odds, seed=seed, **extra)
                before += share

    # -- the sandbox, as the customers and as the auditor -----------------------------------

    def control(self, path: str, **body: Any) -> dict[str, Any]:
        response = requests.post(f"{self.sandbox.base_url}/_sandbox{path}", json=body, timeout=10)
        if response.status_code not in (200, 201):
            raise RuntimeError(f"sandbox refused {path}: {response.status_code} {response.text}")
        return response.json()

    def workspace_info(self) -> dict[str, Any]:
        return requests.get(f"{self.sandbox.base_url}/_sandbox", timeout=10).json()

    def open_conversation(self, index: int, handoff: bool) -> Conversation:
        body = HUMAN if handoff else QUESTIONS[index % len(QUESTIONS)]
        contact = {"name": f"Customer {index}", "email": f"c{index}@example.com"}
        made = self.control("/conversations", channel="messenger", body=body, contact=contact)
        return Conversation(index, made["id"], handoff)

    def follow_up(self, conversation: Conversation) -> None:
        question = QUESTIONS[(conversation.index + 1) % len(QUESTIONS)]
        self.control(f"/conversations/{conversation.id}/reply", body=question)
        conversation.messages += 1

    def ai_comments(self, conversation_id: str) -> int:
        state = self.sandbox.sandbox.state
        with state.lock:
            parts = state.conversation(conversation_id).parts
            return sum(
                1 for p in parts if p.part_type == "comment" and p.author.id == self.workspace.me_id
            )

    # -- settling ------------------------------------------------------------------------------

    def unsettled(self) -> list[EventRecord]:
        with self.sessions() as db:
            return list(
                db.scalars(select(EventRecord).where(EventRecord.status.in_(EventStatus.PENDING)))
            )

    def wait_ready(self) -> None:
        for process in self.processes:
            process.wait_ready()

    def wait_settled(self, timeout: float) -> bool:
        """Every webhook delivered and every stored event settled, twice in a row 0.5 s apart."""
        webhooks = self.sandbox.sandbox.webhooks

        def quiet() -> bool:
            return webhooks.pending() == 0 and not self.unsettled()

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if wait_for(quiet, deadline - time.monotonic()):
                time.sleep(0.5)
                if quiet():
                    return True
        return False

    def writing_processes(self) -> list[Process]:
        """The live processes holding a conversation whose Intercom write is in flight."""
        now = utcnow()
        with self.sessions() as db:
            keys = db.scalars(
                select(ActionRecord.idempotency_key).where(
                    ActionRecord.status == ActionStatus.PENDING
                )
            ).all()
            conversations = {key.split(":")[1] for key in keys}
            owners = db.scalars(
                select(ConversationLease.owner).where(
                    ConversationLease.conversation_id.in_(conversations),
                    ConversationLease.lease_until > now,
                )
            ).all()
        pids = {int(owner.split(":")[1]) for owner in owners}
        return [p for p in self.processes if p.pid in pids and p.popen.poll() is None]


def _healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _announces(process: Process, line: str) -> Callable[[], bool]:
    def ready() -> bool:
        return process.log_path.exists() and line in process.log_path.read_text(errors="replace")

    return ready


@dataclass
class Kill:
    role: str
    mid_write: bool


class Chaos:
    """Kills the deployment's processes ``plan.kills`` times at seeded random points and starts
    each again at once; most kills wait for a process with an Intercom write in flight."""

    MID_WRITE_SHARE = 0.75
    MID_WRITE_WAIT = 8.0

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.rng = random.Random(deployment.plan.seed)
        self.kills: list[Kill] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos", daemon=True)

    def __enter__(self) -> Chaos:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(STARTUP_TIMEOUT + 20)

    def finish(self, timeout: float) -> None:
        """Wait until every planned kill has happened (or ``timeout``), then stop."""
        self._thread.join(timeout)
        self._stop.set()

    def _run(self) -> None:
        low, high = self.deployment.plan.kill_gap
        try:
            for _ in range(self.deployment.plan.kills):
                if self._stop.wait(self.rng.uniform(low, high)):
                    return
                self._kill_one()
        except Exception as exc:  # reported by the tally, never swallowed
            self.errors.append(f"{type(exc).__name__}: {exc}")

    def _least_killed(self, processes: list[Process]) -> Process:
        """Of ``processes``, one killed least so far (a seeded pick among equals), so that every
        role gets hit."""
        killed = Counter(k.role for k in self.kills)
        fewest = min(killed[p.role] for p in processes)
        return self.rng.choice([p for p in processes if killed[p.role] == fewest])

    def _kill_one(self) -> None:
        victim = None
        if self.rng.random() < self.MID_WRITE_SHARE:
            found: list[Process] = []

            def writing() -> bool:
                found[:] = self.deployment.writing_processes()
                return bool(found) or self._stop.is_set()

            wait_for(writing, self.MID_WRITE_WAIT)
            victim = self._least_killed(found) if found else None
        mid_write = victim is not None
        victim = victim or self._least_killed(self.deployment.processes)
        victim.kill()
        self.kills.append(Kill(victim.role, mid_write))
        victim.start()  # not waited for: the next kill may find it still starting


@dataclass
class Tally:
    """What deskmate did to each conversation, against what it owed."""

    conversations: int = 0
    customer_messages: int = 0
    handoffs: int = 0
    replies: int = 0
    notes: int = 0
    tag_calls: int = 0
    assignments: int = 0
    attribute_writes: int = 0
    kills: list[Kill] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    calls: Counter[int] = field(default_factory=Counter)
    duplicates: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    unsettled: int = 0
    problems: list[str] = field(default_factory=list)
    deliveries: int = 0

    @property
    def ok(self) -> bool:
        return not (self.duplicates or self.lost or self.unsettled or self.problems)

    def lines(self) -> Iterator[str]:
        mid = sum(k.mid_write for k in self.kills)
        roles = Counter(k.role.rstrip("0123456789") for k in self.kills)
        faults = sum(n for status, n in self.calls.items() if status >= 400)
        yield f"conversations      {self.conversations} ({self.handoffs} handoffs)"
        yield f"customer messages  {self.customer_messages}"
        yield f"webhook deliveries {self.deliveries}"
        yield (
            f"kills (SIGKILL)    {len(self.kills)} (serve {roles['serve']}, worker "
            f"{roles['worker']}; {mid} while an Intercom write was in flight)"
        )
        yield f"Intercom calls     {sum(self.calls.values())}, {faults} failed by the sandbox"
        yield f"429s               {self.calls[429]}"
        yield (
            f"AI did             {self.replies} replies, {self.notes} notes, {self.tag_calls} tag "
            f"calls, {self.assignments} assignments, {self.attribute_writes} attribute writes"
        )
        yield f"events             {dict(sorted(self.statuses.items()))}"
        yield f"duplicates         {len(self.duplicates)}"
        yield f"lost               {len(self.lost)}"
        yield f"unsettled          {self.unsettled}"
        for line in [*self.duplicates, *self.lost, *self.problems][:40]:
            yield f"  {line}"


def tally(deployment: Deployment, conversations: list[Conversation], chaos: Chaos | None) -> Tally:
    """Count, per conversation, every reply, note, tag call, assignment and attribute write, and
    compare with what was owed: one reply per customer message, or one note, one tag, one
    assignment and one attribute write per handoff."""
    sandbox = deployment.sandbox.sandbox
    me = deployment.workspace.me_id
    calls = sandbox.requests.entries()
    writes = Counter(  # the write calls that took effect, whatever their answer said
        (c["method"], c["path"])
        for c in calls
        if c["method"] != "GET" and (200 <= c["status"] < 300 or c["status"] == LANDED_ANYWAY)
    )
    result = Tally(
        conversations=len(conversations),
        kills=list(chaos.kills) if chaos else [],
        calls=Counter(c["status"] for c in calls),
        deliveries=len(sandbox.webhooks.deliveries()),
    )
    for conversation in conversations:
        with sandbox.state.lock:
            record = sandbox.state.conversation(conversation.id)
            mine = Counter(p.part_type for p in record.parts if p.author.id == me)
            tags = len(record.tags)
        did = {
            "reply": mine["comment"],
            "note": mine["note"],
            "tag call": writes["POST", f"/conversations/{conversation.id}/tags"],
            "assignment": mine["assignment"],
            "attribute write": writes["PUT", f"/conversations/{conversation.id}"],
        }
        owed = {
            "reply": 0 if conversation.handoff else conversation.messages,
            "note": int(conversation.handoff),
            "tag call": tags if conversation.handoff else 0,
            "assignment": int(conversation.handoff),
            "attribute write": int(conversation.handoff),
        }
        if conversation.handoff and tags != 1:
            result.lost.append(f"{conversation.id}: {tags} tags instead of the handoff tag")
        for kind, count in did.items():
            if count > owed[kind]:
                result.duplicates.append(f"{conversation.id}: {count} x {kind}, owed {owed[kind]}")
            elif count < owed[kind]:
                result.lost.append(f"{conversation.id}: {count} x {kind}, owed {owed[kind]}")
        result.customer_messages += conversation.messages
        result.handoffs += conversation.handoff
        result.replies += did["reply"]
        result.notes += did["note"]
        result.tag_calls += did["tag call"]
        result.assignments += did["assignment"]
        result.attribute_writes += did["attribute write"]
    with deployment.sessions() as db:
        result.statuses = Counter(db.scalars(select(EventRecord.status)).all())
    result.unsettled = sum(n for s, n in result.statuses.items() if s in EventStatus.PENDING)
    for status in (EventStatus.DEAD, EventStatus.UNPROCESSABLE):
        if result.statuses[status]:
            result.problems.append(f"{result.statuses[status]} event(s) {status}")
    if chaos is not None:
        result.problems.extend(chaos.errors)
    return result


def play(folder: Path, plan: Plan, report: Callable[[str], None] = lambda _: None) -> Tally:
    """Run ``plan`` on a fresh deployment in ``folder`` and tally what deskmate did."""
    rng = random.Random(plan.seed)
    with Deployment(folder, plan) as deployment, Chaos(deployment) as chaos:
        deadline = time.monotonic() + plan.timeout
        conversations = []
        for index in range(plan.conversations):
            handoff = index % plan.handoff_every == plan.handoff_every - 1
            conversations.append(deployment.open_conversation(index, handoff))
            time.sleep(rng.uniform(0, 0.05))
        report(f"opened {len(conversations)} conversations")
        if plan.follow_ups:
            _follow_up(deployment, [c for c in conversations if not c.handoff], deadline)
            report("sent the follow-up questions")
        chaos.finish(max(1.0, deadline - time.monotonic()))
        deployment.wait_ready()
        report(f"{len(chaos.kills)} kills done; settling")
        settled = deployment.wait_settled(max(1.0, deadline - time.monotonic()))
        result = tally(deployment, conversations, chaos)
        if not settled:
            result.problems.append(f"not settled within {plan.timeout:.0f} s")
        return result


def _follow_up(deployment: Deployment, answered: list[Conversation], deadline: float) -> None:
    """Each answered customer asks a second question once the first answer is there (one
    question at a time, so no burst merges two into one answer)."""
    waiting = list(answered)
    while waiting and time.monotonic() < deadline:
        for conversation in [c for c in waiting if deployment.ai_comments(c.id) >= 1]:
            deployment.follow_up(conversation)
            waiting.remove(conversation)
        time.sleep(0.2)
