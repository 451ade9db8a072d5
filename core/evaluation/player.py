"""Plays eval cases through the engine, in process, with nothing sent to Intercom.

Each case becomes a conversation assigned to the AI admin; each message becomes the webhook event
Intercom would send, handled by :meth:`Engine.handle` — the engine's own decision path, with every
configured plugin. A plugin here records what would have been done: it implements the action
hooks first (``tryfirst``), so replies, notes, tags, assignments and attributes never leave the
process, and it keeps the draft, the reasons and the handoff. The Intercom client of the turn
serves the conversation being played and refuses any other call. The store is the eval's own
temporary database, so the configured one is only read (for ``knowledge: workspace``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import chain
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from deskmate.core.channels import language_code
from deskmate.core.config import ChannelSwitches, Secret, Settings, WorkspaceSettings
from deskmate.core.domain import (
    ActionResult,
    Author,
    Draft,
    EscalationReason,
    Handoff,
    Route,
    Turn,
)
from deskmate.core.engine import Engine
from deskmate.core.evaluation.cases import Case, CaseError, Knowledge, Said
from deskmate.core.evaluation.knowledge import citation_names, documents_for, store_documents
from deskmate.core.intercom.errors import IntercomError
from deskmate.core.intercom.models import Conversation, Part, Source, WebhookEvent
from deskmate.core.plugins import PluginHost
from deskmate.core.sandbox.text import plain_to_html
from deskmate.core.store.audit import audit_trail
from deskmate.core.store.db import make_engine, make_session_factory, upgrade
from deskmate.core.store.models import AuditRecord, SessionRecord
from deskmate.core.timing import HookTimer
from deskmate.hookspecs import hookimpl

AI_ADMIN_ID = "eval-ai"
REP_ID = "eval-rep"
CUSTOMER = Author("user", "eval-customer", "Alex Doe")
SOURCE_TYPES = {"messenger": "conversation", "email": "email"}
TOPICS = {
    "first": "conversation.user.created",
    "customer": "conversation.user.replied",
    "admin": "conversation.admin.replied",
}
STARTED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
MODEL_AUDIT_KIND = "model"
"""The audit record a model-backed plugin writes per call, with ``calls``, ``input`` and
``output`` (tokens), through ``turn.actions.audit`` (see docs/eval.md)."""


@dataclass
class Decided:
    """What the AI did with one customer message."""

    action: str = "none"  # answer, handoff or none
    detail: str = ""
    reply: str = ""
    draft: Draft | None = None
    reasons: list[EscalationReason] = field(default_factory=list)
    handoff: Handoff | None = None
    language: str | None = None
    decision_ms: float = 0.0


@dataclass
class Played:
    """A case after it was played: the last decision (the one scored) and the model usage."""

    case: Case
    expected_ids: tuple[str, ...]
    decided: Decided
    model_calls: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    error: str | None = None
    plugin_failures: tuple[str, ...] = ()
    """``plugin.hook`` of each isolated plugin failure while the case was played."""

    @property
    def cited(self) -> tuple[str, ...]:
        draft = self.decided.draft
        if self.decided.action != "answer" or draft is None:
            return ()
        return tuple(dict.fromkeys(h.doc_id for h in draft.citations))

    @property
    def reply_language(self) -> str | None:
        draft = self.decided.draft
        if self.decided.action != "answer" or draft is None:
            return None
        located = [language_code(h.locale) for h in draft.citations if h.locale]
        return language_code(draft.language) or next(filter(None, located), None)


class OfflineIntercom:
    """The Intercom client of an eval turn: it serves the conversations being played and
    refuses every other call, so nothing reaches Intercom."""

    def __init__(self) -> None:
        self.conversations: dict[str, Conversation] = {}

    def get_conversation(self, conversation_id: str, **_: Any) -> Conversation:
        return self.conversations[conversation_id]

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)

        def refuse(*_: Any, **__: Any) -> Any:
            raise IntercomError(f"deskmate eval makes no Intercom calls ({name})")

        return refuse


class Recorder:
    """The eval's plugin: performs the action hooks offline and keeps what the AI decided."""

    def __init__(self, intercom: OfflineIntercom) -> None:
        self.intercom = intercom
        self.now = Decided()

    def start(self) -> None:
        self.now = Decided()

    def _kept(self, action: str) -> ActionResult:
        return ActionResult(action, True, "kept by deskmate eval; nothing sent")

    @hookimpl(tryfirst=True)
    def post_reply(self, turn: Turn, body: str) -> ActionResult:
        self.now.action, self.now.reply = "answer", body
        conversation = self.intercom.conversations[turn.conversation.id]
        author = Author("admin", turn.workspace.ai_admin_id)
        conversation.parts.append(_part(conversation, "comment", body, author))
        return self._kept("reply")

    @hookimpl(tryfirst=True)
    def post_note(self) -> ActionResult:
        return self._kept("note")

    @hookimpl(tryfirst=True)
    def tag(self) -> ActionResult:
        return self._kept("tag")

    @hookimpl(tryfirst=True)
    def assign(self, turn: Turn, route: Route) -> ActionResult:
        conversation = self.intercom.conversations[turn.conversation.id]
        conversation.admin_assignee_id = route.admin_id if route.mode == "admin" else None
        conversation.team_assignee_id = route.team_id if route.mode == "team" else None
        return self._kept("assign")

    @hookimpl(tryfirst=True)
    def set_attributes(self) -> ActionResult:
        return self._kept("attributes")

    @hookimpl
    def handed_off(self, handoff: Handoff) -> None:
        self.now.action, self.now.handoff = "handoff", handoff

    @hookimpl(wrapper=True)
    def generate_reply(self) -> Iterator[None]:
        draft = yield
        self.now.draft = draft
        return draft

    @hookimpl(wrapper=True)
    def escalation_reasons(self) -> Iterator[None]:
        found = yield
        self.now.reasons = list(chain.from_iterable(r or [] for r in found))
        return found

    @hookimpl(wrapper=True)
    def detect_language(self) -> Iterator[None]:
        guess = yield
        self.now.language = guess.code if guess is not None else None
        return guess


