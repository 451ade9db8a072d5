"""The plugin manager factory: built-in defaults, entry-point plugins, the config's allow-list.

Like datasette, the core's own defaults (the brain, the Intercom actions) are plugins registered
``trylast``; the channel and knowledge plugins arrive through the ``deskmate`` entry-point group
exactly as third-party ones do. A plugin that fails to import, register or validate is reported
with its name and reason and the host goes on without it, unless ``DESKMATE_STRICT_PLUGINS=1``.
A loaded plugin's hook implementation that raises is isolated by its hook's kind (see
``hookspecs``); :func:`is_builtin` decides which plugins are deskmate's own and not isolated.

Environment overrides (comma-separated plugin names):

* ``DESKMATE_LOAD_PLUGINS`` — load only these entry-point plugins (empty: load none);
* ``DESKMATE_DISABLE_PLUGINS`` — never load these;
* ``DESKMATE_STRICT_PLUGINS=1`` — re-raise a plugin's load error (plugin development, CI);
* ``DESKMATE_TRACE_PLUGINS=1`` — print every hook call to stderr.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any, Literal

import click
import pluggy

from deskmate import hookspecs

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "deskmate"

DEFAULT_PLUGINS = (
    "deskmate.core.brain.hooks",
    "deskmate.core.intercom.actions",
    "deskmate.core.intercom.enrichment",
    "deskmate.core.handoff",
)

BUILTIN_ENTRY_POINTS = (
    "deskmate.plugins.messenger",
    "deskmate.plugins.email",
    "deskmate.plugins.knowledge_sync",
    "deskmate.plugins.llm",
)
"""The modules deskmate's own ``deskmate`` entry points load (see ``pyproject.toml``)."""

BUILTIN_MODULES = frozenset((*DEFAULT_PLUGINS, *BUILTIN_ENTRY_POINTS))

Status = Literal["loaded", "disabled", "failed"]
HookKind = Literal["event", "collector", "decider", "action"]

CONSEQUENCES: dict[str, str] = {
    "event": "the other plugins still ran",
    "collector": "its contribution is dropped",
    "decider": "the next implementation decides",
    "action": "the run fails and is retried",
}
"""What deskmate does when a third-party implementation of each kind of hook raises."""


@dataclass(frozen=True)
class HookFailure:
    """A plugin's hook implementation that raised and was isolated (logged, counted, audited)."""

    plugin: str
    hook: str
    kind: HookKind
    error: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


FailureListener = Callable[[HookFailure], None]
"""Told of every :class:`HookFailure`."""

MAX_ERROR_CHARS = 300

_recorders: ContextVar[tuple[FailureListener, ...]] = ContextVar(
    "deskmate_hook_failure_recorders", default=()
)


class PluginHookError(Exception):
    """A third-party action hook raised: the run fails and is retried like an Intercom error."""

    def __init__(self, failure: HookFailure) -> None:
        super().__init__(f"plugin {failure.plugin!r} failed in {failure.hook}: {failure.error}")
        self.failure = failure


def is_builtin(plugin: object) -> bool:
    """Whether ``plugin`` is one of deskmate's own modules.

    A built-in's bug is deskmate's bug: it raises, and the run goes through retries and the dead
    letter. Every other plugin's deciders, collectors and actions are isolated (events always are).
    """
    return isinstance(plugin, ModuleType) and plugin.__name__ in BUILTIN_MODULES


def hook_kind(name: str, firstresult: bool) -> HookKind:
    """The kind of the hook called ``name`` (``firstresult`` as its spec declares)."""
    if name in hookspecs.EVENT_HOOKS:
        return "event"
    if name in hookspecs.ACTION_HOOKS:
        return "action"
    return "decider" if firstresult else "collector"


@contextmanager
def recording_hook_failures(record: FailureListener) -> Iterator[None]:
    """Also tell ``record`` of the hook failures raised in this context (thread) until the block
    ends: the engine writes them to the audit of the session it is handling."""
    token = _recorders.set((*_recorders.get(), record))
    try:
        yield
    finally:
        _recorders.reset(token)


