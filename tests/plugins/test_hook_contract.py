"""Every hook follows the calling rule of its family (see hookspecs.py).

* events: every implementation is called, and one raising never stops the others;
* collectors: every implementation is called and every result is returned;
* deciders and actions: the first non-``None`` result wins, and deskmate's defaults are trylast.
"""

from __future__ import annotations

from typing import Any

import pytest

from deskmate import hookimpl, hookspecs
from deskmate.core.plugins import DEFAULT_PLUGINS, PluginHost
from deskmate.testing import make_host

COLLECTOR_HOOKS = frozenset(
    {
        "config_schema",
        "enrich_context",
        "search_knowledge",
        "escalation_reasons",
        "register_routes",
        "register_commands",
        "register_jobs",
        "webhook_topics",
    }
)
FIRST_RESULT_HOOKS = frozenset(
    {
        "channel_for",
        "should_process",
        "processing_delay",
        "normalize_message",
        "detect_language",
        "analyze_sentiment",
        "generate_reply",
        "summarize",
        "format_reply",
        "post_reply",
        "post_note",
        "tag",
        "assign",
        "set_attributes",
        "escalate",
    }
)


def bare_host(*plugins: tuple[str, object]) -> PluginHost:
    """A host with only ``plugins``: deskmate's defaults would act on the placeholder arguments."""
    host = PluginHost()
    for name, plugin in plugins:
        host.register(plugin, name, version=None, default=False)
    return host


def call(host: PluginHost, name: str) -> Any:
    """Call hook ``name`` with a placeholder for every argument of its spec."""
    caller = getattr(host.hook, name)
    return caller(**{arg: object() for arg in caller.spec.argnames})


def test_every_hook_belongs_to_exactly_one_family() -> None:
    host = make_host()
    families = [hookspecs.EVENT_HOOKS, COLLECTOR_HOOKS, FIRST_RESULT_HOOKS]

    assert sorted(set().union(*families)) == host.hook_names()
    assert sum(len(family) for family in families) == len(host.hook_names())
    for name in host.hook_names():
        firstresult = getattr(host.hook, name).spec.opts["firstresult"]
        assert firstresult == (name in FIRST_RESULT_HOOKS), name


class Listener:
    """Records every event it receives; ``fail`` makes it raise after recording."""

    def __init__(self, fail: bool) -> None:
        self.fail = fail
        self.seen: list[str] = []

    def _record(self, name: str) -> None:
        self.seen.append(name)
        if self.fail:
            raise RuntimeError(f"listener failed in {name}")

    @hookimpl
    def startup(self) -> None:
        self._record("startup")

    @hookimpl
    def inbound_message(self) -> None:
        self._record("inbound_message")

    @hookimpl
    def admin_message(self) -> None:
        self._record("admin_message")

    @hookimpl
    def session_resolved(self) -> None:
        self._record("session_resolved")

    @hookimpl
    def handed_off(self) -> None:
        self._record("handed_off")


@pytest.mark.parametrize("name", sorted(hookspecs.EVENT_HOOKS))
@pytest.mark.parametrize(
    "failing_first", [True, False], ids=["failing-registered-first", "failing-registered-last"]
)
def test_event_calls_every_plugin_despite_a_failure(name: str, failing_first: bool) -> None:
    failing, healthy = Listener(fail=True), Listener(fail=False)
    order = [("a", failing), ("b", healthy)] if failing_first else [("a", healthy), ("b", failing)]
    host = bare_host(*order)

    assert call(host, name) == []
    assert failing.seen == [name]
    assert healthy.seen == [name]


