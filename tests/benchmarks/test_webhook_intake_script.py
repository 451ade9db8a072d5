"""The webhook intake benchmark still runs end to end (tiny phases) and loses no event."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "webhook_intake.py"


def test_a_smoke_run_measures_all_three_targets_and_stores_every_accepted_event() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--rounds=1"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    out = result.stdout
    for target in ("intake", "bare", "no-store"):
        assert re.search(rf"saturate #1 +{target} +\d+", out), out
    assert re.search(r"ratio \d\.\d\d \(target >= 0\.60\)", out)
    assert re.search(r"no-store ceiling .* \d\.\d\d of bare", out)
    sent = re.search(r"intake requests sent (\d+), answered 200 (\d+), rows stored (\d+)", out)
    assert sent is not None, out
    assert int(sent[1]) > 0
    assert sent[1] == sent[2] == sent[3]
