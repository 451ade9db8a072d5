"""waitress's per-request "Task queue depth" warning reaches the log at most once per interval."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import flask
import pytest

from deskmate.core.server import QUEUE_LOGGER, Throttle, bind, throttle_queue_warnings
from deskmate.testing import FakeTime


def _warn(logger: logging.Logger, times: int) -> None:
    for depth in range(1, times + 1):
        logger.warning("Task queue depth is %d", depth)


@pytest.fixture
def queue_log() -> Iterator[logging.Logger]:
    """waitress's queue logger with no filters (a server made by an earlier test adds one)."""
    logger = logging.getLogger(QUEUE_LOGGER)
    saved = list(logger.filters)
    logger.filters.clear()
    yield logger
    logger.filters[:] = saved


def test_a_burst_of_queue_warnings_logs_one_line_then_counts_the_rest(
    queue_log: logging.Logger, fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    queue_log.addFilter(Throttle(10.0, clock=fake_time.clock))
    with caplog.at_level(logging.WARNING, logger=QUEUE_LOGGER):
        _warn(queue_log, 500)
        fake_time.sleep(9.5)
        _warn(queue_log, 10)
        fake_time.sleep(0.5)
        _warn(queue_log, 1)
    assert [r.getMessage() for r in caplog.records] == [
        "Task queue depth is 1",
        "Task queue depth is 1 (509 more since the last one shown)",
    ]


def test_serving_installs_the_throttle_once(queue_log: logging.Logger) -> None:
    throttle_queue_warnings()
    throttle_queue_warnings()
    assert sum(isinstance(f, Throttle) for f in queue_log.filters) == 1


def test_bind_throttles_the_queue_warnings_of_the_server_it_makes(
    queue_log: logging.Logger,
) -> None:
    server = bind(flask.Flask("t"), port=0, threads=1)
    server.close()
    assert any(isinstance(f, Throttle) for f in queue_log.filters)
