"""The fleet benchmark still runs end to end on tiny sizes, on PostgreSQL and Redis."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from deskmate.core.local_servers import postgres_bin
from deskmate.testing import server_unavailable

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "fleet.py"


def test_a_smoke_run_reports_drain_capacity_and_intake_and_loses_nothing() -> None:
    if postgres_bin() is None:
        server_unavailable("PostgreSQL", "DESKMATE_TEST_POSTGRES", "no initdb/pg_ctl found")
    if shutil.which("redis-server") is None:
        server_unavailable("Redis", "DESKMATE_TEST_REDIS", "no redis-server on PATH")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke"], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert re.search(r"^      2      8 +\d+ .* 0$", out, re.M), out  # drain: 2 calls each, no 429
    assert re.search(r"^      2      8 +\d+ +\d+ +\d+\.\d +1\.00$", out, re.M), out  # capacity
    for target in ("PostgreSQL intake x2", "SQLite intake x1", "bare route x2"):
        assert re.search(rf"{target} +\d+ +\d\.\d\d", out), out
    stored = re.findall(
        r"(PostgreSQL|SQLite) intake x\d: requests answered 200 (\d+), rows stored (\d+)", out
    )
    assert len(stored) == 2, out
    assert all(int(ok) > 0 and ok == rows for _, ok, rows in stored), stored