@dataclass
class PluginInfo:
    """What ``deskmate plugins`` and ``/-/plugins`` show for one plugin."""

    name: str
    version: str | None
    status: Status
    hooks: list[str] = field(default_factory=list)
    reason: str | None = None
    default: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``deskmate plugins --json`` and ``/-/plugins``."""
        return asdict(self)


class _IsolatingManager(pluggy.PluginManager):
    """A pluggy manager that isolates each plugin's failing hook implementations.

    Isolation is applied on every registration, so a plugin registered straight on ``host.pm``
    (a test, an embedding application) is isolated too.
    """

    def __init__(self, project_name: str) -> None:
        super().__init__(project_name)
        self.failure_listeners: list[FailureListener] = []

    def register(self, plugin: object, name: str | None = None) -> str | None:
        registered = super().register(plugin, name)
        if registered is not None:
            _isolate(self, plugin, registered)
        return registered

    def report_failure(self, failure: HookFailure) -> None:
        """Tell every listener and this context's recorders of ``failure`` (never raises)."""
        for listener in (*self.failure_listeners, *_recorders.get()):
            try:
                listener(failure)
            except Exception:
                log.exception("a hook failure listener failed")


class PluginHost:
    """A pluggy manager plus the load report of every plugin it was asked to load."""

    def __init__(self) -> None:
        self.pm = _IsolatingManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self.quiet = False

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def hook_names(self) -> list[str]:
        """Every hook the contract defines, sorted."""
        return _spec_names(self.pm)

    def loaded(self) -> list[str]:
        return [name for name, info in self.infos.items() if info.status == "loaded"]

    def report(self, *, include_defaults: bool = False) -> list[PluginInfo]:
        return [i for i in self.infos.values() if include_defaults or not i.default]

    def plugin(self, name: str) -> object | None:
        return self.pm.get_plugin(name)

    def on_hook_failure(self, listener: FailureListener) -> None:
        """Call ``listener(failure)`` whenever an isolated hook implementation raises (the
        metrics count them)."""
        self.pm.failure_listeners.append(listener)

    def fail(self, name: str, reason: str, version: str | None = None) -> None:
        """Record ``name`` as failed and unregister it if it is registered."""
        if self.pm.get_plugin(name) is not None:
            self.pm.unregister(name=name)
        known = self.infos.get(name)
        version = version or (known.version if known else None)
        self.infos[name] = PluginInfo(name, version, "failed", reason=reason)
        self.log("plugin %r failed, deskmate goes on without it: %s", name, reason)

    def log(self, message: str, *args: object) -> None:
        """Log a plugin problem as an error (as debug while ``quiet``: it is reported elsewhere)."""
        log.log(logging.DEBUG if self.quiet else logging.ERROR, message, *args)

    def register(self, plugin: object, name: str, *, version: str | None, default: bool) -> None:
        """Register ``plugin`` under ``name`` and validate its hooks.

        :raises ValueError: the name or the object is already registered (nothing changes).
        :raises pluggy.PluginValidationError: a hook name is unknown or an implementation does not
            match its spec; the plugin is unregistered again before this is raised.
        """
        self.pm.register(plugin, name=name)
        problems = _unknown_hooks(self.pm, plugin) + _event_wrappers(self.pm, plugin)
        if problems:
            self.pm.unregister(plugin)
            raise pluggy.PluginValidationError(plugin, "; ".join(problems))
        hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
        self.infos[name] = PluginInfo(name, version, "loaded", hooks=hooks, default=default)

    def call_each(
        self,
        hook_name: str,
        use: Callable[[Any], None],
        *,
        reset: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> None:
        """Call each plugin's implementation of a set-up hook alone and hand its result to ``use``.

        A plugin whose implementation or whose result raises is failed (reported, unregistered)
        and the others go on: one plugin's bad route or command never stops deskmate starting.
        ``reset`` runs before each implementation, to give each a clean slate.
        """
        for impl in reversed(getattr(self.hook, hook_name).get_hookimpls()):
            if reset is not None:
                reset()
            try:
                use(_unguarded(impl.function)(*(kwargs[arg] for arg in impl.argnames)))
            except Exception as exc:
                self.fail(impl.plugin_name, f"{hook_name}: {type(exc).__name__}: {exc}")

    def section_schema(self, name: str) -> Any:
        """Return the config schema the plugin ``name`` declares for its own section, if any."""
        plugin = self.pm.get_plugin(name)
        for impl in self.pm.hook.config_schema.get_hookimpls():
            if impl.plugin is plugin:
                return _unguarded(impl.function)()
        return None


def closest(name: str, choices: Iterable[str]) -> str | None:
    """The one of ``choices`` that ``name`` most likely misspells, or ``None``."""
    matches = difflib.get_close_matches(name, list(choices), n=1)
    return matches[0] if matches else None


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest of ``choices``, or ``""``."""
    match = closest(name, choices)
    return f" (did you mean {match!r}?)" if match else ""


def _spec_names(pm: pluggy.PluginManager) -> list[str]:
    return sorted(name for name, caller in vars(pm.hook).items() if caller.has_spec())


def _unknown_hooks(pm: pluggy.PluginManager, plugin: object) -> list[str]:
    """Name every hook implementation of ``plugin`` that matches no spec, with a suggestion."""
    known = _spec_names(pm)
    problems = []
    for caller in pm.get_hookcallers(plugin) or []:
        if caller.has_spec():
            continue
        if any(impl.optionalhook for impl in caller.get_hookimpls() if impl.plugin is plugin):
            continue
        problems.append(
            f"implements unknown hook {caller.name!r}{did_you_mean(caller.name, known)}"
        )
    return problems


def _event_wrappers(pm: pluggy.PluginManager, plugin: object) -> list[str]:
    """Event hooks are isolated per implementation, which a hook wrapper would defeat."""
    return [
        f"wraps event hook {caller.name!r}; event hooks take plain implementations only"
        for caller in pm.get_hookcallers(plugin) or []
        if caller.name in hookspecs.EVENT_HOOKS
        for impl in caller.get_hookimpls()
        if impl.plugin is plugin and (impl.wrapper or impl.hookwrapper)
    ]


def _isolate(pm: _IsolatingManager, plugin: object, name: str) -> None:
    """Guard ``plugin``'s implementations: every event one, and every one of a third party.

    Wrappers are left as they are: a wrapper takes charge of the whole call, outcome included.
    """
    builtin = is_builtin(plugin)
    for caller in pm.get_hookcallers(plugin) or []:
        if caller.spec is None:
            continue
        kind = hook_kind(caller.name, bool(caller.spec.opts.get("firstresult")))
        if builtin and kind != "event":
            continue
        for impl in caller.get_hookimpls():
            if impl.plugin is plugin and not (impl.wrapper or impl.hookwrapper):
                guarded = _guarded(impl.function, name, caller.name, kind, pm)
                impl.function = guarded  # type: ignore[misc]


def _guarded(
    func: Callable[..., Any],
    plugin_name: str,
    hook_name: str,
    kind: HookKind,
    pm: _IsolatingManager,
) -> Callable[..., Any]:
    """``func``, which on an exception logs and reports it, then returns ``None`` (the others
    still run, the next decider decides) or, for an action, raises :class:`PluginHookError`."""

    @functools.wraps(func)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            log.exception(
                "plugin %r failed in %s (%s hook); %s",
                plugin_name,
                hook_name,
                kind,
                CONSEQUENCES[kind],
            )
            error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
            failure = HookFailure(plugin_name, hook_name, kind, error)
            pm.report_failure(failure)
            if kind == "action":
                raise PluginHookError(failure) from exc
            return None

    call.deskmate_unguarded = func  # type: ignore[attr-defined]
    return call


def _unguarded(func: Callable[..., Any]) -> Callable[..., Any]:
    """The plugin's own function: the set-up hooks fail a raising plugin as a whole instead."""
    return getattr(func, "deskmate_unguarded", func)


def _env_names(env: Mapping[str, str], key: str) -> set[str] | None:
    raw = env.get(key)
    if raw is None:
        return None
    return {n.strip() for n in raw.split(",") if n.strip()}


def env_flag(env: Mapping[str, str], key: str) -> bool:
    """Whether the environment switch ``key`` is on (``1``, ``true`` or ``yes``)."""
    return env.get(key, "").strip().lower() in ("1", "true", "yes")


def is_enabled(
    name: str, plugin_sections: Mapping[str, Mapping[str, Any]], env: Mapping[str, str]
) -> tuple[bool, str | None]:
    """Decide whether plugin ``name`` loads: env allow/deny lists first, then its section."""
    allow = _env_names(env, "DESKMATE_LOAD_PLUGINS")
    if allow is not None and name not in allow:
        return False, "not in DESKMATE_LOAD_PLUGINS"
    deny = _env_names(env, "DESKMATE_DISABLE_PLUGINS") or set()
    if name in deny:
        return False, "listed in DESKMATE_DISABLE_PLUGINS"
    section = plugin_sections.get(name, {})
    if not isinstance(section, Mapping):
        return False, f"[plugins.{name}] is not a table"
    enabled = section.get("enabled", True)
    if enabled is not True:
        shown = "false" if enabled is False else repr(enabled)
        return False, f"[plugins.{name}] enabled = {shown}"
    return True, None


def _version_of(ep: metadata.EntryPoint) -> str | None:
    dist = getattr(ep, "dist", None)
    return dist.version if dist is not None else None


def make_plugin_manager(
    plugin_sections: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    entry_points: Iterable[metadata.EntryPoint] | None = None,
    extra_plugins: Iterable[tuple[str, object]] = (),
    quiet: bool = False,
    defaults: bool = True,
) -> PluginHost:
    """Build a plugin host: defaults, then entry-point plugins the config and env allow.

    ``plugin_sections`` is the raw ``[plugins.*]`` part of the config; ``entry_points`` replaces
    discovery (``()`` loads no installed plugin); ``extra_plugins`` are ``(name, module-or-object)``
    pairs loaded like entry points (tests, embedding). Plugins register in name order.
    ``quiet`` logs load failures at debug level only, for a host whose report nobody reads
    (the command line's discovery of plugin commands); that host also needs no ``defaults``
    (deskmate's own brain and actions, slow to import and registering no command).
    """
    env = os.environ if env is None else env
    sections = plugin_sections or {}
    strict = env_flag(env, "DESKMATE_STRICT_PLUGINS")
    host = PluginHost()
    host.quiet = quiet
    for module_name in DEFAULT_PLUGINS if defaults else ():
        host.register(importlib.import_module(module_name), module_name, version=None, default=True)
    eps = metadata.entry_points(group=ENTRY_POINT_GROUP) if entry_points is None else entry_points
    loaders: list[tuple[str, Callable[[], object], str | None]] = [
        (ep.name, ep.load, _version_of(ep)) for ep in eps
    ]
    loaders += [(name, functools.partial(_given, obj), None) for name, obj in extra_plugins]
    for name, load, version in sorted(loaders, key=lambda x: x[0]):
        _load_one(host, name, load, version, sections, env, strict)
    _report_missing(host, _env_names(env, "DESKMATE_LOAD_PLUGINS") or set())
    host.quiet = False
    if env_flag(env, "DESKMATE_TRACE_PLUGINS"):
        enable_tracing(host)
    return host


def _report_missing(host: PluginHost, wanted: set[str]) -> None:
    """A name in ``DESKMATE_LOAD_PLUGINS`` that matches no installed plugin is a failure."""
    for name in sorted(wanted - set(host.infos)):
        reason = (
            f"listed in DESKMATE_LOAD_PLUGINS but not installed{did_you_mean(name, host.infos)}"
        )
        host.infos[name] = PluginInfo(name, None, "failed", reason=reason)
        host.log("plugin %r was not loaded: %s", name, reason)


def _given(obj: object) -> object:
    return obj


def _load_one(
    host: PluginHost,
    name: str,
    load: Callable[[], object],
    version: str | None,
    sections: Mapping[str, Mapping[str, Any]],
    env: Mapping[str, str],
    strict: bool,
) -> None:
    if name in host.infos:
        reason = f"another plugin is already named {name!r}; this one was not loaded"
        duplicates = sum(info.name == name for info in host.infos.values())
        host.infos[f"{name}#{duplicates + 1}"] = PluginInfo(name, version, "failed", reason=reason)
        host.log("a second plugin named %r was not loaded", name)
        return
    enabled, why = is_enabled(name, sections, env)
    if not enabled:
        host.infos[name] = PluginInfo(name, version, "disabled", reason=why)
        return
    try:
        plugin = load()
        host.register(plugin, name, version=version or _module_version(plugin), default=False)
    except (Exception, SystemExit) as exc:  # a plugin calling sys.exit() must not end the host
        host.fail(name, f"{type(exc).__name__}: {exc}{raised_at(exc)}", version)
        if strict:
            raise


def raised_at(exc: BaseException) -> str:
    """Where ``exc`` was raised, as `` (at FILE, line N)`` — the innermost frame outside
    deskmate's and pluggy's own code — or ``""`` when every frame is theirs."""
    own = (os.path.dirname(pluggy.__file__), os.path.dirname(__file__))
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(own)]
    return f" (at {frames[-1].filename}, line {frames[-1].lineno})" if frames else ""


