"""Messenger's normalize_message: chat HTML to text, pasted images kept safely or placeheld."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from deskmate.core.config import Settings
from deskmate.core.domain import Attachment, Author, Message
from deskmate.core.intercom.models import Part
from deskmate.core.plugins import PluginHost
from deskmate.plugins import email, messenger
from deskmate.testing import make_conversation, make_host

if TYPE_CHECKING:
    from conftest import ImageServer

CUSTOMER = Author("user", "contact-1", "Ada Lovelace")


@functools.cache
def channels() -> PluginHost:
    """Both channel plugins on one host, so each hook call also shows Email stays out of it."""
    return make_host(("messenger", messenger), ("email", email))


def normalize(
    settings: Settings, body: str, attachments: list[Attachment] | None = None
) -> Message:
    part = Part("p1", "comment", body, CUSTOMER, attachments=attachments or [])
    message = channels().hook.normalize_message(
        channel="messenger", part=part, conversation=make_conversation(), settings=settings
    )
    assert message is not None
    return message


def test_chat_html_becomes_text_with_paragraphs_lists_and_links(settings: Settings) -> None:
    body = (
        "<p>Hi, my <b>export</b> fails &amp; I tried:</p><ul><li>Chrome</li><li>Firefox</li></ul>"
        '<p>See <a href="https://status.example.com/x">status page</a><br>Thanks</p>'
    )
    message = normalize(settings, body)
    assert message.text == (
        "Hi, my export fails & I tried:\n\n- Chrome\n- Firefox\n\n"
        "See status page (https://status.example.com/x)\nThanks"
    )
    assert message.html == body
    assert (message.part_id, message.author, message.kind) == ("p1", CUSTOMER, "comment")


def test_scripts_styles_and_event_handlers_never_reach_the_text(settings: Settings) -> None:
    body = (
        "<style>p{color:red}</style><p onclick=\"steal()\">Hello</p><script>alert('x')</script>"
        '<a href="javascript:alert(1)">click</a><iframe src="https://evil.test">x</iframe>'
    )
    text = normalize(settings, body).text
    assert text == "Hello\n\nclick"


def test_plain_text_bodies_from_newer_webhooks_are_kept_verbatim(settings: Settings) -> None:
    assert normalize(settings, "Is 3 < 4 & 5 > 2?\nYes").text == "Is 3 < 4 & 5 > 2?\nYes"


def test_an_empty_body_gives_an_empty_message(settings: Settings) -> None:
    message = normalize(settings, "")
    assert (message.text, message.attachments) == ("", [])


def test_an_oversized_body_is_cut_not_choked_on(settings: Settings) -> None:
    body = "<div>" * 20_000 + "<p>" + "word " * 300_000
    started = time.perf_counter()
    message = normalize(settings, body)
    assert time.perf_counter() - started < 5
    assert message.text.startswith("word word")
    assert len(message.text) <= 1_000_000


def test_the_source_of_the_real_payload_is_read(settings: Settings) -> None:
    conversation = make_conversation("<p>helklo</p>")
    source = conversation.source
    part = Part(source.id, "source", source.body, source.author)
    message = messenger.normalize_message("messenger", part, settings)
    assert message is not None
    assert (message.text, message.kind) == ("helklo", "source")


def test_an_inline_image_is_downloaded_into_the_attachment_store(
    loopback_settings: Settings, image_server: ImageServer
) -> None:
    url = image_server.url("/image.png")
    message = normalize(loopback_settings, f'<p>Look:</p><img src="{url}" alt="screenshot">')
    [image] = message.attachments
    assert image.error is None
    assert (image.content_type, image.size) == ("image/png", len(image_server.png))
    path = Path(image.local_path or "")
    assert path.read_bytes() == image_server.png
    assert path.is_relative_to(loopback_settings.instance_path / "attachments")
    assert message.text == "Look:"


def test_an_image_only_message_has_no_text_and_one_attachment(
    loopback_settings: Settings, image_server: ImageServer
) -> None:
    message = normalize(loopback_settings, f'<p><img src="{image_server.url("/image.png")}"></p>')
    assert message.text == ""
    assert [a.content_type for a in message.attachments] == ["image/png"]


def test_an_attached_image_is_kept_and_other_files_are_listed(
    loopback_settings: Settings, image_server: ImageServer
) -> None:
    files = [
        Attachment(image_server.url("/image.png"), "shot.png", "image/png"),
        Attachment("https://files.example.com/invoice.pdf", "invoice.pdf", "application/pdf"),
    ]
    message = normalize(loopback_settings, "see attached", files)
    assert [(a.name, a.local_path is not None) for a in message.attachments] == [
        ("shot.png", True),
        ("invoice.pdf", False),
    ]
    assert message.attachments[1].name == "invoice.pdf"


def test_the_same_image_twice_is_fetched_once(
    loopback_settings: Settings, image_server: ImageServer
) -> None:
    url = image_server.url("/image.png")
    message = normalize(loopback_settings, f'<img src="{url}"><img src="{url}">')
    assert len(message.attachments) == 1
    assert image_server.hits["/image.png"] == 1


def test_the_attachment_folder_is_configurable(
    messenger_settings: Callable[..., Settings], image_server: ImageServer, tmp_path: Path
) -> None:
    folder = tmp_path / "kept"
    configured = messenger_settings(
        image_hosts=[image_server.origin], image_allow_http=True, attachment_dir=str(folder)
    )
    [image] = normalize(configured, f'<img src="{image_server.url("/image.png")}">').attachments
    assert Path(image.local_path or "").parent.parent == folder


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/missing.png", "HTTP 404"),
        ("/slow", "timed out"),
        ("/drip", "timed out"),
        ("/huge-declared", "larger than the 65536 byte cap"),
        ("/huge", "larger than the 65536 byte cap"),
        ("/page.html", "not a PNG, JPEG, GIF or WebP image"),
        ("/svg", "not a PNG, JPEG, GIF or WebP image"),
    ],
)
def test_a_failed_download_leaves_a_placeholder_with_the_reason(
    loopback_settings: Settings, image_server: ImageServer, path: str, reason: str
) -> None:
    url = image_server.url(path)
    started = time.perf_counter()
    message = normalize(loopback_settings, f'<p>help</p><img src="{url}">')
    assert time.perf_counter() - started < 1.8
    [placeholder] = message.attachments
    assert (placeholder.url, placeholder.local_path) == (url, None)
    assert reason in (placeholder.error or "")
    assert message.text == "help"
    assert not (loopback_settings.instance_path / "attachments").exists()


def test_the_default_allow_list_refuses_the_loopback_server_without_connecting(
    messenger_settings: Callable[..., Settings], image_server: ImageServer
) -> None:
    configured = messenger_settings(image_allow_http=True)
    [image] = normalize(configured, f'<img src="{image_server.url("/image.png")}">').attachments
    assert "not on the image host allow-list" in (image.error or "")
    assert sum(image_server.hits.values()) == 0


def test_plain_http_is_refused_unless_allowed(
    messenger_settings: Callable[..., Settings], image_server: ImageServer
) -> None:
    configured = messenger_settings(image_hosts=[image_server.origin])
    [image] = normalize(configured, f'<img src="{image_server.url("/image.png")}">').attachments
    assert image.error == "scheme 'http' is not allowed"
    assert sum(image_server.hits.values()) == 0


def test_a_redirect_to_loopback_named_explicitly_is_refused(
    messenger_settings: Callable[..., Settings],
    image_server: ImageServer,
    other_server: ImageServer,
) -> None:
    """The first server is allowed by its exact address; the one it redirects to is not, even
    though the redirect names 127.0.0.1 outright."""
    configured = messenger_settings(
        image_hosts=[*messenger.MessengerConfig().load({})["image_hosts"], image_server.origin],
        image_allow_http=True,
    )
    for target in (other_server.url("/image.png"), f"http://localhost:{other_server.port}/x"):
        url = image_server.url(f"/redirect?to={target}")
        [image] = normalize(configured, f'<img src="{url}">').attachments
        assert "not on the image host allow-list" in (image.error or "")
    assert sum(other_server.hits.values()) == 0


def test_more_images_than_allowed_become_placeholders(
    messenger_settings: Callable[..., Settings], image_server: ImageServer
) -> None:
    configured = messenger_settings(
        image_hosts=[image_server.origin], image_allow_http=True, max_images=1
    )
    urls = [image_server.url("/image.png"), image_server.url("/other.png")]
    message = normalize(configured, "".join(f'<img src="{u}">' for u in urls))
    assert [a.error for a in message.attachments] == [None, "more than 1 images in one message"]
    assert image_server.hits["/other.png"] == 0


def test_image_downloads_can_be_switched_off(
    messenger_settings: Callable[..., Settings], image_server: ImageServer
) -> None:
    configured = messenger_settings(download_images=False)
    [image] = normalize(configured, f'<img src="{image_server.url("/image.png")}">').attachments
    assert image.error == "image downloads are off"
    assert sum(image_server.hits.values()) == 0


def test_signed_query_strings_never_reach_the_log_or_the_reason(
    loopback_settings: Settings, image_server: ImageServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = image_server.url("/missing.png?expires=1&signature=s3cr3t-signature")
    with caplog.at_level(logging.DEBUG, logger="deskmate"):
        [image] = normalize(loopback_settings, f'<img src="{url}">').attachments
    assert image.error == "HTTP 404"
    assert "s3cr3t-signature" not in caplog.text
    assert "/missing.png" in caplog.text
