"""The engine: event → session → decide → act. The only place that sequences a conversation.

A run takes the conversation's lease (kept while it works, :mod:`deskmate.core.lease_keeper`),
claims its due events in order and handles each one; the hooks decide (channel, whether to act,
language, sentiment, knowledge, reply, escalation) and ``turn.actions`` acts, once. Every
decision and action goes to the session's audit trail.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Any
from uuid import uuid4

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from deskmate.core.config import Settings, WorkspaceSettings
from deskmate.core.domain import (
    Decision,
    Draft,
    EscalationReason,
    Handoff,
    Hit,
    LanguageGuess,
    Message,
    Route,
    Sentiment,
    Turn,
)
from deskmate.core.effects import Effects
from deskmate.core.handoff import escalate as builtin_escalate
from deskmate.core.html import html_to_text
from deskmate.core.intercom.errors import Forbidden, IntercomError, Unauthorized
from deskmate.core.intercom.models import Conversation, Part, WebhookEvent
from deskmate.core.intercom.webhooks import (
    CUSTOMER_TOPICS,
    MAX_ID,
    UnprocessableEvent,
    id_problem,
    parse_event,
)
from deskmate.core.lease_keeper import LeaseKeeper, LeaseLost, check_lease
from deskmate.core.logs import body_for_log
from deskmate.core.outcomes import (
    ANSWERED,
    ASSISTED,
    CLOSED,
    HANDED_OFF,
    NO_BRAIN,
    RESOLVED_BY_AI,
    RESOLVED_BY_HUMAN,
    SKIPPED,
    ConversationOutcome,
    log_outcome,
    reason_code,
)
from deskmate.core.pages import session_link
from deskmate.core.plugins import (
    HookFailure,
    PluginHookError,
    PluginHost,
    recording_hook_failures,
)
from deskmate.core.shadow.guard import ShadowEffects, shadow_client, shadow_note_html
from deskmate.core.store.actions import action_kinds, created_part_ids
from deskmate.core.store.audit import append_audit
from deskmate.core.store.db import reading
from deskmate.core.store.events import (
    bury_exhausted,
    claim_events,
    finish_event,
    retry_event,
    settle_claimable,
)
from deskmate.core.store.leases import acquire_lease, release_lease, renew_lease
from deskmate.core.store.models import (
    OWN_ACTION,
    EventRecord,
    EventStatus,
    SessionRecord,
    SessionState,
    utcnow,
)
from deskmate.core.store.sessions import (
    add_citations,
    add_message,
    get_or_open_session,
    get_session,
    history,
)
from deskmate.core.thinking import sentiment_of, think

log = logging.getLogger(__name__)

HISTORY_TOPICS = frozenset(
    {"conversation.admin.replied", "conversation.admin.noted", "conversation.operator.replied"}
)
ASSIGN_TOPICS = frozenset({"conversation.admin.assigned", "conversation.admin.open.assigned"})
CLOSE_TOPICS = frozenset({"conversation.admin.closed"})
HUMAN_ACTS = {
    "conversation.admin.replied": "replied",
    "conversation.admin.noted": "noted",
    "conversation.admin.closed": "closed",
    "conversation.admin.assigned": "assigned",
    "conversation.admin.open.assigned": "assigned",
}
"""What a teammate did, by topic: recorded against shadow decisions (audit kind ``human``)."""
MESSAGE_PARTS = frozenset({"comment", "note", "source", "open", "assignment", "close"})
SILENT_ASSIST = frozenset(
    {
        "low_confidence",
        "no_knowledge",
        "handoff_topic",
        "no_grounded_answer",
        "invalid_model_output",
        "model_unavailable",
    }
)
CONFIDENT_LANGUAGE = 0.5
HISTORY_LIMIT = 50
BACKOFF_SECONDS = 2.0
AUTH_RETRY = timedelta(minutes=5)
HANDOFF_KINDS = frozenset({"assign"})
"""Action kinds only a handoff performs: one recorded for a message means a handoff began."""


@dataclass(frozen=True)
class Outcome:
    """How an event ended: ``done`` or ``skipped``, and why (kept on the event row); for a
    decision on a customer message also what the AI did (``answered``…) and the reason codes."""

    status: str
    reason: str
    decided: str = ""
    codes: tuple[str, ...] = ()


def done(reason: str, decided: str = "", codes: tuple[str, ...] = ()) -> Outcome:
    return Outcome(EventStatus.DONE, reason, decided, codes)


def skipped(reason: str, decided: str = "", codes: tuple[str, ...] = ()) -> Outcome:
    return Outcome(EventStatus.SKIPPED, reason, decided, codes)


@dataclass(frozen=True)
class Claimed:
    """An event taken by a run, detached from its database session."""

    id: int
    workspace_id: str
    conversation_id: str
    topic: str
    payload: str
    attempts: int
    received_at: datetime | None = None


ClientFactory = Callable[[WorkspaceSettings], Any]
Owner = tuple[str | None, str | None]


def _owner_in(payload: str) -> Owner | None:
    try:
        conversation = parse_event(json.loads(payload)).conversation
    except (ValueError, UnprocessableEvent):
        return None
    if conversation is None:
        return None
    return conversation.admin_assignee_id, conversation.team_assignee_id


class Engine:
    """Runs conversations: one run per conversation at a time, events in order, effects once."""

    def __init__(
        self,
        settings: Settings,
        host: PluginHost,
        sessions: sessionmaker[Session],
        clients: ClientFactory,
        *,
        lease: timedelta = timedelta(seconds=120),
        max_attempts: int = 5,
    ) -> None:
        self.settings = settings
        self.hook = host.hook
        self.sessions = sessions
        self.clients = clients
        self.lease = lease
        self.max_attempts = max_attempts
        self._clients: dict[str, Any] = {}
        self.on_retry: Callable[[str, str, float], None] | None = None
        """Called after a retryable failure with (workspace, conversation, delay in seconds), so
        the job queue runs the conversation again then; the sweeper is the safety net."""
        self.on_settled: Callable[[Claimed, str], None] | None = None
        """Called after each attempt at an event with its new status (a final one, or ``failed``
        when it will be retried), for the health metrics."""
        self.on_outcome: Callable[[ConversationOutcome], None] | None = None
        """Called with each decision on a customer message and each close, after it is logged,
        for the outcome metrics."""

    # -- runs ------------------------------------------------------------------------------

    def run_conversation(self, workspace_id: str, conversation_id: str) -> int:
        """Handle every due event of the conversation in order; returns how many were handled.

        Returns at once when another run holds the conversation: that run handles the events.
        A conversation id that can't be leased (blank, too long; stored by an older intake) gets
        its events settled ``unprocessable`` instead.
        """
        problem = id_problem(conversation_id, MAX_ID)
        if problem is not None:
            return self._refuse(workspace_id, conversation_id, f"conversation id {problem}")
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid4().hex[:8]}"
        handled = 0
        while True:
            taken_at = time.monotonic()  # the lease's period runs from before it was taken
            if not self._take(workspace_id, conversation_id, owner):
                break
            try:
                with LeaseKeeper(
                    lambda: self._renew(workspace_id, conversation_id, owner),
                    self.lease.total_seconds(),
                    taken_at=taken_at,
                ):
                    handled += self._drain(workspace_id, conversation_id)
            except LeaseLost:
                log.warning(
                    "lost the lease on conversation %s mid-run; the run that holds it goes on",
                    conversation_id,
                )
                return handled
            finally:
                with self.sessions.begin() as db:
                    release_lease(db, workspace_id, conversation_id, owner)
            if not self._has_due(workspace_id, conversation_id):
                break
        return handled

    def _refuse(self, workspace_id: str, conversation_id: str, problem: str) -> int:
        """Settle the due events of a conversation no run can lease as unprocessable."""
        reason = f"unexpected conversation: {problem}"
        with self.sessions.begin() as db:
            refused = settle_claimable(
                db, workspace_id, conversation_id, EventStatus.UNPROCESSABLE, reason
            )
            events = [_detached(e, workspace_id, conversation_id) for e in refused]
        for event in events:
            self._settled(event, EventStatus.UNPROCESSABLE)
        return len(events)

    def _take(self, workspace_id: str, conversation_id: str, owner: str) -> bool:
        with self.sessions.begin() as db:
            return acquire_lease(db, workspace_id, conversation_id, owner, self.lease)

    def _renew(self, workspace_id: str, conversation_id: str, owner: str) -> bool:
        with self.sessions.begin() as db:
            return renew_lease(db, workspace_id, conversation_id, owner, self.lease)

    def _drain(self, workspace_id: str, conversation_id: str) -> int:
        handled = 0
        while True:
            check_lease()
            with self.sessions.begin() as db:
                exhausted = bury_exhausted(
                    db, workspace_id, conversation_id, max_attempts=self.max_attempts
                )
                buried = [_detached(e, workspace_id, conversation_id) for e in exhausted]
                claimed = claim_events(db, workspace_id, conversation_id, lease=self.lease)
                events = [_detached(e, workspace_id, conversation_id) for e in claimed]
            for event in buried:
                self._hand_over(event, RunsKeptStopping())
                self._settled(event, EventStatus.DEAD)
            if not events:
                return handled
            last_customer = max((e.id for e in events if e.topic in CUSTOMER_TOPICS), default=None)
            owner = self._newest_owner(workspace_id, conversation_id)
            for event in events:
                answer = event.topic not in CUSTOMER_TOPICS or event.id == last_customer
                self._handle_claimed(event, answer=answer, owner=owner)
                handled += 1

    def _newest_owner(self, workspace_id: str, conversation_id: str) -> Owner | None:
        """Who owns the conversation per the newest event stored for it (admin id, team id).

        Assignment rules often act within a channel's initial delay: deciding on the newest
        snapshot answers as the owner *now*, at no extra Intercom call.
        """
        with reading(self.sessions) as db:
            stmt = (
                select(EventRecord.payload)
                .where(
                    EventRecord.workspace_id == workspace_id,
                    EventRecord.conversation_id == conversation_id,
                )
                .order_by(EventRecord.id.desc())
                .limit(5)
            )
            payloads = list(db.scalars(stmt))
        return next(filter(None, map(_owner_in, payloads)), None)

    def _has_due(self, workspace_id: str, conversation_id: str) -> bool:
        with reading(self.sessions) as db:
            stmt = select(EventRecord.id).where(
                EventRecord.workspace_id == workspace_id,
                EventRecord.conversation_id == conversation_id,
                EventRecord.status.in_((EventStatus.QUEUED, EventStatus.FAILED)),
                EventRecord.available_at <= utcnow(),
            )
            return db.execute(stmt.limit(1)).first() is not None

    def _handle_claimed(
        self, claimed: Claimed, *, answer: bool, owner: Owner | None = None
    ) -> None:
        try:
            event = parse_event(json.loads(claimed.payload))
            if event.conversation is not None and owner is not None:
                event.conversation.admin_assignee_id, event.conversation.team_assignee_id = owner
            outcome = self.handle(event, event_id=claimed.id, answer=answer)
        except UnprocessableEvent as exc:
            self._finish(claimed, EventStatus.UNPROCESSABLE, str(exc))
        except (Unauthorized, Forbidden) as exc:
            self._retry(
                claimed, f"Intercom refused the token: {exc}; run `deskmate verify`", AUTH_RETRY
            )
        except Exception as exc:
            log.exception(
                "event %s of conversation %s failed",
                claimed.id,
                claimed.conversation_id,
                extra=_event_fields(claimed),
            )
            delay = timedelta(seconds=BACKOFF_SECONDS * 2 ** min(claimed.attempts - 1, 8))
            self._retry(claimed, f"{type(exc).__name__}: {exc}", delay, cause=exc)
        else:
            self._finish(claimed, outcome.status, outcome.reason)

    def _finish(self, claimed: Claimed, status: str, reason: str) -> None:
        """Settle the event; if recording ``reason`` fails, record the status with a plain
        reason instead, so the event never stays ``processing`` to be claimed again."""
        check_lease()
        attempt = claimed.attempts
        try:
            with self.sessions.begin() as db:
                settled = finish_event(db, claimed.id, status, reason, attempt=attempt)
        except Exception as exc:
            log.exception("could not record how event %s ended", claimed.id)
            with self.sessions.begin() as db:
                plain = f"{status}; the reason could not be recorded ({type(exc).__name__})"
                settled = finish_event(db, claimed.id, status, plain, attempt=attempt)
        if not settled:
            self._superseded(claimed)
            return
        level = logging.WARNING if status == EventStatus.DEAD else logging.INFO
        log.log(
            level,
            "event %s (%s) of conversation %s %s: %s",
            claimed.id,
            claimed.topic,
            claimed.conversation_id,
            status,
            reason,
            extra={**_event_fields(claimed), "status": status},
        )
        self._settled(claimed, status)

    def _superseded(self, claimed: Claimed) -> None:
        """Another run claimed the event while this one handled it: its outcome is that run's."""
        log.warning(
            "event %s of conversation %s was taken up by another run; leaving it to that run",
            claimed.id,
            claimed.conversation_id,
            extra=_event_fields(claimed),
        )

    def _settled(self, claimed: Claimed, status: str) -> None:
        if self.on_settled is None:
            return
        try:
            self.on_settled(claimed, status)
        except Exception:
            log.exception("the on_settled callback failed for event %s", claimed.id)

    def _retry(
        self, claimed: Claimed, reason: str, delay: timedelta, cause: Exception | None = None
    ) -> None:
        check_lease()
        if claimed.attempts >= self.max_attempts:
            why = f"gave up after {claimed.attempts} attempts: {reason}"
            if cause is not None and self._hand_over(claimed, cause):
                why += "; handed the conversation to the team"
            self._finish(claimed, EventStatus.DEAD, why)
            return
        with self.sessions.begin() as db:
            at = utcnow() + delay
            retried = retry_event(db, claimed.id, reason, at=at, attempt=claimed.attempts)
        if not retried:
            self._superseded(claimed)
            return
        log.warning(
            "event %s of conversation %s failed (attempt %d), retried in %.0f s: %s",
            claimed.id,
            claimed.conversation_id,
            claimed.attempts,
            delay.total_seconds(),
            reason,
            extra={**_event_fields(claimed), "status": EventStatus.FAILED},
        )
        self._settled(claimed, EventStatus.FAILED)
        if self.on_retry is not None:
            self.on_retry(claimed.workspace_id, claimed.conversation_id, delay.total_seconds())

    # -- one event -------------------------------------------------------------------------

    def handle(
        self, event: WebhookEvent, *, event_id: int | None = None, answer: bool = True
    ) -> Outcome:
        """Handle one parsed event; ``answer=False`` stores it without replying (a later
        message of the same burst will be answered instead)."""
        conversation = event.conversation
        workspace = self.settings.workspaces.get(event.app_id)
        if conversation is None or workspace is None:
            return skipped(f"topic {event.topic} carries no conversation deskmate handles")
        channel = self.hook.channel_for(conversation=conversation)
        if channel is None:
            return skipped(f"no channel plugin claims source type {conversation.source.type!r}")
        session = self._session(workspace, conversation, channel)
        turn = self._turn(workspace, conversation, session, channel, event_id)
        if event.topic in HUMAN_ACTS and (workspace.shadow(channel) or session.mode == "shadow"):
            self._record_human(event.topic, turn)
        with recording_hook_failures(lambda failure: self._audit_failure(turn, failure)):
            return self._on_topic(event, turn, session, answer)

    def _record_human(self, topic: str, turn: Turn) -> None:
        """Keep what a teammate did on a shadow-mode conversation, to set beside what the AI
        would have done (``deskmate shadow report``)."""
        parts = turn.conversation.parts
        author = parts[-1].author if parts else None
        if author is None or author.type != "admin" or author.id == turn.workspace.ai_admin_id:
            return
        did = HUMAN_ACTS[topic]
        self._audit(turn, "human", {"did": did, "admin_id": author.id, "part": parts[-1].id})

    def _on_topic(
        self, event: WebhookEvent, turn: Turn, session: SessionRecord, answer: bool
    ) -> Outcome:
        if event.topic in CUSTOMER_TOPICS:
            return self._customer_message(event, turn, session, answer)
        if event.topic in HISTORY_TOPICS:
            return self._history(turn, session, turn.conversation)
        if event.topic in ASSIGN_TOPICS:
            return self._assigned(event, turn, session)
        if event.topic in CLOSE_TOPICS:
            return self._closed(turn, session)
        return skipped(f"topic {event.topic} needs nothing from the AI")

    def _customer_message(
        self, event: WebhookEvent, turn: Turn, session: SessionRecord, answer: bool
    ) -> Outcome:
        messages, new = self._store(turn, session, _event_parts(turn.conversation, event.topic))
        for message in new:
            if message.author.is_customer:
                self.hook.inbound_message(turn=turn, message=message)
        customer = [m for m in messages if m.author.is_customer]
        if not customer:
            return self._skip(turn, "no customer message in this event")
        if not answer:
            return self._skip(turn, "a later message of the same burst is answered instead")
        return self._act_on(turn, session, customer[-1], event.topic)

    def _history(self, turn: Turn, session: SessionRecord, conversation: Conversation) -> Outcome:
        parts = _message_parts(conversation)
        _, new = self._store(turn, session, parts)
        own = self._own_parts(turn, session, parts)
        rep = [m for m in new if m.part_id not in own]
        for message in rep:
            self.hook.admin_message(turn=turn, message=message)
        if parts and len(own) == len(parts):
            return self._skip(turn, f"{OWN_ACTION}: its reply or note, kept in the history")
        return done(f"kept {len(rep)} rep message(s) as context; the AI does not answer them")

    def _own_parts(self, turn: Turn, session: SessionRecord, parts: list[Part]) -> set[str]:
        """The ids of ``parts`` deskmate wrote: by the AI admin, or created by its actions."""
        with self.sessions() as db:
            created = created_part_ids(db, session.id)
        ai_admin = turn.workspace.ai_admin_id
        return {p.id for p in parts if p.id in created or p.author.id == ai_admin}

    def _assigned(self, event: WebhookEvent, turn: Turn, session: SessionRecord) -> Outcome:
        workspace = turn.workspace
        if turn.conversation.admin_assignee_id != workspace.ai_admin_id:
            parts = _message_parts(turn.conversation)
            self._store(turn, session, parts)
            if parts and len(self._own_parts(turn, session, parts)) == len(parts):
                return self._skip(turn, f"{OWN_ACTION}: the assignment it made")
            return self._skip(turn, "assigned to someone other than the AI admin")
        if session.state == SessionState.HANDED_OFF:
            self._update(session.id, state=SessionState.OPEN)
            session.state = SessionState.OPEN
        if not workspace.process_on_assignment:
            return self._skip(turn, "assigned to the AI, but process_on_assignment is off")
        full = turn.intercom.get_conversation(turn.conversation.id)
        turn.conversation = full
        self._store(turn, session, [_source_part(full), *_message_parts(full)])
        said = [m for m in self._history_of(session) if m.kind != "note"]
        if not said or not said[-1].author.is_customer:
            return self._skip(
                turn, "assigned to the AI; the customer's last message is already answered"
            )
        return self._act_on(turn, session, said[-1], event.topic)

    def _closed(self, turn: Turn, session: SessionRecord) -> Outcome:
        by_ai = session.ai_turns > 0 and session.handed_off_at is None
        self._report(
            turn,
            Outcome(EventStatus.DONE, "conversation closed", CLOSED),
            resolved_by=RESOLVED_BY_AI if by_ai else RESOLVED_BY_HUMAN,
        )
        ai_owned = turn.conversation.admin_assignee_id == turn.workspace.ai_admin_id or (
            session.state == SessionState.OPEN and session.ai_turns > 0
        )
        if session.state == SessionState.RESOLVED or not ai_owned:
            return self._skip(turn, "closed while a human owned it; nothing for the AI to resolve")
        turn.messages = self._history_of(session)
        customer_text = " ".join(m.text for m in turn.messages if m.author.is_customer)
        summary = self.hook.summarize(turn=turn) or customer_text[:300]
        sentiment = sentiment_of(self.hook, customer_text, session.language, turn)
        self._update(
            session.id,
            state=SessionState.RESOLVED,
            summary=summary,
            sentiment=sentiment.label,
            resolved_at=utcnow(),
        )
        self._audit(turn, "resolved", {"summary": summary, "sentiment": sentiment.label})
        self.hook.session_resolved(turn=turn, summary=summary, sentiment=sentiment)
        return done("session resolved with a summary and sentiment")

    # -- deciding and acting ---------------------------------------------------------------

    def _act_on(self, turn: Turn, session: SessionRecord, trigger: Message, topic: str) -> Outcome:
        turn.messages = self._history_of(session)
        turn.latest = trigger
        decision = (
            self._handoff_begun(turn, session, trigger)
            or self.hook.should_process(turn=turn, channel=turn.channel, topic=topic)
            or Decision("skip", "no plugin decided whether to act", "undecided")
        )
        if decision.acts and decision.mode != "shadow" and turn.workspace.shadow(turn.channel):
            decision = Decision("shadow", f"shadow mode (the channel said: {decision.reason})")
        if (
            decision.mode == "autopilot"
            and session.state == SessionState.HANDED_OFF
            and turn.conversation.admin_assignee_id != turn.workspace.ai_admin_id
        ):
            decision = Decision(
                "skip",
                "handed off to the team; waiting to be assigned back to the AI",
                "waiting_for_team",
            )
        self._audit(
            turn,
            "decided",
            {"mode": decision.mode, "reason": decision.reason, "part": trigger.part_id},
        )
        if not decision.acts:
            outcome = skipped(decision.reason, SKIPPED, (reason_code(decision.code),))
            self._report(turn, outcome)
            return outcome
        turn.mode = decision.mode
        self._update(session.id, mode=decision.mode)
        if decision.mode == "shadow":
            turn.intercom = shadow_client(turn.intercom)
        turn.actions = self._effects(
            turn,
            _key_prefix(turn, trigger),
            turn.actions.event_id if turn.actions else None,
        )
        draft, reasons, brain = self._think(turn, session, trigger)
        if decision.mode == "shadow":
            return self._shadow(turn, trigger, draft, reasons)
        if draft is not None and draft.silent and not reasons:
            quiet = self._skip(turn, "nothing to answer: the customer acknowledged or closed")
            outcome = skipped(quiet.reason, SKIPPED, ("acknowledged",))
        elif decision.mode == "assist":
            outcome = self._assist(turn, draft, reasons)
        elif reasons:
            outcome = self._handoff(turn, session, reasons)
        else:
            outcome = self._reply(turn, session, draft)
        self._sync_tags(turn, session)
        first = None
        if outcome.decided == ANSWERED and session.ai_turns == 0:
            started = turn.conversation.created_at or session.created_at
            first = (utcnow() - started).total_seconds() if started else None
        self._report(turn, outcome, brain=brain, first_answer_seconds=first)
        return outcome

    def _report(
        self,
        turn: Turn,
        outcome: Outcome,
        *,
        brain: str = NO_BRAIN,
        first_answer_seconds: float | None = None,
        resolved_by: str | None = None,
    ) -> None:
        """Log what the AI did with the conversation and hand it to ``on_outcome``."""
        record = ConversationOutcome(
            workspace=turn.workspace.app_id,
            conversation=turn.conversation.id,
            channel=turn.channel or "",
            outcome=outcome.decided,
            reasons=outcome.codes,
            detail=outcome.reason,
            brain=brain,
            session_id=turn.session_id,
            event_id=turn.actions.event_id if turn.actions else None,
            first_answer_seconds=first_answer_seconds,
            resolved_by=resolved_by,
        )
        log_outcome(record)
        if self.on_outcome is None:
            return
        try:
            self.on_outcome(record)
        except Exception:
            log.exception("the on_outcome callback failed for conversation %s", record.conversation)

    def _handoff_begun(
        self, turn: Turn, session: SessionRecord, trigger: Message
    ) -> Decision | None:
        """An earlier attempt at this message began a handoff (its assignment is recorded):
        finish it in the mode it chose, whoever owns the conversation now. Its own assignment
        may have landed before the attempt died, and must not turn the retry into a skip that
        leaves the handoff half done."""
        with reading(self.sessions) as db:
            kinds = action_kinds(db, _key_prefix(turn, trigger) + ":")
        if session.mode is None or not kinds & HANDOFF_KINDS:
            return None
        return Decision(session.mode, "finishing the handoff an earlier attempt began")

    def _sync_tags(self, turn: Turn, session: SessionRecord) -> None:
        """Attach the session tags plugins added to ``turn.tags`` (created in Intercom if
        missing) and remember them on the session, so each is attached once."""
        known = list(session.tags or [])
        new = [name for name in dict.fromkeys(turn.tags) if name not in known]
        if not new:
            return
        for name in new:
            turn.actions.tag(turn, name)
        self._update(session.id, tags=[*known, *new])

    def _think(
        self, turn: Turn, session: SessionRecord, trigger: Message
    ) -> tuple[Draft | None, list[EscalationReason], str]:
        """Everything the AI works out before acting, recorded as what it saw; returns the
        draft, the escalation reasons and the plugin that drafted (the brain)."""
        text = trigger.text
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "conversation %s customer message: %s",
                turn.conversation.id,
                body_for_log(text),
                extra={"workspace": turn.workspace.app_id, "conversation": turn.conversation.id},
            )
        known = _known_language(session)
        thought = think(self.hook, turn, text, language=known)
        if thought.enrich_error is not None:
            self._audit(turn, "error", {"during": "enrich_context", "error": thought.enrich_error})
        learnt: dict[str, Any] = {"sentiment": thought.sentiment.label}
        guess = thought.language
        if known is None and guess is not None and _confident(guess):
            learnt |= {"language": guess.code, "language_confidence": guess.confidence}
        self._update(session.id, **learnt)
        code = guess.code if guess else None
        hits, draft, reasons, brain = thought.hits, thought.draft, thought.reasons, thought.brain
        self._audit(
            turn,
            "saw",
            {
                "message": text[:2000],
                "history": len(turn.messages),
                "language": code,
                "sentiment": thought.sentiment.label,
                "cues": list(thought.sentiment.cues),
                "enrichment": {k: str(v)[:200] for k, v in turn.enrichment.items()},
                "hits": [
                    {"title": h.title, "score": round(h.score, 4), "url": h.url} for h in hits
                ],
                "draft": None
                if draft is None
                else {
                    "confidence": round(draft.confidence, 3),
                    "text": draft.text[:2000],
                    "citations": _cited(draft.citations),
                },
                "brain": brain,
                "reasons": [{"code": r.code, "detail": r.detail} for r in reasons],
            },
        )
        return draft, reasons, brain

    def _reply(self, turn: Turn, session: SessionRecord, draft: Draft | None) -> Outcome:
        if draft is None:
            reason = EscalationReason("no_knowledge", "the AI has no answer for this question")
            return self._handoff(turn, session, [reason])
        turn.actions.reply(turn, self._body(turn, draft))
        self._answered(turn, session, draft)
        if turn.workspace.handoff.citation_note and draft.citations:
            turn.actions.note(
                turn, _citation_note(draft.citations, turn.session_url), key="citations"
            )
        return done(f"answered with confidence {draft.confidence:.2f}", ANSWERED)

    def _answered(self, turn: Turn, session: SessionRecord, draft: Draft) -> None:
        """Count the reply, and keep for the dashboard the time to the first answer (from the
        customer's first message) and the documents the answer cited."""
        values: dict[str, Any] = {"ai_turns": session.ai_turns + 1}
        asked = next((m.created_at for m in turn.messages if m.author.is_customer), None)
        if session.first_answer_seconds is None:
            since = asked or session.created_at
            values["first_answer_seconds"] = max(0.0, (utcnow() - since).total_seconds())
        self._update(session.id, **values)
        with self.sessions.begin() as db:
            add_citations(db, session.id, turn.workspace.app_id, draft.citations)

    def _assist(self, turn: Turn, draft: Draft | None, reasons: list[EscalationReason]) -> Outcome:
        silent = [r.code for r in reasons if r.code in SILENT_ASSIST]
        if draft is None or silent:
            why = ", ".join(silent) or "no draft"
            outcome = self._skip(turn, f"assist stays quiet: {why}")
            return skipped(outcome.reason, SKIPPED, tuple(silent) or ("no_draft",))
        header = f"<p><b>Suggested reply</b> (confidence {draft.confidence:.0%})</p>"
        body = header + self._body(turn, draft) + _sources(draft.citations)
        turn.actions.note(turn, body, key="assist-note")
        turn.actions.tag(turn, turn.workspace.handoff.assist_tag)
        return done("drafted a reply for the rep as an internal note", ASSISTED)

    def _body(self, turn: Turn, draft: Draft) -> str:
        """The reply's HTML: the channel's formatting of the draft, else its paragraphs."""
        formatted = self.hook.format_reply(channel=turn.channel, draft=draft, turn=turn)
        return formatted or _paragraphs(draft.text)

    def _shadow(
        self,
        turn: Turn,
        trigger: Message,
        draft: Draft | None,
        reasons: list[EscalationReason],
    ) -> Outcome:
        """Work out what autopilot would do, through the same hooks, and record it (audit kind
        ``shadow``); the turn's guard withholds every action, so nothing is sent."""
        assert isinstance(turn.actions, ShadowEffects)
        if draft is None and not reasons:
            reasons = [EscalationReason("no_knowledge", "the AI has no answer for this question")]
        record: dict[str, Any] = {
            "part": trigger.part_id,
            "would": "handoff" if reasons else "answer",
            "confidence": round(draft.confidence, 3) if draft else None,
            "citations": _cited(draft.citations) if draft else [],
            "reasons": [{"code": r.code, "detail": r.detail} for r in reasons],
            "reply": None,
        }
        if reasons:
            summary = self.hook.summarize(turn=turn) or _said(turn)
            self.hook.escalate(turn=turn, handoff=_handoff_of(turn, reasons, summary))
        elif draft is not None and draft.silent:
            record["would"] = "quiet"
        elif draft is not None:
            record["reply"] = self._body(turn, draft)
            turn.actions.reply(turn, record["reply"])
        for name in dict.fromkeys(turn.tags):
            turn.actions.tag(turn, name)
        record["withheld"] = turn.actions.withheld
        self._audit(turn, "shadow", record)
        if turn.workspace.shadow_note:
            turn.actions.shadow_note(turn, shadow_note_html(record))
        codes = ", ".join(r["code"] for r in record["reasons"])
        if reasons:
            return done(f"shadow: would hand off: {codes}")
        return done("shadow: would answer" if record["reply"] else "shadow: would stay quiet")

    def _handoff(
        self, turn: Turn, session: SessionRecord, reasons: list[EscalationReason]
    ) -> Outcome:
        summary = self.hook.summarize(turn=turn) or _said(turn)
        self._escalate(turn, session, _handoff_of(turn, reasons, summary))
        codes = tuple(reason_code(r.code) for r in reasons)
        return done("handed off: " + ", ".join(r.code for r in reasons), HANDED_OFF, codes)

    def _escalate(
        self, turn: Turn, session: SessionRecord, handoff: Handoff, *, last_resort: bool = False
    ) -> None:
        """Run the handoff's actions, mark the session handed off and tell the plugins.

        As a ``last_resort``, a plugin's own ``escalate`` that fails gives way to deskmate's.
        """
        try:
            results = self.hook.escalate(turn=turn, handoff=handoff) or []
        except PluginHookError as exc:
            if not last_resort or exc.failure.hook != "escalate":
                raise
            results = builtin_escalate(turn, handoff)
        self._update(
            session.id,
            state=SessionState.HANDED_OFF,
            handed_off_at=utcnow(),
            summary=handoff.summary,
            handoff_reason=handoff.reasons[0].code if handoff.reasons else None,
        )
        self.hook.handed_off(turn=turn, handoff=handoff, results=results)

    # -- giving up -------------------------------------------------------------------------

    def _hand_over(self, claimed: Claimed, cause: Exception) -> bool:
        """The event is dead: when the AI was answering its conversation, hand it to the team
        with a note saying what failed, so the customer is never left in silence.

        Its actions are keyed on the event, so a replay that dies again repeats none of them;
        a handover that fails itself is logged and audited, never retried. Returns whether the
        conversation was handed over.
        """
        workspace = self.settings.workspaces.get(claimed.workspace_id)
        if workspace is None or not workspace.handoff.on_failure:
            return False
        try:
            return self._hand_over_dead(claimed, workspace, cause)
        except Exception:
            log.exception(
                "could not hand conversation %s to the team after event %s failed",
                claimed.conversation_id,
                claimed.id,
            )
            return False

    def _hand_over_dead(
        self, claimed: Claimed, workspace: WorkspaceSettings, cause: Exception
    ) -> bool:
        conversation = parse_event(json.loads(claimed.payload)).conversation
        with self.sessions() as db:
            session = get_session(db, claimed.workspace_id, claimed.conversation_id)
            if session is not None:
                db.expunge(session)
        owner = self._newest_owner(claimed.workspace_id, claimed.conversation_id)
        if conversation is None or session is None or not _ai_answering(session, owner, workspace):
            return False
        turn = self._turn(workspace, conversation, session, session.channel or "", claimed.id)
        turn.actions.key_prefix = f"{turn.actions.key_prefix}:gave-up:{claimed.id}"
        turn.mode = "autopilot"
        turn.messages = self._history_of(session)
        turn.latest = next((m for m in reversed(turn.messages) if m.author.is_customer), None)
        turn.sentiment = Sentiment(session.sentiment or "unknown")
        if session.language:
            confidence = session.language_confidence or 0.0
            turn.language = LanguageGuess(session.language, confidence, "session")
        failed = what_failed(cause)
        reason = EscalationReason(
            "processing_failed",
            f"deskmate gave up on this conversation after {claimed.attempts} attempts: {failed}."
            " See `deskmate events list --failed`.",
        )
        with recording_hook_failures(lambda failure: self._audit_failure(turn, failure)):
            self._audit(turn, "gave_up", {"attempts": claimed.attempts, "failed": failed})
            handoff = _handoff_of(turn, [reason], session.summary or _said(turn))
            self._escalate(turn, session, handoff, last_resort=True)
        return True

    # -- helpers ---------------------------------------------------------------------------

    def _session(
        self, workspace: WorkspaceSettings, conversation: Conversation, channel: str
    ) -> SessionRecord:
        contact = conversation.contact_ids[0] if conversation.contact_ids else None
        with self.sessions.begin() as db:
            record = get_or_open_session(
                db, workspace.app_id, conversation.id, channel=channel, contact_id=contact
            )
            db.expunge(record)
        return record

    def _turn(
        self,
        workspace: WorkspaceSettings,
        conversation: Conversation,
        session: SessionRecord,
        channel: str,
        event_id: int | None,
    ) -> Turn:
        client = self._client(workspace)
        turn = Turn(
            workspace=workspace,
            conversation=conversation,
            session_id=session.id,
            channel=channel,
            tags=list(session.tags or []),
            session_url=session_link(self.settings, session.id),
            intercom=shadow_client(client) if workspace.shadow(channel) else client,
            settings=self.settings,
        )
        turn.actions = self._effects(turn, f"{workspace.app_id}:{conversation.id}", event_id)
        return turn

    def _effects(self, turn: Turn, key_prefix: str, event_id: int | None) -> Effects:
        """The turn's actions: performed once each, or all withheld in shadow mode."""
        shadow = turn.mode == "shadow" or turn.workspace.shadow(turn.channel)
        kind = ShadowEffects if shadow else Effects
        return kind(
            self.hook,
            self.sessions,
            session_id=turn.session_id,
            workspace_id=turn.workspace.app_id,
            key_prefix=key_prefix,
            event_id=event_id,
        )

    def _client(self, workspace: WorkspaceSettings) -> Any:
        if workspace.app_id not in self._clients:
            self._clients[workspace.app_id] = self.clients(workspace)
        return self._clients[workspace.app_id]

    def _normalize(self, turn: Turn, part: Part) -> Message:
        message = self.hook.normalize_message(
            channel=turn.channel, part=part, conversation=turn.conversation, settings=self.settings
        )
        if message is not None:
            return message
        kind = "note" if part.part_type == "note" else "comment"
        return Message(
            part.id,
            part.author,
            html_to_text(part.body),
            part.body,
            created_at=part.created_at,
            kind=kind,
        )

    def _store(
        self, turn: Turn, session: SessionRecord, parts: Iterable[Part]
    ) -> tuple[list[Message], list[Message]]:
        """Normalise and keep the parts' messages; returns them all and those that were new."""
        messages = [self._normalize(turn, part) for part in parts]
        messages = [m for m in messages if m.text or m.attachments]
        with self.sessions.begin() as db:
            record = db.get(SessionRecord, session.id)
            return messages, [m for m in messages if add_message(db, record, m)]

    def _history_of(self, session: SessionRecord) -> list[Message]:
        with reading(self.sessions) as db:
            record = db.get(SessionRecord, session.id)
            return history(db, record, limit=HISTORY_LIMIT)

    def _update(self, session_id: int, **values: Any) -> None:
        with self.sessions.begin() as db:
            record = db.get(SessionRecord, session_id)
            for key, value in values.items():
                setattr(record, key, value)

    def _audit(self, turn: Turn, kind: str, data: dict[str, Any]) -> None:
        event_id = turn.actions.event_id if turn.actions else None
        with self.sessions.begin() as db:
            append_audit(
                db,
                workspace_id=turn.workspace.app_id,
                session_id=turn.session_id,
                event_id=event_id,
                kind=kind,
                data=data,
            )

    def _audit_failure(self, turn: Turn, failure: HookFailure) -> None:
        """Record a plugin's isolated failure in the session's audit (never raises: it runs
        inside the failing hook's call)."""
        try:
            self._audit(turn, "plugin_failed", failure.as_dict())
        except Exception:
            log.exception("could not record %s's failure in the audit", failure.plugin)

    def _skip(self, turn: Turn, reason: str) -> Outcome:
        self._audit(turn, "skipped", {"reason": reason})
        return skipped(reason)