def _module_version(plugin: object) -> str | None:
    version = getattr(plugin, "__version__", None)
    if isinstance(version, str):
        return version
    if not isinstance(plugin, ModuleType):
        return None
    top = plugin.__name__.split(".")[0]
    dists = metadata.packages_distributions().get(top) or [top]
    try:
        return metadata.version(dists[0])
    except metadata.PackageNotFoundError:
        return None


def enable_tracing(host: PluginHost, write: Callable[[str], Any] | None = None) -> None:
    """Print each hook call to ``write`` (default stderr): its name, argument names, the plugins
    called, and the outcome.

    Argument values are not printed: a turn carries customer text and the workspace's client.
    """
    write = write or _stderr

    def before(hook_name: str, impls: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
        plugins = ", ".join(impl.plugin_name for impl in reversed(impls)) or "no plugin"
        write(f"[deskmate trace] {hook_name}({', '.join(kwargs)}) -> {plugins}\n")

    def after(outcome: Any, hook_name: str, impls: Sequence[Any], kwargs: Any) -> None:
        if outcome.exception is not None:
            write(f"[deskmate trace] {hook_name} raised {type(outcome.exception).__name__}\n")
            return
        write(f"[deskmate trace] {hook_name} returned {_shape(outcome.get_result())}\n")

    host.pm.add_hookcall_monitoring(before, after)


def _stderr(text: str) -> None:
    sys.stderr.write(text)


def _shape(result: object) -> str:
    """Describe a hook's result without printing its content."""
    if isinstance(result, list):
        return f"list of {len(result)}"
    return "None" if result is None else type(result).__name__


def add_plugin_commands(group: click.Group, host: PluginHost) -> None:
    """Add the commands plugins register (``register_commands``) to ``group``.

    Each plugin registers on a scratch group first, so a plugin can't replace a command that
    already exists (``serve``, another plugin's): it is failed instead, with the clashing names.
    """
    scratch = click.Group()
    context = click.Context(group)

    def adopt(_result: object) -> None:
        taken = sorted(set(scratch.commands) & set(group.list_commands(context)))  # lazy ones too
        if taken:
            raise ValueError(f"command names already used: {', '.join(taken)}")
        for name, command in scratch.commands.items():
            group.add_command(command, name)

    host.call_each("register_commands", adopt, reset=scratch.commands.clear, cli=scratch)


def plugin_table(infos: Sequence[PluginInfo]) -> str:
    """Render plugin reports as an aligned table; a failed or disabled row gets its reason."""
    if not infos:
        return "No plugins."
    rows = [("NAME", "VERSION", "STATUS", "HOOKS")]
    rows += [(i.name, i.version or "-", i.status, ", ".join(i.hooks) or "-") for i in infos]
    widths = [max(len(row[col]) for row in rows) for col in range(3)]
    lines = []
    for index, row in enumerate(rows):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[3]]).rstrip())
        reason = infos[index - 1].reason if index else None
        if reason:
            lines.append("    reason: " + reason.replace("\n", "\n            "))
    return "\n".join(lines)
