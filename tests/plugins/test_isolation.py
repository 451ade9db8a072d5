"""Hook isolation by kind: a third-party implementation that raises is logged, counted and
passed over as its kind says; deskmate's built-in plugins are not isolated outside events."""

from __future__ import annotations

import logging
from importlib import metadata

import pytest

from deskmate import hookimpl
from deskmate.core.brain import summary
from deskmate.core.domain import EscalationReason
from deskmate.core.plugins import (
    BUILTIN_ENTRY_POINTS,
    HookFailure,
    PluginHookError,
    PluginHost,
    is_builtin,
    make_plugin_manager,
)
from deskmate.testing import make_turn


class Broken:
    """A third-party plugin whose every implementation raises."""

    @hookimpl
    def summarize(self) -> str:
        raise ValueError("no summary")

    @hookimpl
    def escalation_reasons(self) -> list[EscalationReason]:
        raise ValueError("no reasons")

    @hookimpl
    def post_reply(self) -> None:
        raise ValueError("no reply")

    @hookimpl
    def register_jobs(self) -> list[object]:
        raise ValueError("no jobs")


class Escalating:
    @hookimpl
    def escalation_reasons(self) -> list[EscalationReason]:
        return [EscalationReason("vip", "a VIP customer")]


def host_with(*plugins: tuple[str, object]) -> tuple[PluginHost, list[HookFailure]]:
    host = make_plugin_manager(env={}, entry_points=(), extra_plugins=plugins)
    failures: list[HookFailure] = []
    host.on_hook_failure(failures.append)
    return host, failures


def test_a_failing_decider_falls_through_to_the_builtin_default(
    caplog: pytest.LogCaptureFixture,
) -> None:
    host, failures = host_with(("broken", Broken()))
    turn = make_turn("My invoice is wrong and I was charged twice")

    with caplog.at_level(logging.ERROR, logger="deskmate.core.plugins"):
        found = host.hook.summarize(turn=turn)

    assert found == summary.summarize(turn)
    assert failures == [HookFailure("broken", "summarize", "decider", "ValueError: no summary")]
    assert "plugin 'broken' failed in summarize (decider hook)" in caplog.text
    assert "ValueError: no summary" in caplog.text


def test_a_failing_collector_contribution_is_dropped() -> None:
    host, failures = host_with(("broken", Broken()), ("escalating", Escalating()))

    found = host.hook.escalation_reasons(turn=make_turn("hello"), draft=None)

    assert [EscalationReason("vip", "a VIP customer")] in found
    assert [f.hook for f in failures] == ["escalation_reasons"]
    assert host.hook.register_jobs(settings=None) == []
    assert [f.kind for f in failures] == ["collector", "collector"]


def test_a_failing_action_fails_the_run_with_the_plugin_named() -> None:
    host, failures = host_with(("broken", Broken()))

    with pytest.raises(PluginHookError, match="plugin 'broken' failed in post_reply") as raised:
        host.hook.post_reply(turn=make_turn(), body="<p>hi</p>")

    assert raised.value.failure == failures[0]
    assert failures[0].kind == "action"
    assert isinstance(raised.value.__cause__, ValueError)


def test_a_builtin_plugins_bug_is_not_isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    def bug(turn: object) -> str:
        raise ZeroDivisionError("a deskmate bug")

    monkeypatch.setattr(summary, "summarize", bug)
    host, failures = host_with()

    with pytest.raises(ZeroDivisionError, match="a deskmate bug"):
        host.hook.summarize(turn=make_turn())
    assert failures == []


def test_the_builtin_plugins_are_deskmates_own_modules_and_entry_points() -> None:
    declared = metadata.distribution("deskmate").entry_points.select(group="deskmate")

    assert sorted(ep.value for ep in declared) == sorted(BUILTIN_ENTRY_POINTS)
    host = make_plugin_manager(env={}, entry_points=declared)
    assert all(is_builtin(host.plugin(name)) for name in host.loaded())
    assert not is_builtin(Broken())
