"""``deskmate knowledge list|show|search|add``: look into the knowledge store and add local files.

``add`` loads Markdown, HTML and text files as documents of source ``file`` (no Intercom, no
plugin needed): each file is one document keyed by its name, cut into passages at its headings.
Every file is read and checked before anything is stored, so one bad file changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import click
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from deskmate.core.brain.knowledge import StoreKnowledge
from deskmate.core.clicontext import choose_workspace, load_config, migrated_engine
from deskmate.core.config import Settings
from deskmate.core.html import html_to_text
from deskmate.core.passages import split_html, split_markdown, split_text
from deskmate.core.store.db import make_session_factory
from deskmate.core.store.knowledge import SOURCES, VISIBILITIES, DocumentInput, upsert_document
from deskmate.core.store.models import KnowledgeDocument, KnowledgePassage, SyncState

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_FILES = 1000
SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html"}
SUFFIXES |= {".txt": "text", ".text": "text"}


@dataclass
class Store:
    """The configured settings and sessions on their (migrated) database."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    workspace_id: str


def _open(ctx: click.Context, workspace_id: str | None) -> Store:
    """The chosen workspace's store, on the configured database migrated first."""
    settings = load_config(ctx)[0]
    workspace_id = choose_workspace(settings, workspace_id)
    engine = migrated_engine(ctx)
    return Store(settings, engine, make_session_factory(engine), workspace_id)


_WORKSPACE = click.option(
    "--workspace", "workspace_id", help="Workspace (app id); needed if several."
)


@click.group("knowledge")
def knowledge_group() -> None:
    """Look into the knowledge the AI answers from, and add local files to it."""


