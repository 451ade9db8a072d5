"""The example plugin in docs/ is a working package: its entry point and its own tests."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "deskmate-example-plugin"


def test_example_declares_its_entry_point_in_the_deskmate_group() -> None:
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]

    assert project["entry-points"]["deskmate"] == {"example": "deskmate_example"}
    assert (EXAMPLE / "deskmate_example" / "__init__.py").exists()


def test_example_plugin_own_tests_pass() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKMATE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(EXAMPLE), env.get("PYTHONPATH")]))

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "6 passed" in result.stdout
