"""Throwaway PostgreSQL and Redis servers on loopback, for the fleet test and benchmark.

Each runs from the machine's own binaries (Debian's ``postgresql`` and ``redis-server``) in a
temporary folder, listens on 127.0.0.1 only, keeps nothing on disk that matters (no fsync, no
Redis snapshots) and is stopped and removed when its ``with`` block ends.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, make_url


class ServerUnavailable(RuntimeError):
    """The server's binaries (or its Python client) are not installed here."""


def free_port() -> int:
    """A TCP port on loopback nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_bin() -> Path | None:
    """The folder of ``pg_ctl`` and ``initdb``: on PATH, else Debian's newest version."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


@contextmanager
def local_postgres() -> Iterator[str]:
    """A PostgreSQL server on loopback; yields the URL of its ``postgres`` database.

    Run as the ``postgres`` user when this process is root (PostgreSQL refuses root).
    :raises ServerUnavailable: no ``pg_ctl`` here, or psycopg is not installed.
    """
    try:
        import psycopg  # noqa: F401
    except ModuleNotFoundError:
        missing = "psycopg is not installed (pip install 'deskmate[postgres]')"
        raise ServerUnavailable(missing) from None
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise ServerUnavailable("no initdb/pg_ctl found (apt-get install postgresql)")
    user = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="deskmate-pg-"))
    if user is not None:
        os.chown(root, user.pw_uid, user.pw_gid)
    data, port = root / "data", free_port()

    def run(*args: str) -> None:
        uid = user.pw_uid if user else None
        result = subprocess.run(args, user=uid, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stderr.strip() or result.stdout}")

    run(str(bin_dir / "initdb"), "-D", str(data), "-U", "deskmate", "-A", "trust", "--no-sync")
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    )
    log = str(root / "log")
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", log, "-w", "start")
    try:
        yield f"postgresql+psycopg://deskmate@127.0.0.1:{port}/postgres"
    finally:
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server of ``server_url``, dropped at the end."""
    server = make_url(server_url)
    name = f"deskmate_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        yield server.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        admin.dispose()


@contextmanager
def local_redis(folder: Path | None = None) -> Iterator[str]:
    """A Redis server on loopback with no persistence; yields its URL.

    :raises ServerUnavailable: no ``redis-server`` on PATH.
    """
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        raise ServerUnavailable("no redis-server on PATH (apt-get install redis-server)")
    root = Path(folder or tempfile.mkdtemp(prefix="deskmate-redis-"))
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(root)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
