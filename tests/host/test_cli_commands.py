"""The command list: lazy commands show their own help without being imported."""

from __future__ import annotations

import subprocess
import sys

import pytest
from werkzeug.utils import import_string

from deskmate.core.cli import LAZY_COMMANDS


@pytest.mark.parametrize("name", sorted(LAZY_COMMANDS))
def test_each_lazy_summary_is_the_commands_own_short_help(name: str) -> None:
    command = import_string(LAZY_COMMANDS[name].path)
    assert LAZY_COMMANDS[name].summary == command.get_short_help_str(limit=1000)


def test_help_lists_every_command_without_importing_the_lazy_ones() -> None:
    """Through ``main``, as the console script runs it, plugins and their commands included."""
    script = (
        "import sys\n"
        "from deskmate.core.cli import LAZY_COMMANDS, main\n"
        "sys.argv = ['deskmate', '--help']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = [n for n, c in LAZY_COMMANDS.items() if c.path.split(':')[0] in sys.modules]\n"
        "print('imported:', loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    listed = result.stdout.split("Commands:", 1)[1]
    for name in LAZY_COMMANDS:
        assert f"\n  {name} " in listed
    assert "Show what the AI would answer" in listed
    assert result.stdout.rstrip().endswith("imported: []")


SLOW_TO_IMPORT = ("sqlalchemy", "alembic", "requests", "numpy", "py3langid", "flask", "waitress")
"""What ``--version`` and ``--help`` must not import: they would cost several times flask's own
start-up (benchmarks/startup.py measures it)."""


@pytest.mark.parametrize("option", ["--version", "--help"])
def test_version_and_help_import_no_store_brain_or_web_stack(option: str) -> None:
    script = (
        "import sys\n"
        "from deskmate.core.cli import main\n"
        f"sys.argv = ['deskmate', '{option}']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('imported:', sorted(m for m in {SLOW_TO_IMPORT!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.rstrip().endswith("imported: []"), result.stdout[-500:]
