"""Store fixtures: a migrated database per test, on SQLite and (when available) PostgreSQL.

PostgreSQL comes from ``DESKMATE_TEST_POSTGRES_URL`` (an empty database on a server CI provides),
or is started on loopback from the local ``initdb``/``pg_ctl``. Without either, PostgreSQL cases
are skipped — unless ``DESKMATE_TEST_POSTGRES=require``, which turns that into a failure.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy import Engine, create_engine, make_url
from sqlalchemy.orm import Session, sessionmaker

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


def _postgres_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _unavailable(reason: str) -> NoReturn:
    server_unavailable("PostgreSQL", "DESKMATE_TEST_POSTGRES", reason)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated PostgreSQL database on loopback, for the whole test session."""
    try:
        import psycopg  # noqa: F401
    except ModuleNotFoundError:
        _unavailable("psycopg is not installed (pip install 'deskmate[postgres]')")
    given = os.environ.get("DESKMATE_TEST_POSTGRES_URL")
    if given:
        upgrade(given)
        yield given
        return
    bin_dir = _postgres_bin()
    if bin_dir is None:
        _unavailable(
            "no initdb/pg_ctl found: apt-get install postgresql, or point "
            "DESKMATE_TEST_POSTGRES_URL at an empty database"
        )
    yield from _local_postgres(bin_dir)


def _local_postgres(bin_dir: Path) -> Iterator[str]:
    """Start a throwaway server from ``bin_dir`` in a temporary folder (as ``postgres`` if root)."""
    user = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="deskmate-pg-"))
    if user is not None:
        os.chown(root, user.pw_uid, user.pw_gid)
    data, port = root / "data", _free_port()

    def run(*args: str) -> None:
        result = subprocess.run(
            args, user=user.pw_uid if user else None, capture_output=True, text=True, timeout=60
        )
        if result.returncode != 0:
            pytest.fail(f"{args[0]} failed: {result.stderr.strip() or result.stdout.strip()}")

    run(str(bin_dir / "initdb"), "-D", str(data), "-U", "deskmate", "-A", "trust", "--no-sync")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w",
        "start")  # fmt: skip
    url = f"postgresql+psycopg://deskmate@127.0.0.1:{port}/postgres"
    try:
        upgrade(url)
        yield url
    finally:
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


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
    with empty_postgres_database(request.getfixturevalue("postgres_url")) as url:
        yield url


@contextmanager
def empty_postgres_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server of ``server_url``, dropped afterwards."""
    server = make_url(server_url)
    name = f"empty_{uuid.uuid4().hex}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
    admin.dispose()


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session inside one transaction, committed at the end of the test."""
    with factory.begin() as session:
        yield session
