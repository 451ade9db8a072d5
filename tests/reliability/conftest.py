"""The reliability suite drives real ``deskmate serve`` and ``deskmate worker`` processes through
``reliability/deployment.py``, the harness the long run (``reliability/soak.py``) uses too."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[2] / "reliability"
sys.path.insert(0, str(HARNESS))

from deployment import Plan, Tally, play  # noqa: E402


@pytest.fixture
def run_plan(tmp_path: Path) -> Callable[[Plan], Tally]:
    """Play a plan on a fresh deployment (every process it starts is stopped after) and return
    the tally, printed so a failure shows what was lost or doubled."""

    def run(plan: Plan) -> Tally:
        result = play(tmp_path / "deployment", plan)
        print("\n".join(result.lines()))
        return result

    return run
