"""Eval runs install the brain's runtime on their temporary store: put the previous one back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deskmate.core.brain import runtime as brain_runtime

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "eval"
BUNDLED_PLUGINS = "messenger,email,knowledge_sync"
"""Without a config file eval loads the installed plugins: only deskmate's own, in tests."""


@pytest.fixture
def no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder without a config file, and only deskmate's own plugins installed."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DESKMATE_CONFIG", raising=False)
    monkeypatch.setenv("DESKMATE_LOAD_PLUGINS", BUNDLED_PLUGINS)
    return tmp_path


@pytest.fixture(autouse=True)
def restore_brain_runtime() -> Iterator[None]:
    previous = brain_runtime.current()
    yield
    brain_runtime.install(previous)
