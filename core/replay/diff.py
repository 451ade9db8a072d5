"""The differences between the decisions taken and the decisions replayed, counted, with a
few examples of each kind."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from deskmate.core.evaluation.player import Played
from deskmate.core.replay.stored import Taken

KINDS = (
    "answer_to_handoff",
    "handoff_to_answer",
    "changed_citations",
    "changed_reasons",
    "no_decision",
    "failed",
)
LABELS = {
    "answer_to_handoff": "answered then, would hand off now",
    "handoff_to_answer": "handed off then, would answer now",
    "changed_citations": "answered both times, citing other documents",
    "changed_reasons": "handed off both times, for other reasons",
    "no_decision": "would neither answer nor hand off now",
    "failed": "could not be replayed",
}


@dataclass(frozen=True)
class Now:
    """The replayed decision, in the same terms as :class:`Taken`."""

    action: str
    reasons: tuple[str, ...]
    citations: tuple[str, ...]
    detail: str


def decision_now(played: Played) -> Now:
    """What the replayed conversation decided: answer, handoff or none, why, citing what."""
    if played.error:
        return Now("failed", (), (), played.error)
    decided = played.decided
    reasons = decided.handoff.reasons if decided.handoff else decided.reasons
    return Now(
        decided.action,
        tuple(r.code for r in reasons) if decided.action == "handoff" else (),
        played.cited,
        decided.detail,
    )


def change_of(taken: Taken, now: Now) -> str | None:
    """The kind of difference between the two decisions, or ``None`` when the same."""
    if now.action == "failed":
        return "failed"
    if now.action not in ("answer", "handoff"):
        return "no_decision"
    if taken.action != now.action:
        return f"{taken.action}_to_{now.action}"
    if now.action == "handoff":
        return None if set(taken.reasons) == set(now.reasons) else "changed_reasons"
    if taken.citations is None or set(taken.citations) == set(now.citations):
        return None
    return "changed_citations"


def compare(
    pairs: Sequence[tuple[Taken, Played]], *, examples: int = 3, context: dict[str, Any]
) -> dict[str, Any]:
    """The replay report (JSON-ready): ``context`` (workspace, since, config…), counts by kind
    of change, every changed conversation and the first ``examples`` of each kind."""
    counts: Counter[str] = Counter()
    changed = []
    for taken, played in pairs:
        now = decision_now(played)
        kind = change_of(taken, now)
        counts[kind or "unchanged"] += 1
        if kind is not None:
            changed.append(_row(kind, taken, now))
    return {
        **context,
        "conversations": len(pairs),
        "unchanged": counts["unchanged"],
        "counts": {kind: counts[kind] for kind in KINDS},
        "examples": {
            kind: [row for row in changed if row["change"] == kind][:examples] for kind in KINDS
        },
        "changed": changed,
    }


def _row(kind: str, taken: Taken, now: Now) -> dict[str, Any]:
    return {
        "change": kind,
        "session_id": taken.session_id,
        "conversation_id": taken.conversation_id,
        "decided_at": taken.at,
        "question": taken.question,
        "then": {
            "action": taken.action,
            "reasons": list(taken.reasons),
            "citations": None if taken.citations is None else list(taken.citations),
        },
        "now": {
            "action": now.action,
            "reasons": list(now.reasons),
            "citations": list(now.citations),
            "detail": now.detail,
        },
    }


def render(report: dict[str, Any]) -> str:
    """The report as readable lines: the counts, then the examples of each kind."""
    lines = [
        f"replayed {report['conversations']} conversation(s) of workspace {report['workspace']}"
        f" since {report['since']}: {report['unchanged']} unchanged",
    ]
    lines += [f"  {report['counts'][k]:>5}  {LABELS[k]}" for k in KINDS if report["counts"][k]]
    for kind in KINDS:
        for row in report["examples"][kind]:
            lines.append(
                f"{kind}: session {row['session_id']} (conv {row['conversation_id']}) "
                f"{row['question']!r}"
            )
            lines.append(f"    then: {_said(row['then'])}")
            lines.append(f"    now:  {_said(row['now'])}")
    return "\n".join(lines)


def _said(decision: dict[str, Any]) -> str:
    if decision["action"] == "answer":
        cited = ", ".join(decision["citations"] or []) or "nothing"
        return f"answer citing {cited}"
    if decision["action"] == "handoff":
        return "handoff: " + ", ".join(decision["reasons"])
    return f"{decision['action']}: {decision.get('detail') or ''}".strip()
