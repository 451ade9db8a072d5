"""The deskmate plugin contract: the markers and every hook specification.

A plugin is a module or object with functions decorated ``@hookimpl`` whose names match the specs
below. Hooks come in four kinds, and the kind decides how results are combined:

* **events** (fan-out): every implementation is called; one failing never stops the others;
  return values are ignored.
* **collectors**: every implementation is called; the list of non-``None`` results is merged.
* **deciders**: the first non-``None`` result wins (``firstresult``); deskmate's built-in default
  is registered ``trylast`` so any plugin can decide first.
* **actions**: the first non-``None`` result wins; the built-in implementation calls Intercom and
  is ``trylast``, so a shadow-mode or dry-run plugin can take an action first and return a result.

Isolation: a plugin's implementation that raises is logged with the plugin's name and the hook,
counted and recorded in the session's audit; then an event's or a collector's contribution is
dropped, a decider counts as ``None`` (the next implementation decides), and an action fails the
run, which is retried as an Intercom failure is. deskmate's built-in plugins are not isolated
(except in events): their bugs go through retries and the dead letter.

A plugin only declares the arguments it uses: pluggy passes arguments by name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    import flask
    import marshmallow

    from deskmate.core.config import Settings
    from deskmate.core.domain import (
        ActionResult,
        Decision,
        Draft,
        EscalationReason,
        Handoff,
        Hit,
        LanguageGuess,
        Message,
        PeriodicJob,
        Route,
        Sentiment,
        Turn,
    )
    from deskmate.core.intercom.models import Conversation, Part

PROJECT = "deskmate"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

# -- events (fan-out: all called, failures isolated) -----------------------------------------


@hookspec
def startup(settings: Settings, app: flask.Flask | None) -> None:
    """Called once when the host or a worker starts, after every plugin is loaded.

    :param settings: the validated configuration.
    :param app: the Flask application when the web host starts; ``None`` in a worker or a CLI run.

    Calling rule: **event** — all implementations are called; an exception in one is logged with
    the plugin's name and the others still run. The return value is ignored.
    """


@hookspec
def inbound_message(turn: Turn, message: Message) -> None:
    """Called for every customer message deskmate stores, before any decision is taken.

    Use it to observe traffic (a Slack notifier, an analytics sink); to change what the AI does,
    implement a decider instead.

    :param turn: the conversation's context as known when the message arrived.
    :param message: the normalised customer message.

    Calling rule: **event** — all called, failures isolated, return ignored.
    """


@hookspec
def admin_message(turn: Turn, message: Message) -> None:
    """Called for every message a human rep writes (reply or note), stored for context.

    An admin message never makes the AI answer; it is history for later turns.

    :param turn: the conversation's context.
    :param message: the rep's message, normalised.

    Calling rule: **event** — all called, failures isolated, return ignored.
    """


@hookspec
def session_resolved(turn: Turn, summary: str, sentiment: Sentiment) -> None:
    """Called when a conversation the AI owned is closed and its session is resolved.

    :param turn: the conversation's context.
    :param summary: the summary recorded on the session.
    :param sentiment: the customer's sentiment over the conversation.

    Calling rule: **event** — all called, failures isolated, return ignored.
    """


@hookspec
def handed_off(turn: Turn, handoff: Handoff, results: list[ActionResult]) -> None:
    """Called after a conversation was escalated to a human and the handoff actions ran.

    :param turn: the conversation's context.
    :param handoff: the reasons, summary, sentiment, language and route of the handoff.
    :param results: what each handoff action did (note, tag, assign, attributes).

    Calling rule: **event** — all called, failures isolated, return ignored.
    """


# -- collectors (all called, results merged) -------------------------------------------------


@hookspec
def config_schema() -> type[marshmallow.Schema] | marshmallow.Schema | None:
    """Return the marshmallow schema of this plugin's own ``[plugins.<name>]`` config section.

    deskmate adds the common ``enabled`` key itself. The validated section is available as
    ``settings.plugin_config("<name>")``. A section that fails its schema is reported with its
    key paths, and the plugin is not loaded.

    :return: a schema class or instance; ``None`` when the plugin has no options.

    Calling rule: **collector** — each plugin's result applies to its own section only.
    """


@hookspec
def enrich_context(turn: Turn) -> dict[str, Any] | None:
    """Return facts to add to the AI's context for this turn (contact plan, account manager…).

    Results of all plugins are merged into ``turn.enrichment`` in call order; later keys win.

    :param turn: the conversation's context.
    :return: a mapping of readable names to values, or ``None`` to add nothing.

    Calling rule: **collector** — all called, the dicts merged.
    """


@hookspec
def search_knowledge(
    query: str, language: str | None, turn: Turn | None, limit: int
) -> list[Hit] | None:
    """Return knowledge passages relevant to ``query``, best first.

    :param query: the customer's question in plain text.
    :param language: the ISO 639-1 code of the question, when known.
    :param turn: the conversation's context (for ``deskmate ask``, a one-message conversation
        with no contact); ``None`` when a caller searches outside any conversation.
    :param limit: the most hits wanted from this implementation.
    :return: a list of hits, or ``None`` when this source has nothing.

    Calling rule: **collector** — all called; hits are merged and sorted by score.
    """


@hookspec
def escalation_reasons(turn: Turn, draft: Draft | None) -> list[EscalationReason] | None:
    """Return the reasons this conversation should go to a human now.

    :param turn: the conversation's context, with language and sentiment filled in.
    :param draft: the reply the AI would send, or ``None`` when it has none.
    :return: a list of reasons (empty or ``None`` when there is no reason to escalate).

    Calling rule: **collector** — all called; any reason from any plugin escalates.
    """


@hookspec
def register_routes(settings: Settings) -> list[flask.Blueprint] | None:
    """Return Flask blueprints to mount on the host (a page, an extra webhook…).

    :param settings: the validated configuration.
    :return: a list of blueprints, or ``None``.

    Calling rule: **collector** — all called; every blueprint is registered.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to the ``deskmate`` command line by decorating ``cli.command()``.

    :param cli: the top-level click group.

    Calling rule: **collector** — all called; the return value is ignored.
    """


@hookspec
def register_jobs(settings: Settings) -> list[PeriodicJob] | None:
    """Return periodic jobs for the scheduler (knowledge sync, reports…).

    :param settings: the validated configuration.
    :return: a list of :class:`~deskmate.core.domain.PeriodicJob`, or ``None``.

    Calling rule: **collector** — all called; every job is scheduled.
    """


@hookspec
def webhook_topics(settings: Settings) -> list[str] | None:
    """Return the webhook topics without a conversation that this plugin applies itself from
    the outbox (the knowledge sync: the ``article.*`` topics).

    The intake stores such a notification as work only when an enabled plugin names its topic;
    otherwise it is stored settled (``skipped``, with the reason), so it never waits as due work.

    :param settings: the validated configuration.
    :return: a list of topics, or ``None``.

    Calling rule: **collector** — all called; the topics are merged.
    """


# -- deciders (first non-None result wins; built-in defaults are trylast) --------------------


@hookspec(firstresult=True)
def channel_for(conversation: Conversation) -> str | None:
    """Claim a conversation for a channel (``"messenger"``, ``"email"``, …).

    :param conversation: the conversation as Intercom sent it (at the webhook intake, without
        its parts: decide from the source and ids).
    :return: the channel's name, or ``None`` when this plugin does not own it. A conversation no
        plugin claims is recorded as skipped.

    Calling rule: **decider** — the first non-``None`` result wins.
    """


@hookspec(firstresult=True)
def should_process(turn: Turn, channel: str, topic: str) -> Decision | None:
    """Decide whether the AI acts on this conversation now, and in which mode.

    :param turn: the conversation's context (assignee, source, history).
    :param channel: the channel that claimed the conversation.
    :param topic: the webhook topic that started this run.
    :return: a :class:`~deskmate.core.domain.Decision` (``autopilot``, ``assist``, ``shadow``
        or ``skip`` with its reason and, for the logs and metrics, a short reason ``code``), or
        ``None`` to let the next plugin decide. On a workspace or channel in shadow mode the
        engine turns any acting decision into ``shadow``.

    Calling rule: **decider** — the first non-``None`` result wins.
    """


@hookspec(firstresult=True)
def processing_delay(channel: str, conversation: Conversation, first_message: bool) -> float | None:
    """Return how many seconds to wait before processing a new customer message.

    Called by the webhook intake before the 2xx, so keep it cheap; the conversation it gets has
    its source, owner and ids but not its parts.

    :param channel: the channel that claimed the conversation.
    :param conversation: the conversation (without parts).
    :param first_message: ``True`` for the message that opened the conversation.
    :return: a delay in seconds, or ``None`` to let the next plugin decide (default 0).

    Calling rule: **decider** — the first non-``None`` result wins.
    """


@hookspec(firstresult=True)
def normalize_message(
    channel: str, part: Part, conversation: Conversation, settings: Settings
) -> Message | None:
    """Turn an Intercom part (or the conversation's source) into a plain-text message.

    Channels strip HTML, quoted email history and signatures, and keep attachments here.

    :param channel: the channel that claimed the conversation.
    :param part: the part to normalise (the source is passed as a part of type ``source``).
    :param conversation: the conversation it belongs to.
    :param settings: the validated configuration.
    :return: a :class:`~deskmate.core.domain.Message`, or ``None`` to let the next plugin do it.

    Calling rule: **decider** — the first non-``None`` result wins.
    """


@hookspec(firstresult=True)
def detect_language(text: str, turn: Turn | None) -> LanguageGuess | None:
    """Guess the language of ``text``.

    :param text: the customer's words.
    :param turn: the conversation's context (browser language, earlier guesses), when any.
    :return: a guess with its confidence, or ``None`` to let the next plugin guess.

    Calling rule: **decider** — the first non-``None`` result wins.
    """


@hookspec(firstresult=True)
def analyze_sentiment(text: str, language: str | None, turn: Turn | None) -> Sentiment | None:
    """Rate the customer's sentiment in ``text``.

    :param text: the customer's words (the latest message, or the thread).
    :param language: the ISO 639-1 code when known.
    :param turn: the conversation's context, when any.
    :return: a :class:`~deskmate.core.domain.Sentiment` (``unknown`` rather than a guess), or
        ``None`` to let the next plugin decide.

    Calling rule: **decider** — the first non-``None`` result wins.
    """


@hookspec(firstresult=True)
def generate_reply(turn: Turn, hits: list[Hit]) -> Draft | None:
    """Draft the reply to the customer's latest message.

    :param turn: the conversation's context (history, enrichment, language).
    :param hits: knowledge passages found for the question, best first.
    :return: a :class:`~deskmate.core.domain.Draft` with a confidence in [0, 1], or ``None``
        when this plugin has no answer (the next plugin is asked).

    Calling rule: **decider** — the first non-``None`` result wins.
    """


@hookspec(firstresult=True)
def summarize(turn: Turn) -> str | None:
    """Summarise what the customer needs, for handoff and resolution notes.

    :param turn: the conversation's context.
    :return: a short plain-text summary, or ``None`` to let the next plugin summarise.

    Calling rule: **decider** — the first non-``None`` result wins.
    """


@hookspec(firstresult=True)
def format_reply(channel: str, draft: Draft, turn: Turn) -> str | None:
    """Render a draft as the HTML body Intercom will show for this channel.

    :param channel: the channel that claimed the conversation.
    :param draft: the reply to render.
    :param turn: the conversation's context (contact name, language…).
    :return: HTML that survives Intercom's reply sanitizer, or ``None`` to let the next plugin
        render it.

    Calling rule: **decider** — the first non-``None`` result wins.
    """


# -- actions (first non-None result wins; the Intercom implementation is trylast) ------------


@hookspec(firstresult=True)
def post_reply(turn: Turn, body: str) -> ActionResult | None:
    """Send ``body`` to the customer as the AI admin.

    :param turn: the conversation's context.
    :param body: the HTML body.
    :return: what happened, or ``None`` to let the next implementation act.

    Calling rule: **action** — the first non-``None`` result wins.
    """


@hookspec(firstresult=True)
def post_note(turn: Turn, body: str) -> ActionResult | None:
    """Add an internal note, visible to the team only.

    :param turn: the conversation's context.
    :param body: the HTML body.
    :return: what happened, or ``None`` to let the next implementation act.

    Calling rule: **action** — the first non-``None`` result wins.
    """


@hookspec(firstresult=True)
def tag(turn: Turn, name: str) -> ActionResult | None:
    """Attach the tag called ``name`` to the conversation, creating it if missing.

    :param turn: the conversation's context.
    :param name: the tag's name.
    :return: what happened, or ``None`` to let the next implementation act.

    Calling rule: **action** — the first non-``None`` result wins.
    """


@hookspec(firstresult=True)
def assign(turn: Turn, route: Route) -> ActionResult | None:
    """Route the conversation: leave it unassigned, or assign it to an admin or a team.

    :param turn: the conversation's context.
    :param route: where the conversation goes.
    :return: what happened, or ``None`` to let the next implementation act.

    Calling rule: **action** — the first non-``None`` result wins.
    """


@hookspec(firstresult=True)
def set_attributes(turn: Turn, attributes: dict[str, Any]) -> ActionResult | None:
    """Write conversation custom attributes (the machine-readable handoff).

    :param turn: the conversation's context.
    :param attributes: attribute names and values.
    :return: what happened, or ``None`` to let the next implementation act.

    Calling rule: **action** — the first non-``None`` result wins.
    """


@hookspec(firstresult=True)
def escalate(turn: Turn, handoff: Handoff) -> list[ActionResult] | None:
    """Hand the conversation to a human.

    The built-in implementation runs, in order, ``post_note`` (summary, sentiment, language,
    reasons, session link), ``tag``, ``assign`` and ``set_attributes``; a plugin may replace the
    whole sequence (a CRM ticket instead of a note, say).

    :param turn: the conversation's context.
    :param handoff: the reasons, summary, sentiment, language and route.
    :return: the result of each action taken, or ``None`` to let the next implementation act.

    Calling rule: **action** — the first non-``None`` result wins.
    """


EVENT_HOOKS = frozenset(
    {"startup", "inbound_message", "admin_message", "session_resolved", "handed_off"}
)
ACTION_HOOKS = frozenset({"post_reply", "post_note", "tag", "assign", "set_attributes", "escalate"})
