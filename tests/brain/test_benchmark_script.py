"""The knowledge-search benchmark still runs (on a small corpus) and reports its verdicts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "knowledge_search.py"


def test_the_benchmark_runs_and_prints_ratios_and_verdicts() -> None:
    args = ["--passages", "800", "--queries", "30", "--baseline-queries", "10"]
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "indexed 800 passages" in result.stdout
    assert "speed-up vs baseline" in result.stdout
    assert "top-1 agreement with baseline: 10/10" in result.stdout
    assert "search p99" in result.stdout and "PASS" in result.stdout
