"""The dashboard's figures, read from the sessions table with a few grouped queries.

A conversation's outcome follows from its session: the AI was *involved* when it decided to act
(a mode was set; ``shadow`` mode, which sends nothing, is counted apart), *answered* when it
replied at least once, *handed off* when a handoff happened, and *resolved* it when the
conversation closed after an answer with no human taking over.
Each figure's conversations are the list filtered by the same :data:`OUTCOMES` predicate.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, case, func, literal_column, or_, select
from sqlalchemy.orm import Session

from deskmate.core.store.models import MessageRecord, SessionRecord, SessionState

S = SessionRecord
OUTCOMES: dict[str, ColumnElement[bool]] = {
    "involved": and_(S.mode.is_not(None), S.mode != "shadow"),
    "answered": S.ai_turns > 0,
    "handed_off": S.handed_off_at.is_not(None),
    "resolved": and_(S.state == SessionState.RESOLVED, S.ai_turns > 0, S.handed_off_at.is_(None)),
    "assisted": S.mode == "assist",
    "left_alone": S.mode.is_(None),
    "shadow": S.mode == "shadow",
}
"""Each outcome a conversation can be filtered by, as a condition on its session."""
DEFAULT_DAYS = 7
PAGE_SIZE = 50
MAX_DAYS = 366


class BadFilter(ValueError):
    """A filter value the dashboard can't use; the message says which and why."""


@dataclass(frozen=True)
class Filters:
    """Which conversations a page is about: one workspace, local dates ``since`` to ``until``
    (inclusive), and optional outcome, reason, language, channel and text."""

    workspace: str
    since: date
    until: date
    zone: ZoneInfo = field(default=ZoneInfo("UTC"), compare=False)
    outcome: str = ""
    reason: str = ""
    language: str = ""
    channel: str = ""
    q: str = ""
    page: int = 1

    def bounds(self) -> tuple[datetime, datetime]:
        """The UTC instants the local dates cover: [start of ``since``, start of ``until``+1)."""
        start = datetime.combine(self.since, time(), self.zone).astimezone(UTC)
        end = datetime.combine(self.until + timedelta(days=1), time(), self.zone).astimezone(UTC)
        return start, end

    @cached_property
    def _encoded(self) -> dict[str, str]:
        return {key: urlencode({key: value}) for key, value in self.query().items()}

    def link(self, path: str, **changes: Any) -> str:
        """``path`` with these filters, ``changes`` applied, as its query string (a page's
        links differ in a key or two, so only those are encoded again)."""
        pairs = {k: v for k, v in self._encoded.items() if k not in changes}
        for key, value in changes.items():
            text = value.isoformat() if isinstance(value, date) else str(value)
            if text and not (key == "page" and text == "1"):
                pairs[key] = urlencode({key: text})
        return f"{path}?{'&'.join(pairs.values())}"

    def query(self, **changes: Any) -> dict[str, str]:
        """These filters (with ``changes``) as URL query parameters, empty ones left out."""
        values = replace(self, **changes) if changes else self
        params = {
            "workspace": values.workspace,
            "since": values.since.isoformat(),
            "until": values.until.isoformat(),
            "outcome": values.outcome,
            "reason": values.reason,
            "language": values.language,
            "channel": values.channel,
            "q": values.q,
            "page": str(values.page) if values.page > 1 else "",
        }
        return {k: v for k, v in params.items() if v}


def parse_filters(args: dict[str, str], workspace: str, zone: ZoneInfo, today: date) -> Filters:
    """Filters from a page's query string; defaults: the last :data:`DEFAULT_DAYS` days.

    :raises BadFilter: a date that isn't ``YYYY-MM-DD``, a range backwards or over a year, an
        unknown outcome, or a page that isn't a positive number.
    """
    until = _date(args, "until", today)
    since = _date(args, "since", until - timedelta(days=DEFAULT_DAYS - 1))
    if since > until:
        raise BadFilter("'since' is after 'until'")
    if (until - since).days >= MAX_DAYS:
        raise BadFilter(f"the date range is longer than {MAX_DAYS} days")
    outcome = args.get("outcome", "")
    if outcome and outcome not in OUTCOMES:
        raise BadFilter(f"unknown outcome {outcome!r}; use one of {', '.join(OUTCOMES)}")
    page = args.get("page", "1")
    if not page.isdigit() or int(page) < 1:
        raise BadFilter("'page' must be a positive whole number")
    return Filters(
        workspace=workspace,
        since=since,
        until=until,
        zone=zone,
        outcome=outcome,
        reason=args.get("reason", "")[:32],
        language=args.get("language", "")[:16],
        channel=args.get("channel", "")[:32],
        q=args.get("q", "").strip()[:200],
        page=min(int(page), 10_000),
    )


def _date(args: dict[str, str], name: str, default: date) -> date:
    raw = args.get(name, "")
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadFilter(f"'{name}' must be a date like 2026-12-04") from None


def _in_range(filters: Filters) -> list[ColumnElement[bool]]:
    start, end = filters.bounds()
    return [S.workspace_id == filters.workspace, S.created_at >= start, S.created_at < end]


