"""Real plugin distributions built in a temporary folder, found through entry points.

Manager tests start from a clean slate with ``pytestmark = pytest.mark.usefixtures("clean_env")``.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

DESKMATE_ENV = (
    "DESKMATE_LOAD_PLUGINS",
    "DESKMATE_DISABLE_PLUGINS",
    "DESKMATE_STRICT_PLUGINS",
    "DESKMATE_TRACE_PLUGINS",
    "DESKMATE_CONFIG",
)

GOOD_PLUGIN = """
from deskmate import hookimpl

CALLS = []


@hookimpl
def inbound_message(message):
    CALLS.append(message.text)
"""

BROKEN_PLUGIN = """
raise RuntimeError("boom while importing")
"""

MISSPELT_PLUGIN = """
from deskmate import hookimpl


@hookimpl
def inbound_mesage(message):
    pass
"""


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests here decide the plugin environment and config file themselves."""
    for name in DESKMATE_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def install_dist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str, str, str], None]]:
    """``install_dist(entry_name, module_name, source)``: a distribution on ``sys.path``.

    Each call writes ``<module>.py`` and a ``dist-info`` folder whose ``entry_points.txt``
    declares ``<entry_name> = <module>`` in the ``deskmate`` group, version 1.2.0.
    """
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    modules: list[str] = []

    def install(entry_name: str, module_name: str, source: str) -> None:
        (site / f"{module_name}.py").write_text(textwrap.dedent(source))
        info = site / f"{module_name}-1.2.0.dist-info"
        info.mkdir()
        dist_name = module_name.replace("_", "-")
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: 1.2.0\n"
        )
        (info / "entry_points.txt").write_text(f"[deskmate]\n{entry_name} = {module_name}\n")
        modules.append(module_name)

    yield install
    for module_name in modules:
        sys.modules.pop(module_name, None)


@pytest.fixture
def good_and_broken(install_dist: Callable[[str, str, str], None]) -> None:
    """A working plugin ``good`` and a plugin ``broken`` that raises when imported."""
    install_dist("good", "deskmate_good_plugin", GOOD_PLUGIN)
    install_dist("broken", "deskmate_broken_plugin", BROKEN_PLUGIN)
