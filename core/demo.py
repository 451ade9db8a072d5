"""``deskmate demo``: the whole product against the built-in sandbox, with scripted customers.

It starts the sandbox (with a small multilingual help center), deskmate and a worker on
loopback with a temporary SQLite database, syncs the help center through the knowledge plugin,
plays each scene and prints what the customer and the rep see. ``--check`` turns the scenes'
expectations into the exit code.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import click

from deskmate.core.brain import runtime as brain_runtime
from deskmate.core.config import ChannelSwitches
from deskmate.core.html import html_to_text
from deskmate.core.stack import APP_ID, LocalStack, StackOptions
from deskmate.core.store.sessions import get_session

DEMO_PLUGINS = {"messenger": {"initial_delay": 1.0}, "email": {"initial_delay": 2.0}}


@dataclass
class Seen:
    """What a scene left in Intercom: the customer's view and the rep's."""

    replies: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    assignee: str | None = None
    state: str | None = None
    language: str | None = None


@dataclass
class Scene:
    """One scripted customer: what they do, and what should happen."""

    title: str
    play: Callable[[LocalStack], str]
    expect: Callable[[Seen], bool]
    expectation: str


def _ask(body: str, channel: str = "messenger", **extra: Any) -> Callable[[LocalStack], str]:
    return lambda stack: stack.start_conversation(body, channel, **extra)


def _human_owned(stack: LocalStack) -> str:
    conversation = stack.start_conversation("How do I change my plan?", "messenger")
    stack.control(f"/conversations/{conversation}/assign", admin_id=stack.human_admin_id)
    return conversation


def _answered_then_closed(stack: LocalStack) -> str:
    conversation = stack.start_conversation("How long does shipping take?", "messenger")
    stack.wait_settled()
    stack.control(f"/conversations/{conversation}/close")
    return conversation


SCENES = [
    Scene(
        "An answerable question on Messenger",
        _ask("How do I reset my password?"),
        lambda s: len(s.replies) == 1 and not s.notes,
        "one AI reply, no handoff",
    ),
    Scene(
        "A question in Spanish",
        _ask("¿Cuál es la política de reembolso? Quiero pedir un reembolso de mi compra."),
        lambda s: len(s.replies) == 1 and s.language == "es",
        "one AI reply, conversation language es",
    ),
    Scene(
        "A frustrated customer",
        _ask("This is the THIRD time I write!!! Still not fixed and nobody answers. Ridiculous!"),
        lambda s: not s.replies and "opencx_handed_off" in s.tags and s.state == "handed_off",
        "handed off with a note and the tag, no AI reply",
    ),
    Scene(
        "A customer who wants a person",
        _ask("Can I talk to a real person please?"),
        lambda s: not s.replies and "opencx_handed_off" in s.tags and len(s.notes) == 1,
        "handed off with one note and the tag",
    ),
    Scene(
        "An email",
        _ask(
            "Hello,\n\nHow long does shipping take?\n\nThanks,\nJonas\n\n"
            "On Mon, 5 Jan 2026 at 10:00, Acme Support <support@acme.test> wrote:\n"
            "> Thanks for your order!",
            "email",
            subject="Shipping question",
        ),
        lambda s: len(s.replies) == 1,
        "one email-style AI reply",
    ),
    Scene(
        "A conversation a human rep owns (assist mode)",
        _human_owned,
        lambda s: not s.replies and "opencx_ai_assisted" in s.tags and bool(s.notes),
        "a suggested reply as an internal note, tagged, nothing sent to the customer",
    ),
    Scene(
        "An answered conversation is closed",
        _answered_then_closed,
        lambda s: len(s.replies) == 1 and s.state == "resolved",
        "one AI reply, session resolved with a summary",
    ),
]


def seen(stack: LocalStack, conversation_id: str) -> Seen:
    """Read the conversation back from the sandbox and the session from the store."""
    conversation = stack.conversation(conversation_id)
    result = Seen(
        replies=[html_to_text(p["body"]) for p in stack.parts_by_ai(conversation_id)],
        notes=[html_to_text(p["body"]) for p in stack.parts_by_ai(conversation_id, "note")],
        tags=[t["name"] for t in conversation["tags"]["tags"]],
        assignee=conversation.get("admin_assignee_id"),
    )
    with stack.engine.sessions() as db:
        record = get_session(db, APP_ID, conversation_id)
        if record is not None:
            result.state, result.language = record.state, record.language
    return result


def sync_knowledge(stack: LocalStack) -> None:
    """Run every plugin's periodic jobs once (the knowledge sync among them)."""
    for job in chain.from_iterable(stack.host.hook.register_jobs(settings=stack.settings)):
        job.func(stack.settings)
    brain_runtime.current().knowledge.invalidate()


