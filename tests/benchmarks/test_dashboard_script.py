"""The dashboard benchmark still runs end to end on a small store and times every page."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "dashboard.py"


def test_a_small_run_times_every_page_against_the_bare_route() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--sessions", "600", "--days", "10", "--repeat", "2"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    out = result.stdout
    assert "filled 600 sessions" in out
    rows = re.findall(r"^(.+?)\s+(\d+\.\d)\s+(\d+\.\d)\s+(\d+\.\d)\s+(ok|OVER)$", out, re.M)
    names = [name.strip() for name, *_ in rows]
    assert names[0] == "bare route (baseline)"
    for page in ("overview, last 7 days", "conversations, text search", "health", "session page"):
        assert page in names, out
    assert len(rows) == 14
