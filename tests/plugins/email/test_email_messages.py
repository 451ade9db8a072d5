"""Email's normalize_message: only the new words of a mail, its subject, its attachments."""

from __future__ import annotations

import functools
import time

import pytest

from deskmate.core.config import Settings
from deskmate.core.domain import Attachment, Author, Message
from deskmate.core.intercom.models import Conversation, Part
from deskmate.core.plugins import PluginHost
from deskmate.plugins import email, messenger
from deskmate.plugins.email.quotes import strip_reply
from deskmate.testing import make_conversation, make_host

CUSTOMER = Author("lead", "991267645", "Ciaran176 Lee", "admin176@email.com")


def source_part(conversation: Conversation) -> Part:
    source = conversation.source
    return Part(source.id, "source", source.body, source.author, attachments=source.attachments)


@functools.cache
def channels() -> PluginHost:
    """Both channel plugins on one host, so each hook call also shows Messenger stays out of it."""
    return make_host(("messenger", messenger), ("email", email))


def normalize(
    settings: Settings,
    body: str,
    *,
    subject: str | None = "<p>Re: Invoice</p>",
    part_type: str = "comment",
    attachments: list[Attachment] | None = None,
) -> Message:
    conversation = make_conversation(source_type="email")
    conversation.source.subject = subject
    part = Part("p9", part_type, body, CUSTOMER, attachments=attachments or [])
    message = channels().hook.normalize_message(
        channel="email", part=part, conversation=conversation, settings=settings
    )
    assert message is not None
    return message


def test_the_real_email_source_is_read_with_its_subject(
    email_conversation: Conversation, settings: Settings
) -> None:
    message = email.normalize_message("email", source_part(email_conversation), email_conversation)
    assert message is not None
    assert message.text == "This is the message body"
    assert message.subject == "Re: Bug query"
    assert (message.part_id, message.kind, message.author.name) == (
        "403918334",
        "source",
        "Ciaran176 Lee",
    )


def test_a_later_reply_keeps_the_conversation_subject_as_context(settings: Settings) -> None:
    assert normalize(settings, "<p>Any news?</p>").subject == "Re: Invoice"


QUOTED = {
    "gmail-en": (
        '<div dir="ltr">My invoice is wrong, I was charged twice.<br><br>Thanks,<br>Jane</div>'
        '<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Mon, Jan 5, 2026 at '
        "10:00 AM Support &lt;support@acme.com&gt; wrote:<br></div><blockquote "
        'class="gmail_quote">Hello Jane, how can we help?</blockquote></div>'
    ),
    "apple-de": (
        "<div>Ich kann mich nicht einloggen.</div><div><br></div><div>Viele Grüße</div>"
        '<div>Hans</div><div><br><blockquote type="cite"><div>Am 05.01.2026 um 10:00 schrieb '
        "Support &lt;support@acme.com&gt;:</div><div>Hallo Hans</div></blockquote></div>"
    ),
    "text-fr": (
        "Je n'arrive pas à payer ma facture.\n\nCordialement,\nMarie\n\n"
        "Le lun. 5 janv. 2026 à 10:00, Support <support@acme.com> a écrit :\n> Bonjour Marie,"
    ),
    "text-es-wrapped": (
        "No puedo acceder a mi cuenta.\n\nSaludos,\nCarlos\n\nEl lun, 5 ene 2026 a las 10:00, "
        "Support\n(<support@acme.com>) escribió:\n> Hola Carlos"
    ),
    "outlook-web": (
        "<p>Please cancel my subscription.</p><p>Regards<br>Tom</p><hr>"
        '<div id="divRplyFwdMsg"><b>From:</b> Support &lt;support@acme.com&gt;<br><b>Sent:</b> '
        "Monday, January 5, 2026 10:00 AM</div><div>Hi Tom, your plan renews soon.</div>"
    ),
    "outlook-text-de": (
        "Bitte kündigen Sie mein Abo.\n\nVon: Support <support@acme.com>\n"
        "Gesendet: Montag, 5. Januar 2026 10:00\nAn: Tom <tom@example.com>\n"
        "Betreff: AW: Abo\n\nHallo"
    ),
    "iphone": (
        "Can you reset my password please?\n\nSent from my iPhone\n\n"
        "On 5 Jan 2026, at 10:00, Support <support@acme.com> wrote:\n> Hi"
    ),
    "signature-delimiter": "Where is my order #1234?\n\n-- \nJohn Smith\nCEO, Example Inc.",
    "original-message": (
        "Still broken.\n\n-----Original Message-----\nFrom: Support\nSent: today\nStill?"
    ),
}
EXPECTED = {
    "gmail-en": "My invoice is wrong, I was charged twice.",
    "apple-de": "Ich kann mich nicht einloggen.",
    "text-fr": "Je n'arrive pas à payer ma facture.",
    "text-es-wrapped": "No puedo acceder a mi cuenta.",
    "outlook-web": "Please cancel my subscription.",
    "outlook-text-de": "Bitte kündigen Sie mein Abo.",
    "iphone": "Can you reset my password please?",
    "signature-delimiter": "Where is my order #1234?",
    "original-message": "Still broken.",
}


