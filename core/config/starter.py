"""The commented starter config ``deskmate init`` writes, and the secrets a config refers to."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

PLACEHOLDER_APP_ID = "your_app_id"
PLACEHOLDER_ADMIN_ID = "replace_with_the_ai_admin_id"
PLACEHOLDER_HOST = "deskmate.example.com"
"""What the starter says until it is filled in; ``check-config`` flags each one left unchanged."""


def starter_text() -> str:
    """The commented starter config that ``deskmate init`` writes."""
    return resources.files("deskmate.core").joinpath("starter.toml").read_text("utf-8")


def write_starter(path: Path, *, force: bool = False) -> None:
    """Write the starter config to ``path``.

    :raises FileExistsError: ``path`` exists and ``force`` is false (nothing is written).
    """
    with path.open("w" if force else "x", encoding="utf-8") as fh:
        fh.write(starter_text())


def env_references(raw: Any) -> list[str]:
    """The environment variables a parsed config refers to, in order of appearance."""
    if not isinstance(raw, dict):
        return []
    if set(raw) == {"env"} and isinstance(raw["env"], str):
        return [raw["env"]]
    names: list[str] = []
    for value in raw.values():
        names += [n for n in env_references(value) if n not in names]
    return names
