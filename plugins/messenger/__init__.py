"""The Web (Messenger) channel: in-app chat conversations (``source.type == "conversation"``).

It waits a few seconds after a conversation's first message so Intercom's assignment rules
settle, turns chat HTML into text, keeps the images customers paste (downloaded safely into the
attachment store, a placeholder when that fails) and answers in short chat-style paragraphs.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from marshmallow import Schema, fields, validate

from deskmate.core.attachments import (
    DEFAULT_IMAGE_HOSTS,
    AttachmentStore,
    DownloadPolicy,
    ImageDownloader,
)
from deskmate.core.channels import (
    BaseChannelOptions,
    ChannelRuntime,
    options_loader,
    public_citations,
)
from deskmate.core.config import Settings
from deskmate.core.domain import Attachment, Decision, Draft, Message, Turn
from deskmate.core.html import anchor, parse_html, sanitize_reply_html, text_to_html
from deskmate.core.intercom.models import Conversation, Part
from deskmate.hookspecs import hookimpl

NAME = "messenger"


HOST_ENTRY = validate.Regexp(
    r"^(\*\.)?[A-Za-z0-9.-]{1,253}(:\d{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](:\d{1,5})?$|^[0-9A-Fa-f:.]{2,45}$",
    error="write a host name (no scheme or path), *.domain for its subdomains, or either with "
    ":port; IPv6 addresses in brackets",
)


class MessengerConfig(Schema):
    """Options of the ``[plugins.messenger]`` section."""

    autopilot = fields.Boolean(load_default=True)
    assist = fields.Boolean(load_default=False)
    initial_delay = fields.Float(load_default=4.0, validate=validate.Range(min=0, max=3600))
    followup_delay = fields.Float(load_default=0.0, validate=validate.Range(min=0, max=3600))
    download_images = fields.Boolean(load_default=True)
    image_hosts = fields.List(
        fields.String(validate=HOST_ENTRY),
        load_default=lambda: list(DEFAULT_IMAGE_HOSTS),
    )
    image_allow_http = fields.Boolean(load_default=False)
    max_image_bytes = fields.Integer(
        load_default=10 * 1024 * 1024, validate=validate.Range(min=1024, max=100 * 1024 * 1024)
    )
    image_timeout = fields.Float(load_default=10.0, validate=validate.Range(min=0.1, max=120))
    max_images = fields.Integer(load_default=10, validate=validate.Range(min=0, max=50))
    attachment_dir = fields.String(load_default="")
    paragraph_sentences = fields.Integer(load_default=2, validate=validate.Range(min=1, max=20))
    sources_label = fields.String(load_default="Sources:")


@dataclass(frozen=True, kw_only=True)
class MessengerOptions(BaseChannelOptions):
    """The validated ``[plugins.messenger]`` section."""

    download_images: bool
    image_hosts: Sequence[str]
    image_allow_http: bool
    max_image_bytes: int
    image_timeout: float
    max_images: int
    attachment_dir: str
    paragraph_sentences: int
    sources_label: str

    def policy(self) -> DownloadPolicy:
        schemes = {"https", "http"} if self.image_allow_http else {"https"}
        return DownloadPolicy(
            tuple(self.image_hosts), frozenset(schemes), self.max_image_bytes, self.image_timeout
        )

    def store(self, settings: Settings) -> AttachmentStore:
        """The attachment folder: ``attachment_dir``, else ``<instance>/attachments``."""
        root = Path(self.attachment_dir) if self.attachment_dir else None
        return AttachmentStore(root or settings.instance_path / "attachments")


runtime = ChannelRuntime(NAME, options_loader(MessengerConfig, MessengerOptions))


@hookimpl
def config_schema() -> type[Schema]:
    return MessengerConfig


@hookimpl
def startup(settings: Settings) -> None:
    runtime.configure(settings)


@hookimpl
def channel_for(conversation: Conversation) -> str | None:
    """Messenger chats: source type ``conversation``, or no type and ``channel.initial``
    ``messenger`` (Intercom's example email conversation also says messenger there)."""
    source_type = conversation.source.type
    if source_type == "conversation":
        return NAME
    if not source_type and conversation.channel_initial == NAME:
        return NAME
    return None


@hookimpl
def should_process(turn: Turn, channel: str) -> Decision | None:
    return runtime.should_process(turn, channel)


@hookimpl
def processing_delay(channel: str, first_message: bool) -> float | None:
    return runtime.processing_delay(channel, first_message)


@hookimpl
def normalize_message(channel: str, part: Part, settings: Settings) -> Message | None:
    """Chat HTML to text; pasted images (inline or attached) downloaded into the store."""
    if channel != NAME:
        return None
    options = runtime.options_for(settings)
    parsed = parse_html(part.body)
    images = [(image.src, image.alt or None) for image in parsed.images]
    images += [(a.url, a.name) for a in part.attachments if _is_image(a)]
    others = [a for a in part.attachments if not _is_image(a)]
    return Message(
        part_id=part.id,
        author=part.author,
        text=parsed.text,
        html=part.body,
        attachments=_images(images, options, settings) + others,
        created_at=part.created_at,
        kind=part.part_type,
    )


def _is_image(attachment: Attachment) -> bool:
    return (attachment.content_type or "").lower().startswith("image/")


def _images(
    images: list[tuple[str, str | None]], options: MessengerOptions, settings: Settings
) -> list[Attachment]:
    """Download ``(url, name)`` images, or placehold them all when downloads are off."""
    if not images:
        return []
    if not options.download_images:
        unique = dict(images)
        return [
            Attachment(url, name, error="image downloads are off") for url, name in unique.items()
        ]
    downloader = ImageDownloader(options.store(settings), options.policy())
    try:
        return downloader.fetch_all(images, options.max_images)
    finally:
        downloader.close()


@hookimpl
def format_reply(channel: str, draft: Draft) -> str | None:
    """Short chat paragraphs, links as anchors, sources as links; only HTML Intercom keeps."""
    if channel != NAME:
        return None
    options = runtime.options
    body = text_to_html(draft.text, max_sentences=options.paragraph_sentences)
    citations = public_citations(draft.citations)
    if citations:
        links = ", ".join(anchor(hit.url or "", hit.title or hit.url) for hit in citations)
        body += f"<p>{html.escape(options.sources_label, quote=False)} {links}</p>"
    return sanitize_reply_html(body)
