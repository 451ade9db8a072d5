"""What to write next and what works: questions handed off for lack of knowledge, grouped by
similar wording, and the documents answers cited with how their conversations ended."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from deskmate.core.brain.text import term_set
from deskmate.core.dashboard.figures import OUTCOMES, Filters, S, conditions
from deskmate.core.store.models import AuditRecord, SessionCitation

GAP_REASONS = ("no_knowledge", "low_confidence")
"""Handoff reasons that mean the knowledge had no (good enough) answer."""
MAX_GAPS = 500
"""How many of the newest such conversations are grouped (bounds the page's work)."""
SIMILAR = 0.5
"""Share of terms two questions must have in common (Jaccard) to be grouped."""
MAX_DOCUMENTS = 50


@dataclass
class Gap:
    """Similar questions the AI could not answer: an example, the shared terms, the sessions."""

    question: str
    terms: frozenset[str]
    sessions: list[tuple[int, str]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.sessions)


def content_gaps(db: Session, filters: Filters) -> tuple[list[Gap], int]:
    """The unanswered questions of the range grouped by similarity, largest group first, and
    how many conversations were looked at (at most :data:`MAX_GAPS`, the newest)."""
    stmt = (
        select(S.id, S.summary)
        .where(*conditions(filters), S.handoff_reason.in_(GAP_REASONS))
        .order_by(S.created_at.desc())
        .limit(MAX_GAPS)
    )
    sessions = list(db.execute(stmt))
    asked = _questions(db, [session_id for session_id, _ in sessions])
    gaps: list[Gap] = []
    for session_id, summary in sessions:
        question = asked.get(session_id) or summary or ""
        _add(gaps, session_id, question.strip())
    return sorted(gaps, key=lambda g: -g.count), len(sessions)


def _questions(db: Session, session_ids: list[int]) -> dict[int, str]:
    """The last message each session's AI saw before handing off (from its audit trail)."""
    stmt = (
        select(AuditRecord.session_id, AuditRecord.data)
        .where(AuditRecord.session_id.in_(session_ids), AuditRecord.kind == "saw")
        .order_by(AuditRecord.id)
    )
    found: dict[int, str] = {}
    for session_id, data in db.execute(stmt):
        message = data.get("message") if isinstance(data, dict) else None
        if isinstance(message, str) and message.strip():
            found[session_id] = message
    return found


def _add(gaps: list[Gap], session_id: int, question: str) -> None:
    """Put the question in the first group it is similar enough to, or start a group."""
    terms = term_set(question)
    for gap in gaps:
        union = terms | gap.terms
        if union and len(terms & gap.terms) / len(union) >= SIMILAR:
            gap.sessions.append((session_id, question))
            return
    gaps.append(Gap(question or "(no text kept)", terms, [(session_id, question)]))


def content_performance(db: Session, filters: Filters) -> list[dict[str, Any]]:
    """The documents answers cited in the range: conversations, resolved, handed off."""
    start, end = filters.bounds()
    c = SessionCitation
    resolved = func.count(func.distinct(case((OUTCOMES["resolved"], S.id))))
    handed_off = func.count(func.distinct(case((OUTCOMES["handed_off"], S.id))))
    stmt = (
        select(
            c.document,
            func.max(c.title),
            func.max(c.url),
            func.count(func.distinct(c.session_id)),
            resolved,
            handed_off,
        )
        .join(S, S.id == c.session_id)
        .where(c.workspace_id == filters.workspace, c.created_at >= start, c.created_at < end)
        .group_by(c.document)
        .order_by(func.count(func.distinct(c.session_id)).desc(), c.document)
        .limit(MAX_DOCUMENTS)
    )
    return [
        {
            "document": document,
            "title": title or document,
            "url": url,
            "conversations": total,
            "resolved": resolved_count,
            "handed_off": handed_count,
        }
        for document, title, url, total, resolved_count, handed_count in db.execute(stmt)
    ]