def run_demo(
    folder: Path,
    *,
    duplicate: int = 1,
    brain: str = "default",
    echo: Callable[[str], None] = click.echo,
) -> bool:
    """Play every scene; returns whether every expectation held.

    ``brain="llm"``: answer with the llm plugin and the sandbox's deterministic model.
    """
    options = StackOptions(
        plugins=DEMO_PLUGINS,
        channels={"messenger": ChannelSwitches(autopilot=True, assist=True)},
        duplicate_webhooks=duplicate,
        sandbox_model=brain == "llm",
    )
    ok = True
    with LocalStack(folder, options) as stack:
        echo(f"Sandbox Intercom on {stack.sandbox_url}; deskmate on {stack.url}")
        if brain == "llm":
            echo(f"Answers by the sandbox model at {stack.sandbox_url}/v1 (the llm plugin)")
        sync_knowledge(stack)
        for number, scene in enumerate(SCENES, 1):
            echo(f"\n── {number}. {scene.title}")
            conversation = scene.play(stack)
            stack.wait_settled()
            what = seen(stack, conversation)
            _print_transcript(stack, conversation, what, echo)
            passed = scene.expect(what)
            ok &= passed
            echo(f"   {'✓' if passed else '✗'} expected: {scene.expectation}")
            if not passed:
                echo(
                    f"     got: {len(what.replies)} replies, {len(what.notes)} notes, "
                    f"tags {what.tags or '-'}, session {what.state or '-'}"
                )
    return ok


def _print_transcript(
    stack: LocalStack, conversation_id: str, what: Seen, echo: Callable[[str], None]
) -> None:
    conversation = stack.conversation(conversation_id)
    source = conversation["source"]
    echo(f"   customer: {_short(html_to_text(source['body']))}")
    for part in conversation["conversation_parts"]["conversation_parts"]:
        author = part["author"]
        text = _short(html_to_text(part.get("body") or ""))
        if part["part_type"] == "comment" and author["type"] in ("user", "lead", "contact"):
            echo(f"   customer: {text}")
        elif part["part_type"] == "comment":
            echo(f"   {author.get('name') or 'admin'} → customer: {text}")
        elif part["part_type"] == "note":
            echo(f"   [note for the team] {text}")
    if what.tags:
        echo(f"   tags: {', '.join(what.tags)}")
    echo(f"   session: {what.state or '-'} · language {what.language or '-'}")


def _short(text: str, width: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


@click.command()
@click.option("--check", is_flag=True, help="Exit non-zero unless every expected outcome happened.")
@click.option(
    "--duplicate",
    default=1,
    show_default=True,
    type=click.IntRange(1, 5),
    help="Have the sandbox deliver every webhook this many times.",
)
@click.option(
    "--brain",
    type=click.Choice(["default", "llm"]),
    default="default",
    show_default=True,
    help="Answer with the offline default brain, or with the llm plugin and the sandbox model.",
)
def demo(check: bool, duplicate: int, brain: str) -> None:
    """See deskmate work end to end against the built-in Intercom sandbox (no account needed)."""
    with tempfile.TemporaryDirectory(prefix="deskmate-demo-") as folder:
        ok = run_demo(Path(folder), duplicate=duplicate, brain=brain)
    click.echo("\nEvery scene went as expected." if ok else "\nSome scenes did not go as expected.")
    if check and not ok:
        raise SystemExit(1)