@knowledge_group.command("list")
@_WORKSPACE
@click.option("--source", type=click.Choice(SOURCES), help="Only this source.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.pass_context
def list_documents(
    ctx: click.Context, workspace_id: str | None, source: str | None, limit: int
) -> None:
    """List documents (newest sync first) and where each source's sync stands."""
    store = _open(ctx, workspace_id)
    doc = KnowledgeDocument
    stmt = select(doc.id, doc.source, doc.locale, doc.visibility, doc.title).where(
        doc.workspace_id == store.workspace_id
    )
    if source:
        stmt = stmt.where(doc.source == source)
    with store.sessions() as db:
        total = db.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = db.execute(stmt.order_by(doc.synced_at.desc(), doc.id.desc()).limit(limit)).all()
        states = db.scalars(select(SyncState).where(SyncState.workspace_id == store.workspace_id))
        for state in states:
            when = (
                state.last_success_at.isoformat(timespec="seconds")
                if state.last_success_at
                else "never"
            )
            click.echo(f"sync {state.source}: last success {when}")
    click.echo(
        f"{total} document(s){f' of source {source}' if source else ''}; showing {len(rows)}"
    )
    for row in rows:
        click.echo(
            f"{row.id:>7}  {row.source:<12} {row.locale or '-':<6} {row.visibility:<8} "
            f"{row.title[:70]}"
        )


@knowledge_group.command("show")
@_WORKSPACE
@click.argument("document_id", type=int)
@click.pass_context
def show_document(ctx: click.Context, workspace_id: str | None, document_id: int) -> None:
    """Show one document (by the number `knowledge list` prints) with its passages."""
    store = _open(ctx, workspace_id)
    with store.sessions() as db:
        document = db.get(KnowledgeDocument, document_id)
        if document is None or document.workspace_id != store.workspace_id:
            raise click.ClickException(
                f"no document {document_id}; `deskmate knowledge list` shows them"
            )
        passages = db.scalars(
            select(KnowledgePassage)
            .where(KnowledgePassage.document_id == document_id)
            .order_by(KnowledgePassage.position)
        ).all()
        click.echo(f"{document.title}\n{'=' * min(len(document.title), 78)}")
        click.echo(f"source {document.source} · id {document.external_id} · locale "
                   f"{document.locale or '-'} · {document.visibility}")  # fmt: skip
        if document.url:
            click.echo(f"url {document.url}")
        for passage in passages:
            click.echo(f"\n[{passage.position}] {passage.heading or ''}".rstrip())
            click.echo(passage.text)


@knowledge_group.command("search")
@_WORKSPACE
@click.argument("query")
@click.option("--limit", default=5, show_default=True, type=click.IntRange(1, 50))
@click.option(
    "--internal", is_flag=True, help="Include internal knowledge (what assist drafts use)."
)
@click.pass_context
def search_documents(
    ctx: click.Context, workspace_id: str | None, query: str, limit: int, internal: bool
) -> None:
    """Search the knowledge as the AI does, with scores and citations."""
    store = _open(ctx, workspace_id)
    index = StoreKnowledge(store.engine).index(store.workspace_id)
    visibility = ("public", "internal") if internal else ("public",)
    hits = index.search(query, limit, visibility)
    if not hits:
        click.echo(
            "No passage matches."
            + ("" if internal else " (--internal searches internal knowledge too)")
        )
    for hit in hits:
        click.echo(f"{hit.score:6.2f}  {hit.title}  [{hit.visibility}]")
        click.echo(f"        {' '.join(hit.passage.split())[:200]}")
        if hit.url:
            click.echo(f"        {hit.url}")


def read_local_file(path: Path, *, visibility: str = "public", locale: str = "") -> DocumentInput:
    """A Markdown, HTML or text file as a knowledge document; ``ValueError`` says what is wrong."""
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ValueError(f"{path}: unsupported file type; use {', '.join(sorted(SUFFIXES))}")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ValueError(
            f"{path}: {size} bytes; files over {MAX_FILE_BYTES // 1_048_576} MiB are refused"
        )
    try:
        raw = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text (is it a binary file?)") from None
    if "\x00" in raw:
        raise ValueError(f"{path}: contains NUL bytes, which no text file does")
    split = {"markdown": split_markdown, "html": split_html, "text": split_text}[kind]
    passages = split(raw)
    if not passages:
        raise ValueError(f"{path}: no text in it")
    body = html_to_text(raw) if kind == "html" else raw.strip()
    title = next((p.heading for p in passages if p.heading), None) or path.stem
    return DocumentInput(
        source="file",
        external_id=_file_id(path),
        title=title[:500],
        body=body,
        passages=passages,
        locale=locale,
        url=None,
        visibility=visibility,
    )


def _file_id(path: Path) -> str:
    name = path.name
    return (
        name
        if len(name) <= 200
        else f"{name[:150]}-{hashlib.sha256(name.encode()).hexdigest()[:16]}"
    )


@knowledge_group.command("add")
@_WORKSPACE
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--internal", is_flag=True, help="Only for assist drafts, never shown to customers.")
@click.option("--locale", default="", help="Language of the files (e.g. en, de); default unknown.")
@click.pass_context
def add_files(
    ctx: click.Context, workspace_id: str | None, files: Sequence[Path], internal: bool, locale: str
) -> None:
    """Add Markdown, HTML or text FILES as knowledge (a file added again is updated)."""
    if len(files) > MAX_FILES:
        raise click.UsageError(f"at most {MAX_FILES} files at a time")
    if len(locale) > 16 or not all(ch.isalnum() or ch == "-" for ch in locale):
        raise click.BadParameter("a locale looks like en or pt-BR", param_hint="--locale")
    visibility = VISIBILITIES[1] if internal else VISIBILITIES[0]
    try:
        documents = [read_local_file(p, visibility=visibility, locale=locale) for p in files]
    except (ValueError, OSError) as exc:
        raise click.ClickException(f"{exc}. Nothing was added.") from None
    store = _open(ctx, workspace_id)
    changed = 0
    with store.sessions.begin() as db:
        for document in documents:
            changed += upsert_document(db, store.workspace_id, document).changed
    click.echo(
        f"{len(documents)} file(s) read: {changed} added or updated, "
        f"{len(documents) - changed} unchanged."
    )