def _known_language(session: SessionRecord) -> LanguageGuess | None:
    """The session's language once a confident guess was kept, so it is not guessed again."""
    if session.language and (session.language_confidence or 0) >= CONFIDENT_LANGUAGE:
        return LanguageGuess(session.language, session.language_confidence or 1.0, "session")
    return None


def _confident(guess: LanguageGuess) -> bool:
    """A guess from the customer's own words, sure enough to keep for the session."""
    return guess.confidence >= CONFIDENT_LANGUAGE and guess.source == "text"


class RunsKeptStopping(Exception):
    """Every run that took the event stopped before recording how it ended (a killed or crashed
    worker), until it had been tried ``max_attempts`` times."""


def what_failed(cause: Exception) -> str:
    """What went wrong, for the rep's note: the plugin and hook, Intercom's answer, or the kind
    of error (never its text, which may carry customer data)."""
    if isinstance(cause, RunsKeptStopping):
        return "every attempt stopped before it finished (the worker was killed or crashed)"
    if isinstance(cause, PluginHookError):
        return f"the plugin {cause.failure.plugin!r} failed in its {cause.failure.hook} hook"
    if isinstance(cause, IntercomError):
        status = f" (HTTP {cause.status})" if cause.status else ""
        return f"Intercom kept failing{status}"
    return f"an internal error ({type(cause).__name__})"


