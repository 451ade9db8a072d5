"""The Email channel: conversations that arrived as email (``source.type == "email"``).

It waits about 30 seconds after the first mail so Intercom finishes routing, ignores outbound
campaigns and series (only customer-initiated mail is answered), reads only the new part of each
mail (quoted history and signatures cut off, the subject kept as context) and answers like an
email: a greeting with the customer's first name in their language, paragraphs and a sign-off.

Intercom does not email bot or API replies to inbound email unless the workspace has its
email-reply feature enabled; ``email_reply_feature`` records that, and ``deskmate verify`` warns
while it is off (see :func:`email_reply_warning`).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from types import MappingProxyType

from marshmallow import Schema, fields, validate

from deskmate.core.channels import (
    BaseChannelOptions,
    ChannelRuntime,
    customer_first_name,
    language_code,
    options_loader,
    public_citations,
    switches_for,
)
from deskmate.core.config import Settings, WorkspaceSettings
from deskmate.core.domain import Attachment, Decision, Draft, Message, Turn
from deskmate.core.html import anchor, parse_html, sanitize_reply_html, text_to_html
from deskmate.core.intercom.models import Conversation, Part
from deskmate.hookspecs import hookimpl
from deskmate.plugins.email.quotes import strip_reply

NAME = "email"

DEFAULT_GREETINGS = MappingProxyType(
    {
        "en": "Hi {first_name},",
        "de": "Hallo {first_name},",
        "fr": "Bonjour {first_name},",
        "es": "Hola {first_name}:",
        "it": "Ciao {first_name},",
        "nl": "Hallo {first_name},",
        "pt": "Olá {first_name},",
    }
)
DEFAULT_SIGN_OFFS = MappingProxyType(
    {
        "en": "Best regards,",
        "de": "Viele Grüße",
        "fr": "Cordialement,",
        "es": "Saludos cordiales,",
        "it": "Cordiali saluti,",
        "nl": "Met vriendelijke groet,",
        "pt": "Atenciosamente,",
    }
)
DEFAULT_SOURCES_LABELS = MappingProxyType(
    {
        "en": "Related articles:",
        "de": "Passende Artikel:",
        "fr": "Articles utiles :",
        "es": "Artículos relacionados:",
        "it": "Articoli utili:",
        "nl": "Handige artikelen:",
        "pt": "Artigos relacionados:",
    }
)


LANGUAGE_CODE = validate.Regexp(
    r"^[a-z]{2,3}$", error="use a lowercase ISO 639-1 language code such as en, de or fr"
)


def _phrases(defaults: MappingProxyType[str, str]) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(validate=LANGUAGE_CODE),
        values=fields.String(validate=validate.Length(max=500)),
        load_default=lambda: dict(defaults),
    )


class EmailConfig(Schema):
    """Options of the ``[plugins.email]`` section."""

    autopilot = fields.Boolean(load_default=True)
    assist = fields.Boolean(load_default=False)
    initial_delay = fields.Float(load_default=30.0, validate=validate.Range(min=0, max=3600))
    followup_delay = fields.Float(load_default=0.0, validate=validate.Range(min=0, max=3600))
    email_reply_feature = fields.Boolean(load_default=False)
    default_language = fields.String(load_default="en", validate=LANGUAGE_CODE)
    greetings = _phrases(DEFAULT_GREETINGS)
    sign_offs = _phrases(DEFAULT_SIGN_OFFS)
    signature = fields.String(load_default="", validate=validate.Length(max=1000))
    sources_labels = _phrases(DEFAULT_SOURCES_LABELS)


@dataclass(frozen=True, kw_only=True)
class EmailOptions(BaseChannelOptions):
    """The validated ``[plugins.email]`` section."""

    email_reply_feature: bool
    default_language: str
    greetings: dict[str, str]
    sign_offs: dict[str, str]
    signature: str
    sources_labels: dict[str, str]

    def phrase(self, phrases: dict[str, str], language: str | None) -> str:
        """The phrase for ``language``, else for the default language, else English."""
        for code in (language, self.default_language, "en"):
            if code and code in phrases:
                return phrases[code]
        return ""


runtime = ChannelRuntime(NAME, options_loader(EmailConfig, EmailOptions))


@hookimpl
def config_schema() -> type[Schema]:
    return EmailConfig


@hookimpl
def startup(settings: Settings) -> None:
    runtime.configure(settings)


@hookimpl
def channel_for(conversation: Conversation) -> str | None:
    return NAME if conversation.source.type == "email" else None


@hookimpl
def should_process(turn: Turn, channel: str) -> Decision | None:
    """Only customer-initiated mail: outbound campaigns, series and admin mail are skipped."""
    return runtime.should_process(turn, channel)


@hookimpl
def processing_delay(channel: str, first_message: bool) -> float | None:
    return runtime.processing_delay(channel, first_message)


@hookimpl
def normalize_message(channel: str, part: Part, conversation: Conversation) -> Message | None:
    """The new text of a mail (no quoted history or signature), its subject and attachments.

    A first mail with a subject but no body is read as its subject; a reply that only quotes
    earlier mail has empty text, so there is nothing new to answer.
    """
    if channel != NAME:
        return None
    parsed = parse_html(part.body, drop_quoted=True)
    subject = parse_html(conversation.source.subject or "").text.replace("\n", " ") or None
    text = strip_reply(parsed.text)
    if not text and subject and part.part_type == "source" and not part.body.strip():
        text = subject
    inline = [Attachment(img.src, img.alt or None) for img in parsed.images if _listable(img.src)]
    return Message(
        part_id=part.id,
        author=part.author,
        text=text,
        html=part.body,
        subject=subject,
        attachments=list(part.attachments) + inline,
        created_at=part.created_at,
        kind=part.part_type,
    )


def _listable(src: str) -> bool:
    """Inline images worth listing: web URLs, not ``cid:`` parts or ``data:`` blobs."""
    return src.lower().startswith(("https://", "http://"))


@hookimpl
def format_reply(channel: str, draft: Draft, turn: Turn) -> str | None:
    """Greeting with the first name in the reply's language, paragraphs, sources, sign-off."""
    if channel != NAME:
        return None
    options = runtime.options
    language = language_code(draft.language) or language_code(
        turn.language.code if turn.language else None
    )
    parts = [_greeting(options, language, customer_first_name(turn)), text_to_html(draft.text)]
    citations = public_citations(draft.citations)
    if citations:
        label = html.escape(options.phrase(options.sources_labels, language), quote=False)
        items = "".join(f"<li>{anchor(h.url or '', h.title or h.url)}</li>" for h in citations)
        parts.append(f"<p>{label}</p><ul>{items}</ul>")
    parts.append(_sign_off(options, language))
    return sanitize_reply_html("".join(parts))


