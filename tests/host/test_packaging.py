"""What a built wheel ships: every Python package of the source tree, and its data files."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def _source_packages() -> set[str]:
    found = {"deskmate"}
    for top in ("core", "plugins"):
        for init in (ROOT / top).rglob("__init__.py"):
            found.add(".".join(("deskmate", *init.parent.relative_to(ROOT).parts)))
    return found


def test_every_package_of_the_source_tree_is_listed_for_the_wheel() -> None:
    assert set(SETUPTOOLS["packages"]) == _source_packages()


def test_every_package_data_pattern_matches_a_file() -> None:
    for package, patterns in SETUPTOOLS["package-data"].items():
        folder = ROOT.joinpath(*package.split(".")[1:])
        for pattern in patterns:
            assert list(folder.glob(pattern)), f"{package}: {pattern} matches nothing"
