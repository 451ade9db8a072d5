"""Effects on Intercom, exactly once: every action hook call goes through an idempotency key.

The engine gives each turn an :class:`Effects` whose keys derive from the part that triggered the
run, so a retried job, a duplicate webhook or the same part under two topics finds the action
already ``done`` and does nothing. When an earlier attempt's outcome is not known (a timeout, or
a run killed before it recorded the answer) the next attempt re-reads the conversation and
records the action as done if it shows there (:mod:`deskmate.core.reread`) instead of repeating
it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from deskmate.core.domain import ActionResult, Route, Turn
from deskmate.core.intercom.errors import IntercomError
from deskmate.core.lease_keeper import check_lease
from deskmate.core.reread import already_applied
from deskmate.core.store.actions import begin_action, complete_action, get_action, retry_action
from deskmate.core.store.audit import append_audit
from deskmate.core.store.models import ActionRecord, ActionStatus

log = logging.getLogger(__name__)

UNSETTLED = frozenset({ActionStatus.PENDING, ActionStatus.UNKNOWN})
"""An earlier attempt in these states may have taken effect: look before acting again."""


class Effects:
    """Idempotent, audited calls of the action hooks for one turn of one conversation."""

    def __init__(
        self,
        hook: Any,
        sessions: sessionmaker[Session],
        *,
        session_id: int,
        workspace_id: str,
        key_prefix: str,
        event_id: int | None = None,
    ) -> None:
        self.hook = hook
        self.sessions = sessions
        self.session_id = session_id
        self.workspace_id = workspace_id
        self.key_prefix = key_prefix
        self.event_id = event_id
        self.results: list[ActionResult] = []

    def reply(self, turn: Turn, body: str, key: str = "reply") -> ActionResult:
        return self._do(
            turn, "reply", key, {"body": body}, lambda: self.hook.post_reply(turn=turn, body=body)
        )

    def note(self, turn: Turn, body: str, key: str = "note") -> ActionResult:
        return self._do(
            turn, "note", key, {"body": body}, lambda: self.hook.post_note(turn=turn, body=body)
        )

    def tag(self, turn: Turn, name: str) -> ActionResult:
        return self._do(
            turn, "tag", f"tag:{name}", {"name": name}, lambda: self.hook.tag(turn=turn, name=name)
        )

    def assign(self, turn: Turn, route: Route) -> ActionResult:
        return self._do(
            turn,
            "assign",
            "assign",
            asdict(route),
            lambda: self.hook.assign(turn=turn, route=route),
        )

    def set_attributes(self, turn: Turn, attributes: dict[str, Any]) -> ActionResult:
        return self._do(
            turn,
            "attributes",
            "attributes",
            {"attributes": attributes},
            lambda: self.hook.set_attributes(turn=turn, attributes=attributes),
        )

    def audit(self, kind: str, data: dict[str, Any]) -> None:
        """Add a record to the session's audit trail: what a plugin saw or spent, e.g. a
        model-backed plugin's ``model`` record (calls, tokens) that ``deskmate eval`` adds up."""
        with self.sessions.begin() as db:
            append_audit(
                db,
                workspace_id=self.workspace_id,
                session_id=self.session_id,
                event_id=self.event_id,
                kind=kind,
                data=data,
            )

    def _do(
        self,
        turn: Turn,
        kind: str,
        key: str,
        request: dict[str, Any],
        call: Callable[[], ActionResult | None],
    ) -> ActionResult:
        check_lease()
        full_key = f"{self.key_prefix}:{key}"
        with self.sessions.begin() as db:
            record, new = begin_action(
                db,
                session_id=self.session_id,
                workspace_id=self.workspace_id,
                idempotency_key=full_key,
                kind=kind,
                request=request,
            )
            status, response = record.status, record.response
        if not new and status == ActionStatus.DONE:
            return self._remember(ActionResult(kind, True, "already done", response=response))
        # The re-read is an Intercom call: made outside any transaction, so no lock waits on it.
        found = already_applied(turn, kind, request) if status in UNSETTLED and not new else None
        if found is not None:
            result = ActionResult(kind, True, "found on re-read; not made again", response=found)
            self._settle(full_key, ActionStatus.DONE, found, None, audit=result)
            return self._remember(result)
        if not new:
            with self.sessions.begin() as db:
                retry_action(db, _action(db, full_key))
        return self._perform(kind, full_key, call)

    def _perform(
        self, kind: str, key: str, call: Callable[[], ActionResult | None]
    ) -> ActionResult:
        check_lease()  # again: the re-read before it may have waited on Intercom
        try:
            result = call() or ActionResult(kind, False, "no plugin performed this action")
        except IntercomError as exc:
            status = ActionStatus.UNKNOWN if exc.ambiguous else ActionStatus.FAILED
            failed = ActionResult(kind, False, str(exc), status=exc.status)
            self._settle(key, status, None, str(exc), audit=failed)
            self._log(key, failed, status)
            raise
        status = ActionStatus.DONE if result.ok else ActionStatus.FAILED
        error = None if result.ok else result.detail
        self._settle(key, status, result.response, error, audit=result)
        self._log(key, result, status)
        return self._remember(result)

    def _log(self, key: str, result: ActionResult, status: str) -> None:
        """One line per Intercom write: INFO when it worked, WARNING when not (never a body)."""
        log.log(
            logging.INFO if result.ok else logging.WARNING,
            "intercom %s %s (HTTP %s) for session %s: %s",
            result.action,
            status,
            result.status if result.status is not None else "-",
            self.session_id,
            result.detail[:200],
            extra={
                "workspace": self.workspace_id,
                "session": self.session_id,
                "event": self.event_id,
                "action": result.action,
                "action_status": status,
                "http_status": result.status,
                "key": key,
            },
        )

    def _settle(
        self,
        key: str,
        status: str,
        response: Any,
        error: str | None,
        *,
        audit: ActionResult | None = None,
    ) -> None:
        """Record how the action ended and, when given, what it did, in one transaction."""
        with self.sessions.begin() as db:
            complete_action(db, _action(db, key), status, response=response, error=error)
            if audit is not None:
                append_audit(
                    db,
                    workspace_id=self.workspace_id,
                    session_id=self.session_id,
                    event_id=self.event_id,
                    kind="acted",
                    data=asdict(audit),
                )

    def _remember(self, result: ActionResult) -> ActionResult:
        self.results.append(result)
        return result


def _action(db: Session, key: str) -> ActionRecord:
    """The action recorded under ``key`` (begun earlier in this run)."""
    record = get_action(db, key)
    if record is None:
        raise LookupError(f"no action recorded under {key!r}")
    return record
