"""``deskmate ask``: what the default brain would answer, from which passages, and whether it
would hand the conversation off — without a conversation or any Intercom call."""

from __future__ import annotations

import json

import click

from deskmate.core.brain.knowledge import StoreKnowledge
from deskmate.core.brain.preview import Preview, answer_preview
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

    settings, _ = load_config()
    workspace = choose_workspace(settings, workspace)
    index = StoreKnowledge(migrated_engine()).index(workspace)
    preview = answer_preview(question, language, index, settings, include_internal=internal)
    if as_json:
        click.echo(json.dumps(preview.as_dict(), indent=2, default=str))
    else:
        click.echo(render(preview))


def render(preview: Preview) -> str:
    """A readable account of the preview, best hit first."""
    lines = [
        f"language: {preview.language.code} ({preview.language.confidence:.2f}, "
        f"{preview.language.source})",
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
