"""Eval runs install the brain's runtime on their temporary store: put the previous one back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deskmate.core.brain import runtime as brain_runtime

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "eval"


@pytest.fixture(autouse=True)
def restore_brain_runtime() -> Iterator[None]:
    previous = brain_runtime.current()
    yield
    brain_runtime.install(previous)