class Collector:
    """Returns a value tagged with its own label from every collector hook."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.commands: list[str] = []

    @hookimpl
    def config_schema(self) -> str:
        return self.label

    @hookimpl
    def enrich_context(self) -> dict[str, str]:
        return {self.label: self.label}

    @hookimpl
    def search_knowledge(self) -> list[str]:
        return [self.label]

    @hookimpl
    def escalation_reasons(self) -> list[str]:
        return [self.label]

    @hookimpl
    def register_routes(self) -> list[str]:
        return [self.label]

    @hookimpl
    def register_commands(self) -> None:
        self.commands.append(self.label)

    @hookimpl
    def register_jobs(self) -> list[str]:
        return [self.label]

    @hookimpl
    def webhook_topics(self) -> list[str]:
        return [self.label]


@pytest.mark.parametrize("name", sorted(COLLECTOR_HOOKS - {"register_commands"}))
def test_collector_returns_every_plugins_result(name: str) -> None:
    host = bare_host(("a", Collector("a")), ("b", Collector("b")))

    results = call(host, name)

    flat = sorted(str(result) for result in results)
    assert len(results) == 2
    assert any("a" in item for item in flat)
    assert any("b" in item for item in flat)


def test_collector_register_commands_calls_every_plugin() -> None:
    first, second = Collector("a"), Collector("b")
    host = bare_host(("a", first), ("b", second))

    call(host, "register_commands")

    assert (first.commands, second.commands) == (["a"], ["b"])


class Abstainer:
    """Called first for every decider and action, and always lets the next plugin decide."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def _abstain(self, name: str) -> None:
        self.asked.append(name)

    @hookimpl(tryfirst=True)
    def channel_for(self) -> None:
        self._abstain("channel_for")

    @hookimpl(tryfirst=True)
    def should_process(self) -> None:
        self._abstain("should_process")

    @hookimpl(tryfirst=True)
    def processing_delay(self) -> None:
        self._abstain("processing_delay")

    @hookimpl(tryfirst=True)
    def normalize_message(self) -> None:
        self._abstain("normalize_message")

    @hookimpl(tryfirst=True)
    def detect_language(self) -> None:
        self._abstain("detect_language")

    @hookimpl(tryfirst=True)
    def analyze_sentiment(self) -> None:
        self._abstain("analyze_sentiment")

    @hookimpl(tryfirst=True)
    def generate_reply(self) -> None:
        self._abstain("generate_reply")

    @hookimpl(tryfirst=True)
    def summarize(self) -> None:
        self._abstain("summarize")

    @hookimpl(tryfirst=True)
    def format_reply(self) -> None:
        self._abstain("format_reply")

    @hookimpl(tryfirst=True)
    def post_reply(self) -> None:
        self._abstain("post_reply")

    @hookimpl(tryfirst=True)
    def post_note(self) -> None:
        self._abstain("post_note")

    @hookimpl(tryfirst=True)
    def tag(self) -> None:
        self._abstain("tag")

    @hookimpl(tryfirst=True)
    def assign(self) -> None:
        self._abstain("assign")

    @hookimpl(tryfirst=True)
    def set_attributes(self) -> None:
        self._abstain("set_attributes")

    @hookimpl(tryfirst=True)
    def escalate(self) -> None:
        self._abstain("escalate")


class Decider:
    """Answers every decider and action with ``answer``."""

    def __init__(self, answer: str) -> None:
        self.answer = answer

    @hookimpl
    def channel_for(self) -> str:
        return self.answer

    @hookimpl
    def should_process(self) -> str:
        return self.answer

    @hookimpl
    def processing_delay(self) -> str:
        return self.answer

    @hookimpl
    def normalize_message(self) -> str:
        return self.answer

    @hookimpl
    def detect_language(self) -> str:
        return self.answer

    @hookimpl
    def analyze_sentiment(self) -> str:
        return self.answer

    @hookimpl
    def generate_reply(self) -> str:
        return self.answer

    @hookimpl
    def summarize(self) -> str:
        return self.answer

    @hookimpl
    def format_reply(self) -> str:
        return self.answer

    @hookimpl
    def post_reply(self) -> str:
        return self.answer

    @hookimpl
    def post_note(self) -> str:
        return self.answer

    @hookimpl
    def tag(self) -> str:
        return self.answer

    @hookimpl
    def assign(self) -> str:
        return self.answer

    @hookimpl
    def set_attributes(self) -> str:
        return self.answer

    @hookimpl
    def escalate(self) -> str:
        return self.answer


class Fallback:
    """Answers every decider and action with ``answer``, registered trylast like the defaults."""

    def __init__(self, answer: str) -> None:
        self.answer = answer


def _trylast_answer(name: str) -> Any:
    def answer(self: Fallback) -> str:
        return self.answer

    answer.__name__ = name
    return hookimpl(trylast=True)(answer)


for _name in FIRST_RESULT_HOOKS:
    setattr(Fallback, _name, _trylast_answer(_name))


@pytest.mark.parametrize("name", sorted(FIRST_RESULT_HOOKS))
def test_first_non_none_result_wins_over_a_trylast_default(name: str) -> None:
    abstainer = Abstainer()
    host = bare_host(("a_fallback", Fallback("default")), ("b", abstainer), ("c", Decider("mine")))

    assert call(host, name) == "mine"
    assert abstainer.asked == [name]


@pytest.mark.parametrize("name", sorted(FIRST_RESULT_HOOKS))
def test_trylast_default_answers_when_no_plugin_does(name: str) -> None:
    host = bare_host(("a_fallback", Fallback("default")), ("b", Abstainer()))

    assert call(host, name) == "default"


def test_deskmates_defaults_are_trylast_for_deciders_and_actions() -> None:
    host = make_host()

    for name in FIRST_RESULT_HOOKS:
        for impl in getattr(host.hook, name).get_hookimpls():
            if impl.plugin_name in DEFAULT_PLUGINS:
                assert impl.trylast, f"{impl.plugin_name}.{name} must be trylast"
