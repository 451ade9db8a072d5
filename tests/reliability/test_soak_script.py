"""The long-run script still runs end to end at a tiny size, prints its figures, and refuses
bad sizes before starting anything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import soak

SCRIPT = Path(__file__).resolve().parents[2] / "reliability" / "soak.py"
TINY = [
    "--conversations=2",
    "--kills=1",
    "--fault-rate=0.1",
    "--duplicate=2",
    "--cross-topic",
    "--workers=0",
    "--timeout=60",
]


def test_a_tiny_soak_prints_every_figure_and_passes() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *TINY], capture_output=True, text=True, timeout=120
    )

    out = result.stdout
    for figure in ("conversations      2", "kills (SIGKILL)    1", "429s", "duplicates", "lost"):
        assert figure in out, out
    assert "unsettled          0" in out, out
    assert result.returncode == 0 and "PASS" in out, out + result.stderr[-3000:]


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("--conversations=0", "0 is not between 1 and 5000"),
        ("--fault-rate=0.9", "0.9 is not between 0.0 and 0.5"),
        ("--kills=lots", "'lots' is not a number"),
    ],
)
def test_a_bad_size_is_refused_before_anything_starts(
    argument: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        soak.main([argument])

    assert exit_.value.code == 2
    out, err = capsys.readouterr()
    assert message in err
    assert out == ""
