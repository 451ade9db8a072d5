"""The conversations benchmark still runs end to end (small sizes) and counts calls right."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "conversations.py"
SMALL = [
    "--passages=1000",
    "--conversations=8",
    "--drain-limit=6000",
    "--drain-conversations=20",
]


def test_a_small_run_passes_its_checks_and_counts_calls_per_reply_and_handoff() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *SMALL], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "later messages: 1.00 calls/reply vs target 1" in out
    assert "no company 2.00" in out and "known company 2.00" in out
    assert "first use 5.00 calls" in out and "steady 4.00 vs target 4" in out
    assert "top-1 agreement with the baseline 40/40" in out
    assert "all correctness checks passed" in out


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("--conversations=many", "'many' is not a whole number"),
        ("--conversations=0", "0 is not between 5 and 2000"),
        ("--passages=-5", "-5 is not between 1 and 1000000"),
        ("--passages=" + "9" * 4000, "is not between 1 and 1000000"),
        ("--drain-limit=1e9", "'1e9' is not a whole number"),
    ],
)
def test_a_bad_size_is_refused_before_anything_starts(argument: str, message: str) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), argument], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""
