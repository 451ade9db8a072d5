"""The shipped eval set, played through the default brain as CI does, gated at the figures it
reaches (minus a small margin): a change that makes the brain worse on either part fails here.

Raise a threshold when the brain gets better; never lower one to let a change through.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from deskmate.core.cli import cli
from deskmate.core.evaluation.cases import load_cases

from .conftest import EXAMPLES

THRESHOLDS = {
    "tune": {
        "under": [
            "pass_rate=0.90",
            "group.core.answer_rate=0.90",
            "correct_citation_rate=0.85",
            "handoff_precision=0.83",
            "group.needs-human.handoff_recall=0.95",
            "group.needs-human.handoff_reason_recall=0.95",
            "ack_no_reply=0.95",
            "language_accuracy=0.95",
        ],
        # 0.030: cross-language cases answered from another article (reported, not targeted)
        "over": ["wrong_citation_rate=0.035", "decision_p50_ms=50"],
    },
    "heldout": {
        "under": [
            "pass_rate=0.88",
            "group.core.answer_rate=0.88",
            "correct_citation_rate=0.88",
            "handoff_precision=0.85",
            # 9 of 10: the held-out part is never tuned on, so the gap is gated here, not fitted.
            "group.needs-human.handoff_recall=0.85",
            "group.needs-human.handoff_reason_recall=0.75",
            "ack_no_reply=0.95",
            "language_accuracy=0.90",
        ],
        # 0.032 (1 of 31): over the 3% target, reported in docs/brain.md, not fitted
        "over": ["wrong_citation_rate=0.04", "decision_p50_ms=50"],
    },
    "heldout-2": {
        "under": [
            "pass_rate=0.68",
            "group.core.answer_rate=0.59",
            "correct_citation_rate=0.52",
            "handoff_precision=0.55",
            "group.needs-human.handoff_recall=0.95",
            "group.needs-human.handoff_reason_recall=0.85",
            "ack_no_reply=0.95",
            "language_accuracy=0.93",
        ],
        # 0.08 (2 of 25): over the 3% target, reported in docs/brain.md, not fitted
        "over": ["wrong_citation_rate=0.09", "decision_p50_ms=50"],
    },
}


@pytest.mark.parametrize("part", sorted(THRESHOLDS))
def test_the_shipped_part_meets_its_thresholds(part: str, no_config: Path) -> None:
    gates = THRESHOLDS[part]
    args = ["eval", str(EXAMPLES / f"{part}.yaml"), "--json"]
    args += [a for value in gates["under"] for a in ("--fail-under", value)]
    args += [a for value in gates["over"] for a in ("--fail-over", value)]

    result = CliRunner().invoke(cli, args)

    report = json.loads(result.stdout)
    missed = [t for t in report["thresholds"] if not t["ok"]]
    assert result.exit_code == 0, missed
    assert report["overall"]["errors"] == 0
    assert len(report["thresholds"]) == len(gates["under"]) + len(gates["over"])


def test_the_shipped_set_has_150_cases_in_6_languages_a_third_held_out() -> None:
    cases = load_cases([EXAMPLES / f"{part}.yaml" for part in THRESHOLDS]).cases
    held_out = [c for c in cases if c.split.startswith("heldout")]
    assert len(cases) >= 150
    assert len({c.language for c in cases}) >= 6
    assert 0.3 <= len(held_out) / len(cases) <= 0.4
    categories = {c.category for c in cases}
    for part in ("heldout", "heldout-2"):
        assert categories == {c.category for c in held_out if c.split == part}
    assert len(categories) == 11