def _greeting(options: EmailOptions, language: str | None, name: str | None) -> str:
    template = options.phrase(options.greetings, language)
    if not template:
        return ""
    text = template.replace("{first_name}", name or "")
    text = re.sub(r"\s+([,:!.])", r"\1", text).strip()
    return f"<p>{html.escape(text, quote=False)}</p>"


def _sign_off(options: EmailOptions, language: str | None) -> str:
    lines = [options.phrase(options.sign_offs, language), *options.signature.splitlines()]
    lines = [html.escape(line.strip(), quote=False) for line in lines if line.strip()]
    return f"<p>{'<br>'.join(lines)}</p>" if lines else ""


def email_reply_warning(settings: Settings, workspace: WorkspaceSettings) -> str | None:
    """The warning ``deskmate verify`` shows for ``workspace``, or ``None`` when there is none.

    Intercom stores bot and API replies to inbound email as unnotifiable comments, so customers
    get no email unless the workspace's email-reply feature is on. Assist mode only writes notes,
    so the warning is only for autopilot.
    """
    options = runtime.options_for(settings)
    switches = switches_for(workspace, NAME, options)
    if not switches.autopilot or options.email_reply_feature:
        return None
    return (
        f"workspace {workspace.name or workspace.app_id}: autopilot answers email, but Intercom "
        "does not email bot or API replies to inbound email unless the workspace's email-reply "
        "feature is enabled (ask Intercom's accounts team), so customers will not receive them. "
        "Once it is on, set email_reply_feature = true in [plugins.email]."
    )