def _part(conversation: Conversation, part_type: str, html: str, author: Author) -> Part:
    number = len(conversation.parts) + 1
    return Part(
        id=f"{conversation.id}-{number}",
        part_type=part_type,
        body=html,
        author=author,
        created_at=STARTED + timedelta(minutes=number),
    )


def eval_workspace() -> WorkspaceSettings:
    """The workspace an eval plays in when no config file names one."""
    return WorkspaceSettings(
        app_id="eval",
        access_token=Secret("eval", "none"),
        client_secret=Secret("eval", "none"),
        ai_admin_id=AI_ADMIN_ID,
    )


class Player:
    """Plays cases one at a time through an engine on a temporary store."""

    def __init__(
        self,
        settings: Settings,
        host: PluginHost,
        workspace: WorkspaceSettings,
        folder: Path,
        *,
        configured_store: sessionmaker[Session] | None = None,
    ) -> None:
        self.base = workspace
        self.folder = folder
        self.configured_store = configured_store
        url = f"sqlite:///{folder / 'eval.db'}"
        database = make_engine(url)
        upgrade(database)
        self.sessions = make_session_factory(database)
        self.settings = replace(settings, database_url=url, instance_path=folder, workspaces={})
        self.host = host
        self.intercom = OfflineIntercom()
        self.recorder = Recorder(self.intercom)
        self.timer = HookTimer()
        host.register(self.recorder, "deskmate-eval", version=None, default=True)
        host.register(self.timer, "deskmate-eval-timer", version=None, default=True)
        self.workspaces: dict[Any, tuple[str, dict[str, str]]] = {}
        self.engine: Engine | None = None
        self._count = 0

    def prepare(self, cases: Sequence[Case]) -> None:
        """Load every knowledge set the cases use, check their citations, start the plugins."""
        problems = []
        for case in cases:
            names = self._workspace_for(case.knowledge)[1]
            unknown = [c for c in case.expected.cites if c.strip().casefold() not in names]
            if unknown:
                listed = ", ".join(repr(u) for u in unknown)
                problems.append(
                    f"{case.source}: case {case.id}: expect: answer: no document {listed} "
                    f"in its knowledge ({case.knowledge.kind})"
                )
        if problems:
            raise CaseError(problems)
        workspaces = {app_id: self._clone(app_id) for app_id, _ in self.workspaces.values()}
        self.settings = replace(self.settings, workspaces=workspaces)
        self.host.hook.startup(settings=self.settings, app=None)
        self.engine = Engine(self.settings, self.host, self.sessions, lambda _: self.intercom)
        if cases:
            self._warm_up(cases[0])

    def _warm_up(self, case: Case) -> None:
        """One untimed conversation first: the first decision loads models and indexes."""
        app_id = self._workspace_for(case.knowledge)[0]
        warm_up = replace(case, turns=(Said("customer", "hello"),))
        with suppress(Exception):  # a failing plugin fails each case, which reports it
            self._conversation(warm_up, app_id, "eval-warm-up")

    def _workspace_for(self, knowledge: Knowledge) -> tuple[str, dict[str, str]]:
        if knowledge.key not in self.workspaces:
            app_id = f"{self.base.app_id}~{len(self.workspaces) + 1}"
            docs = documents_for(knowledge, self.configured_store, self.base.app_id)
            store_documents(self.sessions, app_id, docs)
            self.workspaces[knowledge.key] = (app_id, dict(citation_names(docs)))
        return self.workspaces[knowledge.key]

    def _clone(self, app_id: str) -> WorkspaceSettings:
        """The configured workspace under another id, live and in autopilot on every channel
        (a workspace in shadow mode is played as it would answer when switched on)."""
        switches = {name: ChannelSwitches(autopilot=True, assist=False) for name in SOURCE_TYPES}
        channels = {**self.base.channels, **switches}
        return replace(self.base, app_id=app_id, mode="live", channels=channels)

    def play(self, case: Case) -> Played:
        """Play every message of ``case``; the decision on the last one is the one scored."""
        app_id, names = self._workspace_for(case.knowledge)
        expected = tuple(names[c.strip().casefold()] for c in case.expected.cites)
        self._count += 1
        conversation_id = f"eval-{self._count}"
        try:
            decided = self._conversation(case, app_id, conversation_id)
        except Exception as exc:
            return Played(case, expected, Decided(), error=f"{type(exc).__name__}: {exc}")
        records = self._audit(app_id, conversation_id)
        calls, tokens_in, tokens_out = _model_usage(records)
        failures = tuple(
            f"{r.data.get('plugin')}.{r.data.get('hook')}"
            for r in records
            if r.kind == PLUGIN_FAILED_KIND
        )
        return Played(case, expected, decided, calls, tokens_in, tokens_out, None, failures)

    def _conversation(self, case: Case, app_id: str, conversation_id: str) -> Decided:
        ai_admin = self.base.ai_admin_id
        conversation: Conversation | None = None
        decided = Decided()
        first_handoff: Decided | None = None
        for position, said in enumerate(case.turns):
            following = case.turns[position + 1] if position + 1 < len(case.turns) else None
            html = plain_to_html(said.text)
            if conversation is None:
                conversation = _opened(conversation_id, case.channel, html, ai_admin)
                self.intercom.conversations[conversation_id] = conversation
                topic = TOPICS["first"]
            elif said.speaker == "customer":
                conversation.parts.append(_part(conversation, "comment", html, CUSTOMER))
                topic = TOPICS["customer"]
            elif said.text.strip():
                admin = Author("admin", ai_admin if said.speaker == "ai" else REP_ID)
                conversation.parts.append(_part(conversation, "comment", html, admin))
                self._send(app_id, conversation, TOPICS["admin"], answer=True)
                continue
            else:
                continue  # a played ai turn: the reply was made when the message before it was
            answer = following is None or (following.speaker == "ai" and not following.text)
            decided = self._decide(app_id, conversation, topic, answer=answer)
            if first_handoff is None and decided.action == "handoff":
                first_handoff = decided
        return _scored(decided, first_handoff, case)

    def _decide(
        self, app_id: str, conversation: Conversation, topic: str, *, answer: bool
    ) -> Decided:
        self.recorder.start()
        self.timer.reset()
        outcome = self._send(app_id, conversation, topic, answer=answer)
        decided = self.recorder.now
        decided.detail = outcome
        decided.decision_ms = self.timer.spent()
        return decided

    def _send(self, app_id: str, conversation: Conversation, topic: str, *, answer: bool) -> str:
        assert self.engine is not None, "call prepare() first"
        snapshot = replace(conversation, parts=list(conversation.parts))
        event = WebhookEvent(id=None, topic=topic, app_id=app_id, conversation=snapshot)
        return self.engine.handle(event, answer=answer).reason

    def _audit(self, app_id: str, conversation_id: str) -> list[AuditRecord]:
        """The session's audit trail of one played conversation."""
        with self.sessions() as db:
            session_id = db.scalar(
                select(SessionRecord.id).where(
                    SessionRecord.workspace_id == app_id,
                    SessionRecord.conversation_id == conversation_id,
                )
            )
            return [] if session_id is None else audit_trail(db, session_id, limit=10_000)


