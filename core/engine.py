"""The engine: event → session → decide → act. The only place that sequences a conversation.

A run takes the conversation's lease, claims its due events in order and handles each one; the
hooks decide (channel, whether to act, language, sentiment, knowledge, reply, escalation) and
``turn.actions`` acts, once. Every decision and action goes to the session's audit trail.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from itertools import chain
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
from deskmate.core.html import html_to_text
from deskmate.core.intercom.errors import Forbidden, IntercomError, Unauthorized
from deskmate.core.intercom.models import Conversation, Part, WebhookEvent
from deskmate.core.intercom.webhooks import CUSTOMER_TOPICS, UnprocessableEvent, parse_event
from deskmate.core.pages import session_link
from deskmate.core.plugins import PluginHost
from deskmate.core.store.audit import append_audit
from deskmate.core.store.events import claim_events, finish_event, retry_event
from deskmate.core.store.leases import acquire_lease, release_lease
from deskmate.core.store.models import (
    EventRecord,
    EventStatus,
    SessionRecord,
    SessionState,
    utcnow,
)
from deskmate.core.store.sessions import add_message, get_or_open_session, history

log = logging.getLogger(__name__)

HISTORY_TOPICS = frozenset(
    {"conversation.admin.replied", "conversation.admin.noted", "conversation.operator.replied"}
)
ASSIGN_TOPICS = frozenset({"conversation.admin.assigned", "conversation.admin.open.assigned"})
CLOSE_TOPICS = frozenset({"conversation.admin.closed"})
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
KNOWLEDGE_LIMIT = 5
BACKOFF_SECONDS = 2.0
AUTH_RETRY = timedelta(minutes=5)


@dataclass(frozen=True)
class Outcome:
    """How an event ended: ``done`` or ``skipped``, and why (kept on the event row)."""

    status: str
    reason: str


def done(reason: str) -> Outcome:
    return Outcome(EventStatus.DONE, reason)


def skipped(reason: str) -> Outcome:
    return Outcome(EventStatus.SKIPPED, reason)


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

    # -- runs ------------------------------------------------------------------------------

    def run_conversation(self, workspace_id: str, conversation_id: str) -> int:
        """Handle every due event of the conversation in order; returns how many were handled.

        Returns at once when another run holds the conversation: that run handles the events.
        """
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid4().hex[:8]}"
        handled = 0
        while self._take(workspace_id, conversation_id, owner):
            try:
                handled += self._drain(workspace_id, conversation_id)
            finally:
                with self.sessions.begin() as db:
                    release_lease(db, workspace_id, conversation_id, owner)
            if not self._has_due(workspace_id, conversation_id):
                break
        return handled

    def _take(self, workspace_id: str, conversation_id: str, owner: str) -> bool:
        with self.sessions.begin() as db:
            return acquire_lease(db, workspace_id, conversation_id, owner, self.lease)

    def _drain(self, workspace_id: str, conversation_id: str) -> int:
        handled = 0
        while True:
            with self.sessions.begin() as db:
                events = [
                    Claimed(
                        e.id,
                        workspace_id,
                        conversation_id,
                        e.topic,
                        e.payload,
                        e.attempts,
                        e.received_at,
                    )
                    for e in claim_events(db, workspace_id, conversation_id, lease=self.lease)
                ]
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
        with self.sessions() as db:
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
        with self.sessions() as db:
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
            log.exception("event %s failed", claimed.id)
            delay = timedelta(seconds=BACKOFF_SECONDS * 2 ** min(claimed.attempts - 1, 8))
            self._retry(claimed, f"{type(exc).__name__}: {exc}", delay)
        else:
            self._finish(claimed, outcome.status, outcome.reason)

    def _finish(self, claimed: Claimed, status: str, reason: str) -> None:
        with self.sessions.begin() as db:
            finish_event(db, claimed.id, status, reason)
        self._settled(claimed, status)

    def _settled(self, claimed: Claimed, status: str) -> None:
        if self.on_settled is None:
            return
        try:
            self.on_settled(claimed, status)
        except Exception:
            log.exception("the on_settled callback failed for event %s", claimed.id)

    def _retry(self, claimed: Claimed, reason: str, delay: timedelta) -> None:
        if claimed.attempts >= self.max_attempts:
            why = f"gave up after {claimed.attempts} attempts: {reason}"
            self._finish(claimed, EventStatus.DEAD, why)
            return
        with self.sessions.begin() as db:
            retry_event(db, claimed.id, reason, at=utcnow() + delay)
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
        if event.topic in CUSTOMER_TOPICS:
            return self._customer_message(event, turn, session, answer)
        if event.topic in HISTORY_TOPICS:
            return self._history(turn, session, conversation)
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
        _, new = self._store(turn, session, _message_parts(conversation))
        for message in new:
            if message.author.id != turn.workspace.ai_admin_id:
                self.hook.admin_message(turn=turn, message=message)
        return done(f"kept {len(new)} rep message(s) as context; the AI does not answer them")

    def _assigned(self, event: WebhookEvent, turn: Turn, session: SessionRecord) -> Outcome:
        workspace = turn.workspace
        if turn.conversation.admin_assignee_id != workspace.ai_admin_id:
            self._store(turn, session, _message_parts(turn.conversation))
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
        ai_owned = turn.conversation.admin_assignee_id == turn.workspace.ai_admin_id or (
            session.state == SessionState.OPEN and session.ai_turns > 0
        )
        if session.state == SessionState.RESOLVED or not ai_owned:
            return self._skip(turn, "closed while a human owned it; nothing for the AI to resolve")
        turn.messages = self._history_of(session)
        customer_text = " ".join(m.text for m in turn.messages if m.author.is_customer)
        summary = self.hook.summarize(turn=turn) or customer_text[:300]
        sentiment = self._sentiment(customer_text, session.language, turn)
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
        decision = self.hook.should_process(
            turn=turn, channel=turn.channel, topic=topic
        ) or Decision("skip", "no plugin decided whether to act")
        if (
            decision.mode == "autopilot"
            and session.state == SessionState.HANDED_OFF
            and turn.conversation.admin_assignee_id != turn.workspace.ai_admin_id
        ):
            decision = Decision(
                "skip", "handed off to the team; waiting to be assigned back to the AI"
            )
        self._audit(
            turn,
            "decided",
            {"mode": decision.mode, "reason": decision.reason, "part": trigger.part_id},
        )
        if not decision.acts:
            return skipped(decision.reason)
        turn.mode = decision.mode
        self._update(session.id, mode=decision.mode)
        turn.actions = Effects(
            self.hook,
            self.sessions,
            session_id=session.id,
            workspace_id=turn.workspace.app_id,
            key_prefix=f"{turn.workspace.app_id}:{turn.conversation.id}:{trigger.part_id}",
            event_id=turn.actions.event_id if turn.actions else None,
        )
        draft, reasons = self._think(turn, session, trigger)
        if decision.mode == "assist":
            outcome = self._assist(turn, draft, reasons)
        elif reasons:
            outcome = self._handoff(turn, session, reasons)
        else:
            outcome = self._reply(turn, session, draft)
        self._sync_tags(turn, session)
        return outcome

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
    ) -> tuple[Draft | None, list[EscalationReason]]:
        """Everything the AI works out before acting, recorded as what it saw."""
        text = trigger.text
        self._enrich(turn)
        turn.language = self._language(text, session, turn)
        code = turn.language.code if turn.language else None
        hits = self._search(text, code, turn)
        draft = self.hook.generate_reply(turn=turn, hits=hits)
        # after the draft: a model-backed brain rates the mood from the same call
        turn.sentiment = self._sentiment(text, code, turn)
        self._update(session.id, sentiment=turn.sentiment.label)
        reasons = list(chain.from_iterable(self.hook.escalation_reasons(turn=turn, draft=draft)))
        self._audit(
            turn,
            "saw",
            {
                "message": text[:2000],
                "history": len(turn.messages),
                "language": code,
                "sentiment": turn.sentiment.label,
                "cues": list(turn.sentiment.cues),
                "enrichment": {k: str(v)[:200] for k, v in turn.enrichment.items()},
                "hits": [
                    {"title": h.title, "score": round(h.score, 4), "url": h.url} for h in hits
                ],
                "draft": None
                if draft is None
                else {"confidence": round(draft.confidence, 3), "text": draft.text[:2000]},
                "reasons": [{"code": r.code, "detail": r.detail} for r in reasons],
            },
        )
        return draft, reasons

    def _reply(self, turn: Turn, session: SessionRecord, draft: Draft | None) -> Outcome:
        if draft is None:
            reason = EscalationReason("no_knowledge", "the AI has no answer for this question")
            return self._handoff(turn, session, [reason])
        body = self.hook.format_reply(channel=turn.channel, draft=draft, turn=turn) or _paragraphs(
            draft.text
        )
        turn.actions.reply(turn, body)
        self._update(session.id, ai_turns=session.ai_turns + 1)
        if turn.workspace.handoff.citation_note and draft.citations:
            turn.actions.note(
                turn, _citation_note(draft.citations, turn.session_url), key="citations"
            )
        return done(f"answered with confidence {draft.confidence:.2f}")

    def _assist(self, turn: Turn, draft: Draft | None, reasons: list[EscalationReason]) -> Outcome:
        silent = [r.code for r in reasons if r.code in SILENT_ASSIST]
        if draft is None or silent:
            why = ", ".join(silent) or "no draft"
            return self._skip(turn, f"assist stays quiet: {why}")
        body = self.hook.format_reply(channel=turn.channel, draft=draft, turn=turn) or _paragraphs(
            draft.text
        )
        header = f"<p><b>Suggested reply</b> (confidence {draft.confidence:.0%})</p>"
        turn.actions.note(turn, header + body + _sources(draft.citations), key="assist-note")
        turn.actions.tag(turn, turn.workspace.handoff.assist_tag)
        return done("drafted a reply for the rep as an internal note")

    def _handoff(
        self, turn: Turn, session: SessionRecord, reasons: list[EscalationReason]
    ) -> Outcome:
        routing = turn.workspace.routing
        summary = self.hook.summarize(turn=turn) or (turn.latest.text[:300] if turn.latest else "")
        handoff = Handoff(
            reasons=reasons,
            summary=summary,
            sentiment=turn.sentiment or Sentiment("unknown"),
            language=turn.language.code if turn.language else None,
            route=Route(routing.mode, routing.admin_id, routing.team_id),
            session_url=turn.session_url,
        )
        results = self.hook.escalate(turn=turn, handoff=handoff) or []
        self._update(
            session.id, state=SessionState.HANDED_OFF, handed_off_at=utcnow(), summary=summary
        )
        self.hook.handed_off(turn=turn, handoff=handoff, results=results)
        return done("handed off: " + ", ".join(r.code for r in reasons))

    # -- helpers ---------------------------------------------------------------------------

    def _language(self, text: str, session: SessionRecord, turn: Turn) -> LanguageGuess | None:
        if session.language and (session.language_confidence or 0) >= CONFIDENT_LANGUAGE:
            return LanguageGuess(session.language, session.language_confidence or 1.0, "session")
        guess = self.hook.detect_language(text=text, turn=turn)
        if guess is not None and guess.confidence >= CONFIDENT_LANGUAGE and guess.source == "text":
            self._update(session.id, language=guess.code, language_confidence=guess.confidence)
        return guess

    def _sentiment(self, text: str, language: str | None, turn: Turn) -> Sentiment:
        found = self.hook.analyze_sentiment(text=text, language=language, turn=turn)
        return found or Sentiment("unknown")

    def _enrich(self, turn: Turn) -> None:
        try:
            for facts in self.hook.enrich_context(turn=turn):
                turn.enrichment.update(facts)
        except IntercomError as exc:
            self._audit(turn, "error", {"during": "enrich_context", "error": str(exc)})

    def _search(self, text: str, language: str | None, turn: Turn) -> list[Hit]:
        found = chain.from_iterable(
            self.hook.search_knowledge(
                query=text, language=language, turn=turn, limit=KNOWLEDGE_LIMIT
            )
        )
        return sorted(found, key=lambda h: h.score, reverse=True)[:KNOWLEDGE_LIMIT]

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
        turn = Turn(
            workspace=workspace,
            conversation=conversation,
            session_id=session.id,
            channel=channel,
            tags=list(session.tags or []),
            session_url=session_link(self.settings, session.id),
            intercom=self._client(workspace),
            settings=self.settings,
        )
        turn.actions = Effects(
            self.hook,
            self.sessions,
            session_id=session.id,
            workspace_id=workspace.app_id,
            key_prefix=f"{workspace.app_id}:{conversation.id}",
            event_id=event_id,
        )
        return turn

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
        with self.sessions() as db:
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

    def _skip(self, turn: Turn, reason: str) -> Outcome:
        self._audit(turn, "skipped", {"reason": reason})
        return skipped(reason)


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
