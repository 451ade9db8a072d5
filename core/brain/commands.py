"""``deskmate ask``: what the AI would answer, from which passages, and whether it would hand the
conversation off — through the same hooks as the engine, plugins included, without a
conversation or any Intercom call."""

from __future__ import annotations

import json

import click

from deskmate.core.brain.preview import Preview, question_preview
from deskmate.core.clicontext import choose_workspace, load_config, migrated_engine


@click.command()
@click.argument("question")
@click.option(
    "--language", metavar="CODE", help="Answer as if the question were in CODE (en, es…)."
)
@click.option(
    "--workspace", metavar="APP_ID", help="Whose knowledge to search (default: the only one)."
)
@click.option(
    "--internal", is_flag=True, help="Search internal knowledge too, as assist drafts do."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def ask(
    question: str, language: str | None, workspace: str | None, internal: bool, as_json: bool
) -> None:
    """Show what the AI would answer to QUESTION, with the hits and their scores."""

    settings, host = load_config()
    workspace = choose_workspace(settings, workspace)
    migrated_engine().dispose()
    host.hook.startup(settings=settings, app=None)
    preview = question_preview(
        host.hook,
        question,
        settings.workspaces[workspace],
        settings,
        language_hint=language,
        include_internal=internal,
    )
    if as_json:
        click.echo(json.dumps(preview.as_dict(), indent=2, default=str))
    else:
        click.echo(render(preview))


def render(preview: Preview) -> str:
    """A readable account of the preview, best hit first."""
    guess = preview.language
    lines = [
        f"language: {guess.code} ({guess.confidence:.2f}, {guess.source})"
        if guess
        else "language: unknown",
        f"sentiment: {preview.sentiment.label}"
        + (f" ({', '.join(preview.sentiment.cues)})" if preview.sentiment.cues else ""),
    ]
    if preview.silent:
        return "\n".join([*lines, "would not reply: the customer only acknowledged"])
    none = "hits: none — the knowledge store has nothing on this"
    lines.append("hits:" if preview.hits else none)
    lines += [f"  {h.score:7.3f}  {h.title}  {h.url or ''}" for h in preview.hits]
    if preview.draft is not None:
        lines.append(f"draft (confidence {preview.draft.confidence:.2f}):")
        lines += [f"  {line}" for line in preview.draft.text.splitlines()]
    if preview.reasons:
        lines.append("would hand off:")
        lines += [f"  - {r.code}: {r.detail}" for r in preview.reasons]
    else:
        lines.append("would answer")
    return "\n".join(lines)
