"""The suite passes with a third-party deskmate plugin installed in the same environment."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

INTRUSIVE_PLUGIN = """
import requests  # slow to import: deskmate --help must not pay for it in deskmate's own tests

from deskmate import hookimpl
from deskmate.core.domain import EscalationReason


@hookimpl
def escalation_reasons(turn, draft):
    return [EscalationReason("always", "this plugin escalates everything")]


@hookimpl
def inbound_message(turn, message):
    raise RuntimeError("this plugin breaks on every message")
"""

REPRESENTATIVE = [
    "tests/plugins/test_manager.py::test_environment_overrides_choose_plugins",
    "tests/plugins/messenger/test_messenger_decisions.py"
    "::test_deskmate_plugins_lists_both_channels_with_their_hooks",
    "tests/engine/test_conversation_flow.py",
    "tests/host/test_cli_commands.py::test_version_and_help_import_no_store_brain_or_web_stack",
]


def _installed_elsewhere(site: Path) -> None:
    """An intrusive plugin distribution in ``site``, as pip would leave it in site-packages."""
    site.mkdir()
    (site / "deskmate_intrusive.py").write_text(textwrap.dedent(INTRUSIVE_PLUGIN))
    info = site / "deskmate_intrusive-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: deskmate-intrusive\nVersion: 0.1.0\n"
    )
    (info / "entry_points.txt").write_text("[deskmate]\nintrusive = deskmate_intrusive\n")


def _pytest(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_an_installed_third_party_plugin_changes_no_test_outcome(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    _installed_elsewhere(site)
    listed = subprocess.run(
        [sys.executable, "-c", "from deskmate.core.cli import main; main()", "plugins"],
        env=os.environ | {"PYTHONPATH": str(site)}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "intrusive" in listed.stdout, "the plugin must be visible outside the test suite"

    result = _pytest(site, *REPRESENTATIVE)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout
