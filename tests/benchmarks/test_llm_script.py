"""The llm benchmark still runs end to end at a smoke size and checks its ratios."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "llm.py"


def test_a_small_run_makes_one_model_call_per_message_and_the_same_intercom_calls() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--conversations=5"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "model calls per customer message: 1.00 (target 1.0)" in out
    assert "tokens per reply:" in out and "deskmate's added latency: p50" in out
    assert "all correctness checks passed" in out


def test_a_bad_size_is_refused_with_its_reason() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--conversations=2"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "2 is not between 5 and 500" in result.stderr