@pytest.mark.parametrize("client", sorted(QUOTED))
def test_quoted_history_and_signatures_are_cut_off(settings: Settings, client: str) -> None:
    assert normalize(settings, QUOTED[client]).text == EXPECTED[client]


def test_a_mail_that_only_quotes_earlier_mail_has_no_new_text(settings: Settings) -> None:
    body = (
        '<div class="gmail_quote">On Mon, Jan 5, 2026 Support wrote:<blockquote>How can we '
        "help?</blockquote></div>"
    )
    assert normalize(settings, body).text == ""
    assert normalize(settings, "On Mon, Jan 5, 2026 Support wrote:\n> How can we help?").text == ""


def test_a_first_mail_with_a_subject_but_no_body_is_read_as_its_subject(
    settings: Settings,
) -> None:
    message = normalize(settings, "", subject="Password reset not working", part_type="source")
    assert (message.text, message.subject) == (
        "Password reset not working",
        "Password reset not working",
    )


def test_an_empty_reply_stays_empty(settings: Settings) -> None:
    message = normalize(settings, "", subject=None)
    assert (message.text, message.subject, message.attachments) == ("", None, [])


def test_attachments_and_inline_images_are_listed_not_fetched(settings: Settings) -> None:
    files = [Attachment("https://downloads.intercomcdn.com/i/o/1/log.txt", "log.txt", "text/plain")]
    body = (
        '<p><img src="https://downloads.intercomcdn.com/i/o/2/shot.png" alt="shot">'
        '<img src="cid:logo@mail"><img src="data:image/png;base64,AAAA"></p>'
    )
    message = normalize(settings, body, attachments=files)
    assert message.text == ""
    assert [(a.url.rsplit("/", 1)[-1], a.name) for a in message.attachments] == [
        ("log.txt", "log.txt"),
        ("shot.png", "shot"),
    ]
    assert all(a.local_path is None for a in message.attachments)


def test_scripts_styles_and_handlers_in_html_mail_are_dropped(settings: Settings) -> None:
    body = (
        "<html><head><style>p{display:none}</style><title>x</title></head><body>"
        '<p onmouseover="steal()">My card was declined.</p><script>document.cookie</script>'
        "</body></html>"
    )
    assert normalize(settings, body).text == "My card was declined."


def test_a_hostile_subject_is_plain_text(settings: Settings) -> None:
    message = normalize(settings, "hi", subject="<script>alert(1)</script>Refund &amp; <b>now</b>")
    assert message.subject == "Refund & now"


def test_an_oversized_or_pathological_mail_is_read_quickly(settings: Settings) -> None:
    bodies = [
        "On " + "x " * 400_000,
        ("On " + "wrote " * 60 + "x\n") * 3_000,
        "<blockquote>" * 50_000 + "deep",
        ("From: a\n" + "line\n" * 3) * 40_000,
    ]
    for body in bodies:
        started = time.perf_counter()
        normalize(settings, body)
        assert time.perf_counter() - started < 3


def test_other_channels_are_left_to_their_plugin(settings: Settings) -> None:
    conversation = make_conversation()
    part = source_part(conversation)
    assert email.normalize_message("messenger", part, conversation) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thanks!", "Thanks!"),
        (
            "Hi,\nthe export fails.\n\nBest regards,\nAnna Schmidt\nAcme GmbH",
            "the export fails.",
        ),
        (
            "Hola, buenas:\n\n¿Me devolvéis el dinero?\n\nUn saludo,\nJavier",
            "¿Me devolvéis el dinero?",
        ),
        ("Grüezi\n\nWo ist mein Päckli?\n\nFreundliche Grüsse\nReto", "Wo ist mein Päckli?"),
        ("Boa tarde,\nonde está a encomenda?\n\nCumprimentos,\nRui", "onde está a encomenda?"),
        ("Bonjour,\nune question.\n\nMerci d'avance et bonne journée,\nSophie", "une question."),
        ("Hi there, where is my order?", "Hi there, where is my order?"),
        ("The export fails.\nThanks", "The export fails."),
        (
            "Thanks for the quick answer. It works now but I have a follow-up question about the "
            "invoice.",
            "Thanks for the quick answer. It works now but I have a follow-up question about the "
            "invoice.",
        ),
        ("Line one\r\nLine two\r\n\r\n\r\n\r\nLine three", "Line one\nLine two\n\nLine three"),
        ("Mit freundlichen Grüßen\nHans", "Mit freundlichen Grüßen\nHans"),
        ("Ça ne marche pas.\n\nEnvoyé de mon iPhone", "Ça ne marche pas."),
    ],
)
def test_strip_reply_keeps_what_the_customer_wrote(text: str, expected: str) -> None:
    assert strip_reply(text) == expected
