"""The trials page's data: shadow decisions beside what the team then did, and the last replay
report, for judging a change before customers see it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from deskmate.core.config import Settings
from deskmate.core.dashboard.figures import Filters
from deskmate.core.replay.diff import KINDS, LABELS
from deskmate.core.replay.saved import last_report
from deskmate.core.shadow.report import OUTCOMES, WOULD, shadow_decisions, summarize

SHADOW_EXAMPLES = 20


def shadow_summary(db: Session, filters: Filters) -> dict[str, Any]:
    """The workspace's shadow decisions of the range: what the AI would have done by what the
    team did (``deskmate shadow report``'s summary), with the newest as examples."""
    start, end = filters.bounds()
    decisions = [
        d
        for d in shadow_decisions(db, since=start, workspace_id=filters.workspace)
        if datetime.fromisoformat(d.at) < end
    ]
    return summarize(decisions, examples=SHADOW_EXAMPLES) | {"would": WOULD, "did": OUTCOMES}


def replay_report(settings: Settings, workspace: str) -> dict[str, Any] | None:
    """The last ``deskmate replay`` report when it was of ``workspace``, with its labels."""
    report = last_report(settings)
    if not isinstance(report, dict) or report.get("workspace") != workspace:
        return None
    return report | {"kinds": [(kind, LABELS[kind]) for kind in KINDS]}