def _ai_answering(
    session: SessionRecord, owner: Owner | None, workspace: WorkspaceSettings
) -> bool:
    """Whether the AI is answering the conversation on its own: in autopilot, not handed off,
    and assigned to nobody or to the AI admin."""
    admin = owner[0] if owner else None
    return (
        session.state == SessionState.OPEN
        and session.mode == "autopilot"
        and admin in (None, workspace.ai_admin_id)
    )


def _cited(hits: list[Hit]) -> list[dict[str, Any]]:
    """The citations of a draft as the audit keeps them (for replay and shadow reports)."""
    return [{"doc_id": h.doc_id, "title": h.title, "url": h.url} for h in hits]


def _said(turn: Turn) -> str:
    return turn.latest.text[:300] if turn.latest else ""


def _handoff_of(turn: Turn, reasons: list[EscalationReason], summary: str) -> Handoff:
    routing = turn.workspace.routing
    return Handoff(
        reasons=reasons,
        summary=summary,
        sentiment=turn.sentiment or Sentiment("unknown"),
        language=turn.language.code if turn.language else None,
        route=Route(routing.mode, routing.admin_id, routing.team_id),
        session_url=turn.session_url,
    )


def _key_prefix(turn: Turn, trigger: Message) -> str:
    """Idempotency keys of a turn's effects start with this: the message that triggered it."""
    return f"{turn.workspace.app_id}:{turn.conversation.id}:{trigger.part_id}"


