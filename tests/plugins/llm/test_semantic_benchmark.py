"""The semantic-search benchmark still runs (small sizes) and reports its ratios and verdicts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "semantic_search.py"


def test_the_benchmark_runs_and_prints_ratios_and_verdicts() -> None:
    args = ["--passages", "800", "--dimensions", "64", "--queries", "30"]
    args += ["--articles", "12", "--changed", "3", "--batch", "8"]
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr
    assert "800 vectors of 64 dimensions" in result.stdout
    assert "search p99 with vectors / BM25 alone" in result.stdout
    assert "recall@5 against the exact scan" in result.stdout
    assert "embeddings calls per sync: PASS" in result.stdout
