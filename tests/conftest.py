"""Fixtures shared by every test area: the public testing module's, and a throwaway Redis.

The suite sees only the plugins that ship with deskmate and those a test installs itself (in its
own temporary folder, as ``tests/plugins/conftest.py``'s ``install_dist`` does): a third-party
deskmate plugin installed in the same environment must not change what the tests observe, in
this process or in the ``deskmate`` commands a test runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from deskmate.core import shared
from deskmate.core.local_servers import ServerUnavailable, local_redis
from deskmate.core.plugins import ENTRY_POINT_GROUP

pytest_plugins = ["deskmate.testing"]


@pytest.fixture(autouse=True)
def _rate_limits_in_memory() -> Iterator[None]:
    """Each test starts with rate limits in memory, whatever the last test's stack shared."""
    yield
    shared.forget()


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A throwaway Redis on loopback (Debian's redis-server; CI installs it and sets
    ``DESKMATE_TEST_REDIS=require``); skipped, saying so, where it isn't installed."""
    try:
        with local_redis(tmp_path) as url:
            yield url
    except ServerUnavailable as exc:
        from deskmate.testing import server_unavailable  # after pytest_plugins registered it

        server_unavailable("Redis", "DESKMATE_TEST_REDIS", str(exc))


def _asked_for(ep: metadata.EntryPoint, test_folders: Path) -> bool:
    """Whether ``ep`` is deskmate's own or comes from a distribution a test installed."""
    dist = ep.dist
    if dist is None or dist.name == "deskmate":
        return True
    return Path(str(dist.locate_file(""))).resolve().is_relative_to(test_folders)


def only_asked_for_plugins(
    entry_points: Callable[..., metadata.EntryPoints], test_folders: Path
) -> Callable[..., metadata.EntryPoints]:
    """``importlib.metadata.entry_points`` without the deskmate plugins no test asked for."""

    def filtered(**params: Any) -> metadata.EntryPoints:
        found = entry_points(**params)
        if params.get("group") != ENTRY_POINT_GROUP:
            return found
        return metadata.EntryPoints(ep for ep in found if _asked_for(ep, test_folders))

    return filtered


@pytest.fixture(autouse=True)
def _no_installed_plugins(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Hide the environment's third-party deskmate plugins from every test: from this process's
    entry points, and from the ``deskmate`` processes tests start (through
    ``DESKMATE_DISABLE_PLUGINS``, which they inherit)."""
    test_folders = tmp_path_factory.getbasetemp().resolve()
    everything = metadata.entry_points(group=ENTRY_POINT_GROUP)
    hidden = [ep.name for ep in everything if not _asked_for(ep, test_folders)]
    if hidden:
        disabled = os.environ.get("DESKMATE_DISABLE_PLUGINS", "")
        monkeypatch.setenv("DESKMATE_DISABLE_PLUGINS", ",".join(filter(None, [disabled, *hidden])))
    monkeypatch.setattr(
        metadata, "entry_points", only_asked_for_plugins(metadata.entry_points, test_folders)
    )
