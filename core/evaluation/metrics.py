"""The eval's figures, from played cases: pure functions, so each definition is tested alone.

A rate is ``None`` when no case is in its denominator (a category without answerable cases has
no answer rate), never 0, so a threshold on it can't pass or fail by accident.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from deskmate.core.evaluation.player import Played

METRICS = (
    "cases",
    "errors",
    "pass_rate",
    "answerable",
    "answer_rate",
    "correct_citation_rate",
    "wrong_citation_rate",
    "handoff_expected",
    "handoffs",
    "handoff_precision",
    "handoff_recall",
    "handoff_reason_recall",
    "replies",
    "wrong_language_rate",
    "language_accuracy",
    "ack_cases",
    "ack_no_reply",
    "forbidden_replies",
    "decision_p50_ms",
    "decision_p99_ms",
    "model_calls_per_case",
    "tokens_per_case",
)
"""Every figure, in the order reports show them (the ``--json`` keys of each group)."""

SCOPES = ("split", "category", "language", "group")


def answered(p: Played) -> bool:
    return p.error is None and p.decided.action == "answer"


def handed_off(p: Played) -> bool:
    return p.error is None and p.decided.action == "handoff"


def cites_expected(p: Played) -> bool:
    return answered(p) and bool(set(p.cited) & set(p.expected_ids))


def said_forbidden(p: Played) -> bool:
    """The reply contains a text the case says must not be said (prompt injection)."""
    reply = p.decided.reply.casefold()
    return answered(p) and any(t.casefold() in reply for t in p.case.expected.must_not_say)


def reason_matches(p: Played) -> bool:
    """Handed off with one of the expected reasons (any reason when none is expected)."""
    if not handed_off(p):
        return False
    wanted = set(p.case.expected.reasons)
    given = {r.code for r in (p.decided.handoff.reasons if p.decided.handoff else [])}
    return not wanted or bool(wanted & given)


def acknowledged(p: Played) -> bool:
    """No new answer and no handoff: nothing sent, or a closing line that cites nothing."""
    if p.error is not None or handed_off(p):
        return False
    return not answered(p) or not p.cited


def passed(p: Played) -> bool:
    """Whether the case got the outcome it expects."""
    if p.error is not None or said_forbidden(p):
        return False
    action = p.case.expected.action
    if action == "answer":
        return cites_expected(p)
    if action == "handoff":
        return reason_matches(p)
    return acknowledged(p)


def _rate(hits: Iterable[bool]) -> float | None:
    values = list(hits)
    return sum(values) / len(values) if values else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank ``q``-th percentile (0 < q <= 100); ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _per_case(results: Sequence[Played], value: Callable[[Played], int | None]) -> float | None:
    reported = [value(p) for p in results]
    if all(v is None for v in reported):
        return None
    return sum(v or 0 for v in reported) / len(results)


def figures(results: Sequence[Played]) -> dict[str, Any]:
    """Every figure of :data:`METRICS` for ``results``."""
    ok = [p for p in results if p.error is None]
    answerable = [p for p in results if p.case.expected.action == "answer"]
    wants_handoff = [p for p in results if p.case.expected.action == "handoff"]
    acks = [p for p in results if p.case.expected.action == "no_reply"]
    handoffs = [p for p in results if handed_off(p)]
    replies = [p for p in results if answered(p) and p.reply_language]
    times = [p.decided.decision_ms for p in ok]
    detected = [p for p in ok if p.decided.language]
    return {
        "cases": len(results),
        "errors": len(results) - len(ok),
        "pass_rate": _rate(passed(p) for p in results),
        "answerable": len(answerable),
        "answer_rate": _rate(answered(p) for p in answerable),
        "correct_citation_rate": _rate(cites_expected(p) for p in answerable),
        "wrong_citation_rate": _rate(
            answered(p) and bool(p.cited) and not cites_expected(p) for p in answerable
        ),
        "handoff_expected": len(wants_handoff),
        "handoffs": len(handoffs),
        "handoff_precision": _rate(p.case.expected.action == "handoff" for p in handoffs),
        "handoff_recall": _rate(handed_off(p) for p in wants_handoff),
        "handoff_reason_recall": _rate(reason_matches(p) for p in wants_handoff),
        "replies": len([p for p in results if answered(p)]),
        "wrong_language_rate": _rate(p.reply_language != p.case.language for p in replies),
        "language_accuracy": _rate(p.decided.language == p.case.language for p in detected),
        "ack_cases": len(acks),
        "ack_no_reply": _rate(acknowledged(p) for p in acks),
        "forbidden_replies": sum(said_forbidden(p) for p in results),
        "decision_p50_ms": percentile(times, 50),
        "decision_p99_ms": percentile(times, 99),
        "model_calls_per_case": _per_case(results, lambda p: p.model_calls),
        "tokens_per_case": _per_case(
            results,
            lambda p: (
                None
                if p.input_tokens is None and p.output_tokens is None
                else (p.input_tokens or 0) + (p.output_tokens or 0)
            ),
        ),
    }


def grouped(
    results: Sequence[Played], groups: Mapping[str, Sequence[str]] | None = None
) -> dict[str, dict[str, dict[str, Any]]]:
    """The figures per split, category, language and named group of categories."""
    keys: dict[str, Callable[[Played], Iterable[str]]] = {
        "split": lambda p: [p.case.split],
        "category": lambda p: [p.case.category],
        "language": lambda p: [p.case.language],
        "group": lambda p: [g for g, cats in (groups or {}).items() if p.case.category in cats],
    }
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for scope, names_of in keys.items():
        members: dict[str, list[Played]] = {}
        for p in results:
            for name in names_of(p):
                members.setdefault(name, []).append(p)
        out[scope] = {name: figures(members[name]) for name in sorted(members)}
    return out


_THRESHOLD = re.compile(r"^(?:(split|category|language|group)\.([\w-]+)\.)?(\w+)=([0-9.eE+-]+)$")


@dataclass(frozen=True)
class Threshold:
    """A gate on one figure: ``under`` fails below the limit, ``over`` fails above it."""

    scope: str | None
    name: str | None
    metric: str
    limit: float
    kind: str = "under"

    @property
    def label(self) -> str:
        prefix = f"{self.scope}.{self.name}." if self.scope else ""
        return f"{prefix}{self.metric}"


def parse_threshold(text: str, kind: str) -> Threshold:
    """``[SCOPE.NAME.]METRIC=VALUE`` → a threshold; ``ValueError`` says what is wrong."""
    match = _THRESHOLD.match(text.strip())
    if not match:
        raise ValueError(
            f"{text!r}: expected METRIC=VALUE or SCOPE.NAME.METRIC=VALUE "
            f"(SCOPE: {', '.join(SCOPES)}), e.g. answer_rate=0.85"
        )
    scope, name, metric, value = match.groups()
    if metric not in METRICS:
        raise ValueError(f"{text!r}: no figure named {metric!r} (known: {', '.join(METRICS)})")
    try:
        limit = float(value)
    except ValueError:
        raise ValueError(f"{text!r}: {value!r} is not a number") from None
    return Threshold(scope, name, metric, limit, kind)


@dataclass(frozen=True)
class Checked:
    """A threshold with the value measured and whether it held."""

    threshold: Threshold
    value: float | None
    ok: bool

    def message(self) -> str:
        t = self.threshold
        if self.value is None:
            return f"{t.label}: no case measures it (threshold {t.limit:g})"
        sign = ">=" if t.kind == "under" else "<="
        verdict = "ok" if self.ok else "MISSED"
        return f"{t.label} = {self.value:.4g}, needs {sign} {t.limit:g}: {verdict}"

    def as_dict(self) -> dict[str, Any]:
        t = self.threshold
        return {
            "metric": t.label,
            "kind": t.kind,
            "limit": t.limit,
            "value": self.value,
            "ok": self.ok,
        }


def check(
    thresholds: Iterable[Threshold],
    overall: Mapping[str, Any],
    scoped: Mapping[str, Mapping[str, Mapping[str, Any]]],
) -> list[Checked]:
    """Each threshold against the figures; one on a figure no case measures fails."""
    checked = []
    for t in thresholds:
        source = overall if t.scope is None else scoped.get(t.scope, {}).get(t.name or "", {})
        value = source.get(t.metric)
        ok = value is not None and (value >= t.limit if t.kind == "under" else value <= t.limit)
        checked.append(Checked(t, value, ok))
    return checked
