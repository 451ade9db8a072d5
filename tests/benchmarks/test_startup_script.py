"""The start-up benchmark runs (smoke size) and reports both commands against flask's."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "startup.py"
LOOSE_LIMIT = 2.5
"""Far above the 1.5 target so a loaded machine can't fail it; start-up that imports the store,
the brain and every plugin module again (about 5 to 8 times flask) still does."""


def test_a_smoke_run_reports_the_ratio_of_version_and_help_to_flask() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert re.search(r"flask --version +\d+\.\d ms +ratio 1\.00", result.stdout), result.stdout
    for command in ("deskmate --version", "deskmate --help"):
        found = re.search(
            rf"{command} +\d+\.\d ms +ratio (\d+\.\d\d) \(target <= 1\.50\)", result.stdout
        )
        assert found is not None, result.stdout
        assert float(found[1]) <= LOOSE_LIMIT, result.stdout