def conditions(filters: Filters) -> list[ColumnElement[bool]]:
    """The WHERE conditions selecting the filters' conversations."""
    where = _in_range(filters)
    if filters.outcome:
        where.append(OUTCOMES[filters.outcome])
    if filters.reason:
        where.append(
            S.handoff_reason.is_(None)
            if filters.reason == "unknown"
            else S.handoff_reason == filters.reason
        )
        where.append(OUTCOMES["handed_off"])
    for column, value in ((S.language, filters.language), (S.channel, filters.channel)):
        if value:
            where.append(column.is_(None) if value == "unknown" else column == value)
    if filters.q:
        where.append(_text_matches(filters.q))
    return where


def _text_matches(q: str) -> ColumnElement[bool]:
    """The conversation id or contact is ``q``, or its summary or a kept message contains it."""
    needle = q.lower()
    said = (
        select(MessageRecord.id)
        .where(MessageRecord.session_id == S.id)
        .where(func.lower(MessageRecord.text).contains(needle, autoescape=True))
        .exists()
    )
    return or_(
        S.conversation_id == q,
        S.contact_id == q,
        func.lower(S.summary).contains(needle, autoescape=True),
        said,
    )


def conversations(db: Session, filters: Filters) -> tuple[list[SessionRecord], bool]:
    """One page of the filters' conversations, newest first, and whether a next page exists."""
    stmt: Select[tuple[SessionRecord]] = (
        select(S)
        .where(*conditions(filters))
        .order_by(S.created_at.desc(), S.id.desc())
        .offset((filters.page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    )
    rows = list(db.scalars(stmt))
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


@dataclass
class Overview:
    """The figures of one workspace and date range."""

    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    reasons: list[tuple[str, int]] = field(default_factory=list)
    languages: list[tuple[str, int]] = field(default_factory=list)
    days: list[dict[str, Any]] = field(default_factory=list)
    median_first_answer: float | None = None

    def rate(self, outcome: str) -> float | None:
        """``outcome``'s share of the conversations the AI was involved in."""
        involved = self.counts.get("involved", 0)
        return self.counts.get(outcome, 0) / involved if involved else None


TREND = ("involved", "answered", "handed_off", "resolved")


def overview(db: Session, filters: Filters) -> Overview:
    """Involvement, answer, handoff and resolution counts, reasons, languages, the trend by
    local day and the median time to first answer."""
    where = _in_range(filters)
    flags = [func.sum(case((OUTCOMES[name], 1), else_=0)) for name in OUTCOMES]
    timed = func.count(S.first_answer_seconds)
    hour = _hour(db).label("hour")
    stmt = select(hour, func.count(), timed, *flags).where(*where).group_by(hour)
    result = Overview()
    by_day: dict[date, Counter[str]] = {}
    for hour, total, answered_in, *sums in db.execute(stmt):
        day = datetime.fromisoformat(f"{hour}:00+00:00").astimezone(filters.zone)
        counter = by_day.setdefault(day.date(), Counter())
        counter["total"] += total
        counter["timed"] += answered_in
        counter.update(dict(zip(OUTCOMES, (s or 0 for s in sums), strict=True)))
    totals: Counter[str] = sum(by_day.values(), Counter())
    result.total = totals.pop("total", 0)
    timed_count = totals.pop("timed", 0)
    result.counts = {name: totals.get(name, 0) for name in OUTCOMES}
    result.days = _days(filters, by_day)
    result.reasons = _grouped(db, S.handoff_reason, [*where, OUTCOMES["handed_off"]])
    result.languages = _grouped(db, S.language, [*where, OUTCOMES["involved"]])
    result.median_first_answer = _median_first_answer(db, where, timed_count)
    return result


def _days(filters: Filters, by_day: dict[date, Counter[str]]) -> list[dict[str, Any]]:
    """Every local day of the range with its counts (zero when nothing happened)."""
    days, day = [], filters.since
    while day <= filters.until:
        counter = by_day.get(day, Counter())
        days.append({"day": day, "total": counter["total"]} | {n: counter[n] for n in TREND})
        day += timedelta(days=1)
    return days


def _hour(db: Session) -> ColumnElement[str]:
    """The UTC hour a session started (``YYYY-MM-DD HH``), on SQLite or PostgreSQL; days are
    counted in the workspace's time zone from these hours.

    SQLite keeps datetimes as ``YYYY-MM-DD HH:MM:SS.ffffff`` text in UTC, so the hour is its
    first 13 characters (cheaper than ``strftime`` on every row).
    """
    if db.get_bind().dialect.name == "postgresql":
        utc = func.timezone(literal_column("'UTC'"), S.created_at)
        return func.to_char(utc, literal_column("'YYYY-MM-DD HH24'"))
    return func.substr(S.created_at, 1, 13)


def _grouped(db: Session, column: Any, where: list[ColumnElement[bool]]) -> list[tuple[str, int]]:
    """Counts by ``column`` (``unknown`` for NULL), largest first."""
    stmt = select(column, func.count()).where(*where).group_by(column)
    counts = [(value or "unknown", n) for value, n in db.execute(stmt)]
    return sorted(counts, key=lambda item: (-item[1], item[0]))


def _median_first_answer(db: Session, where: list[ColumnElement[bool]], count: int) -> float | None:
    """The median of the ``count`` answered sessions' times to first answer, in seconds."""
    answered = [*where, S.first_answer_seconds.is_not(None)]
    if not count:
        return None
    ordered = select(S.first_answer_seconds).where(*answered).order_by(S.first_answer_seconds)
    middle = list(db.scalars(ordered.offset((count - 1) // 2).limit(2 - count % 2)))
    return statistics.fmean(middle)
