"""Store fixtures: a migrated database per test, on SQLite and (when available) PostgreSQL.

PostgreSQL comes from ``DESKMATE_TEST_POSTGRES_URL`` (an empty database on a server CI provides),
or is started on loopback from the local ``initdb``/``pg_ctl``. Without either, PostgreSQL cases
are skipped — unless ``DESKMATE_TEST_POSTGRES=require``, which turns that into a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from deskmate.core.local_servers import ServerUnavailable, fresh_database, local_postgres
from deskmate.core.store.db import make_engine, make_session_factory, upgrade
from deskmate.core.store.models import Base
from deskmate.testing import server_unavailable

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy (much faster than migrating again)."""
    path = tmp_path_factory.mktemp("template") / "deskmate.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """The URL of a fresh, migrated SQLite file of this test's own."""
    path = tmp_path / "deskmate.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def _unavailable(reason: str) -> NoReturn:
    server_unavailable("PostgreSQL", "DESKMATE_TEST_POSTGRES", reason)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated PostgreSQL database on loopback, for the whole test session."""
    given = os.environ.get("DESKMATE_TEST_POSTGRES_URL")
    if given:
        upgrade(given)
        yield given
        return
    with ExitStack() as stack:
        try:
            url = stack.enter_context(local_postgres())
        except ServerUnavailable as exc:
            _unavailable(f"{exc}, or point DESKMATE_TEST_POSTGRES_URL at an empty database")
        upgrade(url)
        yield url


def _empty_all(engine: Engine) -> None:
    """Delete every row (much faster than TRUNCATE on tables this small)."""
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """An engine on an empty, migrated database — once per backend."""
    if request.param == "sqlite":
        url = request.getfixturevalue("sqlite_url")
    else:
        url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    if request.param == "postgresql":
        _empty_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database with no tables at all — once per backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with fresh_database(request.getfixturevalue("postgres_url")) as url:
        yield url


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session inside one transaction, committed at the end of the test."""
    with factory.begin() as session:
        yield session
