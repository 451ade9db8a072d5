"""``deskmate sync``: a summary per source, clear failures, options, and the scheduled jobs."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from marshmallow import ValidationError

from deskmate.core.cli import cli
from deskmate.core.intercom.ratelimit import limiter_for, limiters
from deskmate.plugins.knowledge_sync import KnowledgeSyncConfig, first_sync, register_jobs
from deskmate.plugins.knowledge_sync.command import ProgressLine, render_progress
from deskmate.plugins.knowledge_sync.report import SyncReport
from deskmate.plugins.knowledge_sync.runner import sync_limiter
from deskmate.testing import TEST_APP_ID, make_workspace


def run(config: Path, *args: str, env: dict[str, str]) -> Result:
    """``deskmate`` as the console script runs it (plugin commands found on demand)."""
    return CliRunner().invoke(cli, ["--config", str(config), *args], env=env)


@pytest.fixture
def config(synced: Callable[..., Any]) -> tuple[Any, Callable[..., Result]]:
    env = synced(articles=4, conversations=12)
    path = env.config_file()
    return env, lambda *args: run(path, *args, env=env.cli_env)


def test_sync_prints_a_summary_per_source(config) -> None:
    _, deskmate = config
    result = deskmate("sync")
    assert result.exit_code == 0, result.output
    assert "articles:" in result.output and "conversations:" in result.output
    assert "added" in result.output and "API calls" in result.output
    again = deskmate("sync", "--source", "articles")
    assert again.exit_code == 0 and "looked at: 0 added, 0 updated" in again.output


def test_a_sync_that_looks_at_nothing_says_since_when_and_how_to_look_further_back(
    config,
) -> None:
    _, deskmate = config
    deskmate("sync", "--source", "articles")
    empty = deskmate("sync", "--source", "articles", "--since", "2099-01-01")
    assert "articles: 0 looked at" in empty.output
    assert "Only articles updated since 2099-01-01 00:00 UTC (--since) were looked at" in (
        empty.output
    )
    assert "`deskmate sync --since YYYY-MM-DD`" in empty.output and "--full" in empty.output
    again = deskmate("sync", "--source", "articles", "--full")
    looked = re.search(r"articles: (\d+) looked at", again.output)
    assert looked is not None and int(looked[1]) > 0, again.output
    assert "Only articles" not in again.output


def test_why_nothing_names_the_saved_position_or_the_conversation_window() -> None:
    mark = SyncReport(source="article", since=1_800_000_000, since_from="where the last sync ended")
    assert "since 2027-01-15 08:00 UTC (where the last sync ended)" in mark.summary()
    window = SyncReport(source="conversation", since=0, since_from="conversation_days = 365")
    assert "(conversation_days = 365)" in window.summary()
    assert "listed no articles" in SyncReport(source="article").summary()
    assert "Only" not in SyncReport(source="article", added=1, since=0).summary()


def test_without_a_terminal_progress_is_a_line_every_few_seconds() -> None:
    stream, now = io.StringIO(), [100.0]
    progress = ProgressLine(stream, clock=lambda: now[0], log_every=5.0)
    report = SyncReport(source="article", total=200)
    for second in range(1, 13):
        now[0] = 100.0 + second
        report.items = second * 10
        progress(report)
    progress.close()
    lines = stream.getvalue().splitlines()
    assert lines == [
        "articles [######------------------] 50/200 · 10.0/s · ETA 15s",
        "articles [############------------] 100/200 · 10.0/s · ETA 10s",
    ]
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()


def test_a_dry_run_says_so_and_a_later_sync_still_adds_everything(config) -> None:
    _, deskmate = config
    dry = deskmate("sync", "--dry-run", "--source", "articles")
    assert "dry run, nothing was stored" in dry.output
    real = deskmate("sync", "--source", "articles", "--full")
    assert real.exit_code == 0
    assert dry.output.split(" added")[0].split()[-1] == real.output.split(" added")[0].split()[-1]


def test_a_refused_token_exits_1_with_what_to_do_and_no_secret(config) -> None:
    env, deskmate = config
    env.fault(401)
    result = deskmate("sync", "--source", "conversations")
    assert result.exit_code == 1
    assert "access token was refused" in result.output and "deskmate verify" in result.output
    assert "test-token" not in result.output


@pytest.mark.parametrize(
    "args", [["--since", "2024-13-40"], ["--source", "tickets"], ["--workspace", "nope"]]
)
def test_bad_options_are_refused_before_anything_runs(config, args) -> None:
    env, deskmate = config
    env.control("DELETE", "/requests")
    result = deskmate("sync", *args)
    assert result.exit_code == 2
    assert env.requests() == []


def test_a_disabled_plugin_says_how_to_enable_it(synced) -> None:
    env = synced()
    result = run(env.config_file("enabled = false"), "sync", env=env.cli_env)
    assert result.exit_code == 1 and "not enabled" in result.output


def test_the_progress_line_shows_items_rate_and_eta() -> None:
    report = SyncReport(source="article", items=50, total=200)
    line = render_progress(report, elapsed=10.0)
    assert line == "articles [######------------------] 50/200 · 5.0/s · ETA 30s"
    assert render_progress(SyncReport(source="conversation", items=3), 0.0).endswith("0.0/s")


def test_each_source_of_each_workspace_is_its_own_job(settings) -> None:
    settings.plugins["knowledge_sync"] = {"conversations_schedule": "daily"}
    jobs = {job.name: job.schedule for job in register_jobs(settings)}
    assert jobs == {
        f"knowledge_sync:articles:{TEST_APP_ID}": "hourly",
        f"knowledge_sync:conversations:{TEST_APP_ID}": "daily",
        "knowledge_sync:article-events": "* * * * *",
        "knowledge_sync:first-sync": "manual",
    }
    assert [job.name for job in register_jobs(settings) if job.at_start] == [
        "knowledge_sync:first-sync"
    ]


def test_the_first_sync_fills_an_empty_store_and_leaves_a_filled_one_alone(synced) -> None:
    env = synced(articles=3)
    first_sync(env.settings)
    articles = env.documents("article")
    assert articles, "an empty store gets the help center"
    env.control("DELETE", "/requests")
    first_sync(env.settings)
    assert env.requests() == [], "a store that holds knowledge is not synced again at start"
    assert env.documents("article") == articles


@pytest.mark.parametrize(
    "section",
    [
        {"schedule": "every hour"},
        {"articles_schedule": "61 * * * *"},
        {"rate_limit_share": 0},
        {"rate_limit_share": 1.5},
        {"min_rating": 9},
    ],
)
def test_invalid_options_are_refused_with_the_key(section: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as refused:
        KnowledgeSyncConfig().load(section)
    assert set(refused.value.messages) == set(section)


def test_a_sync_may_use_its_share_of_the_limit_counted_against_the_workspace() -> None:
    limiters.clear()
    workspace = make_workspace(rate_limit=600)
    sync = sync_limiter(workspace, 0.5)
    assert (sync.per_minute, sync.per_minute_budget) == (300, 300)
    for _ in range(45):
        sync.acquire(max_wait=0)
    shared = limiter_for(workspace)
    assert shared.headroom() == pytest.approx(1 - 45 / shared.per_window)
    limiters.clear()
