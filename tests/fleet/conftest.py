"""A throwaway PostgreSQL server and Redis for the fleet tests, on loopback.

Missing binaries skip the tests, saying how to run them, unless ``DESKMATE_TEST_POSTGRES`` or
``DESKMATE_TEST_REDIS`` is ``require`` (as CI sets them): then they fail.
``DESKMATE_TEST_POSTGRES_URL`` points at a server CI provides instead of starting one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from deskmate.core.local_servers import (
    ServerUnavailable,
    fresh_database,
    local_postgres,
    local_redis,
)
from deskmate.testing import server_unavailable


@pytest.fixture(scope="module")
def fleet_database() -> Iterator[str]:
    """The URL of an empty database of its own on a PostgreSQL server."""
    with ExitStack() as stack:
        server = os.environ.get("DESKMATE_TEST_POSTGRES_URL")
        if not server:
            try:
                server = stack.enter_context(local_postgres())
            except ServerUnavailable as exc:
                server_unavailable("PostgreSQL", "DESKMATE_TEST_POSTGRES", str(exc))
        yield stack.enter_context(fresh_database(server))


@pytest.fixture(scope="module")
def fleet_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a Redis server of its own."""
    folder: Path = tmp_path_factory.mktemp("redis")
    with ExitStack() as stack:
        try:
            url = stack.enter_context(local_redis(folder))
        except ServerUnavailable as exc:
            server_unavailable("Redis", "DESKMATE_TEST_REDIS", str(exc))
        yield url
