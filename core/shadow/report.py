"""What the AI would have done in shadow mode, beside what the teammates then did.

Each ``shadow`` audit record is one decision; the ``human`` records of the same session after
it (and before the session's next decision) are what the team did with that message. A
decision's human outcome is the strongest of them: ``replied``, else ``closed`` (without a
reply), else ``assigned``, else ``none`` (nothing yet).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from deskmate.core.store.models import AuditRecord, SessionRecord

OUTCOMES = ("replied", "closed", "assigned", "none")
WOULD = ("answer", "handoff", "quiet")
"""What the AI would have done: answer, hand off, or stay quiet (the customer only thanked)."""
MAX_RECORDS = 200_000


@dataclass
class ShadowDecision:
    """One shadow decision and what the team did after it."""

    session_id: int
    workspace_id: str
    conversation_id: str
    at: str
    would: str
    reasons: list[str]
    citations: list[str]
    human: str = "none"


def shadow_decisions(
    db: Session, *, since: datetime | None = None, workspace_id: str | None = None
) -> list[ShadowDecision]:
    """Every shadow decision (since ``since``, of ``workspace_id``), oldest first, each with the
    teammates' outcome. A decision recorded twice for the same message (a retried run) counts
    once."""
    stmt = (
        select(AuditRecord, SessionRecord.conversation_id)
        .join(SessionRecord, SessionRecord.id == AuditRecord.session_id)
        .where(AuditRecord.kind.in_(("shadow", "human")))
        .order_by(AuditRecord.session_id, AuditRecord.id)
        .limit(MAX_RECORDS)
    )
    if since is not None:
        stmt = stmt.where(AuditRecord.created_at >= _aware(since))
    if workspace_id is not None:
        stmt = stmt.where(AuditRecord.workspace_id == workspace_id)
    decisions: list[ShadowDecision] = []
    did: list[set[str]] = []
    seen: set[tuple[int | None, Any]] = set()
    for record, conversation_id in db.execute(stmt):
        if record.kind == "human":
            if decisions and decisions[-1].session_id == record.session_id:
                did[-1].add(record.data.get("did", ""))
            continue
        key = (record.session_id, record.data.get("part"))
        if key not in seen:
            seen.add(key)
            decisions.append(_decision(record, conversation_id))
            did.append(set())
    for decision, acts in zip(decisions, did, strict=True):
        decision.human = _outcome(acts)
    return decisions


def _decision(record: AuditRecord, conversation_id: str) -> ShadowDecision:
    data = record.data
    return ShadowDecision(
        session_id=record.session_id or 0,
        workspace_id=record.workspace_id,
        conversation_id=conversation_id,
        at=_aware(record.created_at).isoformat(timespec="seconds"),
        would=data.get("would", "handoff"),
        reasons=[r.get("code", "") for r in data.get("reasons") or []],
        citations=[c.get("title") or c.get("doc_id") or "" for c in data.get("citations") or []],
    )


def _outcome(did: set[str]) -> str:
    return next((o for o in OUTCOMES if o in did), "none")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def summarize(decisions: list[ShadowDecision], *, examples: int = 10) -> dict[str, Any]:
    """Counts of decisions by what the AI would do and what the team did, handoff reasons, and
    the newest few decisions as examples (JSON-ready)."""
    matrix = {w: dict.fromkeys(OUTCOMES, 0) for w in WOULD}
    reasons: Counter[str] = Counter()
    for d in decisions:
        matrix.setdefault(d.would, dict.fromkeys(OUTCOMES, 0))[d.human] += 1
        reasons.update(d.reasons)
    return {
        "decisions": len(decisions),
        "matrix": matrix,
        "agreement": {
            "ai_would_answer_and_human_answered": matrix["answer"]["replied"],
            "ai_would_answer_and_closed_without_reply": matrix["answer"]["closed"],
            "ai_would_hand_off_and_human_answered": matrix["handoff"]["replied"],
            "ai_would_hand_off_and_closed_without_reply": matrix["handoff"]["closed"],
            "awaiting_the_team": sum(matrix[w]["none"] + matrix[w]["assigned"] for w in WOULD),
        },
        "handoff_reasons": dict(reasons.most_common()),
        "examples": [asdict(d) for d in decisions[-examples:][::-1]] if examples else [],
    }


def render(summary: dict[str, Any]) -> str:
    """The summary as a few readable lines."""
    matrix = summary["matrix"]
    lines = [
        f"{summary['decisions']} shadow decision(s)",
        f"{'AI would':<10} " + " ".join(f"{o:>9}" for o in OUTCOMES) + "   (what the team did)",
    ]
    for would in WOULD:
        lines.append(f"{would:<10} " + " ".join(f"{matrix[would][o]:>9}" for o in OUTCOMES))
    reasons = summary["handoff_reasons"]
    if reasons:
        lines.append("handoff reasons: " + ", ".join(f"{k} {v}" for k, v in reasons.items()))
    if summary["examples"]:
        lines.append("newest:")
    for e in summary["examples"]:
        why = f" ({', '.join(e['reasons'])})" if e["reasons"] else ""
        lines.append(
            f"  session {e['session_id']} conv {e['conversation_id']} {e['at']}: "
            f"would {e['would']}{why}; team {e['human']}"
        )
    return "\n".join(lines)