def _detached(record: EventRecord, workspace_id: str, conversation_id: str) -> Claimed:
    return Claimed(
        record.id,
        workspace_id,
        conversation_id,
        record.topic,
        record.payload,
        record.attempts,
        record.received_at,
    )


def _event_fields(claimed: Claimed) -> dict[str, Any]:
    """The structured log fields naming an event."""
    return {
        "workspace": claimed.workspace_id,
        "conversation": claimed.conversation_id,
        "event": claimed.id,
        "topic": claimed.topic,
    }


def _source_part(conversation: Conversation) -> Part:
    """The conversation's opening message as a part (Intercom keeps it outside the parts)."""
    source = conversation.source
    return Part(
        id=source.id,
        part_type="source",
        body=source.body,
        author=source.author,
        created_at=conversation.created_at,
        attachments=source.attachments,
    )


def _message_parts(conversation: Conversation) -> list[Part]:
    return [p for p in conversation.parts if p.part_type in MESSAGE_PARTS]


def _event_parts(conversation: Conversation, topic: str) -> list[Part]:
    parts = _message_parts(conversation)
    if topic == "conversation.user.created":
        return [_source_part(conversation), *parts]
    return parts


def _paragraphs(text: str) -> str:
    return "".join(f"<p>{escape(p)}</p>" for p in text.split("\n\n") if p.strip())


def _sources(hits: list[Hit]) -> str:
    links = [
        f'<li><a href="{escape(h.url, quote=True)}">{escape(h.title)}</a></li>'
        if h.url
        else f"<li>{escape(h.title)}</li>"
        for h in hits
    ]
    return f"<p><b>Sources</b></p><ul>{''.join(links)}</ul>" if links else ""


def _citation_note(hits: list[Hit], session_url: str | None) -> str:
    audit = (
        f'<p><a href="{escape(session_url, quote=True)}">Session audit</a></p>'
        if session_url
        else ""
    )
    return _sources(hits) + audit