def _scored(last: Decided, first_handoff: Decided | None, case: Case) -> Decided:
    """The decision a case is scored on: the last message's, or, when the AI left the last
    message alone because an earlier one was handed off, that handoff (the customer is with the
    team: what a case expecting an answer or a handoff at its end is about). A case expecting
    no reply is scored on the last message alone."""
    if last.action != "none" or first_handoff is None or case.expected.action == "no_reply":
        return last
    detail = f"handed off on an earlier message: {first_handoff.detail}"
    return replace(first_handoff, detail=detail)


def _model_usage(records: list[AuditRecord]) -> tuple[int | None, int | None, int | None]:
    """The calls and tokens model-backed plugins reported in the session's audit trail."""
    usage = [r.data for r in records if r.kind == MODEL_AUDIT_KIND]
    if not usage:
        return None, None, None
    calls, tokens_in, tokens_out = (sum(_count(u.get(key)) for u in usage) for key in _USAGE_KEYS)
    return calls, tokens_in, tokens_out


PLUGIN_FAILED_KIND = "plugin_failed"
"""The audit kind the engine records for an isolated plugin failure."""


_USAGE_KEYS = ("calls", "input", "output")
"""The keys of a ``model`` audit record: calls, input and output tokens (a key naming "token"
would be redacted by the audit trail)."""


def _count(value: Any) -> int:
    """A reported count; anything but a non-negative number counts as 0."""
    return int(value) if isinstance(value, int | float) and value >= 0 else 0


def _opened(conversation_id: str, channel: str, html: str, ai_admin: str) -> Conversation:
    """A new conversation opened by the customer with ``html`` and assigned to the AI admin."""
    source = Source(
        id=f"{conversation_id}-0",
        type=SOURCE_TYPES[channel],
        delivered_as="customer_initiated",
        body=html,
        author=CUSTOMER,
    )
    return Conversation(
        id=conversation_id,
        source=source,
        admin_assignee_id=ai_admin,
        created_at=STARTED,
        channel_initial=channel,
    )


@contextmanager
def player(
    settings: Settings,
    host: PluginHost,
    workspace: WorkspaceSettings,
    *,
    configured_store: sessionmaker[Session] | None = None,
) -> Iterator[Player]:
    """A :class:`Player` on a temporary store, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="deskmate-eval-") as folder:
        yield Player(settings, host, workspace, Path(folder), configured_store=configured_store)
