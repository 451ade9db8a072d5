"""What ``deskmate eval`` prints: tables of the figures per scope, the cases that missed, and the
``--json`` document (its shape is stable: ``version`` changes when a key does)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from deskmate.core.evaluation.metrics import Checked, passed
from deskmate.core.evaluation.player import Played

JSON_VERSION = 1
COLUMNS = (
    ("n", "cases", "count"),
    ("pass", "pass_rate", "rate"),
    ("answer", "answer_rate", "rate"),
    ("cite ok", "correct_citation_rate", "rate"),
    ("cite bad", "wrong_citation_rate", "rate"),
    ("hand P", "handoff_precision", "rate"),
    ("hand R", "handoff_recall", "rate"),
    ("reason R", "handoff_reason_recall", "rate"),
    ("bad lang", "wrong_language_rate", "rate"),
    ("lang ok", "language_accuracy", "rate"),
    ("ack ok", "ack_no_reply", "rate"),
    ("p50 ms", "decision_p50_ms", "ms"),
    ("p99 ms", "decision_p99_ms", "ms"),
)


def _cell(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value:.0%}"
    if kind == "ms":
        return f"{value:.1f}"
    return str(value)


def table(title: str, rows: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One table: a row per name, a column per headline figure."""
    width = max([len(title), *map(len, rows)]) + 2
    head = title.ljust(width) + "".join(f"{label:>9}" for label, _, _ in COLUMNS)
    lines = [head]
    for name, values in rows.items():
        cells = "".join(f"{_cell(values.get(key), kind):>9}" for _, key, kind in COLUMNS)
        lines.append(f"{name.ljust(width)}{cells}")
    return lines


def expected_text(p: Played) -> str:
    e = p.case.expected
    if e.action == "answer":
        return f"answer citing {' or '.join(e.cites)}"
    if e.action == "handoff":
        return f"handoff ({' or '.join(e.reasons) or 'any reason'})"
    return "no reply"


def got_text(p: Played) -> str:
    if p.error is not None:
        return f"error: {p.error}"
    d = p.decided
    if d.action == "answer":
        cited = ", ".join(h.title for h in (d.draft.citations if d.draft else [])) or "nothing"
        return f"answer citing {cited} in {p.reply_language or '?'}"
    if d.action == "handoff" and d.handoff is not None:
        return f"handoff ({', '.join(r.code for r in d.handoff.reasons)})"
    return f"no reply ({d.detail})"


def render(
    results: Sequence[Played],
    overall: Mapping[str, Any],
    scoped: Mapping[str, Mapping[str, Mapping[str, Any]]],
    checked: Sequence[Checked],
) -> str:
    """The readable report: overall, per split, category, language and group; then misses."""
    lines = table("overall", {"all cases": overall})
    for scope in ("split", "group", "category", "language"):
        if scoped.get(scope):
            lines += ["", *table(scope, scoped[scope])]
    calls = overall.get("model_calls_per_case")
    tokens = overall.get("tokens_per_case")
    lines.append("")
    lines.append(
        "model calls per case: "
        + ("— (no plugin reported any)" if calls is None else f"{calls:.2f}")
        + "; tokens per case: "
        + ("—" if tokens is None else f"{tokens:.0f}")
    )
    misses = [p for p in results if not passed(p)]
    if misses:
        lines += ["", f"missed ({len(misses)}):"]
        lines += [
            f"  {p.case.id} [{p.case.category}, {p.case.language}]: expected "
            f"{expected_text(p)}; got {got_text(p)}"
            for p in misses
        ]
    if checked:
        lines += ["", "thresholds:"] + [f"  {c.message()}" for c in checked]
    return "\n".join(lines)


def result_dict(p: Played) -> dict[str, Any]:
    """One case in ``--json``."""
    d = p.decided
    return {
        "id": p.case.id,
        "category": p.case.category,
        "language": p.case.language,
        "split": p.case.split,
        "file": p.case.source,
        "expected": {
            "action": p.case.expected.action,
            "cites": list(p.expected_ids),
            "reasons": list(p.case.expected.reasons),
        },
        "outcome": {
            "action": d.action,
            "detail": d.detail,
            "cites": list(p.cited),
            "reasons": [r.code for r in d.handoff.reasons] if d.handoff else [],
            "reply_language": p.reply_language,
            "detected_language": d.language,
            "confidence": d.draft.confidence if d.draft else None,
            "reply": d.reply,
        },
        "passed": passed(p),
        "error": p.error,
        "decision_ms": round(d.decision_ms, 3),
        "model": {
            "calls": p.model_calls,
            "input_tokens": p.input_tokens,
            "output_tokens": p.output_tokens,
        },
    }


def as_json(
    results: Sequence[Played],
    overall: Mapping[str, Any],
    scoped: Mapping[str, Mapping[str, Mapping[str, Any]]],
    checked: Sequence[Checked],
    *,
    files: Sequence[str],
    workspace: str,
) -> dict[str, Any]:
    """The ``--json`` document."""
    return {
        "version": JSON_VERSION,
        "files": list(files),
        "workspace": workspace,
        "overall": dict(overall),
        **{scope: dict(scoped.get(scope, {})) for scope in ("split", "category", "language")},
        "group": dict(scoped.get("group", {})),
        "thresholds": [c.as_dict() for c in checked],
        "passed": all(c.ok for c in checked),
        "results": [result_dict(p) for p in results],
    }
